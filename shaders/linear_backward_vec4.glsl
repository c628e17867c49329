// Both backward ops of a linear layer in one dispatch (engine/ops/linear.h, LinearBackward), for
// I % 4 == 0 and O % 4 == 0:
//   dZ = dY (.) act'(Z);  dW[G,O,I] (+= or =) dZ^T . X;  db[G,O] (+= or =) sum_m dZ;
//   dX[G,M,I] (= or +=) dZ . W        (linear_backward_vec4_act: dX = (dZ . W) (.) act'(ZX))
// The two read the same dY and Z and write different tensors, so they need no ordering (lavapipe
// pays ~25 us per dispatch, so the two share one). GPU-class grid: the first PARAMS_GROUPS
// workgroups in x run the backward-params tiles, the rest stride over the backward-input tiles.
// CPU-class grid (PARAMS_GROUPS = 0): every invocation strides over the params tiles, then over
// the input tiles, so the dispatch keeps the input op's few workgroups (lavapipe runs a handful
// of workgroups per dispatch best).
// The tile code is the unfused shaders' own (linear_backward_*_vec4.glsl). Included by
// linear_backward_vec4.comp and, with RL_DX_EPILOGUE defined, linear_backward_vec4_act.comp (the dX
// epilogue's ninth binding only where it is used: lavapipe pays per bound texel buffer per dispatch).
#include "common.glsl"
#include "activation.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer DY;  // [G, M, O/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer Z;   // [G, M, O/4] texels
layout(binding = 2, rgba32f) uniform readonly imageBuffer X;   // [G, M, I/4] texels
layout(binding = 3, rgba32f) uniform readonly imageBuffer W;   // [G, O, I/4] texels
layout(std430, binding = 4) buffer DW { vec4 dw[]; };          // [G, O, I/4]
layout(std430, binding = 5) buffer DB { vec4 db[]; };          // [G, O/4]; may alias DW when hasBias == 0 (never touched then)
layout(std430, binding = 6) buffer DX { vec4 dx[]; };          // [G, M, I/4]

layout(std430, binding = 7) readonly buffer RowMask { int rowMask[]; };  // [G, M]; read only with p.maskRows

layout(constant_id = 1) const uint ACT = 0;            // = p.act (rl::Activation)
layout(constant_id = 2) const uint OVERWRITE = 0;      // rl::GradWrite of dW and db
layout(constant_id = 3) const uint PARAMS_GROUPS = 1;  // workgroups in x that run backward params (0: all, strided)
#ifdef RL_DX_EPILOGUE
// The dX epilogue (rl::InputGradActivation; the _act shader): dX (.) act'(ZX) with the earlier
// layer's activation.
layout(constant_id = 5) const uint DX_ACT = 0;
layout(binding = 8, rgba32f) uniform readonly imageBuffer ZX;  // [G, M, I/4] texels
#endif

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords); accumulate applies to dX.
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"
#include "linear_backward_params_vec4.glsl"
#include "linear_backward_input_vec4.glsl"

void main() {
  if (gl_WorkGroupID.y >= p.groups) return;
  const uint g = gl_WorkGroupID.y;
  if (PARAMS_GROUPS == 0u) {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint t = gl_GlobalInvocationID.x; t < paramsTileCount(); t += stride) paramsTile(g, t);
    inputTiles(g, gl_GlobalInvocationID.x, stride);
    return;
  }
  if (gl_WorkGroupID.x < PARAMS_GROUPS) {
    const uint tile = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (tile < paramsTileCount()) paramsTile(g, tile);
    return;
  }
  const uint first = (gl_WorkGroupID.x - PARAMS_GROUPS) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  inputTiles(g, first, (gl_NumWorkGroups.x - PARAMS_GROUPS) * gl_WorkGroupSize.x);
}
