// PositionalEmbeddingForward / PositionalEmbeddingBackward (engine/ops/positional_embedding.h):
// the formulas in double (accumulating into non-zero starting gradients), the backward against
// central finite differences (CPU), Vulkan vs CPU parity over many shapes on both grids
// (including N not a multiple of T), constructor checks.
#include "test_transformer_ops_support.h"

#include "ops/positional_embedding.h"

using namespace rl;

namespace {

struct PosCase {
  uint32_t N, T, D;
  PositionalEmbeddingParams params() const { return {N, T, D}; }
  std::string describe() const {
    return "N=" + std::to_string(N) + " T=" + std::to_string(T) + " D=" + std::to_string(D);
  }
};

struct PosRig : tfops::Rig {
  TensorId x, table, y, dy, dtable;
  PosRig(const PosCase& c, std::optional<DeviceClass> pin = std::nullopt) : Rig(pin) {
    x = program.add("x", {c.N, c.D}, Role::Activation);
    table = program.add("pos", {c.T, c.D}, Role::Param);
    y = program.add("y", {c.N, c.D}, Role::Activation);
    dy = program.add("dy", {c.N, c.D}, Role::Gradient);
    dtable = program.add("dpos", {c.T, c.D}, Role::Grad);
    add("fwd", std::make_unique<PositionalEmbeddingForward>(program, x, table, y, c.params()));
    add("bwd", std::make_unique<PositionalEmbeddingBackward>(program, dy, dtable, c.params()));
  }
};

// dtable starts at `dtable0` (random: accumulation shows; zero for finite differences).
tfops::Inputs posInputs(const PosRig& r, const PosCase& c, uint32_t seed, bool zeroGrad = false) {
  tfops::Inputs in;
  in.f[r.x] = rltest::randomVector(size_t(c.N) * c.D, seed);
  in.f[r.table] = rltest::randomVector(size_t(c.T) * c.D, seed + 1);
  in.f[r.dy] = rltest::randomVector(size_t(c.N) * c.D, seed + 2);
  in.f[r.dtable] = zeroGrad ? std::vector<float>(size_t(c.T) * c.D, 0.f)
                            : rltest::randomVector(size_t(c.T) * c.D, seed + 3, -5.f, 5.f);
  return in;
}

}  // namespace

class TestPositionalEmbedding : public QObject {
  Q_OBJECT

 private slots:
  // y exactly x + table row; dtable against start + sums in double (tolerance 1e-6 abs/rel: a float
  // sum of up to N/T terms added to O(5) start values).
  void matchesFormula() {
    for (PosCase c : {PosCase{6, 3, 4}, PosCase{7, 3, 8}, PosCase{2, 5, 4}, PosCase{12, 4, 12}}) {
      PosRig rig(c);
      auto in = posInputs(rig, c, 3);
      CpuBackend cpu;
      auto out = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      std::vector<float> y(size_t(c.N) * c.D), dtable(size_t(c.T) * c.D);
      for (uint32_t n = 0; n < c.N; ++n)
        for (uint32_t d = 0; d < c.D; ++d)
          y[n * c.D + d] = in.f[rig.x][n * c.D + d] + in.f[rig.table][(n % c.T) * c.D + d];
      for (uint32_t t = 0; t < c.T; ++t)
        for (uint32_t d = 0; d < c.D; ++d) {
          double s = in.f[rig.dtable][t * c.D + d];
          for (uint32_t n = t; n < c.N; n += c.T) s += in.f[rig.dy][n * c.D + d];
          dtable[t * c.D + d] = float(s);
        }
      TF_EXPECT_EQUAL(out[rig.y], y, "y " << c.describe());
      RL_EXPECT_CLOSE(out[rig.dtable], dtable, 1e-6, 1e-6, "dtable " << c.describe());
    }
  }

