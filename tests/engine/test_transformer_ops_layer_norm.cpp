// LayerNormForward / LayerNormBackward (engine/ops/layer_norm.h): the forward against the formulas
// in double, the backward (dx, dgamma, dbeta) against central finite differences (CPU),
// accumulation into non-zero starting gradients, a constant row (zero variance), Vulkan vs CPU
// parity over many shapes on both grids, constructor checks.
#include "test_transformer_ops_support.h"

#include "ops/layer_norm.h"

using namespace rl;

namespace {

struct LnCase {
  uint32_t N, D;
  float offset = 0.f;  // rows are shifted by up to ±offset (the mean the op must remove)
  uint32_t accumulate = 0;  // backward: dx += (dx starts random) instead of =
  LayerNormParams params() const { return {N, D, 1e-5f, accumulate}; }
  std::string describe() const {
    std::ostringstream os;
    os << "N=" << N << " D=" << D << " offset=" << offset << " eps=1e-5 accumulate=" << accumulate;
    return os.str();
  }
};

struct LnRig : tfops::Rig {
  TensorId x, gamma, beta, y, mean, rstd, dy, dx, dgamma, dbeta;
  LnRig(const LnCase& c, std::optional<DeviceClass> pin = std::nullopt) : Rig(pin) {
    x = program.add("x", {c.N, c.D}, Role::Activation);
    gamma = program.add("ln.weight", {c.D}, Role::Param);
    beta = program.add("ln.bias", {c.D}, Role::Param);
    y = program.add("y", {c.N, c.D}, Role::Activation);
    mean = program.add("mean", {c.N}, Role::Activation);
    rstd = program.add("rstd", {c.N}, Role::Activation);
    dy = program.add("dy", {c.N, c.D}, Role::Gradient);
    dx = program.add("dx", {c.N, c.D}, Role::Gradient);
    dgamma = program.add("ln.weight.grad", {c.D}, Role::Grad);
    dbeta = program.add("ln.bias.grad", {c.D}, Role::Grad);
    add("fwd", std::make_unique<LayerNormForward>(program, x, gamma, beta, y, mean, rstd, c.params()));
    add("bwd", std::make_unique<LayerNormBackward>(program, x, gamma, mean, rstd, dy, dx, dgamma, dbeta, c.params()));
  }
};

// dgamma and dbeta start random (accumulation shows) or zero (finite differences).
tfops::Inputs lnInputs(const LnRig& r, const LnCase& c, uint32_t seed, bool zeroGrad = false) {
  tfops::Inputs in;
  auto x = rltest::randomVector(size_t(c.N) * c.D, seed);
  auto shift = rltest::randomVector(c.N, seed + 1, -c.offset, c.offset);
  for (uint32_t n = 0; n < c.N; ++n)
    for (uint32_t d = 0; d < c.D; ++d) x[n * c.D + d] += shift[n];
  in.f[r.x] = x;
  in.f[r.gamma] = rltest::randomVector(c.D, seed + 2, 0.5f, 1.5f);
  in.f[r.beta] = rltest::randomVector(c.D, seed + 3);
  in.f[r.dy] = rltest::randomVector(size_t(c.N) * c.D, seed + 4);
  in.f[r.dgamma] = zeroGrad ? std::vector<float>(c.D, 0.f) : rltest::randomVector(c.D, seed + 5, -5.f, 5.f);
  in.f[r.dbeta] = zeroGrad ? std::vector<float>(c.D, 0.f) : rltest::randomVector(c.D, seed + 6, -5.f, 5.f);
  if (c.accumulate) in.f[r.dx] = rltest::randomVector(size_t(c.N) * c.D, seed + 7, -2.f, 2.f);
  return in;
}

}  // namespace

class TestLayerNorm : public QObject {
  Q_OBJECT

 private slots:
  // y, mean and rstd against the formulas in double. Tolerance 1e-5 absolute and relative
  // (float sums of D terms; measured worst 2.1e-6 absolute, on the rows shifted by up to 10).
  void forwardMatchesFormula() {
    for (LnCase c : {LnCase{3, 4}, LnCase{5, 12, 3.f}, LnCase{2, 64, 10.f}, LnCase{1, 8}}) {
      LnRig rig(c);
      auto in = lnInputs(rig, c, 3);
      CpuBackend cpu;
      auto out = tfops::run(cpu, rig.program, in, {"fwd"});
      std::vector<float> y(size_t(c.N) * c.D), mean(c.N), rstd(c.N);
      const auto& x = in.f[rig.x];
      for (uint32_t n = 0; n < c.N; ++n) {
        double mu = 0, var = 0;
        for (uint32_t d = 0; d < c.D; ++d) mu += x[n * c.D + d];
        mu /= c.D;
        for (uint32_t d = 0; d < c.D; ++d) var += (x[n * c.D + d] - mu) * (x[n * c.D + d] - mu);
        const double r = 1.0 / std::sqrt(var / c.D + 1e-5);
        for (uint32_t d = 0; d < c.D; ++d)
          y[n * c.D + d] = float((x[n * c.D + d] - mu) * r * in.f[rig.gamma][d] + in.f[rig.beta][d]);
        mean[n] = float(mu);
        rstd[n] = float(r);
      }
      RL_EXPECT_CLOSE(out[rig.y], y, 1e-5, 1e-5, "y " << c.describe());
      RL_EXPECT_CLOSE(out[rig.mean], mean, 1e-5, 1e-5, "mean " << c.describe());
      RL_EXPECT_CLOSE(out[rig.rstd], rstd, 1e-5, 1e-5, "rstd " << c.describe());
    }
  }

