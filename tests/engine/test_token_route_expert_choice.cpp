// Expert-choice routing (ExpertChoiceForward / ExpertChoiceBackward): the selection rules checked
// from first principles on each backend's own scores (so Vulkan's choice is verified exactly, ties
// included), Vulkan vs CPU parity over many shapes, a hand-checked case, the backward against
// central finite differences through the existing dispatch / combine ops (CPU), backward parity,
// and shape errors.
#include "routing_fixture.h"
#include "pinned_variant.h"

#include <cmath>
#include <functional>
#include <numeric>

#include "ops/combine.h"
#include "ops/dispatch.h"
#include "ops/linear.h"
#include "ops/token_route_expert_choice.h"

using namespace rl;
using namespace rltest;

namespace {

std::string shapeText(uint32_t N, uint32_t E, uint32_t C, float T) {
  return "N " + std::to_string(N) + ", E " + std::to_string(E) + ", C " + std::to_string(C) + ", T " +
         std::to_string(T);
}

// Logits in [-2, 2]; each row after the first is, with probability `copies`, an exact copy of an
// earlier row, so scores tie exactly across tokens (on each backend) and the tie rule is exercised.
std::vector<float> logitsWithTies(uint32_t N, uint32_t E, uint32_t seed, double copies = 0.25) {
  std::vector<float> v = randomVector(size_t(N) * E, seed, -2.f, 2.f);
  std::mt19937 gen(seed + 7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (uint32_t n = 1; n < N; ++n)
    if (u(gen) < copies) {
      const uint32_t from = std::uniform_int_distribution<uint32_t>(0, n - 1)(gen);
      std::copy_n(v.begin() + size_t(from) * E, E, v.begin() + size_t(n) * E);
    }
  return v;
}

// What the rules imply, checked from the scores alone: token n is taken by expert e iff fewer than C
// tokens rank above it (higher score, or equal score and lower index); an expert's slots hold its
// tokens in ascending order; slot, wt and count agree. Returns the first violation, or "".
std::string expertChoiceProblem(const std::vector<float>& probs, const std::vector<int32_t>& assign,
                                const std::vector<int32_t>& slot, const std::vector<float>& wt,
                                const std::vector<int32_t>& count, uint32_t N, uint32_t E, uint32_t C) {
  std::vector<int32_t> experts(N, 0);
  std::vector<uint32_t> byRank(N), rank(N);
  for (uint32_t e = 0; e < E; ++e) {
    auto score = [&](uint32_t n) { return probs[size_t(n) * E + e]; };
    std::iota(byRank.begin(), byRank.end(), 0u);
    std::sort(byRank.begin(), byRank.end(),
              [&](uint32_t a, uint32_t b) { return score(a) > score(b) || (score(a) == score(b) && a < b); });
    for (uint32_t r = 0; r < N; ++r) rank[byRank[r]] = r;  // = number of tokens ranked above
    uint32_t c = 0;
    for (uint32_t n = 0; n < N; ++n) {
      const size_t i = size_t(n) * E + e;
      const std::string at = "expert " + std::to_string(e) + ", token " + std::to_string(n);
      if (rank[n] < C) {
        const int32_t want = int32_t(e * C + c);
        if (slot[i] != want) return at + ": slot " + std::to_string(slot[i]) + ", rules say " + std::to_string(want);
        if (assign[want] != int32_t(i))
          return "slot " + std::to_string(want) + " holds " + std::to_string(assign[want]) + ", rules say " +
                 std::to_string(i);
        if (wt[i] != score(n)) return at + ": wt " + std::to_string(wt[i]) + " is not the score " + std::to_string(score(n));
        ++c;
        ++experts[n];
      } else if (slot[i] != -1 || wt[i] != 0.f) {
        return at + ": not among the top " + std::to_string(C) + " but slot " + std::to_string(slot[i]) + ", wt " +
               std::to_string(wt[i]);
      }
    }
    if (c != std::min(C, N)) return "expert " + std::to_string(e) + " took " + std::to_string(c) + " tokens";
    for (; c < C; ++c)
      if (assign[size_t(e) * C + c] != -1) return "slot " + std::to_string(e * C + c) + " should be empty";
  }
  for (uint32_t n = 0; n < N; ++n)
    if (count[n] != experts[n])
      return "token " + std::to_string(n) + ": count " + std::to_string(count[n]) + ", taken by " +
             std::to_string(experts[n]);
  return {};
}

// True if column e's C-th largest score is separated from the nearest different score by more than
// a relative 1e-5, so float differences between backends cannot change which tokens are taken
// (exactly equal scores come from copied rows and are equal on both backends too).
bool boundaryStable(const std::vector<float>& probs, uint32_t N, uint32_t E, uint32_t C, uint32_t e) {
  if (C >= N) return true;
  std::vector<float> v(N);
  for (uint32_t n = 0; n < N; ++n) v[n] = probs[size_t(n) * E + e];
  std::sort(v.begin(), v.end(), std::greater<float>());
  const float t = v[C - 1], tol = 1e-5f * std::max(t, 1e-6f);
  for (float x : v)
    if (x != t && std::abs(x - t) <= tol) return false;
  return true;
}

template <class F>
bool throwsInvalid(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    qInfo("expected error: %s", e.what());
    return true;
  }
  return false;
}

// Central differences of loss() with respect to every element of float tensor t; stable() must hold
// at every probe (the selection is piecewise constant and a step must not cross a boundary).
template <class Loss, class Stable>
std::vector<float> finiteDifferences(Backend& be, const Program& p, TensorId t, double eps, Loss loss,
                                     Stable stable, bool& crossed) {
  std::vector<float> base = be.readTensor<float>(p, t), grad(base.size());
  for (size_t i = 0; i < base.size(); ++i) {
    double v[2];
    for (int s = 0; s < 2; ++s) {
      std::vector<float> x = base;
      x[i] = float(base[i] + (s ? -eps : eps));
      be.writeTensor(p, t, x);
      v[s] = loss();
      crossed = crossed || !stable();
    }
    grad[i] = float((v[0] - v[1]) / (2 * eps));
  }
  be.writeTensor(p, t, base);
  return grad;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// The smallest gap, over experts, between the C-th and (C+1)-th largest score (infinity if C >= N,
// or E = 1: every score is then exactly 1 whatever the logits, so the selection cannot move).
float smallestBoundaryGap(const std::vector<float>& logits, uint32_t N, uint32_t E, uint32_t C, float T) {
  if (C >= N || E == 1) return INFINITY;
  std::vector<float> p(logits.size());
  for (uint32_t n = 0; n < N; ++n) {
    double s = 0;
    for (uint32_t e = 0; e < E; ++e) s += std::exp(double(logits[n * E + e]) / T);
    for (uint32_t e = 0; e < E; ++e) p[n * E + e] = float(std::exp(double(logits[n * E + e]) / T) / s);
  }
  float gap = INFINITY;
  for (uint32_t e = 0; e < E; ++e) {
    std::vector<float> v(N);
    for (uint32_t n = 0; n < N; ++n) v[n] = p[n * E + e];
    std::sort(v.begin(), v.end(), std::greater<float>());
    gap = std::min(gap, v[C - 1] - v[C]);
  }
  return gap;
}

// The most experts any token gets when every expert takes its top C (softmax scores, double).
int maxExpertsPerToken(const std::vector<float>& logits, uint32_t N, uint32_t E, uint32_t C) {
  std::vector<double> p(logits.size());
  for (uint32_t n = 0; n < N; ++n) {
    double s = 0;
    for (uint32_t e = 0; e < E; ++e) s += std::exp(double(logits[n * E + e]));
    for (uint32_t e = 0; e < E; ++e) p[n * E + e] = std::exp(double(logits[n * E + e])) / s;
  }
  std::vector<int> experts(N, 0);
  std::vector<uint32_t> order(N);
  for (uint32_t e = 0; e < E; ++e) {
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return p[a * E + e] > p[b * E + e]; });
    for (uint32_t c = 0; c < std::min(C, N); ++c) ++experts[order[c]];
  }
  return *std::max_element(experts.begin(), experts.end());
}

}  // namespace

