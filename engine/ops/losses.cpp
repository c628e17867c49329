#include "ops/losses.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

namespace {
// Index of the largest value; ties go to the lowest index (strict >), as in the shaders.
uint32_t argmax(const float* v, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t c = 1; c < n; ++c)
    if (v[c] > v[best]) best = c;
  return best;
}
}  // namespace

// --- softmax cross-entropy -------------------------------------------------------------------

SoftmaxCrossEntropy::SoftmaxCrossEntropy(const Program& program, TensorId logits, TensorId labels,
                                         TensorId dlogits, TensorId out, CrossEntropyParams p)
    : label_("softmax_cross_entropy(" + program.info(logits).name + ")"), p_(p), logits_(logits),
      labels_(labels), dlogits_(dlogits), out_(out) {
  const uint64_t NC = uint64_t(p.rows) * p.classes;
  if (p.classes == 0) throw std::invalid_argument(label_ + ": classes must be >= 1");
  if (dlogits == logits) throw std::invalid_argument(label_ + ": dlogits must not be the logits tensor");
  requireWords(program, logits, NC, label_, "logits");
  requireWords(program, labels, p.rows, label_, "labels");
  requireDType(program, labels, DType::I32, label_, "labels");
  requireWords(program, dlogits, NC, label_, "dlogits");
  requireWords(program, out, 2, label_, "out");
  bindings_ = {bind(program, logits), bind(program, labels), bind(program, dlogits), bind(program, out)};
}

void SoftmaxCrossEntropy::runCpu(const ArenaView& arena) const {
  const uint32_t N = p_.rows, C = p_.classes;
  const float* logits = arena.f(logits_);
  const int32_t* labels = arena.i(labels_);
  float* dlogits = arena.f(dlogits_);
  const float gradScale = N ? p_.scale / float(N) : 0.f;
  double loss = 0;
  uint32_t correct = 0;
  for (uint32_t n = 0; n < N; ++n) {
    const float* z = logits + size_t(n) * C;
    float* dz = dlogits + size_t(n) * C;
    const uint32_t best = argmax(z, C);
    const float mx = z[best];
    const int32_t label = labels[n];
    if (label < 0 || uint32_t(label) >= C) {
      std::fill(dz, dz + C, 0.f);
      continue;
    }
    float sum = 0.f;
    for (uint32_t c = 0; c < C; ++c) sum += dz[c] = std::exp(z[c] - mx);  // dz holds exp until scaled
    loss += double(mx + std::log(sum) - z[label]);
    correct += best == uint32_t(label);
    const float probScale = gradScale / sum;
    for (uint32_t c = 0; c < C; ++c) dz[c] *= probScale;
    dz[label] -= gradScale;
  }
  float* out = arena.f(out_);
  out[0] = N ? float(loss / N) : 0.f;
  out[1] = float(correct);
}

// --- mean squared error ----------------------------------------------------------------------

MeanSquaredError::MeanSquaredError(const Program& program, TensorId pred, TensorId target, TensorId labels,
                                   TensorId dpred, TensorId out, MseParams p)
    : label_("mean_squared_error(" + program.info(pred).name + ")"), p_(p), pred_(pred), target_(target),
      labels_(labels), dpred_(dpred), out_(out) {
  const uint64_t ND = uint64_t(p.rows) * p.features;
  if (dpred == pred) throw std::invalid_argument(label_ + ": dpred must not be the pred tensor");
  requireWords(program, pred, ND, label_, "pred");
  requireWords(program, target, ND, label_, "target");
  if (p.classify) {
    if (p.features == 0) throw std::invalid_argument(label_ + ": classify needs features >= 1");
    requireWords(program, labels, p.rows, label_, "labels");
    requireDType(program, labels, DType::I32, label_, "labels");
  }
  requireWords(program, dpred, ND, label_, "dpred");
  requireWords(program, out, 2, label_, "out");
  bindings_ = {bind(program, pred), bind(program, target), bind(program, labels), bind(program, dpred),
               bind(program, out)};
}

void MeanSquaredError::runCpu(const ArenaView& arena) const {
  const uint32_t N = p_.rows, D = p_.features;
  const float* pred = arena.f(pred_);
  const float* target = arena.f(target_);
  const int32_t* labels = arena.i(labels_);
  float* dpred = arena.f(dpred_);
  const float gradScale = N ? 2.f * p_.scale / float(N) : 0.f;
  double loss = 0;
  uint32_t correct = 0;
  for (size_t i = 0, n = size_t(N) * D; i < n; ++i) {
    const float diff = pred[i] - target[i];
    loss += double(diff) * diff;
    dpred[i] = gradScale * diff;
  }
  if (p_.classify)
    for (uint32_t n = 0; n < N; ++n) correct += int32_t(argmax(pred + size_t(n) * D, D)) == labels[n];
  float* out = arena.f(out_);
  out[0] = N ? float(loss / N) : 0.f;
  out[1] = float(correct);
}

}  // namespace rl
