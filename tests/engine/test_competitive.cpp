// Jacobs et al. 1991 competitive loss: a hand-computed case, gradients against central finite
// differences (with dropped choices, empty slots and a token with nothing left), gradient scale,
// and Vulkan vs CPU parity over many shapes.
#include "routing_fixture.h"

#include <cmath>

#include "ops/competitive_loss.h"
#include "ops/route_assign.h"

using namespace rl;
using namespace rltest;

namespace {

struct Graph {
  Bench b;
  uint32_t N, k, D, S;
  TensorId oe, slot, wt, target, doe, dwt, out;
  Graph(uint32_t N_, uint32_t k_, uint32_t D_, uint32_t S_, float scale) : N(N_), k(k_), D(D_), S(S_) {
    oe = b.f32("oe", {S, D});
    slot = b.i32("slot", {N, k});
    wt = b.f32("wt", {N, k});
    target = b.f32("target", {N, D});
    doe = b.f32("doe", {S, D});
    dwt = b.f32("dwt", {N, k});
    out = b.f32("out", {1});
    b.set(doe, std::vector<float>(size_t(S) * D, 99.f));  // garbage: every element must be written
    b.set(dwt, std::vector<float>(size_t(N) * k, 99.f));
    b.program.append("run", std::make_unique<CompetitiveLoss>(b.program, oe, slot, wt, target, doe, dwt, out,
                                                              CompetitiveParams{N, D, k, S, scale}));
  }
};

std::vector<float> centralDifferences(Backend& be, const Graph& g, TensorId t, double eps) {
  std::vector<float> base = be.readTensor<float>(g.b.program, t), grad(base.size());
  for (size_t i = 0; i < base.size(); ++i) {
    double v[2];
    for (int s = 0; s < 2; ++s) {
      std::vector<float> x = base;
      x[i] = float(base[i] + (s ? -eps : eps));
      be.writeTensor(g.b.program, t, x);
      be.run("run");
      v[s] = g.b.f(be, g.out)[0];
    }
    grad[i] = float((v[0] - v[1]) / (2 * eps));
  }
  be.writeTensor(g.b.program, t, base);
  return grad;
}

}  // namespace

class TestCompetitive : public QObject {
  Q_OBJECT

 private slots:
  void handComputed() {
    // Two tokens, two choices each, D 2, four slots. Token 0: weights 1/4 and 3/4, expert outputs
    // at squared distance 1 and 4 from the target (d = 1/2 and 2). Token 1: both choices dropped,
    // so it adds 0 to the sum, which is still divided by N = 2.
    Graph g(2, 2, 2, 4, 1.0f);
    g.b.set(g.slot, std::vector<int32_t>{2, 0, -1, -1});
    g.b.set(g.wt, std::vector<float>{0.25f, 0.75f, 0.5f, 0.5f});
    g.b.set(g.target, std::vector<float>{1.f, -1.f, 5.f, 5.f});
    // slot 2 = target + (1, 0), slot 0 = target + (0, 2); slots 1 and 3 are empty.
    g.b.set(g.oe, std::vector<float>{1.f, 1.f, 7.f, 7.f, 2.f, -1.f, 7.f, 7.f});
    const double a = 0.25 * std::exp(-0.5), c = 0.75 * std::exp(-2.0), sum = a + c;
    const double loss = -std::log(sum) / 2;
    const double ha = a / sum, hc = c / sum;  // posteriors
    const std::vector<float> expectDoe = {0.f, float(hc * 2 / 2), 0.f, 0.f, float(ha * 1 / 2), 0.f, 0.f, 0.f};
    const std::vector<float> expectDwt = {float(-std::exp(-0.5) / sum / 2), float(-std::exp(-2.0) / sum / 2), 0.f,
                                          0.f};
    auto check = [&](Backend& be) {
      g.b.load(be);
      be.run("run");
      RL_EXPECT_CLOSE(g.b.f(be, g.out), (std::vector<float>{float(loss)}), 1e-7, 1e-6, be.name() + ": loss");
      RL_EXPECT_CLOSE(g.b.f(be, g.doe), expectDoe, 1e-7, 1e-5, be.name() + ": doe");
      RL_EXPECT_CLOSE(g.b.f(be, g.dwt), expectDwt, 1e-7, 1e-5, be.name() + ": dwt");
    };
    CpuBackend cpu;
    check(cpu);
    if (QTest::currentTestFailed()) return;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    check(*vk);
  }

