// TokenEmbeddingForward / TokenEmbeddingBackward (engine/ops/token_embedding.h): the formulas in
// double with ids outside [0, V) (zero rows, no gradient) and repeated ids (accumulating into
// non-zero starting gradients), the backward against central finite differences (CPU), Vulkan vs
// CPU parity over many shapes on both grids, constructor checks.
#include "test_transformer_ops_support.h"

#include "ops/token_embedding.h"

using namespace rl;

namespace {

struct EmbCase {
  uint32_t N, V, D;
  TokenEmbeddingParams params() const { return {N, V, D}; }
  std::string describe() const {
    return "N=" + std::to_string(N) + " V=" + std::to_string(V) + " D=" + std::to_string(D);
  }
};

struct EmbRig : tfops::Rig {
  TensorId ids, table, y, dy, dtable;
  EmbRig(const EmbCase& c, std::optional<DeviceClass> pin = std::nullopt) : Rig(pin) {
    ids = program.add("ids", {c.N}, Role::Input, DType::I32);
    table = program.add("embed", {c.V, c.D}, Role::Param);
    y = program.add("y", {c.N, c.D}, Role::Activation);
    dy = program.add("dy", {c.N, c.D}, Role::Gradient);
    dtable = program.add("dembed", {c.V, c.D}, Role::Grad);
    add("fwd", std::make_unique<TokenEmbeddingForward>(program, ids, table, y, c.params()));
    add("bwd", std::make_unique<TokenEmbeddingBackward>(program, ids, dy, dtable, c.params()));
  }
};

// Ids uniform in [-2, V + 1]: about 4 in V + 4 fall outside the vocabulary. dtable starts random
// (accumulation shows) or zero (finite differences).
tfops::Inputs embInputs(const EmbRig& r, const EmbCase& c, uint32_t seed, bool zeroGrad = false) {
  tfops::Inputs in;
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int32_t> id(-2, int32_t(c.V) + 1);
  auto& ids = in.i[r.ids];
  for (uint32_t n = 0; n < c.N; ++n) ids.push_back(id(gen));
  if (c.N >= 3) {  // make sure both kinds of outsider and a repeat occur
    ids[0] = -1;
    ids[1] = int32_t(c.V);
    ids[2] = ids[c.N - 1] = int32_t(c.V) - 1;
  }
  in.f[r.table] = rltest::randomVector(size_t(c.V) * c.D, seed + 1);
  in.f[r.dy] = rltest::randomVector(size_t(c.N) * c.D, seed + 2);
  in.f[r.dtable] = zeroGrad ? std::vector<float>(size_t(c.V) * c.D, 0.f)
                            : rltest::randomVector(size_t(c.V) * c.D, seed + 3, -5.f, 5.f);
  return in;
}

}  // namespace

class TestTokenEmbedding : public QObject {
  Q_OBJECT

 private slots:
  // y exactly the table row (zero outside the vocabulary); dtable against start + sums in double
  // (tolerance 1e-6 abs/rel: float sums of a few terms added to O(5) start values).
  void matchesFormula() {
    for (EmbCase c : {EmbCase{9, 4, 4}, EmbCase{20, 3, 8}, EmbCase{5, 7, 12}, EmbCase{1, 2, 4}}) {
      EmbRig rig(c);
      auto in = embInputs(rig, c, 4);
      CpuBackend cpu;
      auto out = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      std::vector<float> y(size_t(c.N) * c.D, 0.f), dtable(size_t(c.V) * c.D);
      std::vector<double> sum(size_t(c.V) * c.D, 0.0);
      for (uint32_t n = 0; n < c.N; ++n) {
        const int32_t id = in.i[rig.ids][n];
        if (id < 0 || id >= int32_t(c.V)) continue;
        for (uint32_t d = 0; d < c.D; ++d) {
          y[n * c.D + d] = in.f[rig.table][id * c.D + d];
          sum[id * c.D + d] += in.f[rig.dy][n * c.D + d];
        }
      }
      for (size_t i = 0; i < dtable.size(); ++i) dtable[i] = float(in.f[rig.dtable][i] + sum[i]);
      TF_EXPECT_EQUAL(out[rig.y], y, "y " << c.describe());
      RL_EXPECT_CLOSE(out[rig.dtable], dtable, 1e-6, 1e-6, "dtable " << c.describe());
    }
  }

