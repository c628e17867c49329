// Routing gradients: RouteGateBackward (task loss through the gate weights + aux + z-loss, every
// router type, noise logits included) and the combine / dispatch backward ops against central
// finite differences on the CPU reference; RouteGateBackward Vulkan vs CPU parity over many shapes.
#include "routing_fixture.h"

#include <cmath>

#include "ops/combine.h"
#include "ops/dispatch.h"
#include "ops/route_assign.h"
#include "ops/route_gate.h"
#include "ops/route_gate_backward.h"
#include "ops/router_stats.h"

using namespace rl;
using namespace rltest;

namespace {

// Central differences of loss() with respect to every element of `input` (float tensor t),
// evaluated by rewriting the tensor on the backend. stable() must stay true at every probe:
// the routing choices are piecewise constant and a step must not cross a boundary.
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

double norm(const std::vector<float>& a) { return std::sqrt(dot(a, a)); }

// The gate, its statistics and its backward on one Bench: phase "fwd" = RouteGate + RouterStats,
// phase "bwd" = RouteGateBackward with dwt = c, so the backward is d/dlogits of
//   L = sum c * wt + aux + z.
struct GateGraph {
  Bench b;
  uint32_t N, E, k;
  RouterType type;
  TensorId globals, logits, noise, probs, h, idx, wt, slot, load, importance, scalars, c, dlogits, dnoise;

  GateGraph(uint32_t N_, uint32_t E_, uint32_t k_, RouterType type_, float T, float aux, float z, bool train,
            uint32_t seed)
      : N(N_), E(E_), k(k_), type(type_) {
    const bool noisy = type == RouterType::NoisyTopK;
    globals = b.globals(4, 99, train ? 1 : 0);
    logits = b.f32("logits", {N, E});
    noise = noisy ? b.f32("noise", {N, E}) : logits;
    probs = b.f32("probs", {N, E});
    h = b.f32("h", {N, E});
    idx = b.i32("idx", {N, k});
    wt = b.f32("wt", {N, k});
    slot = b.i32("slot", {N, k});  // zeros: only the dropped-fraction statistic reads it
    load = b.f32("load", {E});
    importance = b.f32("importance", {E});
    scalars = b.f32("scalars", {4});
    c = b.f32("c", {N, k});
    dlogits = b.f32("dlogits", {N, E});
    dnoise = noisy ? b.f32("dnoise", {N, E}) : dlogits;
    // Wide gaps (1.0 before T) keep the choices put under the noise and a finite-difference step.
    b.set(logits, gappedLogits(N, E, seed, 1.0f));
    if (noisy) b.set(noise, randomVector(size_t(N) * E, seed + 1, -2.5f, -0.5f));
    b.set(c, randomVector(size_t(N) * k, seed + 2));
    const uint32_t ty = uint32_t(type), stream = 3;
    auto& P = b.program;
    P.append("fwd", std::make_unique<RouteGate>(P, logits, noise, globals, probs, h, idx, wt,
                                                GateParams{N, E, k, ty, T, stream}));
    P.append("fwd", std::make_unique<RouterStats>(P, probs, h, idx, slot, load, importance, scalars,
                                                  StatsParams{N, E, k, aux, z}));
    P.append("bwd", std::make_unique<RouteGateBackward>(P, c, probs, h, idx, wt, noise, globals, load, dlogits,
                                                        dnoise, GateBwdParams{N, E, k, ty, T, stream, aux, z}));
  }

  double loss(Backend& be) const {
    be.run("fwd");
    const auto s = b.f(be, scalars);
    return dot(b.f(be, c), b.f(be, wt)) + s[0] + s[1];
  }
};

struct GateCase {
  uint32_t N, E, k;
  RouterType type;
  float T, aux, z;
  bool train;
};

std::string describe(const GateCase& g) {
  static const char* names[] = {"dense", "topk", "noisy_topk", "switch"};
  return std::string(names[int(g.type)]) + (g.train ? " train" : " eval") + ", N " + std::to_string(g.N) + ", E " +
         std::to_string(g.E) + ", k " + std::to_string(g.k) + ", T " + std::to_string(g.T) + ", aux " +
         std::to_string(g.aux) + ", z " + std::to_string(g.z);
}

}  // namespace