  // dtable against central differences of L = <dy, y> with respect to the table. Step 1e-2;
  // y is linear in the table, measured error ~1e-7; tolerance 1e-4 absolute, 1e-3 relative.
  void backwardMatchesFiniteDifferences() {
    for (PosCase c : {PosCase{6, 3, 4}, PosCase{10, 4, 8}}) {
      PosRig rig(c);
      auto in = posInputs(rig, c, 9, /*zeroGrad=*/true);
      CpuBackend cpu;
      auto analytic = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      auto numeric =
          tfops::numericGradient(cpu, rig.program, rig.table, in.f[rig.table], rig.y, in.f[rig.dy], 1e-2f);
      RL_EXPECT_CLOSE(analytic[rig.dtable], numeric, 1e-4, 1e-3, "dtable vs finite differences " << c.describe());
      // dx = dy (the builder passes dy on): check that rule too.
      auto numericX = tfops::numericGradient(cpu, rig.program, rig.x, in.f[rig.x], rig.y, in.f[rig.dy], 1e-2f);
      RL_EXPECT_CLOSE(numericX, in.f[rig.dy], 1e-4, 1e-3, "dx = dy " << c.describe());
    }
  }

  // Vulkan vs CPU over shapes with N, T, D/4 not multiples of anything, N not a multiple of T,
  // items (N forward, T D/4 backward) below and above a workgroup and the capped grid's 512
  // invocations. The same float adds in the same order: tolerance 1e-6 absolute and relative
  // (measured: bit-identical on lavapipe).
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    CpuBackend cpu;
    const PosCase cases[] = {{1, 1, 4},    {3, 3, 4},     {7, 3, 8},   {2, 5, 12},    {39, 13, 20},
                             {1024, 32, 64}, {85, 17, 36}, {64, 64, 4}, {300, 150, 16}, {1000, 1, 8}};
    int index = 0;
    for (const PosCase& c : cases)
      for (bool asGpu : {false, true}) {
        PosRig rig(c, asGpu ? std::optional(DeviceClass::Gpu) : std::nullopt);
        auto in = posInputs(rig, c, 300 + index++);
        auto want = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
        auto got = tfops::run(*vk, rig.program, in, {"fwd", "bwd"});
        const std::string what = c.describe() + (asGpu ? " (GPU-class grid)" : " (capped grid)");
        RL_EXPECT_CLOSE(got[rig.y], want[rig.y], 1e-6, 1e-6, "y " << what);
        RL_EXPECT_CLOSE(got[rig.dtable], want[rig.dtable], 1e-6, 1e-6, "dtable " << what);
      }
  }

  void checksAndGrids() {
    Program p;
    TensorId x = p.add("x", {6, 8}, Role::Activation), table = p.add("table", {3, 8}, Role::Param);
    TensorId y = p.add("y", {6, 8}, Role::Activation), x6 = p.add("x6", {6, 6}, Role::Activation);
    TensorId ids = p.add("ids", {6, 8}, Role::Input, DType::I32);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingForward(p, x, table, x, {6, 3, 8}));  // y = x
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingForward(p, x, table, y, {6, 4, 8}));  // table
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingForward(p, x, table, y, {7, 3, 8}));  // rows
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingForward(p, x6, table, y, {6, 3, 6}));  // D%4
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingForward(p, ids, table, y, {6, 3, 8}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingForward(p, x, table, y, {6, 0, 8}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingBackward(p, x, table, {6, 4, 8}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PositionalEmbeddingBackward(p, x, x, {6, 3, 8}));
    PositionalEmbeddingForward fwd(p, x, table, y, {6, 3, 8});
    PositionalEmbeddingBackward bwd(p, y, table, {6, 3, 8});
    QCOMPARE(fwd.items(), uint64_t(6));      // rows of y
    QCOMPARE(bwd.items(), uint64_t(3 * 2));  // texels of dtable
    PosRig big({1024, 32, 64});
    const Op& f = *big.program.phases["fwd"][0];
    QCOMPARE(f.forDevice(DeviceClass::Gpu).grid().x, ceilDiv(1024, f.localSize()));
    QCOMPARE(f.forDevice(DeviceClass::CpuImplementation).grid().x, kStridedCpuClassWorkgroups);
  }
};

QTEST_APPLESS_MAIN(TestPositionalEmbedding)
#include "test_transformer_ops_positional.moc"