class TestTokenRouteExpertChoice : public QObject {
  Q_OBJECT

 private slots:
  void capacityFormula() {
    QCOMPARE(expertChoiceCapacity(1.25, 1024, 8), 160u);
    QCOMPARE(expertChoiceCapacity(1.0, 10, 3), 4u);   // ceil(3.33)
    QCOMPARE(expertChoiceCapacity(0.3, 10, 3), 1u);   // 0.3 * 10 / 3 = 1.0000000000000002 in double
    QCOMPARE(expertChoiceCapacity(2.0, 5, 1), 5u);    // clamped to N
    QCOMPARE(expertChoiceCapacity(0.01, 5, 8), 1u);   // at least 1
  }

  void handCheckedCase() {
    // 5 tokens, 2 experts, C = 2, T = 1. Logits chosen so the scores are easy to rank:
    //   token:      0     1     2     3     4
    //   p(expert0): s(2)  s(0)  s(2)  s(-1) s(0.5)    s(x) = 1 / (1 + e^-x) (two experts)
    // expert 0 takes tokens 0 and 2 (equal top score, both fit); expert 1 (p = 1 - p0) takes 3 and 1
    // (1 - s(0) = 0.5 vs 1 - s(0.5) = 0.38): slots in token order [1, 3]. Token 4 is dropped.
    const uint32_t N = 5, E = 2, C = 2;
    Bench b;
    TensorId logits = b.f32("logits", {N, E}), probs = b.f32("probs", {N, E}), assign = b.i32("assign", {E * C});
    TensorId slot = b.i32("slot", {N, E}), wt = b.f32("wt", {N, E}), count = b.i32("count", {N});
    b.set(logits, std::vector<float>{2, 0, 0, 0, 2, 0, -1, 0, 0.5f, 0});
    b.program.append("fwd", std::make_unique<ExpertChoiceForward>(b.program, logits, probs, assign, slot, wt, count,
                                                                  ExpertChoiceParams{N, E, C, 1.0f}));
    auto check = [&](Backend& be) {
      b.load(be);
      be.run("fwd");
      RL_EXPECT_EQUAL_INTS(b.i(be, assign), (std::vector<int32_t>{0 * E + 0, 2 * E + 0, 1 * E + 1, 3 * E + 1}),
                           be.name() + ": slotAssign");
      RL_EXPECT_EQUAL_INTS(b.i(be, slot), (std::vector<int32_t>{0, -1, -1, 2, 1, -1, -1, 3, -1, -1}),
                           be.name() + ": slot");
      RL_EXPECT_EQUAL_INTS(b.i(be, count), (std::vector<int32_t>{1, 1, 1, 1, 0}), be.name() + ": count");
      const float s2 = 1.f / (1.f + std::exp(-2.f));
      RL_EXPECT_CLOSE(b.f(be, wt), (std::vector<float>{s2, 0, 0, 0.5f, s2, 0, 0, 1 - 1.f / (1.f + std::exp(1.f)), 0, 0}),
                      1e-6, 1e-5, be.name() + ": wt");
    };
    CpuBackend cpu;
    check(cpu);
    if (QTest::currentTestFailed()) return;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    check(*vk);
  }