class TestRouteBackward : public QObject {
  Q_OBJECT

 private slots:
  void gateBackwardMatchesFiniteDifferences_data() {
    QTest::addColumn<int>("which");
    for (int i = 0; i < 8; ++i) QTest::newRow(std::to_string(i).c_str()) << i;
  }
  void gateBackwardMatchesFiniteDifferences() {
    QFETCH(int, which);
    const GateCase cases[] = {
        {5, 4, 2, RouterType::TopK, 0.7f, 0.3f, 0.05f, true},
        {4, 3, 3, RouterType::TopK, 1.3f, 0.2f, 0.1f, true},   // k = E: renormalised to 1, only aux/z remain
        {5, 4, 1, RouterType::Switch, 0.8f, 0.5f, 0.05f, true},
        {5, 3, 3, RouterType::Dense, 1.5f, 0.4f, 0.02f, true},
        {5, 4, 2, RouterType::NoisyTopK, 0.9f, 0.3f, 0.05f, true},
        {4, 5, 3, RouterType::NoisyTopK, 1.2f, 0.0f, 0.1f, true},
        {5, 4, 2, RouterType::NoisyTopK, 0.9f, 0.3f, 0.05f, false},  // evaluation: no noise, no noise gradient
        {6, 1, 1, RouterType::TopK, 1.0f, 0.3f, 0.05f, true},   // one expert: only the z-loss moves
    };
    const GateCase& g = cases[which];
    const std::string what = describe(g);
    GateGraph graph(g.N, g.E, g.k, g.type, g.T, g.aux, g.z, g.train, 10 + which);
    CpuBackend cpu;
    graph.b.load(cpu);
    graph.loss(cpu);
    const auto baseIdx = graph.b.i(cpu, graph.idx);
    cpu.run("bwd");
    const auto dlogits = graph.b.f(cpu, graph.dlogits);
    const bool noisy = g.type == RouterType::NoisyTopK;
    const auto dnoise = noisy ? graph.b.f(cpu, graph.dnoise) : std::vector<float>{};

    auto loss = [&] { return graph.loss(cpu); };
    auto stable = [&] { return graph.b.i(cpu, graph.idx) == baseIdx; };
    bool crossed = false;
    const double eps = 1e-2;
    const auto fdLogits = finiteDifferences(cpu, graph.b.program, graph.logits, eps, loss, stable, crossed);
    QVERIFY2(!crossed, qPrintable(QString::fromStdString(what + ": a step changed the choices (bad test input)")));
    RL_EXPECT_CLOSE(dlogits, fdLogits, 5e-4, 5e-3, what + ": dlogits vs finite differences");
    QVERIFY2(norm(fdLogits) > 1e-2, qPrintable(QString::fromStdString(what + ": gradient too small to test")));
    if (noisy) {
      const auto fdNoise = finiteDifferences(cpu, graph.b.program, graph.noise, eps, loss, stable, crossed);
      QVERIFY2(!crossed, qPrintable(QString::fromStdString(what + ": a noise step changed the choices")));
      RL_EXPECT_CLOSE(dnoise, fdNoise, 5e-4, 5e-3, what + ": dnoiseLogits vs finite differences");
      if (g.train)
        QVERIFY2(norm(fdNoise) > 1e-2, qPrintable(QString::fromStdString(what + ": noise gradient too small")));
    }
  }

