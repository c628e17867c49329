// Shared by every compute shader. Workgroup size comes from specialization constant 0.
#extension GL_EXT_control_flow_attributes : enable
layout(local_size_x_id = 0) in;

// Counter-based RNG, bit-identical to engine/ops/rng.h: hash(seed, step, stream, index).
uint rl_hash(uint x) {
  x ^= x >> 16; x *= 0x7feb352du;
  x ^= x >> 15; x *= 0x846ca68bu;
  x ^= x >> 16; return x;
}
uint rl_hash4(uint seed, uint step, uint stream, uint index) {
  return rl_hash(seed ^ rl_hash(step ^ rl_hash(stream ^ rl_hash(index))));
}
// Uniform in [0,1) with 24 bits, exactly representable.
float rl_uniform(uint seed, uint step, uint stream, uint index) {
  return float(rl_hash4(seed, step, stream, index) >> 8) * (1.0 / 16777216.0);
}