  void allEqualScoresGoToTheLowestTokens() {
    // Identical rows: every expert ties on every token and takes tokens 0 .. C-1.
    for (auto [N, E, C] : {std::tuple{70u, 3u, 9u}, {5u, 1u, 3u}, {65u, 16u, 64u}, {4u, 2u, 6u}}) {
      Bench b;
      TensorId logits = b.f32("logits", {N, E}), probs = b.f32("probs", {N, E}), assign = b.i32("assign", {E * C});
      TensorId slot = b.i32("slot", {N, E}), wt = b.f32("wt", {N, E}), count = b.i32("count", {N});
      std::vector<float> row = randomVector(E, N + E), l;
      for (uint32_t n = 0; n < N; ++n) l.insert(l.end(), row.begin(), row.end());
      b.set(logits, l);
      b.program.append("fwd", std::make_unique<ExpertChoiceForward>(b.program, logits, probs, assign, slot, wt,
                                                                    count, ExpertChoiceParams{N, E, C, 1.0f}));
      std::vector<int32_t> want(size_t(E) * C, -1);
      for (uint32_t e = 0; e < E; ++e)
        for (uint32_t c = 0; c < std::min(C, N); ++c) want[e * C + c] = int32_t(c * E + e);
      auto check = [&](Backend& be) {
        b.load(be);
        be.run("fwd");
        RL_EXPECT_EQUAL_INTS(b.i(be, assign), want, be.name() + ": " + shapeText(N, E, C, 1) + ": slotAssign");
      };
      CpuBackend cpu;
      check(cpu);
      if (QTest::currentTestFailed()) return;
      std::unique_ptr<Backend> vk;
      RL_REQUIRE_VULKAN(vk);
      check(*vk);
      if (QTest::currentTestFailed()) return;
    }
  }