  void gateBackwardParity() {
    // One Program holding every case's backward, fed the CPU forward's outputs.
    Bench all;
    struct Built {
      std::string what;
      TensorId dlogits, dnoise;
      bool noisy;
    };
    std::vector<Built> built;
    const float temperatures[] = {1.0f, 0.6f, 1.7f};
    uint32_t seed = 500;
    TensorId gTrain = all.globals(11, 4321, 1), gEval = all.globals(11, 4321, 0, "globals_eval");
    for (uint32_t N : tokenCounts())
      for (auto [E, k] : expertChoicePairs()) {
        std::vector<std::pair<RouterType, bool>> kinds = {
            {RouterType::TopK, true}, {RouterType::NoisyTopK, true}, {RouterType::NoisyTopK, false}};
        if (k == E) kinds.push_back({RouterType::Dense, true});
        if (k == 1) kinds.push_back({RouterType::Switch, true});
        for (auto [type, train] : kinds) {
          const GateCase g{N, E, k, type, temperatures[seed % 3], 0.01f * (1 + seed % 4), 0.001f * (seed % 3), train};
          // The CPU forward makes consistent inputs (probs, h, idx, wt, load).
          GateGraph src(N, E, k, type, g.T, g.aux, g.z, train, seed++);
          src.b.setGlobals(src.globals, 11, 4321, train ? 1 : 0);
          CpuBackend cpu;
          src.b.load(cpu);
          cpu.run("fwd");
          const std::string p = "c" + std::to_string(built.size()) + ".";
          const bool noisy = type == RouterType::NoisyTopK;
          auto copy = [&](TensorId t, DType dt) {
            const auto& info = src.b.program.info(t);
            TensorId d = all.program.add(p + info.name, info.shape, Role::Activation, dt);
            all.set(d, cpu.readTensor<uint32_t>(src.b.program, t));
            return d;
          };
          TensorId c = copy(src.c, DType::F32), probs = copy(src.probs, DType::F32), h = copy(src.h, DType::F32);
          TensorId idx = copy(src.idx, DType::I32), wt = copy(src.wt, DType::F32);
          TensorId noise = noisy ? copy(src.noise, DType::F32) : probs, load = copy(src.load, DType::F32);
          TensorId dlogits = all.f32(p + "dlogits", {N, E});
          TensorId dnoise = noisy ? all.f32(p + "dnoise", {N, E}) : dlogits;
          all.program.append("bwd", std::make_unique<RouteGateBackward>(
                                        all.program, c, probs, h, idx, wt, noise, train ? gTrain : gEval, load,
                                        dlogits, dnoise, GateBwdParams{N, E, k, uint32_t(type), g.T, 3, g.aux, g.z}));
          built.push_back({describe(g), dlogits, dnoise, noisy});
        }
      }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    all.load(cpu);
    all.load(*vk);
    cpu.run("bwd");
    vk->run("bwd");
    for (const Built& x : built) {
      RL_EXPECT_CLOSE(all.f(*vk, x.dlogits), all.f(cpu, x.dlogits), 1e-6, 1e-4, x.what + ": dlogits");
      if (x.noisy) RL_EXPECT_CLOSE(all.f(*vk, x.dnoise), all.f(cpu, x.dnoise), 1e-6, 1e-4, x.what + ": dnoiseLogits");
    }
    qInfo("gate backward parity: %zu cases", built.size());
  }

  void combineBackwardMatchesFiniteDifferences() {
    // Capacity 4 for 12 choices over 3 experts, expert 0 wanted 6 times: tokens 2 and 4 lose their
    // second choice, and experts 1 and 2 keep an empty slot each.
    const uint32_t N = 6, E = 3, k = 2, C = 4, D = 3, S = E * C;
    Bench b;
    TensorId idx = b.i32("idx", {N, k}), slot = b.i32("slot", {N, k}), assign = b.i32("assign", {S});
    TensorId oe = b.f32("oe", {S, D}), wt = b.f32("wt", {N, k}), y = b.f32("y", {N, D}), c = b.f32("c", {N, D});
    TensorId doe = b.f32("doe", {S, D}), dwt = b.f32("dwt", {N, k});
    b.set(idx, std::vector<int32_t>{0, 1, 0, 2, 1, 0, 0, 1, 2, 0, 0, 2});
    b.set(oe, randomVector(S * D, 1));
    b.set(wt, randomVector(N * k, 2, 0.1f, 1.f));
    b.set(c, randomVector(N * D, 3));
    b.set(doe, std::vector<float>(S * D, 99.f));  // garbage: every occupied slot must be overwritten,
    b.set(dwt, std::vector<float>(N * k, 99.f));  // empty ones stay as they were (nothing reads them)
    auto& P = b.program;
    const CombineParams cp{N, D, k, S};
    P.append("fwd", std::make_unique<RouteAssign>(P, idx, slot, assign, AssignParams{N, E, k, C}));
    P.append("fwd", std::make_unique<CombineForward>(P, oe, slot, wt, y, cp));
    P.append("bwd", std::make_unique<CombineBackwardExperts>(P, c, assign, wt, doe, cp));
    P.append("bwd", std::make_unique<CombineBackwardWeights>(P, c, oe, slot, dwt, cp));
    CpuBackend cpu;
    b.load(cpu);
    cpu.run("fwd");
    const auto slotValues = b.i(cpu, slot), assigned = b.i(cpu, assign);
    QVERIFY(std::count(slotValues.begin(), slotValues.end(), -1) > 0);
    QVERIFY(std::count(assigned.begin(), assigned.end(), -1) > 0);
    cpu.run("bwd");
    auto loss = [&] {
      cpu.run("fwd");
      return dot(b.f(cpu, c), b.f(cpu, y));
    };
    auto stable = [] { return true; };
    bool crossed = false;
    // Empty slots: the finite difference is 0 there and the op leaves the 99s; compare occupied slots.
    auto got = b.f(cpu, doe);
    auto fd = finiteDifferences(cpu, P, oe, 1e-2, loss, stable, crossed);
    for (uint32_t sl = 0; sl < S; ++sl)
      for (uint32_t d = 0; d < D; ++d)
        if (assigned[sl] < 0) {
          QCOMPARE(got[sl * D + d], 99.f);
          QCOMPARE(fd[sl * D + d], 0.f);
          got[sl * D + d] = fd[sl * D + d] = 0.f;
        }
    RL_EXPECT_CLOSE(got, fd, 1e-4, 1e-3, "combine backward experts vs finite differences");
    RL_EXPECT_CLOSE(b.f(cpu, dwt), finiteDifferences(cpu, P, wt, 1e-2, loss, stable, crossed), 1e-4, 1e-3,
                    "combine backward weights vs finite differences");
  }

