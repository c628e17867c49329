// Shared by points.vert and points.frag. Mirrors rl::ui::PointPushConstants (ui/vulkan/
// point_pipeline.h): data -> logical pixels is px = data * scale + offset.
layout(push_constant) uniform PointView {
  vec2 scale;
  vec2 offset;
  vec2 viewport;     // logical pixels
  float t;           // eased animation progress: position = mix(from, to, t)
  float radius;      // logical pixels
  int emphasis;      // 1: the hovered point, drawn again on top with a ring
  int hasSelection;  // 1: unselected points fade
} view;

const uint kSelected = 1u;