  void forwardRulesAndParity() {
    struct Case {
      uint32_t N, E, C;
      float T;
      TensorId logits = 0, probs = 0, assign = 0, slot = 0, wt = 0, count = 0;
    };
    Bench b;
    std::vector<Case> cases;
    const float temperatures[] = {1.0f, 0.5f, 2.0f};
    uint32_t seed = 1;
    // N = 30000: a lane of the Vulkan workgroup runs ~30,000 loop iterations, well past the 2,000
    // tokens where a first design (one invocation walking every token 33 times) hit lavapipe's
    // 65535-iteration loop limit and silently stopped.
    // E = 64: the most the spec allows (the shader's shared memory is sized for it).
    for (uint32_t N : {1u, 5u, 63u, 64u, 65u, 256u, 1000u, 4097u, 30000u})
      for (uint32_t E : {1u, 2u, 3u, 8u, 16u, 64u}) {
        if ((N == 30000 && E != 8) || (E == 64 && N != 65 && N != 1000)) continue;
        std::vector<uint32_t> capacities;
        for (double cf : {0.5, 1.0, 1.25, 2.0}) capacities.push_back(expertChoiceCapacity(cf, N, E));
        capacities.push_back(N + 3);  // more slots than tokens: empty slots
        std::sort(capacities.begin(), capacities.end());
        capacities.erase(std::unique(capacities.begin(), capacities.end()), capacities.end());
        for (uint32_t C : capacities) {
          if (N >= 4097 && C > 2 * N / E + 1) continue;  // keep the big shapes' Program small
          Case c{N, E, C, temperatures[seed % 3]};
          const std::string p = "c" + std::to_string(cases.size()) + ".";
          c.logits = b.f32(p + "logits", {N, E});
          c.probs = b.f32(p + "probs", {N, E});
          c.assign = b.i32(p + "assign", {E * C});
          c.slot = b.i32(p + "slot", {N, E});
          c.wt = b.f32(p + "wt", {N, E});
          c.count = b.i32(p + "count", {N});
          b.set(c.logits, logitsWithTies(N, E, seed++));
          // Garbage everywhere: every output element must be written.
          b.set(c.assign, std::vector<int32_t>(size_t(E) * C, 777));
          b.set(c.slot, std::vector<int32_t>(size_t(N) * E, 777));
          b.set(c.wt, std::vector<float>(size_t(N) * E, NAN));
          b.set(c.count, std::vector<int32_t>(N, 777));
          b.program.append("fwd", std::make_unique<ExpertChoiceForward>(b.program, c.logits, c.probs, c.assign,
                                                                        c.slot, c.wt, c.count,
                                                                        ExpertChoiceParams{N, E, C, c.T}));
          cases.push_back(c);
        }
      }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    cpu.run("fwd");
    vk->run("fwd");
    size_t experts = 0, unstable = 0, tiedBoundaries = 0;
    for (const Case& c : cases) {
      const std::string what = shapeText(c.N, c.E, c.C, c.T);
      for (Backend* be : {static_cast<Backend*>(&cpu), vk.get()}) {
        const std::string problem = expertChoiceProblem(b.f(*be, c.probs), b.i(*be, c.assign), b.i(*be, c.slot),
                                                        b.f(*be, c.wt), b.i(*be, c.count), c.N, c.E, c.C);
        QVERIFY2(problem.empty(), qPrintable(QString::fromStdString(be->name() + ", " + what + ": " + problem)));
      }
      // Scores agree to float rounding (measured worst ratio 0.03 at atol 1e-6, rtol 1e-5).
      const auto probsCpu = b.f(cpu, c.probs);
      RL_EXPECT_CLOSE(b.f(*vk, c.probs), probsCpu, 1e-6, 1e-5, what + ": probs");
      // Choices agree exactly wherever the boundary score is not within float noise of another.
      const auto assignCpu = b.i(cpu, c.assign), assignVk = b.i(*vk, c.assign);
      for (uint32_t e = 0; e < c.E; ++e) {
        ++experts;
        if (!boundaryStable(probsCpu, c.N, c.E, c.C, e)) {
          ++unstable;
          continue;
        }
        if (c.C < c.N) {
          std::vector<float> col(c.N);
          for (uint32_t n = 0; n < c.N; ++n) col[n] = probsCpu[size_t(n) * c.E + e];
          std::nth_element(col.begin(), col.begin() + c.C, col.end(), std::greater<float>());
          const float next = col[c.C];
          tiedBoundaries += *std::min_element(col.begin(), col.begin() + c.C) == next;
        }
        RL_EXPECT_EQUAL_INTS(std::vector<int32_t>(assignVk.begin() + e * c.C, assignVk.begin() + (e + 1) * c.C),
                             std::vector<int32_t>(assignCpu.begin() + e * c.C, assignCpu.begin() + (e + 1) * c.C),
                             what + ": slotAssign of expert " + std::to_string(e));
      }
      RL_EXPECT_CLOSE(b.f(*vk, c.wt), b.f(cpu, c.wt), 1e-6, 1e-5, what + ": wt");
    }
    qInfo("expert choice parity: %zu cases, %zu experts, %zu near-tie boundaries skipped, %zu exact-tie boundaries",
          cases.size(), experts, unstable, tiedBoundaries);
    QVERIFY2(unstable * 100 <= experts, "more than 1% of boundaries skipped: the parity check lost its teeth");
    QVERIFY2(tiedBoundaries > 0, "no boundary fell on an exact tie: the tie rule went untested across backends");
  }

