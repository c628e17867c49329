// TokenRouteStats: the routing tables and metrics of hash / task, expert-choice and Soft MoE
// routing. Vulkan vs CPU parity over many shapes (tokens not multiples of the workgroup's 64 lanes,
// 1 to 64 experts, 1 to 3 slots per expert): int tables exactly equal, floats within 1e-6 absolute +
// 1e-5 relative (the shader sums entropies per lane and then in a tree, the reference row by row).
// Each mode's definitions are checked from first principles on the CPU output, and bad shapes and
// a shape past lavapipe's loop limit are refused with clear errors.
#include "routing_fixture.h"

#include <cmath>

#include "ops/token_route_stats.h"

using namespace rl;
using namespace rltest;

namespace {

const char* modeName(TokenRouteStatsMode m) {
  return m == TokenRouteStatsMode::Fixed ? "fixed" : m == TokenRouteStatsMode::ExpertChoice ? "expert_choice" : "soft";
}

// Rows of `width` positive weights summing to 1.
std::vector<float> randomSimplexRows(uint32_t rows, uint32_t width, uint32_t seed) {
  std::vector<float> v = randomVector(size_t(rows) * width, seed, -3.f, 3.f);
  for (uint32_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (uint32_t c = 0; c < width; ++c) sum += v[r * width + c] = std::exp(v[r * width + c]);
    for (uint32_t c = 0; c < width; ++c) v[r * width + c] = float(v[r * width + c] / sum);
  }
  return v;
}

}  // namespace

class TestTokenRouteStats : public QObject {
  Q_OBJECT

 private slots:
  void parityAndDefinitions() {
    struct Case {
      TokenRouteStatsParams p;
      TensorId probs = 0, cw = 0, idx = 0, slot = 0, wt = 0, load = 0, importance = 0, scalars = 0;
    };
    Bench b;
    std::vector<Case> cases;
    uint32_t seed = 7;
    for (auto mode : {TokenRouteStatsMode::Fixed, TokenRouteStatsMode::ExpertChoice, TokenRouteStatsMode::Soft})
      for (uint32_t N : {1u, 5u, 63u, 64u, 65u, 300u, 1000u})
        for (uint32_t E : {1u, 3u, 4u, 8u, 64u})
          for (uint32_t S : {1u, 3u}) {
            if (S > 1 && mode != TokenRouteStatsMode::Soft) continue;
            Case c;
            c.p = TokenRouteStatsParams{N, E, S, uint32_t(mode)};
            const uint32_t k = mode == TokenRouteStatsMode::Fixed ? 1 : E;
            const std::string n = "c" + std::to_string(cases.size()) + ".";
            c.probs = b.f32(n + "probs", {N, E});
            c.cw = b.f32(n + "cw", {N, E * S});
            c.idx = b.i32(n + "idx", {N, k});
            c.slot = b.i32(n + "slot", {N, k});
            c.wt = b.f32(n + "wt", {N, E});
            c.load = b.f32(n + "load", {E});
            c.importance = b.f32(n + "importance", {E});
            c.scalars = b.f32(n + "scalars", {4});
            std::mt19937 gen(seed++);
            std::vector<int32_t> idx(size_t(N) * k, 12345), slot(size_t(N) * k, 12345);
            if (mode == TokenRouteStatsMode::Fixed)
              for (uint32_t i = 0; i < N; ++i) {
                idx[i] = int32_t(gen() % (E + 1)) - 1;  // -1: a padding token routed nowhere
                slot[i] = idx[i] < 0 || gen() % 4 == 0 ? -1 : int32_t(gen() % 50);
              }
            if (mode == TokenRouteStatsMode::ExpertChoice)
              for (uint32_t i = 0; i < N; ++i) {
                const bool nobody = gen() % 5 == 0;  // about a fifth of the tokens taken by no expert
                for (uint32_t e = 0; e < E; ++e) slot[i * E + e] = nobody || gen() % 2 ? -1 : int32_t(gen() % 50);
              }
            b.set(c.idx, idx);
            b.set(c.slot, slot);
            b.set(c.probs, mode == TokenRouteStatsMode::ExpertChoice ? randomSimplexRows(N, E, seed++)
                                                                     : std::vector<float>(size_t(N) * E, NAN));
            b.set(c.cw, randomSimplexRows(N, E * S, seed++));
            b.set(c.wt, std::vector<float>(size_t(N) * E, NAN));
            for (TensorId t : {c.load, c.importance, c.scalars})
              b.set(t, std::vector<float>(b.program.info(t).count, NAN));  // every entry must be written
            b.program.append("fwd", std::make_unique<TokenRouteStats>(b.program, c.probs, c.cw, c.idx, c.slot, c.wt,
                                                                      c.load, c.importance, c.scalars, c.p));
            cases.push_back(c);
          }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    cpu.run("fwd");
    vk->run("fwd");
    for (const Case& c : cases) {
      const auto mode = TokenRouteStatsMode(c.p.mode);
      const uint32_t N = c.p.N, E = c.p.E, S = c.p.S;
      const std::string what = std::string(modeName(mode)) + " N " + std::to_string(N) + ", E " + std::to_string(E) +
                               ", S " + std::to_string(S);
      // Definitions (token_route_stats.h), on the CPU output.
      const auto probs = b.f(cpu, c.probs), load = b.f(cpu, c.load), scalars = b.f(cpu, c.scalars);
      const auto idx = b.i(cpu, c.idx), slot = b.i(cpu, c.slot);
      double loadSum = 0;
      for (float l : load) loadSum += l;
      std::vector<float> wantLoad(E, 0.f);
      uint32_t dropped = 0, counted = 0;
      for (uint32_t n = 0; n < N; ++n) {
        if (mode == TokenRouteStatsMode::Fixed) {
          for (uint32_t e = 0; e < E; ++e)
            QVERIFY2(probs[n * E + e] == (idx[n] == int32_t(e) ? 1.f : 0.f), qPrintable(QString::fromStdString(what)));
          dropped += slot[n] < 0;
          if (idx[n] >= 0) wantLoad[idx[n]] += 1.f / N;
        } else {
          bool taken = false;
          double sum = 0;
          for (uint32_t e = 0; e < E; ++e) {
            QCOMPARE(idx[n * E + e], int32_t(e));
            taken = taken || slot[n * E + e] >= 0;
            if (slot[n * E + e] >= 0) ++counted;
            sum += probs[n * E + e];
          }
          dropped += !taken;
          QVERIFY2(std::abs(sum - 1) < 1e-5, qPrintable(QString::fromStdString(what + ": a probs row does not sum to 1")));
        }
      }
      if (mode == TokenRouteStatsMode::Fixed) RL_EXPECT_CLOSE(load, wantLoad, 1e-6, 1e-5, what + ": fixed load");
      if (mode == TokenRouteStatsMode::ExpertChoice && counted > 0)
        QVERIFY2(std::abs(loadSum - 1) < 1e-5, qPrintable(QString::fromStdString(what + ": load sums to ") + QString::number(loadSum)));
      if (mode == TokenRouteStatsMode::Soft) {
        RL_EXPECT_CLOSE(load, std::vector<float>(E, 1.f / E), 1e-30, 0.0, what + ": soft load");
        RL_EXPECT_CLOSE(b.f(cpu, c.wt), probs, 1e-30, 0.0, what + ": soft wt = probs");
        QCOMPARE(slot, idx);
      }
      QCOMPARE(scalars[0], 0.f);
      QCOMPARE(scalars[1], 0.f);
      QVERIFY2(scalars[3] == float(dropped) / float(N),
               qPrintable(QString::fromStdString(what) + QString(": dropped %1, counted %2").arg(scalars[3]).arg(dropped)));
      // Vulkan against the reference.
      RL_EXPECT_EQUAL_INTS(b.i(*vk, c.idx), idx, what + ": idx");
      RL_EXPECT_EQUAL_INTS(b.i(*vk, c.slot), slot, what + ": slot");
      RL_EXPECT_CLOSE(b.f(*vk, c.probs), probs, 1e-6, 1e-5, what + ": probs");
      if (mode == TokenRouteStatsMode::Soft) RL_EXPECT_CLOSE(b.f(*vk, c.wt), b.f(cpu, c.wt), 1e-6, 1e-5, what + ": wt");
      RL_EXPECT_CLOSE(b.f(*vk, c.load), load, 1e-6, 1e-5, what + ": load");
      RL_EXPECT_CLOSE(b.f(*vk, c.importance), b.f(cpu, c.importance), 1e-6, 1e-5, what + ": importance");
      RL_EXPECT_CLOSE(b.f(*vk, c.scalars), scalars, 1e-6, 1e-5, what + ": scalars");
    }
    qInfo("token_route_stats parity: %zu cases", cases.size());
  }

