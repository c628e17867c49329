#pragma once
// Task losses, each fused forward + backward in one single-workgroup dispatch so the scalar
// reductions have one fixed order (deterministic on every backend).
//
// Legend: N rows, C classes, D features.
//   SoftmaxCrossEntropy: out[0] = (1/N) sum_n (logsumexp(z_n) - z_n[label_n])
//                        out[1] = #rows with argmax(z_n) == label_n (ties -> lowest index)
//                        dz[n,c] = scale * (softmax(z_n)[c] - [c == label_n]) / N   (written)
//   MeanSquaredError:    out[0] = (1/N) sum_n ||pred_n - t_n||^2  (sum over features, mean over rows)
//                        out[1] = #rows with argmax(pred_n) == label_n when classify, else 0
//                        dpred = scale * 2 (pred - t) / N                            (written)
// Rows whose label is outside [0, C) (cross-entropy) are ignored: no loss, no gradient, never
// correct; they still count in N. Shaders: softmax_cross_entropy, mean_squared_error.
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.h"

namespace rl {

// Both loss shaders reduce in one workgroup of this many invocations.
constexpr uint32_t kLossLocalSize = 256;

// Mirrors the push-constant block of shaders/softmax_cross_entropy.comp.
struct CrossEntropyParams {
  uint32_t rows, classes;
  float scale;  // gradient scale (1 for the task loss)
};
static_assert(sizeof(CrossEntropyParams) == 12);

// Mirrors the push-constant block of shaders/mean_squared_error.comp.
struct MseParams {
  uint32_t rows, features;
  uint32_t classify;  // 1: count argmax(pred) == label in out[1]
  float scale;        // gradient scale (0: score only, dpred is written as zeros)
};
static_assert(sizeof(MseParams) == 16);

class SoftmaxCrossEntropy final : public Op {
 public:
  // logits F32 [N,C], labels I32 [N], dlogits F32 [N,C], out F32 [2].
  SoftmaxCrossEntropy(const Program& program, TensorId logits, TensorId labels, TensorId dlogits, TensorId out,
                      CrossEntropyParams p);
  std::string name() const override { return label_; }
  std::string shader() const override { return "softmax_cross_entropy"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kLossLocalSize; }
  Grid grid() const override { return {1, 1, 1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  std::string label_;
  CrossEntropyParams p_;
  TensorId logits_, labels_, dlogits_, out_;
  std::vector<Binding> bindings_;
};

class MeanSquaredError final : public Op {
 public:
  // pred F32 [N,D], target F32 [N,D], labels I32 [N] (read only when classify), dpred F32 [N,D], out F32 [2].
  MeanSquaredError(const Program& program, TensorId pred, TensorId target, TensorId labels, TensorId dpred,
                   TensorId out, MseParams p);
  std::string name() const override { return label_; }
  std::string shader() const override { return "mean_squared_error"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kLossLocalSize; }
  Grid grid() const override { return {1, 1, 1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  std::string label_;
  MseParams p_;
  TensorId pred_, target_, labels_, dpred_, out_;
  std::vector<Binding> bindings_;
};

}  // namespace rl