  void backwardMatchesFiniteDifferences_data() {
    QTest::addColumn<uint32_t>("N");
    QTest::addColumn<uint32_t>("E");
    QTest::addColumn<uint32_t>("C");
    QTest::addColumn<float>("T");
    QTest::newRow("N7 E3 C3") << 7u << 3u << 3u << 1.0f;
    QTest::newRow("N9 E4 C2 T0.7") << 9u << 4u << 2u << 0.7f;
    QTest::newRow("N6 E5 C3 T1.5") << 6u << 5u << 3u << 1.5f;
    QTest::newRow("N5 E2 C5 (all taken)") << 5u << 2u << 5u << 1.0f;
    QTest::newRow("N4 E1 C2 (one expert)") << 4u << 1u << 2u << 1.0f;
  }
  // L = <R, y> with y = combine(expert(dispatch(x))), expert = tanh(xe) ⊙ A per slot, scores from
  // logits. dlogits comes from CombineBackward -> ExpertChoiceBackward, dx from the expert's
  // derivative -> DispatchBackward (k = E): the whole wiring the header describes.
  void backwardMatchesFiniteDifferences() {
    QFETCH(uint32_t, N);
    QFETCH(uint32_t, E);
    QFETCH(uint32_t, C);
    QFETCH(float, T);
    const uint32_t D = 3, S = E * C;
    const std::string what = shapeText(N, E, C, T);
    // Logits whose every boundary gap in scores is at least 0.02, so a step of 1e-2 (which moves
    // a score by at most 0.0025) cannot change the selection; seeds tried in a fixed order.
    uint32_t seed = 1000 * N + E;
    std::vector<float> logits0;
    do logits0 = randomVector(size_t(N) * E, seed++, -1.5f, 1.5f);
    while (smallestBoundaryGap(logits0, N, E, C, T) < 0.02f);

    Bench b;
    TensorId logits = b.f32("logits", {N, E}), probs = b.f32("probs", {N, E}), assign = b.i32("assign", {S});
    TensorId slot = b.i32("slot", {N, E}), wt = b.f32("wt", {N, E}), count = b.i32("count", {N});
    TensorId x = b.f32("x", {N, D}), xe = b.f32("xe", {S, D}), oe = b.f32("oe", {S, D}), y = b.f32("y", {N, D});
    TensorId r = b.f32("r", {N, D}), doe = b.f32("doe", {S, D}), dwt = b.f32("dwt", {N, E});
    TensorId dlogits = b.f32("dlogits", {N, E}), dxe = b.f32("dxe", {S, D}), dx = b.f32("dx", {N, D});
    b.set(logits, logits0);
    b.set(x, randomVector(size_t(N) * D, seed + 1));
    b.set(r, randomVector(size_t(N) * D, seed + 2));
    const std::vector<float> A = randomVector(size_t(S) * D, seed + 3, 0.5f, 1.5f);
    auto& P = b.program;
    const ExpertChoiceParams ep{N, E, C, T};
    const DispatchParams dp{N, D, S, E};
    const CombineParams cp{N, D, E, S};
    P.append("route", std::make_unique<ExpertChoiceForward>(P, logits, probs, assign, slot, wt, count, ep));
    P.append("route", std::make_unique<DispatchForward>(P, x, assign, xe, dp));
    P.append("mix", std::make_unique<CombineForward>(P, oe, slot, wt, y, cp));
    P.append("bwd_router", std::make_unique<CombineBackward>(P, r, oe, slot, assign, wt, doe, dwt, cp));
    P.append("bwd_router", std::make_unique<ExpertChoiceBackward>(P, dwt, probs, slot, dlogits, ep));
    P.append("bwd_input", std::make_unique<DispatchBackward>(P, dxe, slot, dx, dp));

    CpuBackend cpu;
    b.load(cpu);
    auto forward = [&] {
      cpu.run("route");
      const auto xv = b.f(cpu, xe);
      std::vector<float> o(xv.size());
      for (size_t i = 0; i < o.size(); ++i) o[i] = std::tanh(xv[i]) * A[i];
      cpu.writeTensor(P, oe, o);
      cpu.run("mix");
      return dot(b.f(cpu, r), b.f(cpu, y));
    };
    forward();
    const auto baseAssign = b.i(cpu, assign);
    const auto counts = b.i(cpu, count);
    cpu.run("bwd_router");
    {
      const auto xv = b.f(cpu, xe), g = b.f(cpu, doe);
      std::vector<float> d(xv.size(), 0.f);
      for (uint32_t s = 0; s < S; ++s)
        if (baseAssign[s] >= 0)  // doe of an empty slot is not written (nothing reads it)
          for (uint32_t k = 0; k < D; ++k) {
            const float t = std::tanh(xv[s * D + k]);
            d[s * D + k] = g[s * D + k] * A[s * D + k] * (1 - t * t);
          }
      cpu.writeTensor(P, dxe, d);
    }
    cpu.run("bwd_input");
    const auto gotLogits = b.f(cpu, dlogits), gotX = b.f(cpu, dx);

    bool crossed = false;
    auto stable = [&] { return b.i(cpu, assign) == baseAssign; };
    const auto fdLogits = finiteDifferences(cpu, P, logits, 1e-2, forward, stable, crossed);
    const auto fdX = finiteDifferences(cpu, P, x, 1e-2, forward, stable, crossed);
    QVERIFY2(!crossed, qPrintable(QString::fromStdString(what + ": a step changed the selection (bad test input)")));
    // Measured worst ratios 0.005 (logits) and 0.006 (x) at these tolerances.
    RL_EXPECT_CLOSE(gotLogits, fdLogits, 5e-4, 5e-3, what + ": dlogits vs finite differences");
    RL_EXPECT_CLOSE(gotX, fdX, 5e-4, 5e-3, what + ": dx vs finite differences");
    if (E > 1) QVERIFY2(dot(fdLogits, fdLogits) > 1e-4, qPrintable(QString::fromStdString(what + ": no router gradient")));
    QVERIFY2(dot(fdX, fdX) > 1e-4, qPrintable(QString::fromStdString(what + ": no input gradient")));
    // Dropped tokens (count 0) get no input gradient from this block.
    for (uint32_t n = 0; n < N; ++n)
      if (counts[n] == 0)
        for (uint32_t k = 0; k < D; ++k) QCOMPARE(gotX[n * D + k], 0.f);
  }