  void badShapesAreRefused() {
    Bench b;
    TensorId probs = b.f32("probs", {10, 4}), idx = b.i32("idx", {10, 4}), slot = b.i32("slot", {10, 4});
    TensorId load = b.f32("load", {4}), imp = b.f32("imp", {4}), sc = b.f32("sc", {4});
    auto make = [&](TokenRouteStatsParams p) {
      TokenRouteStats op(b.program, probs, probs, idx, slot, probs, load, imp, sc, p);
    };
    for (TokenRouteStatsParams p : {TokenRouteStatsParams{0, 4, 1, 1}, TokenRouteStatsParams{10, 65, 1, 1},
                                    TokenRouteStatsParams{10, 4, 1, 3}, TokenRouteStatsParams{11, 4, 1, 1},
                                    TokenRouteStatsParams{10, 4, 2, 2}}) {
      try {
        make(p);
        QFAIL(qPrintable(QString("accepted N %1 E %2 S %3 mode %4").arg(p.N).arg(p.E).arg(p.S).arg(p.mode)));
      } catch (const std::invalid_argument& e) {
        qInfo("expected error: %s", e.what());
      }
    }
    make(TokenRouteStatsParams{10, 4, 1, 1});  // the right shapes pass
  }

  void loopLimitIsRefusedOnCpuClassDevices() {
    // Soft MoE with 64 slots per expert over 4096 tokens: one lane would loop past 65535 times.
    Bench b;
    const uint32_t N = 4096, E = 2, S = 64;
    TensorId probs = b.f32("probs", {N, E}), cw = b.f32("cw", {N, E * S}), idx = b.i32("idx", {N, E});
    TensorId slot = b.i32("slot", {N, E}), wt = b.f32("wt", {N, E});
    TensorId load = b.f32("load", {E}), imp = b.f32("imp", {E}), sc = b.f32("sc", {4});
    TokenRouteStats big(b.program, probs, cw, idx, slot, wt, load, imp, sc, TokenRouteStatsParams{N, E, S, 2});
    QVERIFY(big.laneLoopIterations() >= kLavapipeLoopLimitForTest);
    QVERIFY(&big.forDevice(DeviceClass::Gpu) == &big);
    try {
      big.forDevice(DeviceClass::CpuImplementation);
      QFAIL("a shape past the loop limit was accepted on a CPU-class device");
    } catch (const std::runtime_error& e) {
      QVERIFY2(std::string(e.what()).find("lavapipe") != std::string::npos, e.what());
    }
  }

 private:
  static constexpr uint64_t kLavapipeLoopLimitForTest = 65535;
};

QTEST_APPLESS_MAIN(TestTokenRouteStats)
#include "test_token_route_stats.moc"
