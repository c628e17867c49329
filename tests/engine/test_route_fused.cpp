// RouteFused (router linear + gate + capacity assignment + statistics in one workgroup):
// Vulkan vs the CPU reference over many shapes, router types and capacities, with and without the
// fused router linear; the gradients the builder pairs with it (RouteGateBackward, then the router
// linear's backward ops) against central finite differences of the fused forward on the CPU.
#include "routing_fixture.h"

#include <cmath>

#include "ops/linear.h"
#include "ops/route_fused.h"
#include "ops/route_gate_backward.h"

using namespace rl;
using namespace rltest;

namespace {

const char* typeName(RouterType t) {
  static const char* names[] = {"dense", "topk", "noisy_topk", "switch"};
  return names[int(t)];
}

// True if the top min(k+1, E) values of a row are more than 1e-3 apart (choices cannot flip).
bool rowStable(const float* v, uint32_t E, uint32_t k) {
  std::vector<float> s(v, v + E);
  std::sort(s.begin(), s.end(), std::greater<float>());
  for (uint32_t j = 0; j + 1 < std::min(k + 1, E); ++j)
    if (s[j] - s[j + 1] <= 1e-3f * std::max(1.0f, std::abs(s[j]))) return false;
  return true;
}

// The fused op's tensors on one Bench.
struct FusedGraph {
  uint32_t N, E, k, I, C;
  RouterType type;
  TensorId x, w, logits, noise, probs, h, idx, wt, slot, assign, load, importance, scalars;

  FusedGraph(Bench& b, const std::string& prefix, uint32_t N_, uint32_t E_, uint32_t k_, uint32_t I_,
             uint32_t C_, RouterType type_)
      : N(N_), E(E_), k(k_), I(I_), C(C_), type(type_) {
    x = b.f32(prefix + "x", {N, std::max(I, 1u)});
    w = b.f32(prefix + "w", {E, std::max(I, 1u)});
    logits = b.f32(prefix + "logits", {N, E});
    noise = b.f32(prefix + "noise", {N, E});
    probs = b.f32(prefix + "probs", {N, E});
    h = b.f32(prefix + "h", {N, E});
    idx = b.i32(prefix + "idx", {N, k});
    wt = b.f32(prefix + "wt", {N, k});
    slot = b.i32(prefix + "slot", {N, k});
    assign = b.i32(prefix + "assign", {E * C});
    load = b.f32(prefix + "load", {E});
    importance = b.f32(prefix + "importance", {E});
    scalars = b.f32(prefix + "scalars", {4});
  }

  std::unique_ptr<Op> op(const Program& P, TensorId globals, float T, float aux, float z) const {
    RouteFusedParams fp{N, E, k, uint32_t(type), T, 7, C, aux, z, I};
    return std::make_unique<RouteFused>(P, I ? x : logits, I ? w : logits, logits, noise, globals, probs, h, idx,
                                        wt, slot, assign, load, importance, scalars, fp);
  }

  std::string describe(float T) const {
    return std::string(typeName(type)) + ", N " + std::to_string(N) + ", E " + std::to_string(E) + ", k " +
           std::to_string(k) + ", I " + std::to_string(I) + ", C " + std::to_string(C) + ", T " + std::to_string(T);
  }
};

// Router inputs whose logits x . w^T are the gapped ladder of gappedLogits exactly: x = [ladder | r],
// w = [identity | 0], so every product is exact and the choices are the same on both backends.
void exactLadderInputs(Bench& b, const FusedGraph& g, uint32_t seed) {
  const auto ladder = gappedLogits(g.N, g.E, seed);
  const auto r = randomVector(size_t(g.N) * g.I, seed + 1);
  std::vector<float> x(size_t(g.N) * g.I), w(size_t(g.E) * g.I, 0.0f);
  for (uint32_t n = 0; n < g.N; ++n)
    for (uint32_t i = 0; i < g.I; ++i) x[size_t(n) * g.I + i] = i < g.E ? ladder[size_t(n) * g.E + i] : r[n * g.I + i];
  for (uint32_t e = 0; e < g.E; ++e) w[size_t(e) * g.I + e] = 1.0f;
  b.set(g.x, x);
  b.set(g.w, w);
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

}  // namespace

class TestRouteFused : public QObject {
  Q_OBJECT