  // The whole MoE block as the header tells a builder to wire it, with the real router and expert
  // linears (tanh experts, row mask = slotAssign): the forward agrees with a direct double-precision
  // computation on both backends, and every gradient (input, router weights, expert weights and
  // biases) matches central finite differences on the CPU and the CPU's on Vulkan.
  void wiredBlockMatchesDirectComputationAndDifferences() {
    const uint32_t N = 13, E = 3, D = 4, C = expertChoiceCapacity(0.75, N, E), S = E * C;  // C = 4: 12 slots, 13 tokens
    Bench b;
    auto& P = b.program;
    TensorId x = b.f32("x", {N, D}), wr = b.f32("router.w", {E, D}), logits = b.f32("logits", {N, E});
    TensorId probs = b.f32("probs", {N, E}), assign = b.i32("assign", {S}), slot = b.i32("slot", {N, E});
    TensorId wt = b.f32("wt", {N, E}), count = b.i32("count", {N}), xe = b.f32("xe", {S, D});
    TensorId w1 = b.f32("fc1.w", {E, D, D}), b1 = b.f32("fc1.b", {E, D}), z1 = b.f32("fc1.z", {S, D});
    TensorId oe = b.f32("fc1.y", {S, D}), y = b.f32("y", {N, D}), r = b.f32("r", {N, D});
    TensorId doe = b.f32("d_oe", {S, D}), dwt = b.f32("d_wt", {N, E}), dlogits = b.f32("d_logits", {N, E});
    TensorId dxe = b.f32("d_xe", {S, D}), dx = b.f32("d_x", {N, D}), dwr = b.f32("d_router.w", {E, D});
    TensorId dw1 = b.f32("d_fc1.w", {E, D, D}), db1 = b.f32("d_fc1.b", {E, D});
    const LinearParams router{1, N, D, E, uint32_t(Activation::None), 0, 0, 0};
    const LinearParams expert{E, C, D, D, uint32_t(Activation::Tanh), 0, 1, 1};
    const ExpertChoiceParams ep{N, E, C, 1.0f};
    const DispatchParams dp{N, D, S, E};
    const CombineParams cp{N, D, E, S};
    P.append("fwd", std::make_unique<LinearForward>(P, x, wr, wr, logits, logits, router));
    P.append("fwd", std::make_unique<ExpertChoiceForward>(P, logits, probs, assign, slot, wt, count, ep));
    P.append("fwd", std::make_unique<DispatchForward>(P, x, assign, xe, dp));
    P.append("fwd", std::make_unique<LinearForward>(P, xe, w1, b1, z1, oe, expert, assign));
    P.append("fwd", std::make_unique<CombineForward>(P, oe, slot, wt, y, cp));
    P.append("bwd", std::make_unique<CombineBackward>(P, r, oe, slot, assign, wt, doe, dwt, cp));
    P.append("bwd", std::make_unique<ExpertChoiceBackward>(P, dwt, probs, slot, dlogits, ep));
    P.append("bwd", std::make_unique<LinearBackwardParams>(P, doe, z1, xe, dw1, db1, expert, assign));
    P.append("bwd", std::make_unique<LinearBackwardInput>(P, doe, z1, w1, dxe, expert, assign));
    P.append("bwd", std::make_unique<DispatchBackward>(P, dxe, slot, dx, dp));
    P.append("bwd", std::make_unique<LinearBackwardParams>(P, dlogits, logits, x, dwr, dwr, router));
    LinearParams routerInput = router;
    routerInput.accumulate = 1;  // x fans out: the dispatch backward wrote dx first
    P.append("bwd", std::make_unique<LinearBackwardInput>(P, dlogits, logits, wr, dx, routerInput));

    // Inputs whose selection has a clear margin and gives some token two experts (12 slots for 13
    // tokens then drop at least two); seeds tried in a fixed order.
    std::vector<float> xv, wrv;
    for (uint32_t seed = 900;; ++seed) {
      xv = randomVector(size_t(N) * D, seed);
      wrv = randomVector(size_t(E) * D, seed + 1, -1.f, 1.f);
      std::vector<float> l(size_t(N) * E, 0.f);
      for (uint32_t n = 0; n < N; ++n)
        for (uint32_t e = 0; e < E; ++e)
          for (uint32_t k = 0; k < D; ++k) l[n * E + e] += xv[n * D + k] * wrv[e * D + k];
      if (smallestBoundaryGap(l, N, E, C, 1.0f) > 0.03f && maxExpertsPerToken(l, N, E, C) > 1) break;
    }
    b.set(x, xv);
    b.set(wr, wrv);
    b.set(w1, randomVector(size_t(E) * D * D, 5, -0.8f, 0.8f));
    b.set(b1, randomVector(size_t(E) * D, 6, -0.3f, 0.3f));
    b.set(r, randomVector(size_t(N) * D, 7));

    auto direct = [&](Backend& be) {  // y from the backend's own scores and selection, in double
      const auto p = b.f(be, probs), W = b.f(be, w1), bias = b.f(be, b1);
      const auto sl = b.i(be, slot);
      std::vector<float> out(size_t(N) * D, 0.f);
      for (uint32_t n = 0; n < N; ++n)
        for (uint32_t o = 0; o < D; ++o) {
          double acc = 0;
          for (uint32_t e = 0; e < E; ++e) {
            if (sl[n * E + e] < 0) continue;
            double z = bias[e * D + o];
            for (uint32_t k = 0; k < D; ++k) z += double(W[(e * D + o) * D + k]) * xv[n * D + k];
            acc += double(p[n * E + e]) * std::tanh(z);
          }
          out[n * D + o] = float(acc);
        }
      return out;
    };
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    for (Backend* be : {static_cast<Backend*>(&cpu), vk.get()}) {
      b.load(*be);
      be->run("fwd");
      be->run("bwd");
      // Measured worst ratio 0.005 (cpu), 0.003 (vulkan).
      RL_EXPECT_CLOSE(b.f(*be, y), direct(*be), 1e-5, 1e-4, be->name() + ": wired block y vs direct computation");
      const auto counts = b.i(*be, count);
      QVERIFY2(std::count(counts.begin(), counts.end(), 0) > 0 && *std::max_element(counts.begin(), counts.end()) > 1,
               "the case should drop some tokens and give others several experts");
    }
    // Deterministic: a second Vulkan run from the same inputs gives the same bits in every tensor.
    {
      std::vector<std::vector<uint32_t>> first;
      for (TensorId t = 0; t < TensorId(P.tensors.size()); ++t) first.push_back(vk->readTensor<uint32_t>(P, t));
      b.load(*vk);
      vk->run("fwd");
      vk->run("bwd");
      for (TensorId t = 0; t < TensorId(P.tensors.size()); ++t)
        QVERIFY2(vk->readTensor<uint32_t>(P, t) == first[t],
                 qPrintable("a second Vulkan run changed " + QString::fromStdString(P.info(t).name)));
    }
    RL_EXPECT_EQUAL_INTS(b.i(*vk, assign), b.i(cpu, assign), "wired block: selection");
    // Measured worst ratio 0.008.
    for (auto [t, name] : {std::pair{dx, "dx"}, {dwr, "d router.w"}, {dw1, "d fc1.w"}, {db1, "d fc1.b"}})
      RL_EXPECT_CLOSE(b.f(*vk, t), b.f(cpu, t), 1e-5, 1e-4, std::string("wired block vulkan vs cpu: ") + name);

    const auto baseAssign = b.i(cpu, assign);
    auto loss = [&] {
      cpu.run("fwd");
      return dot(b.f(cpu, r), b.f(cpu, y));
    };
    auto stable = [&] { return b.i(cpu, assign) == baseAssign; };
    bool crossed = false;
    for (auto [t, g, name] : {std::tuple{x, dx, "dx"}, {wr, dwr, "d router.w"}, {w1, dw1, "d fc1.w"}, {b1, db1, "d fc1.b"}}) {
      const auto fd = finiteDifferences(cpu, P, t, 1e-2, loss, stable, crossed);
      QVERIFY2(!crossed, "a step changed the selection (bad test input)");
      // Measured worst ratio 0.012 at these tolerances.
      RL_EXPECT_CLOSE(b.f(cpu, g), fd, 5e-4, 5e-3, std::string("wired block: ") + name + " vs finite differences");
      QVERIFY2(dot(fd, fd) > 1e-6, (std::string(name) + ": no gradient to test").c_str());
    }
  }

