// Routing forward ops: gate (every router type), capacity assignment, dispatch, combine and router
// statistics. Vulkan vs CPU parity over many shapes (int outputs exactly equal), hand-checked
// small cases on both backends, and the assignment's priority rules checked from first principles.
#include "routing_fixture.h"
#include "pinned_variant.h"

#include <cmath>
#include <functional>

#include "ops/combine.h"
#include "ops/dispatch.h"
#include "ops/route_assign.h"
#include "ops/route_gate.h"
#include "ops/router_stats.h"
#include "ops/routing_math.h"

using namespace rl;
using namespace rltest;

namespace {

const char* typeName(RouterType t) {
  switch (t) {
    case RouterType::Dense: return "dense";
    case RouterType::TopK: return "topk";
    case RouterType::NoisyTopK: return "noisy_topk";
    case RouterType::Switch: return "switch";
  }
  return "?";
}

std::string shapeText(uint32_t N, uint32_t E, uint32_t k) {
  return "N " + std::to_string(N) + ", E " + std::to_string(E) + ", k " + std::to_string(k);
}

// True if the top min(k+1, E) values of the row are separated by more than a relative 1e-4, so
// float differences between backends cannot reorder the choices.
bool selectionStable(const float* row, uint32_t E, uint32_t k) {
  std::vector<float> v(row, row + E);
  std::sort(v.begin(), v.end(), std::greater<float>());
  for (uint32_t j = 0; j + 1 < std::min(k + 1, E); ++j)
    if (!(v[j] - v[j + 1] > 1e-4f * std::max(std::abs(v[j]), 1e-3f))) return false;
  return true;
}

// Rows [n0, n1) of an N x width matrix.
template <class T>
std::vector<T> rows(const std::vector<T>& m, uint32_t width, uint32_t n0, uint32_t n1) {
  return std::vector<T>(m.begin() + size_t(n0) * width, m.begin() + size_t(n1) * width);
}

// Runs `check` on the CPU backend and on Vulkan (required).
#define RL_ON_BOTH_BACKENDS(check)                  \
  do {                                              \
    CpuBackend cpu_;                                \
    check(cpu_);                                    \
    if (QTest::currentTestFailed()) return;         \
    std::unique_ptr<Backend> vk_;                   \
    RL_REQUIRE_VULKAN(vk_);                         \
    check(*vk_);                                    \
  } while (0)

// What the assignment rules imply, checked directly: consistency of slot and slotAssign, experts
// fill in priority order (rank-major, then token order), and a choice is dropped only when its
// expert is full of higher-priority choices.
std::string assignmentProblem(const std::vector<int32_t>& idx, const std::vector<int32_t>& slot,
                              const std::vector<int32_t>& assign, uint32_t N, uint32_t E, uint32_t k, uint32_t C) {
  std::vector<uint32_t> filled(E, 0);
  for (uint32_t j = 0; j < k; ++j)
    for (uint32_t n = 0; n < N; ++n) {
      const uint32_t a = n * k + j;
      const int32_t e = idx[a];
      const int32_t want = filled[e] < C ? int32_t(e * C + filled[e]) : -1;
      if (slot[a] != want)
        return "choice " + std::to_string(a) + " (token " + std::to_string(n) + ", rank " + std::to_string(j) +
               ", expert " + std::to_string(e) + "): slot " + std::to_string(slot[a]) + ", rules say " +
               std::to_string(want);
      if (want >= 0) {
        if (assign[want] != int32_t(a))
          return "slot " + std::to_string(want) + " holds " + std::to_string(assign[want]) + ", not " +
                 std::to_string(a);
        ++filled[e];
      }
    }
  for (uint32_t e = 0; e < E; ++e)
    for (uint32_t c = filled[e]; c < C; ++c)
      if (assign[e * C + c] != -1) return "slot " + std::to_string(e * C + c) + " should be empty";
  return {};
}

}  // namespace

class TestRouting : public QObject {
  Q_OBJECT

 private slots:
  // ---- parity: Vulkan vs CPU over many shapes, all cases in one Program per op group ----