  void gradientsMatchFiniteDifferences() {
    // N 6, E 3, k 2, capacity 4, expert 0 wanted 6 times: tokens 2 and 4 lose their second
    // choice, and experts 1 and 2 keep an empty slot each.
    const uint32_t N = 6, E = 3, k = 2, C = 4, D = 3, S = E * C;
    for (float scale : {1.0f, 0.5f}) {
      Graph g(N, k, D, S, scale);
      TensorId idx = g.b.i32("idx", {N, k}), assign = g.b.i32("assign", {S});
      g.b.set(idx, std::vector<int32_t>{0, 1, 0, 2, 1, 0, 0, 1, 2, 0, 0, 2});
      g.b.program.phases["run"].insert(g.b.program.phases["run"].begin(),
                                       std::make_unique<RouteAssign>(g.b.program, idx, g.slot, assign,
                                                                     AssignParams{N, E, k, C}));
      g.b.set(g.oe, randomVector(S * D, 1, -1.f, 1.f));
      g.b.set(g.target, randomVector(N * D, 2, -1.f, 1.f));
      g.b.set(g.wt, randomVector(N * k, 3, 0.3f, 0.9f));  // away from 0, where -log is steep
      CpuBackend cpu;
      g.b.load(cpu);
      cpu.run("run");
      const auto slotValues = g.b.i(cpu, g.slot), assigned = g.b.i(cpu, assign);
      QVERIFY(std::count(slotValues.begin(), slotValues.end(), -1) > 0);
      QVERIFY(std::count(assigned.begin(), assigned.end(), -1) > 0);
      const auto doe = g.b.f(cpu, g.doe), dwt = g.b.f(cpu, g.dwt);
      const std::string what = "scale " + std::to_string(scale);
      auto scaled = [&](std::vector<float> v) {
        for (float& x : v) x *= scale;
        return v;
      };
      RL_EXPECT_CLOSE(doe, scaled(centralDifferences(cpu, g, g.oe, 1e-2)), 3e-4, 3e-3, what + ": doe vs differences");
      RL_EXPECT_CLOSE(dwt, scaled(centralDifferences(cpu, g, g.wt, 3e-3)), 3e-4, 3e-3, what + ": dwt vs differences");
    }
  }

  void parity() {
    struct Case {
      std::string what;
      TensorId doe = 0, dwt = 0, out = 0;
    };
    Bench b;
    std::vector<Case> cases;
    const uint32_t widths[] = {1, 2, 5};
    uint32_t seed = 900;
    for (uint32_t N : tokenCounts())
      for (auto [E, k] : expertChoicePairs()) {
        const uint32_t C = std::max(1u, (N * k + E - 1) / E * 3 / 4), S = E * C, D = widths[cases.size() % 3];
        const std::string p = "c" + std::to_string(cases.size()) + ".";
        TensorId idx = b.i32(p + "idx", {N, k}), slot = b.i32(p + "slot", {N, k}), assign = b.i32(p + "assign", {S});
        TensorId oe = b.f32(p + "oe", {S, D}), wt = b.f32(p + "wt", {N, k}), target = b.f32(p + "target", {N, D});
        Case c{"N " + std::to_string(N) + ", E " + std::to_string(E) + ", k " + std::to_string(k) + ", C " +
               std::to_string(C) + ", D " + std::to_string(D)};
        c.doe = b.f32(p + "doe", {S, D});
        c.dwt = b.f32(p + "dwt", {N, k});
        c.out = b.f32(p + "out", {1});
        b.set(idx, skewedChoices(N, E, k, seed++));
        b.set(oe, randomVector(size_t(S) * D, seed++));
        b.set(wt, randomVector(size_t(N) * k, seed++, 0.f, 1.f));  // includes near-zero weights
        b.set(target, randomVector(size_t(N) * D, seed++));
        b.set(c.doe, std::vector<float>(size_t(S) * D, 99.f));
        b.set(c.dwt, std::vector<float>(size_t(N) * k, 99.f));
        auto& P = b.program;
        P.append("run", std::make_unique<RouteAssign>(P, idx, slot, assign, AssignParams{N, E, k, C}));
        P.append("run", std::make_unique<CompetitiveLoss>(P, oe, slot, wt, target, c.doe, c.dwt, c.out,
                                                          CompetitiveParams{N, D, k, S, 0.7f}));
        cases.push_back(c);
      }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    cpu.run("run");
    vk->run("run");
    for (const Case& c : cases) {
      RL_EXPECT_CLOSE(b.f(*vk, c.out), b.f(cpu, c.out), 1e-6, 1e-5, c.what + ": loss");
      RL_EXPECT_CLOSE(b.f(*vk, c.doe), b.f(cpu, c.doe), 1e-6, 1e-4, c.what + ": doe");
      RL_EXPECT_CLOSE(b.f(*vk, c.dwt), b.f(cpu, c.dwt), 1e-6, 1e-4, c.what + ": dwt");
    }
    qInfo("competitive parity: %zu cases", cases.size());
  }
};

QTEST_APPLESS_MAIN(TestCompetitive)
#include "test_competitive.moc"