 private slots:
  void parity() {
    struct Case {
      FusedGraph g;
      float T;
      bool train;
    };
    Bench b;
    TensorId gTrain = b.globals(3, 4321, 1);
    TensorId gEval = b.globals(3, 4321, 0, "globals_eval");
    std::vector<Case> cases;
    std::vector<std::pair<uint32_t, uint32_t>> pairs;
    for (auto [E, k] : expertChoicePairs())
      if (E * k <= RouteFused::kMaxCells) pairs.emplace_back(E, k);
    pairs.emplace_back(RouteFused::kMaxExperts, 1u);
    const float temperatures[] = {1.0f, 0.5f, 2.0f};
    uint32_t seed = 1, variant = 0;
    for (uint32_t N : tokenCounts())
      for (auto [E, k] : pairs) {
        std::vector<RouterType> types = {RouterType::TopK, RouterType::NoisyTopK};
        if (k == E) types.push_back(RouterType::Dense);
        if (k == 1) types.push_back(RouterType::Switch);
        for (RouterType type : types) {
          ++variant;
          // No limit, or a capacity that drops choices (skewed by the ladders' shuffles).
          const uint32_t C = (variant / 2) % 2 ? N : std::max(1u, (N * k) / (2 * E));
          // Logits given, or computed from router inputs (I = E: identity part only; E + 3: extra columns).
          // (Two variants per shape: each (E, k, I) is a pipeline to compile.)
          const uint32_t I = variant % 2 ? E : 0u;
          const std::string p = "c" + std::to_string(cases.size()) + ".";
          Case c{FusedGraph(b, p, N, E, k, I, C, type), temperatures[variant % 3], variant % 4 != 0};
          if (I)
            exactLadderInputs(b, c.g, seed);
          else
            b.set(c.g.logits, gappedLogits(N, E, seed));
          // Noise logits far below zero: the noise is applied (h must match) but cannot flip a choice.
          b.set(c.g.noise, randomVector(size_t(N) * E, seed + 2, -7.f, -5.f));
          seed += 3;
          b.program.append("fwd", c.g.op(b.program, c.train ? gTrain : gEval, c.T, 0.1f * (variant % 5), 0.01f));
          cases.push_back(std::move(c));
        }
      }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    cpu.run("fwd");
    vk->run("fwd");

    size_t drops = 0;
    for (const Case& c : cases) {
      const FusedGraph& g = c.g;
      const std::string what = g.describe(c.T) + (c.train ? " train" : " eval");
      const auto hCpu = b.f(cpu, g.h), probsCpu = b.f(cpu, g.probs);
      const bool byH = g.type == RouterType::NoisyTopK;
      for (uint32_t n = 0; n < g.N && g.type != RouterType::Dense; ++n)
        QVERIFY2(rowStable(&(byH ? hCpu : probsCpu)[size_t(n) * g.E], g.E, g.k),
                 qPrintable(QString::fromStdString(what + ": row " + std::to_string(n) + " has a near-tie")));
      RL_EXPECT_CLOSE(b.f(*vk, g.logits), b.f(cpu, g.logits), 1e-6, 1e-6, what + ": logits");
      RL_EXPECT_CLOSE(b.f(*vk, g.probs), probsCpu, 1e-6, 1e-5, what + ": probs");
      RL_EXPECT_CLOSE(b.f(*vk, g.h), hCpu, 1e-5, 1e-5, what + ": h");
      RL_EXPECT_EQUAL_INTS(b.i(*vk, g.idx), b.i(cpu, g.idx), what + ": idx");
      RL_EXPECT_CLOSE(b.f(*vk, g.wt), b.f(cpu, g.wt), 1e-6, 1e-5, what + ": wt");
      RL_EXPECT_EQUAL_INTS(b.i(*vk, g.slot), b.i(cpu, g.slot), what + ": slot");
      RL_EXPECT_EQUAL_INTS(b.i(*vk, g.assign), b.i(cpu, g.assign), what + ": slotAssign");
      RL_EXPECT_CLOSE(b.f(*vk, g.load), b.f(cpu, g.load), 1e-30, 1e-6, what + ": load");
      RL_EXPECT_CLOSE(b.f(*vk, g.importance), b.f(cpu, g.importance), 1e-6, 1e-5, what + ": importance");
      RL_EXPECT_CLOSE(b.f(*vk, g.scalars), b.f(cpu, g.scalars), 1e-6, 1e-5, what + ": aux, z, entropy, dropped");
      drops += b.f(cpu, g.scalars)[3] > 0;
    }
    qInfo("fused router parity: %zu cases, %zu with dropped choices", cases.size(), drops);
    QVERIFY2(drops * 4 >= cases.size(), "too few cases drop choices: the capacity path lost its test");
  }

