#include "ops/token_route_stats.h"

#include <cmath>
#include <stdexcept>

#include "ops/shape_check.h"
#include "ops/loop_budgeted_op.h"

namespace rl {

TokenRouteStats::TokenRouteStats(const Program& program, TensorId probs, TensorId combineW, TensorId idx,
                                 TensorId slot, TensorId wt, TensorId load, TensorId importance, TensorId scalars,
                                 TokenRouteStatsParams params)
    : probs_(probs), combineW_(combineW), idx_(idx), slot_(slot), wt_(wt), load_(load), importance_(importance),
      scalars_(scalars), p_(params) {
  name_ = "token_route_stats(" + program.info(scalars).name + ")";
  const auto mode = TokenRouteStatsMode(p_.mode);
  if (p_.N == 0 || p_.E == 0 || p_.E > kThreads || p_.S == 0 || p_.mode > 2)
    throw std::invalid_argument(name_ + ": need N >= 1, 1 <= E <= " + std::to_string(kThreads) +
                                ", S >= 1 and mode 0..2 (N " + std::to_string(p_.N) + ", E " + std::to_string(p_.E) +
                                ", S " + std::to_string(p_.S) + ", mode " + std::to_string(p_.mode) + ")");
  const uint64_t N = p_.N, E = p_.E, k = mode == TokenRouteStatsMode::Fixed ? 1 : E;
  requireDType(program, probs, DType::F32, name_, "probs");
  requireDType(program, idx, DType::I32, name_, "idx");
  requireDType(program, slot, DType::I32, name_, "slot");
  requireWords(program, probs, N * E, name_, "probs");
  requireWords(program, idx, N * k, name_, "idx");
  requireWords(program, slot, N * k, name_, "slot");
  if (mode == TokenRouteStatsMode::Soft) {
    requireDType(program, combineW, DType::F32, name_, "combineW");
    requireDType(program, wt, DType::F32, name_, "wt");
    requireWords(program, combineW, N * E * p_.S, name_, "combineW");
    requireWords(program, wt, N * E, name_, "wt");
  }
  requireWords(program, load, E, name_, "load");
  requireWords(program, importance, E, name_, "importance");
  requireWords(program, scalars, 4, name_, "scalars");
  bindings_ = {bind(program, probs), bind(program, combineW),   bind(program, idx),    bind(program, slot),
               bind(program, wt),    bind(program, load),       bind(program, importance), bind(program, scalars)};
}

uint64_t TokenRouteStats::laneLoopIterations() const {
  const uint64_t N = p_.N, E = p_.E, S = p_.S;
  const uint64_t rows = (N + kThreads - 1) / kThreads;  // token rows per lane
  return rows * (1 + E * S) + N * S + 2 * kThreads;    // tables, the expert column, the sums
}

const Op& TokenRouteStats::forDevice(DeviceClass c) const {
  if (c == DeviceClass::CpuImplementation && laneLoopIterations() >= kLavapipeLoopLimit)
    throw std::runtime_error(name_ + ": one lane runs about " + std::to_string(laneLoopIterations()) +
                             " loop iterations, past the " + std::to_string(kLavapipeLoopLimit) +
                             " a CPU-class Vulkan device (lavapipe) allows per invocation; use the CPU backend "
                             "or fewer tokens per batch");
  return *this;
}

void TokenRouteStats::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, E = p_.E, S = p_.S;
  const auto mode = TokenRouteStatsMode(p_.mode);
  float* probs = a.f(probs_);         // [N,E]: written (Fixed, Soft) or read (ExpertChoice)
  int32_t* idx = a.i(idx_);           // [N,k]: read (Fixed) or written
  int32_t* slot = a.i(slot_);         // [N,k]: read (Fixed, ExpertChoice) or written (Soft)
  float* load = a.f(load_);           // [E]
  float* importance = a.f(importance_);  // [E]
  float* scalars = a.f(scalars_);     // [4]

  // Tables, entropy and dropped tokens, row by row.
  double entropy = 0.0;
  uint32_t dropped = 0;
  for (uint32_t n = 0; n < N; ++n) {
    float* row = probs + size_t(n) * E;
    bool taken = false;
    for (uint32_t e = 0; e < E; ++e) {
      const size_t ne = size_t(n) * E + e;
      switch (mode) {
        case TokenRouteStatsMode::Fixed: row[e] = idx[n] == int32_t(e) ? 1.0f : 0.0f; break;
        case TokenRouteStatsMode::ExpertChoice:
          idx[ne] = int32_t(e);
          taken = taken || slot[ne] >= 0;
          break;
        case TokenRouteStatsMode::Soft: {
          const float* cw = a.f(combineW_) + size_t(n) * E * S + size_t(e) * S;  // expert e's S slots
          float share = 0.0f;
          for (uint32_t s = 0; s < S; ++s) share += cw[s];
          row[e] = a.f(wt_)[ne] = share;
          idx[ne] = slot[ne] = int32_t(e);
          taken = true;
          break;
        }
      }
    }
    if (mode == TokenRouteStatsMode::Fixed) taken = slot[n] >= 0;
    dropped += taken ? 0 : 1;
    float ent = 0.0f;
    for (uint32_t e = 0; e < E; ++e)
      if (row[e] > 0.0f) ent -= row[e] * std::log(row[e]);
    entropy += ent;
  }

  // Per expert: taken count (Fixed: assigned count) and column sum of probs.
  std::vector<float> count(E, 0.0f);
  for (uint32_t e = 0; e < E; ++e) {
    float colSum = 0.0f;
    for (uint32_t n = 0; n < N; ++n) {
      const size_t ne = size_t(n) * E + e;
      if (mode == TokenRouteStatsMode::Fixed) count[e] += idx[n] == int32_t(e) ? 1.0f : 0.0f;
      if (mode == TokenRouteStatsMode::ExpertChoice) count[e] += slot[ne] >= 0 ? 1.0f : 0.0f;
      colSum += probs[ne];
    }
    importance[e] = colSum / float(N);
  }
  float taken = 0.0f;
  for (uint32_t e = 0; e < E; ++e) taken += count[e];
  for (uint32_t e = 0; e < E; ++e) {
    switch (mode) {
      case TokenRouteStatsMode::Fixed: load[e] = count[e] / float(N); break;
      case TokenRouteStatsMode::ExpertChoice: load[e] = taken > 0.0f ? count[e] / taken : 0.0f; break;
      case TokenRouteStatsMode::Soft: load[e] = 1.0f / float(E); break;
    }
  }
  scalars[0] = 0.0f;
  scalars[1] = 0.0f;
  scalars[2] = float(entropy / N);
  scalars[3] = float(dropped) / float(N);
}

}  // namespace rl
