// Shared by the token_route_soft_moe_*.comp shaders: the push constants and the slot layout
// (engine/ops/token_route_soft_moe.h has the legend). Include after common.glsl.
// Feature rows are read as rgba32f texels (D is a multiple of 4): one gather per 4 floats, where a
// storage-buffer load is a per-lane loop on lavapipe.

// Mirrors rl::SoftMoeParams.
layout(push_constant) uniform P {
  uint B, T, E, S;
  uint D;
  float temperature;
  uint accumulateDx, accumulateDlogits;
} p;

const uint kChunk4 = 4u;  // texels (16 features) per work item, = rl::kSoftMoeChunk / 4

uint smJ() { return p.E * p.S; }
uint smN() { return p.B * p.T; }
uint smD4() { return p.D / 4u; }
uint smChunks() { return (smD4() + kChunk4 - 1u) / kChunk4; }
// Slot row of column j (= e S + s) of sequence b: expert-major, each expert's B S rows contiguous.
uint smRow(uint b, uint j) { return (j / p.S) * p.B * p.S + b * p.S + j % p.S; }