  // The random-weight router linear: logits and probabilities only (choices may sit on near-ties).
  void parityRandomRouterWeights() {
    Bench b;
    TensorId g0 = b.globals(1, 2, 1);
    FusedGraph g(b, "", 300, 8, 2, 20, 300, RouterType::TopK);
    b.set(g.x, randomVector(300 * 20, 5));
    b.set(g.w, randomVector(8 * 20, 6));
    b.set(g.noise, randomVector(300 * 8, 7));
    b.program.append("fwd", g.op(b.program, g0, 1.0f, 0.05f, 0.001f));
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    cpu.run("fwd");
    vk->run("fwd");
    RL_EXPECT_CLOSE(b.f(*vk, g.logits), b.f(cpu, g.logits), 1e-5, 1e-5, g.describe(1.0f) + ": logits");
    RL_EXPECT_CLOSE(b.f(*vk, g.probs), b.f(cpu, g.probs), 1e-6, 1e-5, g.describe(1.0f) + ": probs");
    RL_EXPECT_CLOSE(b.f(*vk, g.importance), b.f(cpu, g.importance), 1e-6, 1e-5, g.describe(1.0f) + ": importance");
  }

  // L = sum c * wt + aux + z through the fused forward (router linear included); the builder's
  // backward for it is RouteGateBackward, then the router linear's parameter and input gradients.
  void gradientsMatchFiniteDifferences_data() {
    QTest::addColumn<int>("which");
    for (int i = 0; i < 4; ++i) QTest::newRow(std::to_string(i).c_str()) << i;
  }
  void gradientsMatchFiniteDifferences() {
    QFETCH(int, which);
    struct GradCase {
      uint32_t N, E, k, I;
      RouterType type;
    };
    const GradCase cases[] = {{6, 4, 2, 6, RouterType::TopK},
                              {5, 3, 1, 4, RouterType::Switch},
                              {5, 3, 3, 5, RouterType::Dense},
                              {6, 4, 2, 5, RouterType::NoisyTopK}};
    const GradCase& gc = cases[which];
    const float T = 0.8f, aux = 0.3f, z = 0.05f;
    Bench b;
    TensorId globals = b.globals(4, 99, 1);
    FusedGraph g(b, "", gc.N, gc.E, gc.k, gc.I, gc.N, gc.type);
    const std::string what = g.describe(T);
    // Wide gaps (1.0 before T) through the identity part of w keep the choices put under a step.
    const auto ladder = gappedLogits(gc.N, gc.E, 20 + which, 1.0f);
    auto x = randomVector(size_t(gc.N) * gc.I, 30 + which, -0.5f, 0.5f);
    auto w = randomVector(size_t(gc.E) * gc.I, 40 + which, -0.2f, 0.2f);
    for (uint32_t n = 0; n < gc.N; ++n)
      for (uint32_t e = 0; e < gc.E; ++e) x[n * gc.I + e] = ladder[n * gc.E + e];
    for (uint32_t e = 0; e < gc.E; ++e) w[e * gc.I + e] += 1.0f;
    b.set(g.x, x);
    b.set(g.w, w);
    b.set(g.noise, randomVector(size_t(gc.N) * gc.E, 50 + which, -2.5f, -0.5f));
    TensorId c = b.f32("c", {gc.N, gc.k}), dlogits = b.f32("dlogits", {gc.N, gc.E});
    TensorId dnoise = b.f32("dnoise", {gc.N, gc.E}), dw = b.f32("dw", {gc.E, gc.I}), dx = b.f32("dx", {gc.N, gc.I});
    b.set(c, randomVector(size_t(gc.N) * gc.k, 60 + which));
    auto& P = b.program;
    P.append("fwd", g.op(P, globals, T, aux, z));
    const uint32_t ty = uint32_t(gc.type);
    P.append("bwd", std::make_unique<RouteGateBackward>(P, c, g.probs, g.h, g.idx, g.wt, g.noise, globals, g.load,
                                                        dlogits, dnoise, GateBwdParams{gc.N, gc.E, gc.k, ty, T, 7, aux, z}));
    const LinearParams lp{1, gc.N, gc.I, gc.E, 0, 0, 0, 0};
    P.append("bwd", std::make_unique<LinearBackwardParams>(P, dlogits, dlogits, g.x, dw, dw, lp));
    P.append("bwd", std::make_unique<LinearBackwardInput>(P, dlogits, dlogits, g.w, dx, lp));

    CpuBackend cpu;
    b.load(cpu);
    auto loss = [&] {
      cpu.run("fwd");
      const auto s = b.f(cpu, g.scalars);
      return dot(b.f(cpu, c), b.f(cpu, g.wt)) + s[0] + s[1];
    };
    loss();
    const auto baseIdx = b.i(cpu, g.idx);
    cpu.run("bwd");
    bool crossed = false;
    auto fd = [&](TensorId t) {
      std::vector<float> base = b.f(cpu, t), grad(base.size());
      const double eps = 1e-2;
      for (size_t i = 0; i < base.size(); ++i) {
        double v[2];
        for (int s = 0; s < 2; ++s) {
          std::vector<float> y = base;
          y[i] = float(base[i] + (s ? -eps : eps));
          cpu.writeTensor(P, t, y);
          v[s] = loss();
          crossed = crossed || b.i(cpu, g.idx) != baseIdx;
        }
        grad[i] = float((v[0] - v[1]) / (2 * eps));
      }
      cpu.writeTensor(P, t, base);
      return grad;
    };
    const auto fdW = fd(g.w), fdX = fd(g.x);
    QVERIFY2(!crossed, qPrintable(QString::fromStdString(what + ": a step changed the choices (bad test input)")));
    RL_EXPECT_CLOSE(b.f(cpu, dw), fdW, 5e-4, 5e-3, what + ": router weight gradient vs finite differences");
    RL_EXPECT_CLOSE(b.f(cpu, dx), fdX, 5e-4, 5e-3, what + ": router input gradient vs finite differences");
    QVERIFY2(std::sqrt(dot(fdW, fdW)) > 1e-2, qPrintable(QString::fromStdString(what + ": gradient too small")));
  }

