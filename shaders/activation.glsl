// Activations by code (rl::Activation): 0 none, 1 relu, 2 gelu (tanh approximation), 3 tanh,
// 4 sigmoid. Mirrors engine/ops/activation.h; rl_act_grad(a, z, y) is dy/dz with y = rl_act(a, z).
const uint RL_ACT_NONE = 0u, RL_ACT_RELU = 1u, RL_ACT_GELU = 2u, RL_ACT_TANH = 3u, RL_ACT_SIGMOID = 4u;
const float RL_GELU_C = 0.7978845608028654;  // sqrt(2/pi)
const float RL_GELU_A = 0.044715;

// Clamped: tanh of a large argument can be NaN on some drivers; tanh(+-15) is +-1 in float.
// Written as 1 - 2 / (exp(2z) + 1): llvmpipe lowers GLSL tanh to a slower sequence, and with the
// clamp exp(2z) stays finite (exp(30) ~ 1e13), so the expression is exact to float rounding.
float rl_tanh(float z) { return 1.0 - 2.0 / (exp(2.0 * clamp(z, -15.0, 15.0)) + 1.0); }

float rl_act(uint a, float z) {
  if (a == RL_ACT_RELU) return max(z, 0.0);
  if (a == RL_ACT_GELU) return 0.5 * z * (1.0 + rl_tanh(RL_GELU_C * (z + RL_GELU_A * z * z * z)));
  if (a == RL_ACT_TANH) return rl_tanh(z);
  if (a == RL_ACT_SIGMOID) return 1.0 / (1.0 + exp(-z));
  return z;
}

float rl_act_grad(uint a, float z, float y) {
  if (a == RL_ACT_RELU) return z > 0.0 ? 1.0 : 0.0;
  if (a == RL_ACT_GELU) {
    float t = rl_tanh(RL_GELU_C * (z + RL_GELU_A * z * z * z));
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * RL_GELU_C * (1.0 + 3.0 * RL_GELU_A * z * z);
  }
  if (a == RL_ACT_TANH) return 1.0 - y * y;
  if (a == RL_ACT_SIGMOID) return y * (1.0 - y);
  return 1.0;
}

// dY * act'(Z), recomputing Y from Z.
float rl_act_backward(uint a, float dy, float z) { return dy * rl_act_grad(a, z, rl_act(a, z)); }

// The same on four lanes (the vec4 variants of the linear shaders).
vec4 rl_act4(uint a, vec4 z) { return vec4(rl_act(a, z.x), rl_act(a, z.y), rl_act(a, z.z), rl_act(a, z.w)); }
vec4 rl_act_backward4(uint a, vec4 dy, vec4 z) {
  return vec4(rl_act_backward(a, dy.x, z.x), rl_act_backward(a, dy.y, z.y), rl_act_backward(a, dy.z, z.z),
              rl_act_backward(a, dy.w, z.w));
}
