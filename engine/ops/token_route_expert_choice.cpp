#include "ops/token_route_expert_choice.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ops/routing_math.h"
#include "ops/shape_check.h"

namespace rl {

namespace {

void validate(const ExpertChoiceParams& p, const std::string& op, bool needC) {
  if (p.N == 0 || p.E == 0 || (needC && p.C == 0) || !(p.temperature > 0.0f))
    throw std::invalid_argument(op + ": need N >= 1, E >= 1, C >= 1 and temperature > 0 (N " + std::to_string(p.N) +
                                ", E " + std::to_string(p.E) + ", C " + std::to_string(p.C) + ", T " +
                                std::to_string(p.temperature) + ")");
}

}  // namespace

uint32_t expertChoiceCapacity(double capacityFactor, uint32_t N, uint32_t E) {
  if (N == 0 || E == 0) return 1;
  const double exact = capacityFactor * double(N) / double(E);
  const double c = std::ceil(exact - 1e-9 * std::max(1.0, exact));
  return uint32_t(std::clamp(c, 1.0, double(N)));
}

ExpertChoiceForward::ExpertChoiceForward(const Program& program, TensorId logits, TensorId probs, TensorId slotAssign,
                                         TensorId slot, TensorId wt, TensorId count, ExpertChoiceParams params)
    : logits_(logits), probs_(probs), slotAssign_(slotAssign), slot_(slot), wt_(wt), count_(count), p_(params) {
  name_ = "expert_choice_fwd(" + program.info(probs).name + ")";
  validate(p_, name_, true);
  if (p_.E > kMaxExperts)
    throw std::invalid_argument(name_ + ": at most " + std::to_string(kMaxExperts) + " experts (E " +
                                std::to_string(p_.E) + ")");
  const uint64_t NE = uint64_t(p_.N) * p_.E;
  requireDType(program, logits, DType::F32, name_, "logits");
  requireDType(program, probs, DType::F32, name_, "probs");
  requireDType(program, slotAssign, DType::I32, name_, "slotAssign");
  requireDType(program, slot, DType::I32, name_, "slot");
  requireDType(program, wt, DType::F32, name_, "wt");
  requireDType(program, count, DType::I32, name_, "count");
  requireWords(program, logits, NE, name_, "logits");
  requireWords(program, probs, NE, name_, "probs");
  requireWords(program, slotAssign, uint64_t(p_.E) * p_.C, name_, "slotAssign");
  requireWords(program, slot, NE, name_, "slot");
  requireWords(program, wt, NE, name_, "wt");
  requireWords(program, count, p_.N, name_, "count");
  bindings_ = {bind(program, logits), bind(program, probs), bind(program, slotAssign),
               bind(program, slot),   bind(program, wt),    bind(program, count)};
}

uint64_t ExpertChoiceForward::laneLoopIterations() const {
  const uint64_t R = ceilDiv(p_.N, kThreads);                  // tokens per lane
  const uint64_t sums = uint64_t(ceilDiv(p_.E, kThreads)) * kThreads;  // a lane's per-expert lane sums
  // scores, 31 bisection steps, the counts, prefix sums and slot walk, the empty-slot sweep
  return R + 31 * (R + sums + 1) + R + sums + R + ceilDiv(uint64_t(p_.E) * p_.C, kThreads) + 16;
}

const Op& ExpertChoiceForward::forDevice(DeviceClass c) const {
  if (c == DeviceClass::CpuImplementation && laneLoopIterations() >= 60000)
    throw std::runtime_error(name_ + ": " + std::to_string(p_.N) + " tokens make a lane run about " +
                             std::to_string(laneLoopIterations()) +
                             " loop iterations, past what a CPU-class Vulkan device (lavapipe) allows per "
                             "invocation (65535); use the CPU backend or a smaller batch");
  return *this;
}

void ExpertChoiceForward::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, E = p_.E, C = p_.C;
  const float* logits = a.f(logits_);  // [N,E]
  float* probs = a.f(probs_);          // [N,E]
  int32_t* assign = a.i(slotAssign_);  // [E,C]
  int32_t* slot = a.i(slot_);          // [N,E]
  float* wt = a.f(wt_);                // [N,E]
  int32_t* count = a.i(count_);        // [N]

