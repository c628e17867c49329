#version 450
// One instance per point, expanded to a quad (two triangles) around its centre; the fragment
// shader cuts the disc. Quads rather than point sprites: no largePoints feature needed.
#include "points.glsl"

layout(location = 0) in vec2 fromPos;
layout(location = 1) in vec2 toPos;
layout(location = 2) in vec4 colour;  // R8G8B8A8_UNORM, the palette's bytes
layout(location = 3) in uint flags;

layout(location = 0) out vec2 local;  // pixels from the centre
layout(location = 1) out flat vec4 fillColour;
layout(location = 2) out flat uint pointFlags;
layout(location = 3) out flat float radius;

const vec2 kCorners[6] = vec2[](vec2(-1, -1), vec2(1, -1), vec2(1, 1), vec2(-1, -1), vec2(1, 1),
                                vec2(-1, 1));

void main() {
  radius = view.radius + (view.emphasis == 1 ? 3.0 : 0.0);
  // One pixel beyond the disc for the antialiased edge.
  local = kCorners[gl_VertexIndex] * (radius + 1.0);
  const vec2 centre = mix(fromPos, toPos, view.t) * view.scale + view.offset;
  gl_Position = vec4((centre + local) / view.viewport * 2.0 - 1.0, 0.0, 1.0);
  fillColour = colour;
  pointFlags = flags;
}
