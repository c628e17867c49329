#pragma once
// Switch-Transformer-style multiplicative input noise for a router's input, training only.
//
// Legend: N elements (count).
//   factor_i = 1 + eps (2 u_i - 1),  u_i = rng::uniform(globals.seed, globals.step, stream, i)
//              (factor_i = 1 when globals.train == 0)
//   forward:  y_i = x_i factor_i
//   backward: dx_i (= or += per accumulate) dy_i factor_i
// Both directions are one shader: "jitter" computes out (=/+=) in * factor.
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.h"

namespace rl {

// Mirrors the push-constant block of shaders/jitter.comp.
struct JitterParams {
  uint32_t count;
  float eps;            // noise half-width: factors are U(1 - eps, 1 + eps)
  uint32_t stream;      // RNG stream, distinct per layer
  uint32_t accumulate;  // backward only: 1 adds into dx; the forward always writes
};
static_assert(sizeof(JitterParams) == 16);

// Shared by both directions: out (=/+=) in * factor.
class JitterOp : public Op {
 public:
  std::string name() const override { return label_; }
  std::string shader() const override { return "jitter"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;

 protected:
  JitterOp(const Program& program, std::string label, TensorId in, TensorId globals, TensorId out, JitterParams p);

 private:
  std::string label_;
  JitterParams p_;
  TensorId in_, globals_, out_;
  std::vector<Binding> bindings_;  // in, globals, out
};

class JitterForward final : public JitterOp {
 public:
  // p.accumulate is ignored: the forward writes y.
  JitterForward(const Program& program, TensorId x, TensorId globals, TensorId y, JitterParams p);
};

class JitterBackward final : public JitterOp {
 public:
  JitterBackward(const Program& program, TensorId dy, TensorId globals, TensorId dx, JitterParams p);
};

}  // namespace rl