  // dtable against central differences of L = <dy, y> with respect to the table. Step 1e-2; y is
  // linear in the table, measured error ~1e-7; tolerance 1e-4 absolute, 1e-3 relative. Rows of
  // ids that never occur must get exactly zero.
  void backwardMatchesFiniteDifferences() {
    for (EmbCase c : {EmbCase{12, 5, 4}, EmbCase{10, 9, 8}}) {
      EmbRig rig(c);
      auto in = embInputs(rig, c, 8, /*zeroGrad=*/true);
      CpuBackend cpu;
      auto analytic = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      auto numeric =
          tfops::numericGradient(cpu, rig.program, rig.table, in.f[rig.table], rig.y, in.f[rig.dy], 1e-2f);
      RL_EXPECT_CLOSE(analytic[rig.dtable], numeric, 1e-4, 1e-3, "dtable vs finite differences " << c.describe());
      double norm = 0;
      for (float g : analytic[rig.dtable]) norm += double(g) * g;
      QVERIFY2(norm > 1e-2, ("gradient vanished: " + c.describe()).c_str());
    }
  }

  // Vulkan vs CPU: N with and without a tail after the ivec4 id loads, V and D/4 multiples of the
  // backward's 8-id x 4-texel tile and not, items (N forward, tiles backward) below and above a
  // workgroup and the capped grid's invocations (8 x 64 forward, 8 x 16 backward). The same float
  // adds in the same order: tolerance 1e-6 absolute and relative (measured: bit-identical on
  // lavapipe).
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    CpuBackend cpu;
    const EmbCase cases[] = {{1, 1, 4},      {5, 3, 4},     {7, 10, 8},   {37, 5, 20},  {1024, 64, 64},
                             {130, 17, 36},  {4099, 64, 16}, {3, 200, 12}, {513, 2, 4},  {66, 1000, 8},
                             {300, 2000, 36}, {64, 16, 32}};
    int index = 0;
    for (const EmbCase& c : cases)
      for (bool asGpu : {false, true}) {
        EmbRig rig(c, asGpu ? std::optional(DeviceClass::Gpu) : std::nullopt);
        auto in = embInputs(rig, c, 400 + index++);
        auto want = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
        auto got = tfops::run(*vk, rig.program, in, {"fwd", "bwd"});
        const std::string what = c.describe() + (asGpu ? " (GPU-class grid)" : " (capped grid)");
        RL_EXPECT_CLOSE(got[rig.y], want[rig.y], 1e-6, 1e-6, "y " << what);
        RL_EXPECT_CLOSE(got[rig.dtable], want[rig.dtable], 1e-6, 1e-6, "dtable " << what);
      }
  }

  void checksAndGrids() {
    Program p;
    TensorId ids = p.add("ids", {6}, Role::Input, DType::I32), fids = p.add("fids", {6}, Role::Input);
    TensorId table = p.add("table", {5, 8}, Role::Param), y = p.add("y", {6, 8}, Role::Activation);
    TensorId t6 = p.add("t6", {5, 6}, Role::Param), y6 = p.add("y6", {6, 6}, Role::Activation);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TokenEmbeddingForward(p, fids, table, y, {6, 5, 8}));  // float ids
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TokenEmbeddingForward(p, ids, table, y, {7, 5, 8}));   // ids short
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TokenEmbeddingForward(p, ids, table, y, {6, 6, 8}));   // table
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TokenEmbeddingForward(p, ids, t6, y6, {6, 5, 6}));     // D % 4
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TokenEmbeddingForward(p, ids, table, y, {6, 0, 8}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TokenEmbeddingBackward(p, ids, y, y, {6, 5, 8}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TokenEmbeddingBackward(p, ids, table, y, {6, 5, 8}));  // dy short
    TokenEmbeddingForward fwd(p, ids, table, y, {6, 5, 8});
    TokenEmbeddingBackward bwd(p, ids, y, table, {6, 5, 8});
    QCOMPARE(fwd.items(), uint64_t(6));      // rows
    QCOMPARE(bwd.items(), uint64_t(1));  // tiles of 8 ids x 4 texels: V = 5, D/4 = 2 fit in one
    EmbRig big({100, 2000, 64});
    const Op& b = *big.program.phases["bwd"][0];
    QCOMPARE(static_cast<const StridedOp&>(b).items(), uint64_t(250 * 4));
    QCOMPARE(b.forDevice(DeviceClass::Gpu).grid().x, ceilDiv(250 * 4, b.localSize()));
    QCOMPARE(b.forDevice(DeviceClass::CpuImplementation).grid().x, kStridedCpuClassWorkgroups);
  }
};

QTEST_APPLESS_MAIN(TestTokenEmbedding)
#include "test_transformer_ops_token_embedding.moc"