  // Scores: softmax over the experts of each token (the exponentials vectorised over the matrix).
  float* scaled = routing::scratch(0, size_t(N) * E);
  for (size_t i = 0; i < size_t(N) * E; ++i) scaled[i] = logits[i] / p_.temperature;
  float* rowMax = routing::scratch(1, N);
  float* rowSum = routing::scratch(2, N);
  routing::shiftedExp(scaled, N, E, probs, rowMax, rowSum);
  for (uint32_t n = 0; n < N; ++n)
    for (uint32_t e = 0; e < E; ++e) probs[size_t(n) * E + e] /= rowSum[n];

  // Each expert's choice: its top C tokens by (score descending, token index ascending), placed in
  // token order. The per-thread buffer only grows (no allocation per step).
  struct Candidate {
    float score;
    uint32_t token;
  };
  auto ranksHigher = [](const Candidate& a, const Candidate& b) {
    return a.score > b.score || (a.score == b.score && a.token < b.token);
  };
  thread_local std::vector<Candidate> column;
  column.resize(N);
  const uint32_t taken = std::min(C, N);
  std::fill(slot, slot + size_t(N) * E, -1);
  std::fill(wt, wt + size_t(N) * E, 0.0f);
  for (uint32_t e = 0; e < E; ++e) {
    for (uint32_t n = 0; n < N; ++n) column[n] = {probs[size_t(n) * E + e], n};
    if (taken < N) std::nth_element(column.begin(), column.begin() + taken, column.end(), ranksHigher);
    std::sort(column.begin(), column.begin() + taken,
              [](const Candidate& a, const Candidate& b) { return a.token < b.token; });
    for (uint32_t c = 0; c < C; ++c) {
      int32_t& s = assign[size_t(e) * C + c];
      if (c >= taken) {
        s = -1;  // C > N: more slots than tokens
        continue;
      }
      const uint32_t n = column[c].token;
      s = int32_t(n * E + e);
      slot[size_t(n) * E + e] = int32_t(e * C + c);
      wt[size_t(n) * E + e] = column[c].score;
    }
  }
  for (uint32_t n = 0; n < N; ++n) {
    int32_t experts = 0;
    for (uint32_t e = 0; e < E; ++e) experts += slot[size_t(n) * E + e] >= 0 ? 1 : 0;
    count[n] = experts;
  }
}

ExpertChoiceBackward::ExpertChoiceBackward(const Program& program, TensorId dwt, TensorId probs, TensorId slot,
                                           TensorId dlogits, ExpertChoiceParams params)
    : StridedOp("expert_choice_bwd(" + program.info(dlogits).name + ")"),
      dwt_(dwt),
      probs_(probs),
      slot_(slot),
      dlogits_(dlogits),
      p_(params) {
  validate(p_, label_, false);
  const uint64_t NE = uint64_t(p_.N) * p_.E;
  requireDType(program, dwt, DType::F32, label_, "dwt");
  requireDType(program, probs, DType::F32, label_, "probs");
  requireDType(program, slot, DType::I32, label_, "slot");
  requireDType(program, dlogits, DType::F32, label_, "dlogits");
  requireWords(program, dwt, NE, label_, "dwt");
  requireWords(program, probs, NE, label_, "probs");
  requireWords(program, slot, NE, label_, "slot");
  requireWords(program, dlogits, NE, label_, "dlogits");
  setup(p_, p_.N, {bind(program, dwt), bind(program, probs), bind(program, slot), bind(program, dlogits)});
}

void ExpertChoiceBackward::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, E = p_.E;
  const float* dwt = a.f(dwt_);      // [N,E]
  const float* probs = a.f(probs_);  // [N,E]
  const int32_t* slot = a.i(slot_);  // [N,E]
  float* dlogits = a.f(dlogits_);    // [N,E]
  for (uint32_t n = 0; n < N; ++n) {
    const size_t row = size_t(n) * E;
    auto g = [&](uint32_t e) { return slot[row + e] >= 0 ? dwt[row + e] : 0.0f; };
    float pg = 0.0f;  // Σ_f p_f g_f
    for (uint32_t e = 0; e < E; ++e) pg += probs[row + e] * g(e);
    for (uint32_t e = 0; e < E; ++e) dlogits[row + e] = probs[row + e] * (g(e) - pg) / p_.temperature;
  }
}

}  // namespace rl
