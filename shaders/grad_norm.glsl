// Body of the gradient-norm shaders (grad_norm.comp, adam_grad_norm.comp): lane l sums the squares
// of quads l, l + L, ... (vec4 loads) and then of the tail elements 4 quads + l, ...; one barrier;
// lane 0 adds the L partial sums in lane order. Fixed order, so the result is deterministic. One
// barrier instead of a log2(L)-level tree: on lavapipe each barrier switches every lane's coroutine.
// Include after the buffers grad and grad4 (its vec4 view) and push constants p (with p.count).

shared float partial[gl_WorkGroupSize.x];

// Run by every lane of one workgroup (a barrier inside: workgroup-uniform control flow only);
// the norm is returned in lane 0 (other lanes: 0).
float gradNormOfWorkgroup() {
  const uint lane = gl_LocalInvocationID.x, quads = p.count / 4u;
  float sum = 0.0;
  for (uint j = lane; j < quads; j += gl_WorkGroupSize.x) sum += dot(grad4[j], grad4[j]);
  for (uint i = quads * 4u + lane; i < p.count; i += gl_WorkGroupSize.x) sum += grad[i] * grad[i];
  partial[lane] = sum;
  barrier();
  if (lane != 0u) return 0.0;
  float total = 0.0;
  for (uint l = 0u; l < gl_WorkGroupSize.x; ++l) total += partial[l];
  return sqrt(total);
}