  void fitsAndRejects() {
    QVERIFY(RouteFused::fits(256, 8, 2, 2));  // the default preset
    QVERIFY(!RouteFused::fits(RouteFused::kMaxRows + 1, 8, 2, 0));
    QVERIFY(!RouteFused::fits(256, RouteFused::kMaxExperts + 1, 1, 0));
    QVERIFY(!RouteFused::fits(256, 8, 8, 0));  // k * E cells beyond kMaxCells
    QVERIFY(!RouteFused::fits(1024, 8, 2, 64));  // too much router arithmetic for one workgroup
    Bench b;
    TensorId g0 = b.globals(1, 2, 1);
    FusedGraph ok(b, "a.", 4, 4, 2, 0, 4, RouterType::TopK);
    FusedGraph big(b, "b.", 4, RouteFused::kMaxExperts + 1, 1, 0, 4, RouterType::TopK);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, big.op(b.program, g0, 1.0f, 0.f, 0.f));
    FusedGraph manyCells(b, "d.", 4, 8, 8, 0, 4, RouterType::Dense);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, manyCells.op(b.program, g0, 1.0f, 0.f, 0.f));
    FusedGraph badK(b, "c.", 4, 4, 5, 0, 4, RouterType::TopK);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, badK.op(b.program, g0, 1.0f, 0.f, 0.f));
    // A slotAssign too small for E * C.
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             RouteFused(b.program, ok.logits, ok.logits, ok.logits, ok.noise, g0, ok.probs, ok.h,
                                        ok.idx, ok.wt, ok.slot, ok.assign, ok.load, ok.importance, ok.scalars,
                                        RouteFusedParams{4, 4, 2, 1, 1.0f, 0, 5, 0.f, 0.f, 0}));
  }
};

QTEST_APPLESS_MAIN(TestRouteFused)
#include "test_route_fused.moc"