  // dx, dgamma, dbeta against central differences of L = <dy, y> in double from the float forward.
  // Step 1e-2; tolerance atol 5e-4, rtol 5e-3 (measured worst 5e-5 absolute for dx, 8e-6 for
  // dgamma, 2e-6 for dbeta: float forward plus the second-order error of the step).
  void backwardMatchesFiniteDifferences() {
    const float h = 1e-2f;
    for (LnCase c : {LnCase{3, 4}, LnCase{4, 8, 2.f}, LnCase{2, 20}}) {
      LnRig rig(c);
      auto in = lnInputs(rig, c, 17, /*zeroGrad=*/true);
      CpuBackend cpu;
      auto analytic = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      const auto& w = in.f[rig.dy];
      RL_EXPECT_CLOSE(analytic[rig.dx], tfops::numericGradient(cpu, rig.program, rig.x, in.f[rig.x], rig.y, w, h),
                      5e-4, 5e-3, "dx vs finite differences " << c.describe());
      RL_EXPECT_CLOSE(analytic[rig.dgamma],
                      tfops::numericGradient(cpu, rig.program, rig.gamma, in.f[rig.gamma], rig.y, w, h), 5e-4, 5e-3,
                      "dgamma vs finite differences " << c.describe());
      RL_EXPECT_CLOSE(analytic[rig.dbeta],
                      tfops::numericGradient(cpu, rig.program, rig.beta, in.f[rig.beta], rig.y, w, h), 5e-4, 5e-3,
                      "dbeta vs finite differences " << c.describe());
      // Each row of dx sums to 0 (y does not change when a row is shifted).
      for (uint32_t n = 0; n < c.N; ++n) {
        double s = 0;
        for (uint32_t d = 0; d < c.D; ++d) s += analytic[rig.dx][n * c.D + d];
        QVERIFY2(std::abs(s) < 1e-5,
                 qPrintable(QString("row %1 of dx sums to %2 (%3)").arg(n).arg(s).arg(c.describe().c_str())));
      }
    }
  }

  // Starting gradients s: the backward adds exactly what it adds to zero (dgamma = s + g0 in float).
  void parameterGradientsAccumulate() {
    LnCase c{6, 12, 1.f};
    LnRig rig(c);
    CpuBackend cpu;
    auto zero = tfops::run(cpu, rig.program, lnInputs(rig, c, 5, true), {"fwd", "bwd"});
    auto in = lnInputs(rig, c, 5);
    auto out = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
    for (uint32_t d = 0; d < c.D; ++d) {
      QCOMPARE(out[rig.dgamma][d], in.f[rig.dgamma][d] + zero[rig.dgamma][d]);
      QCOMPARE(out[rig.dbeta][d], in.f[rig.dbeta][d] + zero[rig.dbeta][d]);
    }
    TF_EXPECT_EQUAL(out[rig.dx], zero[rig.dx], "dx is written, not accumulated");
    // accumulate = 1: dx = start + the written value, to float rounding (the compiler may fuse the
    // add with the last multiply: one rounding less; |dx| < 3 here, so 1e-6 is a few ulps).
    LnCase ca = c;
    ca.accumulate = 1;
    LnRig accRig(ca);
    auto accIn = lnInputs(accRig, ca, 5);
    auto accOut = tfops::run(cpu, accRig.program, accIn, {"fwd", "bwd"});
    std::vector<float> sum(accIn.f[accRig.dx].size());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = accIn.f[accRig.dx][i] + zero[rig.dx][i];
    RL_EXPECT_CLOSE(accOut[accRig.dx], sum, 1e-6, 1e-6, "dx with accumulate = 1 is start + written");
  }

  // A constant row has variance 0: rstd = 1/sqrt(eps), y = beta, every gradient finite.
  void constantRow() {
    LnCase c{2, 8};
    LnRig rig(c);
    auto in = lnInputs(rig, c, 23);
    for (uint32_t d = 0; d < c.D; ++d) in.f[rig.x][d] = 0.75f;
    CpuBackend cpu;
    auto out = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
    QCOMPARE(out[rig.rstd][0], 1.f / std::sqrt(1e-5f));
    for (uint32_t d = 0; d < c.D; ++d) QCOMPARE(out[rig.y][d], in.f[rig.beta][d]);
    for (TensorId t : {rig.dx, rig.dgamma, rig.dbeta})
      for (float v : out[t]) QVERIFY(std::isfinite(v));
  }

