#pragma once
// What both model builders share (builder.cpp: the MLP models, builder_transformer.cpp: the
// Transformer): the BuiltModel under construction, the phase being emitted, the static tape, the
// parameter / gradient / optimizer-state layout and the activation-gradient bookkeeping.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graph/builder.h"
#include "ops/op.h"
#include "ops/optimizer.h"

namespace rl {

class BuilderBase {
 protected:
  BuilderBase(const Spec& spec, const ModelShape& shape) : spec_(spec), shape_(shape) {}

  Program& prog() { return m_.program; }

  // After every parameter is declared: the contiguous parameter range, then one gradient per
  // parameter with the same shape in the same order, so the gradient range has the same layout.
  void declareGradients() {
    const TensorInfo& first = prog().info(m_.params.front().id);
    const TensorInfo& last = prog().info(m_.params.back().id);
    prog().paramBegin = first.offset;
    prog().paramWords = last.offset + last.count - first.offset;
    for (const ParamInfo& p : m_.params)
      paramGrad_[p.id] = prog().add("grad." + p.name, prog().info(p.id).shape, Role::Grad);
    prog().gradBegin = prog().info(paramGrad_.at(m_.params.front().id)).offset;
  }

  void declareOptimizerState() {
    const uint32_t words = static_cast<uint32_t>(prog().paramWords);
    const bool adam = spec_.train.optimizer == OptimizerType::Adam;
    optA_ = prog().add(adam ? "opt.adam.m" : "opt.sgd.velocity", {words}, Role::OptState);
    if (adam) optB_ = prog().add("opt.adam.v", {words}, Role::OptState);
    m_.optStateBegin = prog().info(optA_).offset;
    const TensorInfo& lastState = prog().info(adam ? optB_ : optA_);
    m_.optStateWords = lastState.offset + lastState.count - m_.optStateBegin;
  }

  Binding paramRange() const { return {m_.program.paramBegin, m_.program.paramWords}; }
  Binding gradRange() const { return {m_.program.gradBegin, m_.program.paramWords}; }

  // The training phase's last ops: the gradient norm and the optimizer step (Adam: one dispatch).
  void emitOptimizerStep() {
    const TrainSpec& t = spec_.train;
    const uint32_t words = static_cast<uint32_t>(prog().paramWords);
    if (t.optimizer == OptimizerType::Adam) {
      emit(std::make_unique<AdamGradNorm>(prog(), paramRange(), gradRange(), bind(prog(), optA_), bind(prog(), optB_),
                                          m_.globals, m_.gradNorm,
                                          AdamParams{words, float(t.beta1), float(t.beta2), float(t.epsilon)}));
      return;
    }
    emit(std::make_unique<GradNorm>(prog(), gradRange(), m_.gradNorm, GradNormParams{words}));
    emit(std::make_unique<SgdMomentum>(prog(), paramRange(), gradRange(), bind(prog(), optA_), m_.globals,
                                       SgdParams{words, float(t.momentum)}));
  }

  // --- activation gradients: the first writer in the reverse walk writes, later ones add ------
  TensorId act(const std::string& name, std::vector<uint32_t> shape, DType t = DType::F32) {
    return prog().add(phase_ + "." + name, std::move(shape), Role::Activation, t);
  }
  // The gradient tensor of t and whether the op about to write it must accumulate (1) because an
  // earlier op of the reverse walk already wrote it (t fans out), or write it (0).
  std::pair<TensorId, uint32_t> gradTarget(TensorId t) {
    auto it = grad_.find(t);
    if (it != grad_.end()) return {it->second, 1u};
    TensorId g = prog().add(prog().info(t).name + ".grad", prog().info(t).shape, Role::Gradient);
    grad_[t] = g;
    return {g, 0u};
  }
  TensorId gradOf(TensorId t) const { return grad_.at(t); }

  void emit(std::unique_ptr<Op> op) { prog().append(phase_, std::move(op)); }
  // Tape entries run in reverse order after the forward of the training phase (runTape).
  void onBackward(std::function<void()> f) {
    if (training_) tape_.push_back(std::move(f));
  }
  void runTape() {
    for (auto it = tape_.rbegin(); it != tape_.rend(); ++it) (*it)();
  }

  const Spec& spec_;
  ModelShape shape_;
  BuiltModel m_;
  std::map<TensorId, TensorId> paramGrad_;  // parameter -> its gradient
  TensorId optA_ = 0, optB_ = 0;            // Adam m, v (or SGD's velocity in optA_)
  std::string phase_;
  bool training_ = false;
  std::map<TensorId, TensorId> grad_;       // activation -> its gradient, in the current phase
  std::vector<std::function<void()>> tape_;
};

}  // namespace rl
