#pragma once
// The router chain of a small batch in one dispatch: (optionally) the router linear, RouteGate,
// RouteAssign and RouterStats, computing exactly what those ops compute in turn (see their
// headers for the formulas; the CPU reference runs them one after another). On lavapipe each
// dispatch costs ~26 us of thread-pool overhead, more than the whole chain's arithmetic at N = 256,
// and on a GPU a batch this small is latency-bound too, so the builder uses this op whenever
// fits() holds and the separate ops otherwise.
// N tokens, E experts, k choices per token, C capacity per expert, I router inputs.
//   logits[N,E] = x[N,I] . w[E,I]^T           (only with I > 0; with I = 0 logits is an input)
//   probs, h, idx, wt                          as RouteGate
//   slot[N,k], slotAssign[E*C]                 as RouteAssign
//   load[E], importance[E], scalars[4]         as RouterStats
// Shader: route_fused.comp, one workgroup of kThreads, each invocation owning a contiguous block of
// rows (E, k and I are specialisation constants, so a row lives in registers); the capacity
// assignment is per-(rank, expert) counts and a prefix sum over the invocations, which gives the
// same priority order as RouteAssign's walk; invocation 0 sums the partial statistics in a fixed
// order (deterministic, no atomics).
#include <cstdint>
#include <optional>

#include "ops/linear.h"
#include "ops/op.h"
#include "ops/route_assign.h"
#include "ops/route_gate.h"
#include "ops/router_stats.h"

namespace rl {

// Mirrors the push-constant block of shaders/route_fused.comp.
struct RouteFusedParams {
  uint32_t N = 0, E = 0, k = 0;
  uint32_t type = 0;  // static_cast<uint32_t>(RouterType)
  float temperature = 1.0f;
  uint32_t noiseStream = 0;
  uint32_t C = 0;
  float auxCoef = 0.0f, zCoef = 0.0f;
  uint32_t inputs = 0;  // I: 0 = logits given, > 0 = computed here from x and w
};
static_assert(sizeof(RouteFusedParams) == 40);

class RouteFused final : public Op {
 public:
  static constexpr uint32_t kThreads = 32;     // the shader's shared arrays have these sizes
  static constexpr uint32_t kMaxCells = 32;    // k * E at most: per-(rank, expert) counts per invocation
  static constexpr uint32_t kMaxExperts = kMaxCells;
  static constexpr uint32_t kMaxInputs = 64;   // a row of x lives in registers
  static constexpr uint32_t kMaxRows = 1024;   // one workgroup: beyond this the separate ops win

  // True when one workgroup should run the chain (inputs = 0: logits come from elsewhere).
  static bool fits(uint32_t N, uint32_t E, uint32_t k, uint32_t inputs);

  // With params.inputs == 0, x and w are not read (pass logits for both).
  RouteFused(const Program& program, TensorId x, TensorId w, TensorId logits, TensorId noiseLogits,
             TensorId globals, TensorId probs, TensorId h, TensorId idx, TensorId wt, TensorId slot,
             TensorId slotAssign, TensorId load, TensorId importance, TensorId scalars, RouteFusedParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "route_fused"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  // 1 = E, 2 = k, 3 = max(I, 1): fixed-size register arrays per row.
  std::vector<uint32_t> specConstants() const override { return {p_.E, p_.k, p_.inputs > 0 ? p_.inputs : 1u}; }
  uint32_t localSize() const override { return kThreads; }
  Grid grid() const override { return {1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  RouteFusedParams p_;
  std::optional<LinearForward> linear_;  // the CPU reference's parts, in order
  RouteGate gate_;
  RouteAssign assign_;
  RouterStats stats_;
  std::vector<Binding> bindings_;
  std::string name_;
};

}  // namespace rl