  void dispatchBackwardMatchesFiniteDifferences() {
    const uint32_t N = 6, E = 3, k = 2, C = 4, D = 2, S = E * C;  // as above: drops and empty slots
    Bench b;
    TensorId idx = b.i32("idx", {N, k}), slot = b.i32("slot", {N, k}), assign = b.i32("assign", {S});
    TensorId x = b.f32("x", {N, D}), xe = b.f32("xe", {S, D}), c = b.f32("c", {S, D});
    TensorId dx = b.f32("dx", {N, D}), dxAcc = b.f32("dx_acc", {N, D});
    b.set(idx, std::vector<int32_t>{0, 1, 0, 2, 1, 0, 0, 1, 2, 0, 0, 2});
    b.set(x, randomVector(N * D, 4));
    b.set(c, randomVector(S * D, 5));
    b.set(dx, std::vector<float>(N * D, 99.f));  // overwritten (accumulate 0)
    const auto prior = randomVector(N * D, 6);
    b.set(dxAcc, prior);  // added to (accumulate 1)
    auto& P = b.program;
    DispatchParams dp{N, D, S, k};
    P.append("fwd", std::make_unique<RouteAssign>(P, idx, slot, assign, AssignParams{N, E, k, C}));
    P.append("fwd", std::make_unique<DispatchForward>(P, x, assign, xe, dp));
    P.append("bwd", std::make_unique<DispatchBackward>(P, c, slot, dx, dp));
    dp.accumulate = 1;
    P.append("bwd", std::make_unique<DispatchBackward>(P, c, slot, dxAcc, dp));
    CpuBackend cpu;
    b.load(cpu);
    cpu.run("fwd");
    cpu.run("bwd");
    auto loss = [&] {
      cpu.run("fwd");
      return dot(b.f(cpu, c), b.f(cpu, xe));
    };
    bool crossed = false;
    const auto fd = finiteDifferences(cpu, P, x, 1e-2, loss, [] { return true; }, crossed);
    RL_EXPECT_CLOSE(b.f(cpu, dx), fd, 1e-4, 1e-3, "dispatch backward vs finite differences");
    std::vector<float> expectAcc(fd.size());
    for (size_t i = 0; i < fd.size(); ++i) expectAcc[i] = prior[i] + fd[i];
    RL_EXPECT_CLOSE(b.f(cpu, dxAcc), expectAcc, 1e-4, 1e-3, "dispatch backward (accumulate) vs prior + differences");
    QVERIFY(norm(fd) > 0.1);
  }
};

QTEST_APPLESS_MAIN(TestRouteBackward)
#include "test_route_backward.moc"
