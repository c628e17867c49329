#pragma once
// Task-level routing: every token of a sequence goes to the expert named by the sequence's task
// (or language) id, with weight 1 (as in task-MoE, Kudugunta et al. 2021). Nothing is learned, so
// there is no backward op.
//
// Legend: B sequences of T positions, N = B·T tokens (row n = b·T + t), E experts.
//   group[B] int32 the sequence's task / language id (the batch's `group`)
//   idx[N]   int32 = group[n / T] mod E, or -1 when group[n / T] < 0 (an unlabelled sequence routes nowhere)
//   wt[N]    float = 1, or 0 when idx[n] = -1
// With E >= the number of tasks (the spec requires it) each task has an expert of its own.
//
// How a builder wires it (k = 1, the token-choice path takes over), exactly as TokenRouteHash
// (see token_route_hash.h): TokenRouteTask(group -> idx[N,1], wt[N,1]), RouteAssign with capacity
// C = ceil(cf·N/E) (cf <= 0: C = N; a task with more than C tokens in the batch loses the later
// ones), DispatchForward, the expert linears, CombineForward; backward CombineBackward, expert
// linears, DispatchBackward; no router gradient.
// Shader: token_route_task.comp, one token per invocation (grid-stride, capped on CPU-class Vulkan).
#include <cstdint>

#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant block of shaders/token_route_task.comp.
struct TaskRouteParams {
  uint32_t N = 0, E = 0;
  uint32_t T = 0;  // tokens per sequence; N must be a multiple of T
};
static_assert(sizeof(TaskRouteParams) == 12);

class TokenRouteTask final : public StridedOp {
 public:
  TokenRouteTask(const Program& program, TensorId group, TensorId idx, TensorId wt, TaskRouteParams params);
  std::string shader() const override { return "token_route_task"; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId group_, idx_, wt_;
  TaskRouteParams p_;
};

}  // namespace rl