  void gateParity() {
    struct Case {
      uint32_t N, E, k;
      RouterType type;
      bool train;
      float T;
      TensorId logits = 0, noise = 0, probs = 0, h = 0, idx = 0, wt = 0;
    };
    Bench b;
    TensorId gTrain = b.globals(7, 1234, 1);
    TensorId gEval = b.globals(7, 1234, 0, "globals_eval");
    std::vector<Case> cases;
    const float temperatures[] = {1.0f, 0.5f, 2.0f};
    uint32_t seed = 1;
    for (uint32_t N : tokenCounts())
      for (auto [E, k] : expertChoicePairs()) {
        std::vector<std::pair<RouterType, bool>> kinds = {{RouterType::TopK, true},
                                                          {RouterType::NoisyTopK, true},
                                                          {RouterType::NoisyTopK, false}};
        if (k == E) kinds.push_back({RouterType::Dense, true});
        if (k == 1) kinds.push_back({RouterType::Switch, true});
        for (auto [type, train] : kinds) {
          Case c{N, E, k, type, train, temperatures[seed % 3]};
          const std::string p = "c" + std::to_string(cases.size()) + ".";
          c.logits = b.f32(p + "logits", {N, E});
          c.noise = b.f32(p + "noise", {N, E});
          c.probs = b.f32(p + "probs", {N, E});
          c.h = b.f32(p + "h", {N, E});
          c.idx = b.i32(p + "idx", {N, k});
          c.wt = b.f32(p + "wt", {N, k});
          b.set(c.logits, gappedLogits(N, E, seed++));
          b.set(c.noise, randomVector(size_t(N) * E, seed++, -3.f, 0.f));
          b.program.append("fwd", std::make_unique<RouteGate>(
                                      b.program, c.logits, c.noise, train ? gTrain : gEval, c.probs, c.h, c.idx,
                                      c.wt, GateParams{N, E, k, uint32_t(type), c.T, 5}));
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

    size_t noisyRows = 0, noisySkipped = 0;
    for (const Case& c : cases) {
      const std::string what = std::string(typeName(c.type)) + (c.train ? " train" : " eval") + ", " +
                               shapeText(c.N, c.E, c.k) + ", T " + std::to_string(c.T);
      RL_EXPECT_CLOSE(b.f(*vk, c.probs), b.f(cpu, c.probs), 1e-6, 1e-5, what + ": probs");
      RL_EXPECT_CLOSE(b.f(*vk, c.h), b.f(cpu, c.h), 1e-5, 1e-5, what + ": h");
      // Choices and weights row by row, on rows whose selection is numerically stable.
      const bool byH = c.type == RouterType::NoisyTopK;
      const auto ranked = b.f(cpu, byH ? c.h : c.probs);
      const auto idxCpu = b.i(cpu, c.idx), idxVk = b.i(*vk, c.idx);
      const auto wtCpu = b.f(cpu, c.wt), wtVk = b.f(*vk, c.wt);
      for (uint32_t n = 0; n < c.N; ++n) {
        const bool stable = c.type == RouterType::Dense || selectionStable(&ranked[size_t(n) * c.E], c.E, c.k);
        if (byH) {
          ++noisyRows;
          noisySkipped += !stable;
        }
        if (!stable) {
          QVERIFY2(byH, qPrintable(QString::fromStdString(what + ": row " + std::to_string(n) +
                                                          " has a near-tie in gapped logits")));
          continue;
        }
        RL_EXPECT_EQUAL_INTS(rows(idxVk, c.k, n, n + 1), rows(idxCpu, c.k, n, n + 1),
                             what + ": idx row " + std::to_string(n));
        RL_EXPECT_CLOSE(rows(wtVk, c.k, n, n + 1), rows(wtCpu, c.k, n, n + 1), 1e-6, 1e-5,
                        what + ": wt row " + std::to_string(n));
      }
    }
    qInfo("gate parity: %zu cases; noisy rows with near-ties skipped: %zu of %zu", cases.size(), noisySkipped,
          noisyRows);
    QVERIFY2(noisySkipped * 100 <= noisyRows, "more than 1% of noisy rows skipped: the check lost its teeth");
  }

  void assignParity() {
    struct Case {
      uint32_t N, E, k, C;
      TensorId idx = 0, slot = 0, assign = 0;
    };
    Bench b;
    std::vector<Case> cases;
    uint32_t seed = 100;
    for (uint32_t N : tokenCounts())
      for (auto [E, k] : expertChoicePairs()) {
        const uint32_t fair = (N * k + E - 1) / E;
        std::vector<uint32_t> capacities = {1, std::max(1u, fair / 2), fair + fair / 4, N};
        std::sort(capacities.begin(), capacities.end());
        capacities.erase(std::unique(capacities.begin(), capacities.end()), capacities.end());
        for (uint32_t C : capacities) {
          Case c{N, E, k, C};
          const std::string p = "c" + std::to_string(cases.size()) + ".";
          c.idx = b.i32(p + "idx", {N, k});
          c.slot = b.i32(p + "slot", {N, k});
          c.assign = b.i32(p + "assign", {E * C});
          b.set(c.idx, skewedChoices(N, E, k, seed++));
          b.program.append("fwd", std::make_unique<RouteAssign>(b.program, c.idx, c.slot, c.assign,
                                                                AssignParams{N, E, k, C}));
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
    size_t dropping = 0;
    for (const Case& c : cases) {
      const std::string what = shapeText(c.N, c.E, c.k) + ", C " + std::to_string(c.C);
      const auto idx = b.i(cpu, c.idx), slot = b.i(cpu, c.slot), assign = b.i(cpu, c.assign);
      const std::string problem = assignmentProblem(idx, slot, assign, c.N, c.E, c.k, c.C);
      QVERIFY2(problem.empty(), qPrintable(QString::fromStdString("cpu, " + what + ": " + problem)));
      RL_EXPECT_EQUAL_INTS(b.i(*vk, c.slot), slot, what + ": slot");
      RL_EXPECT_EQUAL_INTS(b.i(*vk, c.assign), assign, what + ": slotAssign");
      dropping += std::count(slot.begin(), slot.end(), -1) > 0;
    }
    qInfo("assign parity: %zu cases, %zu of them drop choices", cases.size(), dropping);
    QVERIFY2(dropping > cases.size() / 4 && dropping < cases.size(), "capacities should both drop and not drop");
  }

  void dispatchCombineParity() {
    struct Case {
      uint32_t N, E, k, C, D;
      TensorId slot = 0, assign = 0, x = 0, xe = 0, dxe = 0, dx = 0, dxAcc = 0, oe = 0, wt = 0, y = 0, dy = 0,
               doe = 0, dwt = 0, doeFused = 0, dwtFused = 0, doeAct = 0, dwtAct = 0;
      Activation act = Activation::None;  // folded into the second fused op
    };
    Bench b;
    std::vector<Case> cases;
    const uint32_t widths[] = {1, 3, 16, 33, 32};  // 16 and 32: the vec4 combine shaders
    uint32_t seed = 300;
    for (uint32_t N : tokenCounts())
      for (auto [E, k] : expertChoicePairs())
        for (uint32_t C : {std::max(1u, (N * k + E - 1) / E / 2), N}) {  // drops, and does not
          Case c{N, E, k, C, widths[cases.size() % 5]};
          const uint32_t S = E * C, D = c.D;
          const std::string p = "c" + std::to_string(cases.size()) + ".";
          TensorId idx = b.i32(p + "idx", {N, k});
          c.slot = b.i32(p + "slot", {N, k});
          c.assign = b.i32(p + "assign", {S});
          c.x = b.f32(p + "x", {N, D});
          c.xe = b.f32(p + "xe", {S, D});
          c.dxe = b.f32(p + "dxe", {S, D});
          c.dx = b.f32(p + "dx", {N, D});
          c.dxAcc = b.f32(p + "dx_acc", {N, D});
          c.oe = b.f32(p + "oe", {S, D});
          c.wt = b.f32(p + "wt", {N, k});
          c.y = b.f32(p + "y", {N, D});
          c.dy = b.f32(p + "dy", {N, D});
          c.doe = b.f32(p + "doe", {S, D});
          c.dwt = b.f32(p + "dwt", {N, k});
          c.doeFused = b.f32(p + "doe_fused", {S, D});
          c.dwtFused = b.f32(p + "dwt_fused", {N, k});
          c.doeAct = b.f32(p + "doe_act", {S, D});
          c.dwtAct = b.f32(p + "dwt_act", {N, k});
          const Activation folded[] = {Activation::Relu, Activation::Tanh, Activation::Sigmoid};
          c.act = folded[cases.size() % 3];
          b.set(idx, skewedChoices(N, E, k, seed++));
          b.set(c.x, randomVector(size_t(N) * D, seed++));
          b.set(c.dxe, randomVector(size_t(S) * D, seed++));
          b.set(c.dxAcc, randomVector(size_t(N) * D, seed++));
          b.set(c.oe, randomVector(size_t(S) * D, seed++));
          b.set(c.wt, randomVector(size_t(N) * k, seed++, 0.f, 1.f));
          b.set(c.dy, randomVector(size_t(N) * D, seed++));
          auto& P = b.program;
          P.append("fwd", std::make_unique<RouteAssign>(P, idx, c.slot, c.assign, AssignParams{N, E, k, C}));
          DispatchParams dp{N, D, S, k};
          // Alternating lavapipe's capped, strided grid with the GPU-class one (as for the fused op below).
          auto forward = std::make_unique<DispatchForward>(P, c.x, c.assign, c.xe, dp);
          if (cases.size() % 2) P.append("fwd", std::make_unique<PinnedVariant>(std::move(forward), DeviceClass::Gpu));
          else P.append("fwd", std::move(forward));
          P.append("fwd", std::make_unique<DispatchBackward>(P, c.dxe, c.slot, c.dx, dp));
          dp.accumulate = 1;
          P.append("fwd", std::make_unique<DispatchBackward>(P, c.dxe, c.slot, c.dxAcc, dp));
          CombineParams cp{N, D, k, S};
          P.append("fwd", std::make_unique<CombineForward>(P, c.oe, c.slot, c.wt, c.y, cp));
          P.append("fwd", std::make_unique<CombineBackwardExperts>(P, c.dy, c.assign, c.wt, c.doe, cp));
          P.append("fwd", std::make_unique<CombineBackwardWeights>(P, c.dy, c.oe, c.slot, c.dwt, cp));
          // The fused op, alternating the grid lavapipe runs (capped, strided) with the GPU-class one.
          auto fused = std::make_unique<CombineBackward>(P, c.dy, c.oe, c.slot, c.assign, c.wt, c.doeFused,
                                                         c.dwtFused, cp);
          if (cases.size() % 2) P.append("fwd", std::make_unique<PinnedVariant>(std::move(fused), DeviceClass::Gpu));
          else P.append("fwd", std::move(fused));
          // The same with the experts' output activation folded in (the other grid).
          auto withAct = std::make_unique<CombineBackward>(P, c.dy, c.oe, c.slot, c.assign, c.wt, c.doeAct, c.dwtAct,
                                                           cp, c.act);
          if (cases.size() % 2 == 0) P.append("fwd", std::make_unique<PinnedVariant>(std::move(withAct), DeviceClass::Gpu));
          else P.append("fwd", std::move(withAct));
          cases.push_back(c);
        }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    // Outputs start as garbage, so a kernel that skips an element is caught.
    for (const Case& c : cases)
      for (TensorId t : {c.xe, c.dx, c.y, c.doe, c.dwt, c.doeFused, c.dwtFused, c.doeAct, c.dwtAct}) {
        std::vector<float> junk(b.program.info(t).count, 12345.f);
        cpu.writeTensor(b.program, t, junk);
        vk->writeTensor(b.program, t, junk);
      }
    cpu.run("fwd");
    vk->run("fwd");
    for (const Case& c : cases) {
      const std::string what = shapeText(c.N, c.E, c.k) + ", C " + std::to_string(c.C) + ", D " + std::to_string(c.D);
      RL_EXPECT_EQUAL_INTS(b.i(*vk, c.slot), b.i(cpu, c.slot), what + ": slot");
      RL_EXPECT_CLOSE(b.f(*vk, c.xe), b.f(cpu, c.xe), 1e-30, 0.0, what + ": dispatch forward (a copy, exact)");
      RL_EXPECT_CLOSE(b.f(*vk, c.dx), b.f(cpu, c.dx), 1e-6, 1e-6, what + ": dispatch backward");
      RL_EXPECT_CLOSE(b.f(*vk, c.dxAcc), b.f(cpu, c.dxAcc), 1e-6, 1e-6, what + ": dispatch backward (accumulate)");
      RL_EXPECT_CLOSE(b.f(*vk, c.y), b.f(cpu, c.y), 1e-6, 1e-5, what + ": combine forward");
      RL_EXPECT_CLOSE(b.f(*vk, c.doe), b.f(cpu, c.doe), 1e-6, 1e-6, what + ": combine backward experts");
      RL_EXPECT_CLOSE(b.f(*vk, c.dwt), b.f(cpu, c.dwt), 1e-5, 1e-5, what + ": combine backward weights");
      // Combine backward experts from its definition: wt[a] * dy[a / k] (one product, exact) in an
      // occupied slot; an empty slot keeps what it held (nothing reads it).
      const auto assign = b.i(cpu, c.assign);
      const auto wt = b.f(cpu, c.wt), dy = b.f(cpu, c.dy);
      std::vector<float> want(size_t(c.E) * c.C * c.D, 12345.f);
      for (size_t s = 0; s < assign.size(); ++s)
        if (assign[s] >= 0)
          for (uint32_t d = 0; d < c.D; ++d) want[s * c.D + d] = wt[assign[s]] * dy[(assign[s] / c.k) * c.D + d];
      RL_EXPECT_CLOSE(b.f(cpu, c.doe), want, 1e-30, 0.0, what + ": combine backward experts (cpu) by definition");
      RL_EXPECT_CLOSE(b.f(*vk, c.doe), want, 1e-30, 0.0, what + ": combine backward experts (vulkan) by definition");
      // The fused op computes exactly what the two halves compute, on each backend.
      for (const Backend* be : {static_cast<const Backend*>(&cpu), static_cast<const Backend*>(vk.get())}) {
        // Exact on the CPU (shared code); on Vulkan two shaders may contract multiply-adds differently.
        const std::string on = what + (be == &cpu ? " (cpu)" : " (vulkan)");
        const double tol = be == &cpu ? 0.0 : 1e-6;
        RL_EXPECT_CLOSE(b.f(*be, c.doeFused), b.f(*be, c.doe), tol + 1e-30, tol, on + ": fused combine backward, experts");
        RL_EXPECT_CLOSE(b.f(*be, c.dwtFused), b.f(*be, c.dwt), tol + 1e-30, tol, on + ": fused combine backward, weights");
        // Folded output activation: doe times act'(oe) from the output (ReLU [oe > 0], tanh 1 - oe^2,
        // sigmoid oe (1 - oe)) in occupied slots; dwt unchanged. A product more, so 2e-6.
        const auto oe = b.f(*be, c.oe), plain = b.f(*be, c.doeFused);
        std::vector<float> want = b.f(*be, c.doeAct);  // empty slots: whatever the op left (compared below)
        for (size_t s = 0; s < assign.size(); ++s)
          if (assign[s] >= 0)
            for (uint32_t d = 0; d < c.D; ++d) {
              const float o = oe[s * c.D + d];
              const float g = c.act == Activation::Relu ? (o > 0.f ? 1.f : 0.f)
                              : c.act == Activation::Tanh ? 1.f - o * o : o * (1.f - o);
              want[s * c.D + d] = plain[s * c.D + d] * g;
            }
        RL_EXPECT_CLOSE(b.f(*be, c.doeAct), want, 2e-6, 2e-6,
                        on + ": combine backward with the output activation folded in (act " << int(c.act) << ")");
        RL_EXPECT_CLOSE(b.f(*be, c.dwtAct), b.f(*be, c.dwtFused), tol + 1e-30, tol, on + ": ... its weights");
      }
      // Empty slots stay as they were (12345) with the activation folded in too.
      const auto doeAct = b.f(*vk, c.doeAct);
      for (size_t s = 0; s < assign.size(); ++s)
        if (assign[s] < 0)
          for (uint32_t d = 0; d < c.D; ++d)
            QVERIFY2(doeAct[s * c.D + d] == 12345.f, (what + ": empty slot written (activation folded)").c_str());
    }
    qInfo("dispatch/combine parity: %zu cases", cases.size());
  }

  void statsParity() {
    struct Case {
      uint32_t N, E, k;
      float aux = 0, z = 0;
      TensorId load = 0, importance = 0, scalars = 0;
    };
    Bench b;
    std::vector<Case> cases;
    uint32_t seed = 700;
    for (uint32_t N : tokenCounts())
      for (auto [E, k] : expertChoicePairs()) {
        Case c{N, E, k};
        const std::string p = "c" + std::to_string(cases.size()) + ".";
        TensorId probs = b.f32(p + "probs", {N, E}), h = b.f32(p + "h", {N, E});
        TensorId idx = b.i32(p + "idx", {N, k}), slot = b.i32(p + "slot", {N, k});
        c.load = b.f32(p + "load", {E});
        c.importance = b.f32(p + "importance", {E});
        c.scalars = b.f32(p + "scalars", {4});
        b.set(probs, randomProbs(N, E, seed++));
        b.set(h, randomVector(size_t(N) * E, seed++, -3.f, 3.f));
        b.set(idx, skewedChoices(N, E, k, seed++));
        std::vector<int32_t> slotValues(size_t(N) * k);
        std::mt19937 gen(seed++);
        for (auto& s : slotValues) s = gen() % 10 < 3 ? -1 : int32_t(gen() % 1000);
        b.set(slot, slotValues);
        StatsParams sp{N, E, k, 0.01f * float(1 + cases.size() % 3), 0.001f};
        c.aux = sp.auxCoef;
        c.z = sp.zCoef;
        b.program.append("fwd", std::make_unique<RouterStats>(b.program, probs, h, idx, slot, c.load,
                                                              c.importance, c.scalars, sp));
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
      const std::string what =
          shapeText(c.N, c.E, c.k) + ", auxCoef " + std::to_string(c.aux) + ", zCoef " + std::to_string(c.z);
      RL_EXPECT_CLOSE(b.f(*vk, c.load), b.f(cpu, c.load), 1e-30, 1e-6, what + ": load");
      RL_EXPECT_CLOSE(b.f(*vk, c.importance), b.f(cpu, c.importance), 1e-6, 1e-5, what + ": importance");
      RL_EXPECT_CLOSE(b.f(*vk, c.scalars), b.f(cpu, c.scalars), 1e-6, 1e-5, what + ": aux, z, entropy, dropped");
    }
  }

  // ---- hand-checked small cases, on both backends ----

  void handGate() {
    // Two tokens, three experts; row 1 has an exact tie between experts 0 and 1.
    const std::vector<float> logits = {1.f, 3.f, 2.f, 2.f, 2.f, 1.f};
    auto softmax = [](std::vector<double> z) {
      double s = 0;
      for (double& v : z) s += (v = std::exp(v));
      for (double& v : z) v /= s;
      return z;
    };
    const auto p0 = softmax({1, 3, 2}), p1 = softmax({2, 2, 1});
    struct Expect {
      RouterType type;
      uint32_t k;
      std::vector<int32_t> idx;
      std::vector<float> wt;
    };
    const std::vector<Expect> expect = {
        {RouterType::Dense, 3, {0, 1, 2, 0, 1, 2}, {float(p0[0]), float(p0[1]), float(p0[2]), float(p1[0]),
                                                     float(p1[1]), float(p1[2])}},
        {RouterType::TopK, 2, {1, 2, 0, 1}, {float(p0[1] / (p0[1] + p0[2])), float(p0[2] / (p0[1] + p0[2])), 0.5f, 0.5f}},
        // Evaluation: no noise, so h = logits and the weights are a softmax over the chosen logits.
        {RouterType::NoisyTopK, 2, {1, 2, 0, 1}, {float(1 / (1 + std::exp(-1.0))), float(1 / (1 + std::exp(1.0))), 0.5f, 0.5f}},
        {RouterType::Switch, 1, {1, 0}, {float(p0[1]), float(p1[0])}},
    };
    auto check = [&](Backend& backend) {
      for (const Expect& x : expect) {
        Bench b;
        TensorId g = b.globals(3, 9, 0);
        TensorId l = b.f32("logits", {2, 3}), probs = b.f32("probs", {2, 3}), h = b.f32("h", {2, 3});
        TensorId idx = b.i32("idx", {2, x.k}), wt = b.f32("wt", {2, x.k});
        b.set(l, logits);
        b.program.append("fwd", std::make_unique<RouteGate>(b.program, l, l, g, probs, h, idx, wt,
                                                             GateParams{2, 3, x.k, uint32_t(x.type), 1.0f, 0}));
        b.load(backend);
        backend.run("fwd");
        const std::string what = backend.name() + " " + typeName(x.type);
        RL_EXPECT_EQUAL_INTS(b.i(backend, idx), x.idx, what + ": idx");
        RL_EXPECT_CLOSE(b.f(backend, wt), x.wt, 1e-6, 1e-5, what + ": wt");
        std::vector<float> p = {float(p0[0]), float(p0[1]), float(p0[2]), float(p1[0]), float(p1[1]), float(p1[2])};
        RL_EXPECT_CLOSE(b.f(backend, probs), p, 1e-6, 1e-5, what + ": probs");
        RL_EXPECT_CLOSE(b.f(backend, h), logits, 1e-7, 1e-6, what + ": h");
      }
    };
    RL_ON_BOTH_BACKENDS(check);
  }

  void handNoisyTrainingNoise() {
    // While training, h = logits / T + eps * softplus(noiseLogits), eps a Box-Muller normal from
    // the counter RNG at index n*E + e; computed here in double from the uniforms.
    const uint32_t N = 3, E = 4, k = 2, seed = 77, step = 12, stream = 5;
    const float T = 0.5f;
    const auto logits = gappedLogits(N, E, 1), noise = randomVector(N * E, 2, -2.f, 1.f);
    std::vector<float> expectH(N * E);
    for (uint32_t i = 0; i < N * E; ++i) {
      const double u1 = rng::uniform(seed, step, stream, 2 * i), u2 = rng::uniform(seed, step, stream, 2 * i + 1);
      const double eps = std::sqrt(-2 * std::log(1 - u1)) * std::cos(2 * M_PI * u2);
      expectH[i] = float(logits[i] / T + eps * std::log1p(std::exp(double(noise[i]))));
    }
    auto check = [&](Backend& backend) {
      Bench b;
      TensorId g = b.globals(step, seed, 1);
      TensorId l = b.f32("logits", {N, E}), nl = b.f32("noise", {N, E}), probs = b.f32("probs", {N, E});
      TensorId h = b.f32("h", {N, E}), idx = b.i32("idx", {N, k}), wt = b.f32("wt", {N, k});
      b.set(l, logits);
      b.set(nl, noise);
      b.program.append("fwd", std::make_unique<RouteGate>(b.program, l, nl, g, probs, h, idx, wt,
                                                           GateParams{N, E, k, uint32_t(RouterType::NoisyTopK), T,
                                                                      stream}));
      b.load(backend);
      backend.run("fwd");
      const auto hv = b.f(backend, h);
      RL_EXPECT_CLOSE(hv, expectH, 1e-5, 1e-5, backend.name() + ": noisy h");
      // The choices are the top-2 of h and the weights a softmax over them.
      const auto iv = b.i(backend, idx);
      const auto wv = b.f(backend, wt);
      for (uint32_t n = 0; n < N; ++n) {
        std::vector<int32_t> order(E);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return hv[n * E + a] > hv[n * E + c]; });
        RL_EXPECT_EQUAL_INTS(rows(iv, k, n, n + 1), std::vector<int32_t>(order.begin(), order.begin() + k),
                             backend.name() + ": noisy idx row " + std::to_string(n));
        const double d = hv[n * E + order[1]] - hv[n * E + order[0]];
        const std::vector<float> w = {float(1 / (1 + std::exp(d))), float(1 / (1 + std::exp(-d)))};
        RL_EXPECT_CLOSE(rows(wv, k, n, n + 1), w, 1e-6, 1e-5, backend.name() + ": noisy wt row " + std::to_string(n));
      }
      QVERIFY2(std::abs(hv[0] - logits[0] / T) > 1e-4, "noise should move h while training");
    };
    RL_ON_BOTH_BACKENDS(check);
  }

  void handCapacityDropsTheLastToken() {
    // Three tokens, two experts, Switch (top-1), capacity 1. Token 0 prefers expert 1; tokens 1
    // and 2 prefer expert 0, which token 1 fills first, so token 2 is dropped: its output is 0.
    const uint32_t N = 3, E = 2, k = 1, C = 1, D = 2;
    const std::vector<float> logits = {0.f, 1.f, 2.f, 0.f, 1.5f, 0.f};
    const std::vector<float> x = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
    auto check = [&](Backend& backend) {
      Bench b;
      TensorId g = b.globals(1, 1, 1);
      TensorId l = b.f32("logits", {N, E}), probs = b.f32("probs", {N, E}), h = b.f32("h", {N, E});
      TensorId idx = b.i32("idx", {N, k}), wt = b.f32("wt", {N, k}), slot = b.i32("slot", {N, k});
      TensorId assign = b.i32("assign", {E * C}), xt = b.f32("x", {N, D}), xe = b.f32("xe", {E * C, D});
      TensorId y = b.f32("y", {N, D});
      b.set(l, logits);
      b.set(xt, x);
      auto& P = b.program;
      P.append("fwd", std::make_unique<RouteGate>(P, l, l, g, probs, h, idx, wt,
                                                  GateParams{N, E, k, uint32_t(RouterType::Switch), 1.0f, 0}));
      P.append("fwd", std::make_unique<RouteAssign>(P, idx, slot, assign, AssignParams{N, E, k, C}));
      P.append("fwd", std::make_unique<DispatchForward>(P, xt, assign, xe, DispatchParams{N, D, E * C, k}));
      // Identity experts: combine straight from the dispatched inputs.
      P.append("fwd", std::make_unique<CombineForward>(P, xe, slot, wt, y, CombineParams{N, D, k, E * C}));
      b.load(backend);
      backend.run("fwd");
      const std::string w = backend.name();
      RL_EXPECT_EQUAL_INTS(b.i(backend, idx), (std::vector<int32_t>{1, 0, 0}), w + ": idx");
      RL_EXPECT_EQUAL_INTS(b.i(backend, slot), (std::vector<int32_t>{1, 0, -1}), w + ": slot");
      RL_EXPECT_EQUAL_INTS(b.i(backend, assign), (std::vector<int32_t>{1, 0}), w + ": slotAssign");
      RL_EXPECT_CLOSE(b.f(backend, xe), (std::vector<float>{3.f, 4.f, 1.f, 2.f}), 1e-30, 0.0, w + ": xe (exact copies)");
      const auto wv = b.f(backend, wt);
      const std::vector<float> expectY = {wv[0] * 1.f, wv[0] * 2.f, wv[1] * 3.f, wv[1] * 4.f, 0.f, 0.f};
      RL_EXPECT_CLOSE(b.f(backend, y), expectY, 1e-7, 1e-6, w + ": y (token 2 dropped)");
    };
    RL_ON_BOTH_BACKENDS(check);
  }

  void handFirstChoicesBeforeSecond() {
    // Capacity 1, both tokens want both experts in opposite orders: each gets its first choice and
    // loses its second, rather than token 0 taking both experts.
    const uint32_t N = 2, E = 2, k = 2, C = 1;
    auto check = [&](Backend& backend) {
      Bench b;
      TensorId idx = b.i32("idx", {N, k}), slot = b.i32("slot", {N, k}), assign = b.i32("assign", {E * C});
      b.set(idx, std::vector<int32_t>{0, 1, 1, 0});
      b.program.append("fwd", std::make_unique<RouteAssign>(b.program, idx, slot, assign, AssignParams{N, E, k, C}));
      b.load(backend);
      backend.run("fwd");
      RL_EXPECT_EQUAL_INTS(b.i(backend, slot), (std::vector<int32_t>{0, -1, 1, -1}), backend.name() + ": slot");
      RL_EXPECT_EQUAL_INTS(b.i(backend, assign), (std::vector<int32_t>{0, 2}), backend.name() + ": slotAssign");
    };
    RL_ON_BOTH_BACKENDS(check);
  }

  void handStats() {
    // N 2, E 2, k 1. load = {1/2, 1/2}, importance = {0.6, 0.4}, aux = a*2*(0.3 + 0.2) = a,
    // z = zc * (log(e + 1)^2 + log(2)^2) / 2, entropy = mean of the row entropies, dropped = 1/2.
    const float a = 0.1f, zc = 0.01f;
    const double ent0 = -(0.8 * std::log(0.8) + 0.2 * std::log(0.2)), ent1 = -(0.4 * std::log(0.4) + 0.6 * std::log(0.6));
    const double l0 = std::log(std::exp(1.0) + 1), l1 = std::log(2.0);
    const std::vector<float> expectScalars = {a, float(zc * (l0 * l0 + l1 * l1) / 2), float((ent0 + ent1) / 2), 0.5f};
    auto check = [&](Backend& backend) {
      Bench b;
      TensorId probs = b.f32("probs", {2, 2}), h = b.f32("h", {2, 2}), idx = b.i32("idx", {2, 1});
      TensorId slot = b.i32("slot", {2, 1}), load = b.f32("load", {2}), imp = b.f32("importance", {2});
      TensorId scalars = b.f32("scalars", {4});
      b.set(probs, std::vector<float>{0.8f, 0.2f, 0.4f, 0.6f});
      b.set(h, std::vector<float>{1.f, 0.f, 0.f, 0.f});
      b.set(idx, std::vector<int32_t>{0, 1});
      b.set(slot, std::vector<int32_t>{0, -1});
      b.program.append("fwd", std::make_unique<RouterStats>(b.program, probs, h, idx, slot, load, imp, scalars,
                                                             StatsParams{2, 2, 1, a, zc}));
      b.load(backend);
      backend.run("fwd");
      const std::string w = backend.name();
      RL_EXPECT_CLOSE(b.f(backend, load), (std::vector<float>{0.5f, 0.5f}), 1e-30, 0.0, w + ": load (exact)");
      RL_EXPECT_CLOSE(b.f(backend, imp), (std::vector<float>{0.6f, 0.4f}), 1e-7, 1e-6, w + ": importance");
      RL_EXPECT_CLOSE(b.f(backend, scalars), expectScalars, 1e-7, 1e-5, w + ": aux, z, entropy, dropped");
    };
    RL_ON_BOTH_BACKENDS(check);
  }

  void rejectsBadParameters() {
    Program p;
    const TensorId t = p.add("t", {4}, Role::Activation);
    const TensorId i = p.add("i", {4}, Role::Activation, DType::I32);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             RouteGate(p, t, t, t, t, t, i, t, GateParams{2, 2, 3, uint32_t(RouterType::TopK), 1.f, 0}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             RouteGate(p, t, t, t, t, t, i, t, GateParams{2, 2, 1, uint32_t(RouterType::Dense), 1.f, 0}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             RouteGate(p, t, t, t, t, t, i, t, GateParams{2, 3, 2, uint32_t(RouterType::Switch), 1.f, 0}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             RouteGate(p, t, t, t, t, t, i, t, GateParams{2, 3, 2, uint32_t(RouterType::TopK), 0.f, 0}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RouteAssign(p, i, i, i, AssignParams{2, 2, 1, 0}));
  }
};

QTEST_APPLESS_MAIN(TestRouting)
#include "test_routing.moc"
