#pragma once
// A model's head and its softmax cross-entropy in one dispatch: LinearForward (one group, no
// activation, no row mask, logits z == y) followed by SoftmaxCrossEntropy on its output.
//
// Legend: N rows, I inputs, C classes.
//   logits[N,C] = X[N,I] . W[C,I]^T + b[C]
//   out[0] = (1/N) sum_n (logsumexp(logits_n) - logits_n[label_n]);  out[1] = #correct
//   dlogits[n,c] = scale * (softmax(logits_n)[c] - [c == label_n]) / N   (written; ignored rows 0)
// Shader: linear_softmax_cross_entropy.comp, one workgroup (the loss is one fixed-order
// reduction), each invocation owning whole row tiles so a row's logits stay in registers for its
// loss; for I % 4 == 0 and C % 4 == 0, C <= kLinearLossMaxClasses (fits()). The CPU reference
// is the two ops' own runCpu. Saves a dispatch per step (~25 us on lavapipe).
// With a CombineInput the head's input X is an MoE layer's combine (CombineForward), computed in
// the same dispatch and written to its tensor for the backward: one dispatch more saved.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/combine.h"
#include "ops/linear.h"
#include "ops/losses.h"

namespace rl {

constexpr uint32_t kLinearLossMaxClasses = 16;  // the shader keeps 8 rows x C logits in registers (and compiles them unrolled)

// Mirrors the push-constant block of shaders/linear_softmax_cross_entropy.comp.
struct LinearLossParams {
  LinearParams linear;
  CrossEntropyParams ce;
  uint32_t pad = 0;
};
static_assert(sizeof(LinearLossParams) == 48);

// The combine that produces the head's input x (= y here): CombineForward(oe, slot, wt, y, params).
struct CombineInput {
  TensorId oe, slot, wt, y;
  CombineParams params;
};

class LinearSoftmaxCrossEntropy final : public Op {
 public:
  static bool fits(const LinearParams& p);
  // x [N,I], w [C,I], b [C] (read with p.hasBias), logits [N,C] (the layer's z and y), labels I32 [N],
  // dlogits [N,C], out [2]; p.rows == ce.rows, p.out == ce.classes. With `combine`, x must be
  // combine->y, and combine->params N and D must be the layer's rows and inputs.
  LinearSoftmaxCrossEntropy(const Program& program, TensorId x, TensorId w, TensorId b, TensorId logits,
                            TensorId labels, TensorId dlogits, TensorId out, LinearParams p, CrossEntropyParams ce,
                            std::optional<CombineInput> combine = std::nullopt);
  std::string name() const override { return label_; }
  std::string shader() const override { return "linear_softmax_cross_entropy"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(LinearLossParams{p_, ce_}); }
  // Constant 1 = C / 4 (the shader's per-row logit registers), 2 = the combine's k (0: none).
  std::vector<uint32_t> specConstants() const override { return {p_.out / 4, combine_ ? combineParams_.k : 0u}; }
  std::vector<bool> texelBindings() const override { return {true, true}; }
  uint32_t localSize() const override { return kLossLocalSize; }
  Grid grid() const override { return {1, 1, 1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  std::string label_;
  LinearParams p_;
  CrossEntropyParams ce_;
  LinearForward forward_;
  SoftmaxCrossEntropy loss_;
  std::optional<CombineForward> combine_;
  CombineParams combineParams_;
  std::vector<Binding> bindings_;
};

}  // namespace rl
