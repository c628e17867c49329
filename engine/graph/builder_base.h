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
  // Tape entries run in reverse order after the forward of the training phase.
  void onBackward(std::function<void()> f) {
    if (training_) tape_.push_back(std::move(f));
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
