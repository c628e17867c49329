// MeanPoolForward / MeanPoolBackward (engine/ops/mean_pool.h): forward against the formula in
// double, backward against central finite differences (CPU), Vulkan vs CPU parity over many
// shapes on both grids, constructor checks.
#include "test_transformer_ops_support.h"

#include "ops/mean_pool.h"

using namespace rl;

namespace {

struct PoolCase {
  uint32_t B, T, D;
  MeanPoolParams params() const { return {B, T, D}; }
  std::string describe() const {
    return "B=" + std::to_string(B) + " T=" + std::to_string(T) + " D=" + std::to_string(D);
  }
};

struct PoolRig : tfops::Rig {
  TensorId x, y, dy, dx;
  PoolRig(const PoolCase& c, std::optional<DeviceClass> pin = std::nullopt) : Rig(pin) {
    x = program.add("x", {c.B, c.T, c.D}, Role::Activation);
    y = program.add("y", {c.B, c.D}, Role::Activation);
    dy = program.add("dy", {c.B, c.D}, Role::Gradient);
    dx = program.add("dx", {c.B, c.T, c.D}, Role::Gradient);
    add("fwd", std::make_unique<MeanPoolForward>(program, x, y, c.params()));
    add("bwd", std::make_unique<MeanPoolBackward>(program, dy, dx, c.params()));
  }
};

tfops::Inputs poolInputs(const PoolRig& r, const PoolCase& c, uint32_t seed) {
  tfops::Inputs in;
  in.f[r.x] = rltest::randomVector(size_t(c.B) * c.T * c.D, seed, -2.f, 2.f);
  in.f[r.dy] = rltest::randomVector(size_t(c.B) * c.D, seed + 1);
  return in;
}

}  // namespace

class TestMeanPool : public QObject {
  Q_OBJECT

 private slots:
  // y against the mean in double (float sum of T terms: tolerance 1e-6 absolute and relative);
  // dx = dy / T.
  void matchesFormula() {
    for (PoolCase c : {PoolCase{2, 3, 4}, PoolCase{3, 7, 12}, PoolCase{1, 1, 8}}) {
      PoolRig rig(c);
      auto in = poolInputs(rig, c, 5);
      CpuBackend cpu;
      auto out = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      std::vector<float> y(size_t(c.B) * c.D), dx(size_t(c.B) * c.T * c.D);
      for (uint32_t b = 0; b < c.B; ++b)
        for (uint32_t d = 0; d < c.D; ++d) {
          double s = 0;
          for (uint32_t t = 0; t < c.T; ++t) {
            s += in.f[rig.x][(size_t(b) * c.T + t) * c.D + d];
            dx[(size_t(b) * c.T + t) * c.D + d] = float(double(in.f[rig.dy][b * c.D + d]) / c.T);
          }
          y[b * c.D + d] = float(s / c.T);
        }
      RL_EXPECT_CLOSE(out[rig.y], y, 1e-6, 1e-6, "y " << c.describe());
      RL_EXPECT_CLOSE(out[rig.dx], dx, 1e-7, 1e-6, "dx " << c.describe());
    }
  }

  // dx against central differences of L = <dy, y>. Step 1e-2; measured error ~1e-7 (y is linear in
  // x; only float rounding); tolerance 1e-4 absolute, 1e-3 relative.
  void backwardMatchesFiniteDifferences() {
    for (PoolCase c : {PoolCase{2, 3, 4}, PoolCase{3, 5, 8}}) {
      PoolRig rig(c);
      auto in = poolInputs(rig, c, 9);
      CpuBackend cpu;
      auto analytic = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      auto numeric = tfops::numericGradient(cpu, rig.program, rig.x, in.f[rig.x], rig.y, in.f[rig.dy], 1e-2f);
      RL_EXPECT_CLOSE(analytic[rig.dx], numeric, 1e-4, 1e-3, "dx vs finite differences " << c.describe());
    }
  }

  // Vulkan vs CPU, B, T and D/4 not multiples of anything, items (B D/4 forward, B T backward)
  // below and above one 64-wide workgroup and above the capped grid's 512 invocations. Both sum t
  // in the same order; tolerance atol 1e-7, rtol 1e-6 (measured: bit-identical on lavapipe).
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    CpuBackend cpu;
    const PoolCase cases[] = {{1, 1, 4},   {2, 3, 4},    {3, 5, 12},  {7, 13, 20}, {32, 32, 64},
                              {5, 1, 8},   {1, 64, 4},   {9, 33, 28}, {64, 17, 36}, {130, 3, 16}};
    int index = 0;
    for (const PoolCase& c : cases)
      for (bool asGpu : {false, true}) {
        PoolRig rig(c, asGpu ? std::optional(DeviceClass::Gpu) : std::nullopt);
        auto in = poolInputs(rig, c, 200 + index++);
        auto want = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
        auto got = tfops::run(*vk, rig.program, in, {"fwd", "bwd"});
        const std::string what = c.describe() + (asGpu ? " (GPU-class grid)" : " (capped grid)");
        RL_EXPECT_CLOSE(got[rig.y], want[rig.y], 1e-7, 1e-6, "y " << what);
        RL_EXPECT_CLOSE(got[rig.dx], want[rig.dx], 1e-7, 1e-6, "dx " << what);
      }
  }

  void checksAndGrids() {
    Program p;
    TensorId x = p.add("x", {2, 3, 8}, Role::Activation), y = p.add("y", {2, 8}, Role::Activation);
    TensorId x6 = p.add("x6", {2, 3, 6}, Role::Activation), y6 = p.add("y6", {2, 6}, Role::Activation);
    TensorId ids = p.add("ids", {2, 8}, Role::Input, DType::I32);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MeanPoolForward(p, x6, y6, {2, 3, 6}));  // D % 4
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MeanPoolForward(p, x, y, {2, 4, 8}));    // x short
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MeanPoolForward(p, x, y, {3, 3, 8}));    // y short
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MeanPoolForward(p, x, ids, {2, 3, 8}));  // int32
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MeanPoolForward(p, x, y, {0, 3, 8}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MeanPoolBackward(p, y, x, {2, 4, 8}));   // dx short
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MeanPoolBackward(p, y, y, {1, 1, 8}));   // aliased
    MeanPoolForward fwd(p, x, y, {2, 3, 8});
    MeanPoolBackward bwd(p, y, x, {2, 3, 8});
    QCOMPARE(fwd.items(), uint64_t(2 * 2));      // texels of y
    QCOMPARE(bwd.items(), uint64_t(2 * 3));      // rows of dx
    PoolRig big({64, 32, 64});
    const Op& back = *big.program.phases["bwd"][0];
    QCOMPARE(back.forDevice(DeviceClass::Gpu).grid().x, ceilDiv(64 * 32, back.localSize()));
    QCOMPARE(back.forDevice(DeviceClass::CpuImplementation).grid().x, kStridedCpuClassWorkgroups);
  }
};

QTEST_APPLESS_MAIN(TestMeanPool)
#include "test_transformer_ops_mean_pool.moc"