  void backwardParity() {
    struct Case {
      uint32_t N, E;
      float T;
      DeviceClass grid;
      TensorId dwt = 0, probs = 0, slot = 0, dlogits = 0;
    };
    Bench b;
    std::vector<Case> cases;
    uint32_t seed = 300;
    for (uint32_t N : {1u, 5u, 63u, 64u, 65u, 256u, 1000u})
      for (uint32_t E : {1u, 2u, 3u, 8u, 16u})
        for (DeviceClass grid : {DeviceClass::CpuImplementation, DeviceClass::Gpu}) {
          Case c{N, E, seed % 2 ? 0.8f : 1.0f, grid};
          const std::string p = "c" + std::to_string(cases.size()) + ".";
          c.dwt = b.f32(p + "dwt", {N, E});
          c.probs = b.f32(p + "probs", {N, E});
          c.slot = b.i32(p + "slot", {N, E});
          c.dlogits = b.f32(p + "dlogits", {N, E});
          b.set(c.dwt, randomVector(size_t(N) * E, seed++));
          b.set(c.probs, randomProbs(N, E, seed++));
          std::vector<int32_t> slotValues(size_t(N) * E);
          std::mt19937 gen(seed++);
          for (auto& s : slotValues) s = gen() % 3 == 0 ? -1 : int32_t(gen() % 100);  // about a third not taken
          b.set(c.slot, slotValues);
          b.set(c.dlogits, std::vector<float>(size_t(N) * E, NAN));
          b.program.append("bwd", std::make_unique<PinnedVariant>(
                                      std::make_unique<ExpertChoiceBackward>(b.program, c.dwt, c.probs, c.slot,
                                                                             c.dlogits, ExpertChoiceParams{N, E, 0, c.T}),
                                      grid));
          cases.push_back(c);
        }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    cpu.run("bwd");
    vk->run("bwd");
    // Measured worst ratio 0.07 at atol 1e-6, rtol 1e-4.
    for (const Case& c : cases)
      RL_EXPECT_CLOSE(b.f(*vk, c.dlogits), b.f(cpu, c.dlogits), 1e-6, 1e-4,
                      shapeText(c.N, c.E, 0, c.T) + (c.grid == DeviceClass::Gpu ? ", GPU-class grid" : ", CPU-class grid") +
                          ": dlogits");
    qInfo("expert choice backward parity: %zu cases", cases.size());
  }

