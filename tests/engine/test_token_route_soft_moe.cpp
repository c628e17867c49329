// Soft MoE ops (engine/ops/token_route_soft_moe.h): the forward against a double-precision loop
// written from the paper's formulas, Vulkan vs CPU parity of all four ops over many shapes on both
// grid variants (and a shape whose CPU-class grid is widened for lavapipe's loop limit), the
// backward of the whole block against central finite differences (CPU), and shape errors.
#include "routing_fixture.h"
#include "pinned_variant.h"

#include <cmath>
#include <optional>

#include "ops/linear.h"
#include "ops/token_route_soft_moe.h"

using namespace rl;
using namespace rltest;

namespace {

struct SmCase {
  uint32_t B, T, E, S, D;
  float tau = 1.0f;
  uint32_t N() const { return B * T; }
  uint32_t J() const { return E * S; }
  uint32_t rows() const { return E * B * S; }
  SoftMoeParams params(uint32_t accDx = 0, uint32_t accDlogits = 1) const {
    return {B, T, E, S, D, tau, accDx, accDlogits};
  }
  std::string describe() const {
    std::ostringstream os;
    os << "B=" << B << " T=" << T << " E=" << E << " S=" << S << " D=" << D << " tau=" << tau;
    return os.str();
  }
};

// The forward in double precision, straight from the definitions (legend in the op header).
struct Reference {
  std::vector<float> Dw, Cw, xs;
};
Reference referenceDispatch(const SmCase& c, const std::vector<float>& logits, const std::vector<float>& x) {
  const uint32_t N = c.N(), J = c.J();
  Reference r{std::vector<float>(size_t(N) * J), std::vector<float>(size_t(N) * J),
              std::vector<float>(size_t(c.rows()) * c.D)};
  auto L = [&](uint32_t n, uint32_t j) { return double(logits[size_t(n) * J + j]) / c.tau; };
  for (uint32_t n = 0; n < N; ++n) {
    double z = 0;
    for (uint32_t j = 0; j < J; ++j) z += std::exp(L(n, j));
    for (uint32_t j = 0; j < J; ++j) r.Cw[size_t(n) * J + j] = float(std::exp(L(n, j)) / z);
  }
  for (uint32_t b = 0; b < c.B; ++b)
    for (uint32_t e = 0; e < c.E; ++e)
      for (uint32_t s = 0; s < c.S; ++s) {
        const uint32_t j = e * c.S + s;
        const size_t row = size_t(e) * c.B * c.S + size_t(b) * c.S + s;
        double z = 0;
        for (uint32_t t = 0; t < c.T; ++t) z += std::exp(L(b * c.T + t, j));
        std::vector<double> acc(c.D, 0.0);
        for (uint32_t t = 0; t < c.T; ++t) {
          const uint32_t n = b * c.T + t;
          const double w = std::exp(L(n, j)) / z;
          r.Dw[size_t(n) * J + j] = float(w);
          for (uint32_t d = 0; d < c.D; ++d) acc[d] += w * x[size_t(n) * c.D + d];
        }
        for (uint32_t d = 0; d < c.D; ++d) r.xs[row * c.D + d] = float(acc[d]);
      }
  return r;
}
std::vector<float> referenceCombine(const SmCase& c, const std::vector<float>& ys, const std::vector<float>& Cw) {
  std::vector<float> y(size_t(c.N()) * c.D);
  for (uint32_t n = 0; n < c.N(); ++n)
    for (uint32_t d = 0; d < c.D; ++d) {
      double acc = 0;
      for (uint32_t e = 0; e < c.E; ++e)
        for (uint32_t s = 0; s < c.S; ++s) {
          const size_t row = size_t(e) * c.B * c.S + size_t(n / c.T) * c.S + s;
          acc += double(Cw[size_t(n) * c.J() + e * c.S + s]) * ys[row * c.D + d];
        }
      y[size_t(n) * c.D + d] = float(acc);
    }
  return y;
}

// All four ops of one case on a Bench, chained as a builder wires them (the backward ops read the
// forward's y and xs). Phase "fwd": dispatch + combine; phase "bwd": combine and dispatch backward.
// ys, dy and dxs are random (the experts between them are not part of these ops).
struct Rig {
  SmCase c;
  TensorId logits, x, Dw, Cw, xs, ys, y, dy, dys, dlogits, dxs, dx;
  uint32_t accDx, accDlogits;
  Rig(Bench& b, const SmCase& c_, uint32_t seed, const std::string& p, std::optional<DeviceClass> pin,
      uint32_t accDx_, uint32_t accDlogits_)
      : c(c_), accDx(accDx_), accDlogits(accDlogits_) {
    const uint32_t N = c.N(), J = c.J(), R = c.rows(), D = c.D;
    logits = b.f32(p + "logits", {N, J});
    x = b.f32(p + "x", {N, D});
    Dw = b.f32(p + "dispatch_w", {N, J});
    Cw = b.f32(p + "combine_w", {N, J});
    xs = b.f32(p + "xs", {R, D});
    ys = b.f32(p + "ys", {R, D});
    y = b.f32(p + "y", {N, D});
    dy = b.f32(p + "dy", {N, D});
    dys = b.f32(p + "dys", {R, D});
    dlogits = b.f32(p + "dlogits", {N, J});
    dxs = b.f32(p + "dxs", {R, D});
    dx = b.f32(p + "dx", {N, D});
    b.set(logits, randomVector(size_t(N) * J, seed, -2.f, 2.f));
    b.set(x, randomVector(size_t(N) * D, seed + 1));
    b.set(ys, randomVector(size_t(R) * D, seed + 2));
    b.set(dy, randomVector(size_t(N) * D, seed + 3));
    b.set(dxs, randomVector(size_t(R) * D, seed + 4));
    // NaN in every written output (a prior value in an accumulated one): an element an op fails
    // to write shows up.
    for (TensorId t : {Dw, Cw, xs, y, dys, dlogits}) b.set(t, std::vector<float>(b.program.info(t).count, NAN));
    b.set(dx, accDx ? randomVector(size_t(N) * D, seed + 5) : std::vector<float>(size_t(N) * D, NAN));
    auto add = [&](const char* phase, std::unique_ptr<Op> op) {
      b.program.append(phase, pin ? std::make_unique<PinnedVariant>(std::move(op), *pin) : std::move(op));
    };
    auto& P = b.program;
    const SoftMoeParams sp = c.params(accDx, accDlogits);
    add("fwd", std::make_unique<SoftMoeDispatchForward>(P, logits, x, Dw, Cw, xs, sp));
    add("fwd", std::make_unique<SoftMoeCombineForward>(P, ys, Cw, y, sp));
    add("bwd", std::make_unique<SoftMoeCombineBackward>(P, dy, ys, y, Cw, dys, dlogits, sp));
    add("bwd", std::make_unique<SoftMoeDispatchBackward>(P, dxs, x, xs, Dw, dx, dlogits, sp));
  }
};

const std::vector<SmCase>& parityCases() {
  static const std::vector<SmCase> cases = {
      {1, 1, 1, 1, 4, 1.0f},   {1, 5, 2, 1, 8, 1.0f},  {2, 3, 3, 2, 20, 0.7f},  {3, 21, 8, 1, 16, 1.3f},
      {32, 2, 16, 1, 4, 1.0f}, {2, 33, 4, 4, 64, 1.f}, {5, 13, 1, 3, 36, 1.f},  {32, 32, 8, 1, 64, 1.0f},
      {4, 7, 16, 4, 44, 0.5f}, {1, 70, 2, 2, 12, 1.f}, {7, 9, 5, 2, 4, 2.0f},   {3, 65, 3, 1, 28, 1.0f},
  };
  return cases;
}

template <class Loss>
std::vector<float> finiteDifferences(Backend& be, const Program& p, TensorId t, double eps, Loss loss) {
  std::vector<float> base = be.readTensor<float>(p, t), grad(base.size());
  for (size_t i = 0; i < base.size(); ++i) {
    double v[2];
    for (int s = 0; s < 2; ++s) {
      std::vector<float> x = base;
      x[i] = float(base[i] + (s ? -eps : eps));
      be.writeTensor(p, t, x);
      v[s] = loss();
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

}  // namespace

class TestTokenRouteSoftMoe : public QObject {
  Q_OBJECT

 private slots:
  // Both backends' forward against the double-precision definitions; the weights are proper
  // softmaxes (columns of Dw sum to 1 over each sequence, rows of Cw over the slots).
  void forwardMatchesDefinition() {
    for (const SmCase& c : parityCases()) {
      Bench b;
      Rig rig(b, c, 11, "", std::nullopt, 0, 1);
      const auto logits = randomVector(size_t(c.N()) * c.J(), 11, -2.f, 2.f);
      const auto x = randomVector(size_t(c.N()) * c.D, 12);
      const Reference ref = referenceDispatch(c, logits, x);
      const auto yRef = referenceCombine(c, randomVector(size_t(c.rows()) * c.D, 13), ref.Cw);  // ys: seed + 2
      auto check = [&](Backend& be) {
        b.load(be);
        be.run("fwd");
        const std::string what = be.name() + ", " + c.describe();
        // Measured worst ratio 0.025 (both backends) at these tolerances.
        RL_EXPECT_CLOSE(b.f(be, rig.Dw), ref.Dw, 1e-6, 1e-5, what + ": dispatch weights");
        RL_EXPECT_CLOSE(b.f(be, rig.Cw), ref.Cw, 1e-6, 1e-5, what + ": combine weights");
        RL_EXPECT_CLOSE(b.f(be, rig.xs), ref.xs, 1e-5, 1e-4, what + ": xs");
        RL_EXPECT_CLOSE(b.f(be, rig.y), yRef, 1e-5, 1e-4, what + ": y");
        const auto Dw = b.f(be, rig.Dw), Cw = b.f(be, rig.Cw);
        for (uint32_t n = 0; n < c.N(); ++n) {
          double s = 0;
          for (uint32_t j = 0; j < c.J(); ++j) s += Cw[size_t(n) * c.J() + j];
          QVERIFY2(std::abs(s - 1) < 1e-5, qPrintable(QString::fromStdString(what + ": a Cw row does not sum to 1")));
        }
        for (uint32_t s0 = 0; s0 < c.B; ++s0)
          for (uint32_t j = 0; j < c.J(); ++j) {
            double s = 0;
            for (uint32_t t = 0; t < c.T; ++t) s += Dw[size_t(s0 * c.T + t) * c.J() + j];
            QVERIFY2(std::abs(s - 1) < 1e-5,
                     qPrintable(QString::fromStdString(what + ": a Dw column does not sum to 1 over its sequence")));
          }
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

  void parity() {
    Bench b;
    std::vector<std::unique_ptr<Rig>> rigs;
    uint32_t seed = 100;
    for (const SmCase& c : parityCases())
      for (DeviceClass grid : {DeviceClass::CpuImplementation, DeviceClass::Gpu}) {
        const uint32_t acc = seed % 2;  // alternate the accumulate flags
        rigs.push_back(std::make_unique<Rig>(b, c, seed, "c" + std::to_string(rigs.size()) + ".", grid, acc, acc));
        seed += 10;
      }
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    for (Backend* be : {static_cast<Backend*>(&cpu), vk.get()}) {
      be->run("fwd");
      be->run("bwd");
    }
    for (size_t i = 0; i < rigs.size(); ++i) {
      const Rig& r = *rigs[i];
      const std::string what = r.c.describe() + (i % 2 ? ", GPU-class grid" : ", CPU-class grid") +
                               ", accumulate " + std::to_string(r.accDx);
      // Measured worst ratio 0.025 at these tolerances.
      RL_EXPECT_CLOSE(b.f(*vk, r.Dw), b.f(cpu, r.Dw), 1e-6, 1e-5, what + ": dispatch weights");
      RL_EXPECT_CLOSE(b.f(*vk, r.Cw), b.f(cpu, r.Cw), 1e-6, 1e-5, what + ": combine weights");
      RL_EXPECT_CLOSE(b.f(*vk, r.xs), b.f(cpu, r.xs), 1e-5, 1e-4, what + ": xs");
      RL_EXPECT_CLOSE(b.f(*vk, r.y), b.f(cpu, r.y), 1e-5, 1e-4, what + ": y");
      RL_EXPECT_CLOSE(b.f(*vk, r.dys), b.f(cpu, r.dys), 1e-5, 1e-4, what + ": dys");
      RL_EXPECT_CLOSE(b.f(*vk, r.dlogits), b.f(cpu, r.dlogits), 1e-5, 1e-4, what + ": dlogits");
      RL_EXPECT_CLOSE(b.f(*vk, r.dx), b.f(cpu, r.dx), 1e-5, 1e-4, what + ": dx");
    }
    qInfo("soft moe parity: %zu cases", rigs.size());
  }

  // A shape where eight CPU-class workgroups would give an invocation more loop iterations than
  // lavapipe allows (dispatch forward: 64 xs items of ~1,540 iterations each per invocation, about
  // 98,000 in all): the grid is widened, and every output still matches the CPU.
  // Measured with the widening switched off: lavapipe leaves part of the outputs unwritten (NaN).
  void wideShapeStaysUnderTheLoopLimit() {
    const SmCase c{8, 512, 64, 8, 128, 1.0f};
    Bench b;
    Rig rig(b, c, 7, "", std::nullopt, 0, 1);
    SoftMoeDispatchForward probe(b.program, rig.logits, rig.x, rig.Dw, rig.Cw, rig.xs, c.params());
    qInfo("%s: dispatch forward runs on %u CPU-class workgroups", c.describe().c_str(), probe.cpuClassWorkgroups());
    QVERIFY(probe.cpuClassWorkgroups() > kStridedCpuClassWorkgroups);
    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    b.load(cpu);
    b.load(*vk);
    for (Backend* be : {static_cast<Backend*>(&cpu), vk.get()}) {
      be->run("fwd");
      be->run("bwd");
    }
    RL_EXPECT_CLOSE(b.f(*vk, rig.xs), b.f(cpu, rig.xs), 1e-5, 1e-4, c.describe() + ": xs");
    RL_EXPECT_CLOSE(b.f(*vk, rig.y), b.f(cpu, rig.y), 1e-5, 1e-4, c.describe() + ": y");
    RL_EXPECT_CLOSE(b.f(*vk, rig.dys), b.f(cpu, rig.dys), 1e-5, 1e-4, c.describe() + ": dys");
    RL_EXPECT_CLOSE(b.f(*vk, rig.dlogits), b.f(cpu, rig.dlogits), 1e-5, 1e-4, c.describe() + ": dlogits");
    RL_EXPECT_CLOSE(b.f(*vk, rig.dx), b.f(cpu, rig.dx), 1e-5, 1e-4, c.describe() + ": dx");
  }

  void tooLargeForLavapipeIsAClearError() {
    const SmCase c{1, 30000, 1, 1, 4, 1.0f};  // an xs item: 3 passes over 30,000 tokens
    Bench b;
    TensorId logits = b.f32("logits", {c.N(), c.J()}), x = b.f32("x", {c.N(), c.D});
    TensorId w = b.f32("w", {c.N(), c.J()}), xs = b.f32("xs", {c.rows(), c.D});
    SoftMoeDispatchForward op(b.program, logits, x, w, w, xs, c.params());
    QCOMPARE(&op.forDevice(DeviceClass::Gpu), static_cast<const Op*>(&op));
    bool threw = false;
    try {
      op.forDevice(DeviceClass::CpuImplementation);
    } catch (const std::runtime_error& e) {
      threw = true;
      qInfo("expected error: %s", e.what());
    }
    QVERIFY(threw);
  }

  void backwardMatchesFiniteDifferences_data() {
    QTest::addColumn<int>("which");
    for (int i = 0; i < 3; ++i) QTest::newRow(std::to_string(i).c_str()) << i;
  }
  // L = <R, y>, y = combine(expert(dispatch(x, logits)), logits), expert = tanh(xs) ⊙ A (on the host).
  void backwardMatchesFiniteDifferences() {
    QFETCH(int, which);
    const SmCase cases[] = {{2, 3, 2, 2, 4, 1.0f}, {1, 5, 3, 1, 8, 0.7f}, {3, 2, 1, 3, 4, 1.4f}};
    const SmCase c = cases[which];
    const uint32_t N = c.N(), J = c.J(), R = c.rows(), D = c.D;
    const uint32_t seed = 40 + which;
    Bench b;
    TensorId logits = b.f32("logits", {N, J}), x = b.f32("x", {N, D}), Dw = b.f32("dw", {N, J});
    TensorId Cw = b.f32("cw", {N, J}), xs = b.f32("xs", {R, D}), ys = b.f32("ys", {R, D}), y = b.f32("y", {N, D});
    TensorId r = b.f32("r", {N, D}), dys = b.f32("dys", {R, D}), dlogits = b.f32("dlogits", {N, J});
    TensorId dxs = b.f32("dxs", {R, D}), dx = b.f32("dx", {N, D});
    b.set(logits, randomVector(size_t(N) * J, seed, -1.5f, 1.5f));
    b.set(x, randomVector(size_t(N) * D, seed + 1));
    b.set(r, randomVector(size_t(N) * D, seed + 2));
    const std::vector<float> A = randomVector(size_t(R) * D, seed + 3, 0.5f, 1.5f);
    auto& P = b.program;
    const SoftMoeParams sp = c.params(0, 1);
    P.append("disp", std::make_unique<SoftMoeDispatchForward>(P, logits, x, Dw, Cw, xs, sp));
    P.append("comb", std::make_unique<SoftMoeCombineForward>(P, ys, Cw, y, sp));
    P.append("bwd_comb", std::make_unique<SoftMoeCombineBackward>(P, r, ys, y, Cw, dys, dlogits, sp));
    P.append("bwd_disp", std::make_unique<SoftMoeDispatchBackward>(P, dxs, x, xs, Dw, dx, dlogits, sp));
    CpuBackend cpu;
    b.load(cpu);
    auto forward = [&] {
      cpu.run("disp");
      const auto v = b.f(cpu, xs);
      std::vector<float> o(v.size());
      for (size_t i = 0; i < o.size(); ++i) o[i] = std::tanh(v[i]) * A[i];
      cpu.writeTensor(P, ys, o);
      cpu.run("comb");
      return dot(b.f(cpu, r), b.f(cpu, y));
    };
    forward();
    cpu.run("bwd_comb");
    {
      const auto v = b.f(cpu, xs), g = b.f(cpu, dys);
      std::vector<float> d(v.size());
      for (size_t i = 0; i < d.size(); ++i) d[i] = g[i] * A[i] * (1 - std::tanh(v[i]) * std::tanh(v[i]));
      cpu.writeTensor(P, dxs, d);
    }
    cpu.run("bwd_disp");
    const auto gotLogits = b.f(cpu, dlogits), gotX = b.f(cpu, dx);
    const auto fdLogits = finiteDifferences(cpu, P, logits, 1e-2, forward);
    const auto fdX = finiteDifferences(cpu, P, x, 1e-2, forward);
    // Measured worst ratios 0.008 (dlogits) and 0.004 (dx) at these tolerances (float loss, step 1e-2).
    RL_EXPECT_CLOSE(gotLogits, fdLogits, 5e-4, 5e-3, c.describe() + ": dlogits vs finite differences");
    RL_EXPECT_CLOSE(gotX, fdX, 5e-4, 5e-3, c.describe() + ": dx vs finite differences");
    QVERIFY2(dot(fdLogits, fdLogits) > 1e-4, "no router gradient to test");
    QVERIFY2(dot(fdX, fdX) > 1e-4, "no input gradient to test");
  }

  // The whole Soft MoE block as the header tells a builder to wire it, with the real router linear
  // ([J, D], no bias) and tanh expert linears (G = E groups of B·S rows, no row mask): the forward
  // agrees with the double-precision definition on both backends, and every gradient (input,
  // router weights, expert weights and biases) matches central finite differences on the CPU and
  // the CPU's on Vulkan.
  void wiredBlockMatchesDefinitionAndDifferences() {
    const SmCase c{3, 5, 2, 2, 4, 0.8f};
    const uint32_t N = c.N(), J = c.J(), R = c.rows(), D = c.D, E = c.E, M = c.B * c.S;
    Bench b;
    auto& P = b.program;
    TensorId x = b.f32("x", {N, D}), wr = b.f32("router.w", {J, D}), logits = b.f32("logits", {N, J});
    TensorId Dw = b.f32("dw", {N, J}), Cw = b.f32("cw", {N, J}), xs = b.f32("xs", {R, D});
    TensorId w1 = b.f32("fc1.w", {E, D, D}), b1 = b.f32("fc1.b", {E, D}), z1 = b.f32("fc1.z", {R, D});
    TensorId ys = b.f32("fc1.y", {R, D}), y = b.f32("y", {N, D}), r = b.f32("r", {N, D});
    TensorId dys = b.f32("d_ys", {R, D}), dlogits = b.f32("d_logits", {N, J}), dxs = b.f32("d_xs", {R, D});
    TensorId dx = b.f32("d_x", {N, D}), dwr = b.f32("d_router.w", {J, D});
    TensorId dw1 = b.f32("d_fc1.w", {E, D, D}), db1 = b.f32("d_fc1.b", {E, D});
    const LinearParams router{1, N, D, J, uint32_t(Activation::None), 0, 0, 0};
    const LinearParams expert{E, M, D, D, uint32_t(Activation::Tanh), 0, 1, 0};
    const SoftMoeParams sp = c.params(0, 1);
    P.append("fwd", std::make_unique<LinearForward>(P, x, wr, wr, logits, logits, router));
    P.append("fwd", std::make_unique<SoftMoeDispatchForward>(P, logits, x, Dw, Cw, xs, sp));
    P.append("fwd", std::make_unique<LinearForward>(P, xs, w1, b1, z1, ys, expert));
    P.append("fwd", std::make_unique<SoftMoeCombineForward>(P, ys, Cw, y, sp));
    P.append("bwd", std::make_unique<SoftMoeCombineBackward>(P, r, ys, y, Cw, dys, dlogits, sp));
    P.append("bwd", std::make_unique<LinearBackwardParams>(P, dys, z1, xs, dw1, db1, expert));
    P.append("bwd", std::make_unique<LinearBackwardInput>(P, dys, z1, w1, dxs, expert));
    P.append("bwd", std::make_unique<SoftMoeDispatchBackward>(P, dxs, x, xs, Dw, dx, dlogits, sp));
    P.append("bwd", std::make_unique<LinearBackwardParams>(P, dlogits, logits, x, dwr, dwr, router));
    LinearParams routerInput = router;
    routerInput.accumulate = 1;  // x fans out: the dispatch backward wrote dx first
    P.append("bwd", std::make_unique<LinearBackwardInput>(P, dlogits, logits, wr, dx, routerInput));
    const auto xv = randomVector(size_t(N) * D, 61), wrv = randomVector(size_t(J) * D, 62, -1.f, 1.f);
    const auto w1v = randomVector(size_t(E) * D * D, 63, -0.8f, 0.8f), b1v = randomVector(size_t(E) * D, 64, -0.3f, 0.3f);
    b.set(x, xv);
    b.set(wr, wrv);
    b.set(w1, w1v);
    b.set(b1, b1v);
    b.set(r, randomVector(size_t(N) * D, 65));

    // The definition in double: logits, both softmaxes, slot mixtures, tanh experts, combine.
    std::vector<float> l(size_t(N) * J, 0.f);
    for (uint32_t n = 0; n < N; ++n)
      for (uint32_t j = 0; j < J; ++j)
        for (uint32_t k = 0; k < D; ++k) l[n * J + j] += xv[n * D + k] * wrv[j * D + k];
    const Reference ref = referenceDispatch(c, l, xv);
    std::vector<float> ysRef(size_t(R) * D);
    for (uint32_t row = 0; row < R; ++row)
      for (uint32_t o = 0; o < D; ++o) {
        const uint32_t e = row / M;
        double z = b1v[e * D + o];
        for (uint32_t k = 0; k < D; ++k) z += double(w1v[(e * D + o) * D + k]) * ref.xs[row * D + k];
        ysRef[row * D + o] = float(std::tanh(z));
      }
    const auto yRef = referenceCombine(c, ysRef, ref.Cw);

    CpuBackend cpu;
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    for (Backend* be : {static_cast<Backend*>(&cpu), vk.get()}) {
      b.load(*be);
      be->run("fwd");
      be->run("bwd");
      // Measured worst ratio 0.002 (cpu), 0.006 (vulkan).
      RL_EXPECT_CLOSE(b.f(*be, y), yRef, 1e-5, 1e-4, be->name() + ": wired block y vs definition");
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
    // Measured worst ratio 0.008.
    for (auto [t, name] : {std::pair{dx, "dx"}, {dwr, "d router.w"}, {dw1, "d fc1.w"}, {db1, "d fc1.b"}})
      RL_EXPECT_CLOSE(b.f(*vk, t), b.f(cpu, t), 1e-5, 1e-4, std::string("wired block vulkan vs cpu: ") + name);
    auto loss = [&] {
      cpu.run("fwd");
      return dot(b.f(cpu, r), b.f(cpu, y));
    };
    for (auto [t, g, name] : {std::tuple{x, dx, "dx"}, {wr, dwr, "d router.w"}, {w1, dw1, "d fc1.w"}, {b1, db1, "d fc1.b"}}) {
      const auto fd = finiteDifferences(cpu, P, t, 1e-2, loss);
      // Measured worst ratio 0.017 at these tolerances.
      RL_EXPECT_CLOSE(b.f(cpu, g), fd, 5e-4, 5e-3, std::string("wired block: ") + name + " vs finite differences");
      QVERIFY2(dot(fd, fd) > 1e-6, (std::string(name) + ": no gradient to test").c_str());
    }
  }

  void badShapesAreClearErrors() {
    const SmCase c{2, 3, 2, 2, 4, 1.0f};
    Bench b;
    TensorId logits = b.f32("logits", {c.N(), c.J()}), x = b.f32("x", {c.N(), c.D});
    TensorId Dw = b.f32("dw", {c.N(), c.J()}), Cw = b.f32("cw", {c.N(), c.J()}), xs = b.f32("xs", {c.rows(), c.D});
    TensorId small = b.f32("small", {c.rows(), c.D - 1}), ints = b.i32("ints", {c.N(), c.J()});
    TensorId tiny = b.f32("tiny", {3});
    const Program& P = b.program;
    auto with = [&](auto change) {
      SoftMoeParams p = c.params();
      change(p);
      return p;
    };
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchForward(P, logits, x, Dw, Cw, xs, with([](auto& p) { p.S = 0; })); }));
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchForward(P, logits, x, Dw, Cw, xs, with([](auto& p) { p.temperature = 0; })); }));
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchForward(P, logits, x, Dw, Cw, xs, with([](auto& p) { p.T = 4; })); }));
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchForward(P, logits, x, Dw, Cw, small, c.params()); }));
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchForward(P, ints, x, Dw, Cw, xs, c.params()); }));
    QVERIFY(throwsInvalid([&] { SoftMoeCombineForward(P, small, Cw, x, c.params()); }));
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchForward(P, logits, x, Dw, Cw, xs, with([](auto& p) { p.D = 3; })); }));
    QVERIFY(throwsInvalid([&] { SoftMoeCombineBackward(P, x, xs, x, Cw, xs, ints, c.params()); }));
    QVERIFY(throwsInvalid([&] { SoftMoeCombineBackward(P, x, xs, tiny, Cw, xs, Dw, c.params()); }));
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchBackward(P, xs, x, xs, Dw, x, Dw, with([](auto& p) { p.accumulateDx = 2; })); }));
    QVERIFY(throwsInvalid([&] { SoftMoeDispatchBackward(P, xs, x, tiny, Dw, x, Dw, c.params()); }));
    SoftMoeDispatchForward(P, logits, x, Dw, Cw, xs, c.params());
    SoftMoeCombineForward(P, xs, Cw, x, c.params());
    SoftMoeCombineBackward(P, x, xs, x, Cw, xs, Dw, c.params());
    SoftMoeDispatchBackward(P, xs, x, xs, Dw, x, Dw, c.params());
  }
};

QTEST_APPLESS_MAIN(TestTokenRouteSoftMoe)
#include "test_token_route_soft_moe.moc"
