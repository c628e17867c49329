#include "ops/linear_loss.h"

#include <stdexcept>

namespace rl {

bool LinearSoftmaxCrossEntropy::fits(const LinearParams& p) {
  return p.groups == 1 && p.rows > 0 && p.in > 0 && p.in % 4 == 0 && p.out > 0 && p.out % 4 == 0 &&
         p.out <= kLinearLossMaxClasses && p.act == 0 && p.maskRows == 0;
}

LinearSoftmaxCrossEntropy::LinearSoftmaxCrossEntropy(const Program& program, TensorId x, TensorId w, TensorId b,
                                                     TensorId logits, TensorId labels, TensorId dlogits,
                                                     TensorId out, LinearParams p, CrossEntropyParams ce,
                                                     std::optional<CombineInput> combine)
    : label_("linear_softmax_cross_entropy(" + program.info(logits).name + ")"), p_(p), ce_(ce),
      forward_(program, x, w, b, logits, logits, p), loss_(program, logits, labels, dlogits, out, ce) {
  if (!fits(p))
    throw std::invalid_argument(label_ + ": needs one group, no activation or row mask, I and C multiples of 4 and C <= " +
                                std::to_string(kLinearLossMaxClasses) + " (I " + std::to_string(p.in) + ", C " +
                                std::to_string(p.out) + ", groups " + std::to_string(p.groups) + ")");
  if (ce.rows != p.rows || ce.classes != p.out)
    throw std::invalid_argument(label_ + ": the loss's rows and classes (" + std::to_string(ce.rows) + ", " +
                                std::to_string(ce.classes) + ") must be the layer's (" + std::to_string(p.rows) +
                                ", " + std::to_string(p.out) + ")");
  bindings_ = {bind(program, x),      bind(program, w),       bind(program, b),  bind(program, logits),
               bind(program, labels), bind(program, dlogits), bind(program, out),
               bind(program, labels), bind(program, labels),  bind(program, out)};  // 7..9: combine only
  if (!combine) return;
  const CombineParams& cp = combine->params;
  if (combine->y != x || cp.N != p.rows || cp.D != p.in)
    throw std::invalid_argument(label_ + ": the combine must produce x (its N and D the layer's rows and inputs: " +
                                std::to_string(cp.N) + ", " + std::to_string(cp.D) + " vs " +
                                std::to_string(p.rows) + ", " + std::to_string(p.in) + ")");
  combine_.emplace(program, combine->oe, combine->slot, combine->wt, combine->y, cp);
  combineParams_ = cp;
  bindings_[0] = bind(program, combine->oe);
  bindings_[7] = bind(program, combine->slot);
  bindings_[8] = bind(program, combine->wt);
  bindings_[9] = bind(program, combine->y);
}

void LinearSoftmaxCrossEntropy::runCpu(const ArenaView& arena) const {
  if (combine_) combine_->runCpu(arena);
  forward_.runCpu(arena);
  loss_.runCpu(arena);
}

}  // namespace rl