  // Vulkan vs CPU over N and D/4 not multiples of anything, items (D/4 + N) below and above a
  // workgroup and the capped grid's 512 invocations, rows with large offsets. Row sums run in a
  // different order (the shader keeps 4 interleaved partial sums, Eigen its own). Tolerance
  // (absolute and relative) 1e-5 for y, mean, rstd, dx; 1e-5 max(1, sqrt(N/64)) for dgamma and
  // dbeta (sums over N rows, starting values up to 5). Measured worst absolute differences: y 1.7e-6,
  // mean 4.8e-7, rstd 1.9e-6, dx 4.1e-6, dgamma 1.9e-5 at N = 1024 (values ~30: 6e-7 relative),
  // dbeta 0 (the same order on both backends).
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    CpuBackend cpu;
    const LnCase cases[] = {{1, 4},   {3, 4, 2.f}, {5, 12},  {7, 20, 5.f}, {64, 64},   {65, 64, 1.f},
                            {1024, 64}, {33, 36, 3.f}, {600, 8}, {2, 256, 10.f}, {17, 1020}, {513, 4},
                            {1024, 64, 1.f, 1}, {7, 20, 5.f, 1}, {513, 4, 0.f, 1}};  // the last three: dx +=
    int index = 0;
    for (const LnCase& c : cases)
      for (bool asGpu : {false, true}) {
        LnRig rig(c, asGpu ? std::optional(DeviceClass::Gpu) : std::nullopt);
        auto in = lnInputs(rig, c, 500 + index++);
        auto want = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
        auto got = tfops::run(*vk, rig.program, in, {"fwd", "bwd"});
        const std::string what = c.describe() + (asGpu ? " (GPU-class grid)" : " (capped grid)");
        const double paramTol = 1e-5 * std::max(1.0, std::sqrt(c.N / 64.0));
        RL_EXPECT_CLOSE(got[rig.y], want[rig.y], 1e-5, 1e-5, "y " << what);
        RL_EXPECT_CLOSE(got[rig.mean], want[rig.mean], 1e-5, 1e-5, "mean " << what);
        RL_EXPECT_CLOSE(got[rig.rstd], want[rig.rstd], 1e-5, 1e-5, "rstd " << what);
        RL_EXPECT_CLOSE(got[rig.dx], want[rig.dx], 1e-5, 1e-5, "dx " << what);
        RL_EXPECT_CLOSE(got[rig.dgamma], want[rig.dgamma], paramTol, paramTol, "dgamma " << what);
        RL_EXPECT_CLOSE(got[rig.dbeta], want[rig.dbeta], paramTol, paramTol, "dbeta " << what);
      }
  }

  void checksAndGrids() {
    Program p;
    TensorId x = p.add("x", {6, 8}, Role::Activation), g = p.add("g", {8}, Role::Param);
    TensorId b = p.add("b", {8}, Role::Param), y = p.add("y", {6, 8}, Role::Activation);
    TensorId m = p.add("m", {6}, Role::Activation), r = p.add("r", {6}, Role::Activation);
    TensorId x6 = p.add("x6", {6, 6}, Role::Activation), g6 = p.add("g6", {6}, Role::Param);
    TensorId ids = p.add("ids", {6}, Role::Input, DType::I32);
    const LayerNormParams ok{6, 8, 1e-5f};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormForward(p, x, g, b, x, m, r, ok));  // y = x
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormForward(p, x, g, b, y, m, m, ok));  // mean = rstd
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormForward(p, x, g, b, y, m, r, {7, 8, 1e-5f}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormForward(p, x6, g6, g6, x6, m, r, {6, 6, 1e-5f}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormForward(p, x, g, b, y, m, r, {6, 8, 0.f}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormForward(p, x, g, b, y, ids, r, ok));  // int32 mean
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormBackward(p, x, g, m, r, y, x, g, b, ok));  // dx = x
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LayerNormBackward(p, x, g, m, r, y, y, g, g, ok));
    LayerNormForward fwd(p, x, g, b, y, m, r, ok);
    QCOMPARE(fwd.items(), uint64_t(6));  // rows
    LnRig big({1024, 64});
    const Op& bwd = *big.program.phases["bwd"][0];
    QCOMPARE(static_cast<const StridedOp&>(bwd).items(), uint64_t(16 + 1024));  // column texels, then rows
    QCOMPARE(bwd.forDevice(DeviceClass::Gpu).grid().x, ceilDiv(16 + 1024, bwd.localSize()));
    QCOMPARE(bwd.forDevice(DeviceClass::CpuImplementation).grid().x, kStridedCpuClassWorkgroups);
  }
};

QTEST_APPLESS_MAIN(TestLayerNorm)
#include "test_transformer_ops_layer_norm.moc"