  void tooManyTokensForLavapipeIsAClearError() {
    const uint32_t E = 8;
    for (uint32_t N : {30000u, 70000u}) {
      Bench b;
      const uint32_t C = expertChoiceCapacity(1.25, N, E);
      TensorId logits = b.f32("logits", {N, E}), probs = b.f32("probs", {N, E}), assign = b.i32("assign", {E * C});
      TensorId slot = b.i32("slot", {N, E}), wt = b.f32("wt", {N, E}), count = b.i32("count", {N});
      ExpertChoiceForward op(b.program, logits, probs, assign, slot, wt, count, {N, E, C, 1.0f});
      qInfo("N %u: a lane runs about %llu loop iterations", N, (unsigned long long)op.laneLoopIterations());
      QCOMPARE(&op.forDevice(DeviceClass::Gpu), static_cast<const Op*>(&op));
      bool threw = false;
      try {
        op.forDevice(DeviceClass::CpuImplementation);
      } catch (const std::runtime_error& e) {
        threw = true;
        qInfo("expected error: %s", e.what());
      }
      QCOMPARE(threw, N > 60000);  // 30000 is tested on lavapipe in forwardRulesAndParity
    }
  }

  void badShapesAreClearErrors() {
    Bench b;
    const uint32_t N = 6, E = 3, C = 2;
    TensorId logits = b.f32("logits", {N, E}), probs = b.f32("probs", {N, E}), assign = b.i32("assign", {E * C});
    TensorId slot = b.i32("slot", {N, E}), wt = b.f32("wt", {N, E}), count = b.i32("count", {N});
    TensorId smallAssign = b.i32("small_assign", {E * C - 1}), slotF = b.f32("slot_float", {N, E});
    const Program& P = b.program;
    QVERIFY(throwsInvalid([&] { ExpertChoiceForward(P, logits, probs, assign, slot, wt, count, {N, E, 0, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceForward(P, logits, probs, assign, slot, wt, count, {N, 0, C, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceForward(P, logits, probs, assign, slot, wt, count, {N, E, C, 0}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceForward(P, logits, probs, assign, slot, wt, count, {N + 1, E, C, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceForward(P, logits, probs, smallAssign, slot, wt, count, {N, E, C, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceForward(P, logits, probs, assign, slotF, wt, count, {N, E, C, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceForward(P, logits, probs, assign, slot, wt, count, {1, 65, 1, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceBackward(P, wt, probs, slotF, logits, {N, E, 0, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceBackward(P, wt, probs, slot, count, {N, E, 0, 1}); }));
    QVERIFY(throwsInvalid([&] { ExpertChoiceBackward(P, wt, probs, slot, logits, {N, E + 1, 0, 1}); }));
    ExpertChoiceForward(P, logits, probs, assign, slot, wt, count, {N, E, C, 1});
    ExpertChoiceBackward(P, wt, probs, slot, logits, {N, E, 0, 1});
  }
};

QTEST_APPLESS_MAIN(TestTokenRouteExpertChoice)
#include "test_token_route_expert_choice.moc"
