// Body of the Adam shaders (adam.comp, adam_grad_norm.comp); see adam.comp. Include after the
// buffers param/grad/m/v (and their vec4 views param4/grad4/m4/v4), globals and push constants p.

// e^x - 1 without cancellation: Taylor polynomial (Horner, relative error < 1e-9) for |x| < 0.5,
// where exp(x) - 1 would lose digits; exp(x) - 1 beyond.
float expm1Accurate(float x) {
  if (abs(x) >= 0.5) return exp(x) - 1.0;
  float s = 1.0 / 362880.0;
  s = s * x + 1.0 / 40320.0;
  s = s * x + 1.0 / 5040.0;
  s = s * x + 1.0 / 720.0;
  s = s * x + 1.0 / 120.0;
  s = s * x + 1.0 / 24.0;
  s = s * x + 1.0 / 6.0;
  s = s * x + 0.5;
  s = s * x + 1.0;
  return s * x;
}

// Invocation `first` of `stride`: elements first, first + stride, ... (vec4 quads, then the tail).
void adamRange(const uint first, const uint stride) {
  const float t = float(max(globals.step, 1u));
  // As PyTorch: lr * mhat / (sqrt(vhat) + eps) == (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
  const float bc1 = -expm1Accurate(t * p.logBeta1), bc2 = -expm1Accurate(t * p.logBeta2);
  const float stepSize = globals.lr / bc1, invSqrtBc2 = 1.0 / sqrt(bc2);
  const uint quads = p.count / 4u;
  for (uint j = first; j < quads; j += stride) {
    const vec4 g = grad4[j];
    const vec4 mj = p.beta1 * m4[j] + (1.0 - p.beta1) * g;
    const vec4 vj = p.beta2 * v4[j] + (1.0 - p.beta2) * g * g;
    m4[j] = mj;
    v4[j] = vj;
    param4[j] -= stepSize * mj / (sqrt(vj) * invSqrtBc2 + p.eps);
  }
  for (uint i = quads * 4u + first; i < p.count; i += stride) {
    const float g = grad[i];
    const float mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    const float vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= stepSize * mi / (sqrt(vi) * invSqrtBc2 + p.eps);
  }
}
