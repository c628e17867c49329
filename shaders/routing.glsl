// Shared by the routing shaders; each function is the twin of one in engine/ops/routing_math.h.
// Include after common.glsl.

// Standard normal for element i of a (seed, step, stream) noise field: Box–Muller on the
// uniforms with indices 2i and 2i+1. 1 - u1 lies in (0, 1], so the log is finite.
float rl_normal_noise(uint seed, uint step, uint stream, uint i) {
  float u1 = rl_uniform(seed, step, stream, 2u * i);
  float u2 = rl_uniform(seed, step, stream, 2u * i + 1u);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(6.28318530717958647692 * u2);
}

// log(1 + e^x) without overflow for large x.
float rl_softplus(float x) { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }
float rl_sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

// Router types, as rl::RouterType in engine/spec/spec.h.
const uint RL_ROUTER_DENSE = 0u;
const uint RL_ROUTER_TOPK = 1u;
const uint RL_ROUTER_NOISY_TOPK = 2u;
const uint RL_ROUTER_SWITCH = 3u;

// Top-k ordering: a ranks above b if va > vb, or the values are equal and a < b.
// True if (v, e) ranks strictly below the previous choice (prev < 0: nothing chosen yet).
bool rl_ranks_below(float v, int e, float prevV, int prev) {
  return prev < 0 || v < prevV || (v == prevV && e > prev);
}
