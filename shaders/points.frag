#version 450
// A disc with an antialiased edge; selected points get a dark ring, the hovered one a white and
// dark double ring; when a selection exists the other points fade.
#include "points.glsl"

layout(location = 0) in vec2 local;
layout(location = 1) in flat vec4 fillColour;
layout(location = 2) in flat uint pointFlags;
layout(location = 3) in flat float radius;

layout(location = 0) out vec4 outColour;

void main() {
  const float d = length(local);
  const float coverage = clamp(radius + 0.5 - d, 0.0, 1.0);
  if (coverage <= 0.0) discard;
  vec3 rgb = fillColour.rgb;
  float alpha = fillColour.a;
  const bool selected = (pointFlags & kSelected) != 0u;
  if (view.emphasis == 1) {
    if (d > radius - 1.5) rgb = vec3(0.1);
    else if (d > radius - 3.0) rgb = vec3(1.0);
  } else if (selected && view.radius >= 3.0 && d > radius - 1.25) {
    rgb = vec3(0.1);
  } else if (view.hasSelection == 1 && !selected) {
    alpha *= 0.25;
  }
  outColour = vec4(rgb, alpha * coverage);
}
