// Shared by the token_route_soft_moe_*.comp shaders: the push constants and the slot layout
// (engine/ops/token_route_soft_moe.h has the legend). Include after common.glsl.

// Mirrors rl::SoftMoeParams.
layout(push_constant) uniform P {
  uint B, T, E, S;
  uint D;
  float temperature;
  uint accumulateDx, accumulateDlogits;
} p;

const uint kChunk = 16u;  // features per work item, = rl::kSoftMoeChunk

uint smJ() { return p.E * p.S; }
uint smN() { return p.B * p.T; }
uint smChunks() { return (p.D + kChunk - 1u) / kChunk; }
// Slot row of column j (= e S + s) of sequence b: expert-major, each expert's B S rows contiguous.
uint smRow(uint b, uint j) { return (j / p.S) * p.B * p.S + b * p.S + j % p.S; }
