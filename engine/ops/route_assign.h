#pragma once
// Capacity assignment (GShard / Switch): each expert takes at most C tokens. Priority: every
// token's first choice in token order, then every second choice, and so on, so a token loses its
// first choice only to other first choices.
// N tokens, E experts, k choices per token, C capacity per expert (>= 1; no limit = N).
//   slot[N,k]        = e*C + position in expert e = idx[n,j], or -1 if e was full (dropped)
//   slotAssign[E*C]  = n*k + j of the slot's occupant, or -1 if the slot stays empty
// Both int32. Shader: route_assign.comp, one invocation per expert walking the choices in order
// (N*k is at most a few thousand, and a sequential walk is what makes the order fixed).
#include <cstdint>

#include "ops/op.h"

namespace rl {

struct AssignParams {
  uint32_t N = 0, E = 0, k = 0, C = 0;
};
static_assert(sizeof(AssignParams) == 16);

class RouteAssign final : public Op {
 public:
  RouteAssign(const Program& program, TensorId idx, TensorId slot, TensorId slotAssign, AssignParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "route_assign"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {ceilDiv(p_.E, localSize())}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId idx_, slot_, slotAssign_;
  AssignParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

}  // namespace rl
