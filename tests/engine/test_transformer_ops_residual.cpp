// ResidualAdd and AccumulateInto (engine/ops/residual_add.h): the formulas on the CPU, Vulkan vs
// CPU parity (exact: one float add per element) over counts that are and are not multiples of 4
// (the texel and the storage-buffer shader) and of the 64-wide workgroup, on both grids; the
// backward (AccumulateInto adding dy into each summand's gradient) against central finite
// differences of the forward; constructor checks.
#include "test_transformer_ops_support.h"

#include "ops/residual_add.h"

using namespace rl;

namespace {

// y = a + b forward; backward da += dy, db += dy (the gradients start non-zero, as when the
// summand already has a gradient from another consumer, so the accumulation is tested too).
struct AddRig : tfops::Rig {
  TensorId a, b, y, dy, da, db;
  AddRig(uint32_t count, std::optional<DeviceClass> pin = std::nullopt) : Rig(pin) {
    a = program.add("a", {count}, Role::Activation);
    b = program.add("b", {count}, Role::Activation);
    y = program.add("y", {count}, Role::Activation);
    dy = program.add("dy", {count}, Role::Gradient);
    da = program.add("da", {count}, Role::Gradient);
    db = program.add("db", {count}, Role::Gradient);
    add("fwd", std::make_unique<ResidualAdd>(program, a, b, y, ResidualAddParams{count}));
    add("bwd", std::make_unique<AccumulateInto>(program, dy, da, ResidualAddParams{count}));
    add("bwd", std::make_unique<AccumulateInto>(program, dy, db, ResidualAddParams{count}));
  }
};

tfops::Inputs addInputs(const AddRig& r, uint32_t count, uint32_t seed) {
  tfops::Inputs in;
  in.f[r.a] = rltest::randomVector(count, seed);
  in.f[r.b] = rltest::randomVector(count, seed + 1, -3.f, 3.f);
  in.f[r.dy] = rltest::randomVector(count, seed + 2);
  in.f[r.da] = rltest::randomVector(count, seed + 3, -2.f, 2.f);
  in.f[r.db] = rltest::randomVector(count, seed + 4);
  return in;
}

}  // namespace

class TestResidualAdd : public QObject {
  Q_OBJECT

 private slots:
  void cpuComputesTheFormulas() {
    const uint32_t n = 7;
    AddRig rig(n);
    auto in = addInputs(rig, n, 3);
    CpuBackend cpu;
    auto out = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
    for (uint32_t i = 0; i < n; ++i) {
      QCOMPARE(out[rig.y][i], in.f[rig.a][i] + in.f[rig.b][i]);
      QCOMPARE(out[rig.da][i], in.f[rig.dy][i] + in.f[rig.da][i]);
      QCOMPARE(out[rig.db][i], in.f[rig.dy][i] + in.f[rig.db][i]);
    }
  }

  // The backward's contributions (da, db after "bwd" minus their starting values) against central
  // differences of L = <dy, y> through the forward, for a and b. Step 1e-2; measured max error
  // 9.5e-6 absolute, 1.1e-5 relative (float rounding of y = a + b, |y| < 4, divided by the step;
  // the subtraction of the starting gradient); tolerance 1e-4 absolute, 1e-3 relative.
  void backwardMatchesFiniteDifferences() {
    for (uint32_t n : {37u, 64u}) {
      AddRig rig(n);
      auto in = addInputs(rig, n, 11 + n);
      CpuBackend cpu;
      auto analytic = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
      auto numericA = tfops::numericGradient(cpu, rig.program, rig.a, in.f[rig.a], rig.y, in.f[rig.dy], 1e-2f);
      auto numericB = tfops::numericGradient(cpu, rig.program, rig.b, in.f[rig.b], rig.y, in.f[rig.dy], 1e-2f);
      RL_EXPECT_CLOSE(tfops::minus(analytic[rig.da], in.f[rig.da]), numericA, 1e-4, 1e-3,
                      "da vs finite differences, count=" << n);
      RL_EXPECT_CLOSE(tfops::minus(analytic[rig.db], in.f[rig.db]), numericB, 1e-4, 1e-3,
                      "db vs finite differences, count=" << n);
    }
  }

  // Exact equality (tolerance 0): both backends do one float add per element.
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    CpuBackend cpu;
    int index = 0;
    for (uint32_t count : {1u, 2u, 3u, 4u, 5u, 63u, 64u, 65u, 255u, 256u, 257u, 1001u, 2048u, 4099u, 65536u, 70001u}) {
      for (bool asGpu : {false, true}) {
        AddRig rig(count, asGpu ? std::optional(DeviceClass::Gpu) : std::nullopt);
        auto in = addInputs(rig, count, 100 + index++);
        auto want = tfops::run(cpu, rig.program, in, {"fwd", "bwd"});
        auto got = tfops::run(*vk, rig.program, in, {"fwd", "bwd"});
        const std::string what = "count=" + std::to_string(count) + (asGpu ? " (GPU-class grid)" : " (capped grid)");
        TF_EXPECT_EQUAL(got[rig.y], want[rig.y], "y " << what);
        TF_EXPECT_EQUAL(got[rig.da], want[rig.da], "da " << what);
        TF_EXPECT_EQUAL(got[rig.db], want[rig.db], "db " << what);
      }
    }
  }

  void checksAndGrids() {
    Program p;
    TensorId a = p.add("a", {10}, Role::Activation), b = p.add("b", {10}, Role::Activation);
    TensorId y = p.add("y", {10}, Role::Activation), small = p.add("small", {9}, Role::Activation);
    TensorId ids = p.add("ids", {10}, Role::Input, DType::I32);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ResidualAdd(p, a, b, a, {10}));  // y aliases a
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ResidualAdd(p, a, b, b, {10}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ResidualAdd(p, a, small, y, {10}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ResidualAdd(p, a, ids, y, {10}));  // int32
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ResidualAdd(p, a, b, y, {0}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AccumulateInto(p, a, a, {10}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AccumulateInto(p, a, small, {10}));
    ResidualAdd ok(p, a, b, y, {10});
    QCOMPARE(ok.items(), uint64_t(3));  // groups of 4 floats, the last one partial
    QCOMPARE(ok.shader(), std::string("residual_add_storage"));
    QVERIFY(ok.texelBindings().empty());
    ResidualAdd prefix(p, a, b, y, {8});  // the first 8 of 10 floats: texel loads, bound to exactly 8
    QCOMPARE(prefix.shader(), std::string("residual_add"));
    QCOMPARE(prefix.bindings()[0].words, uint64_t(8));
    QCOMPARE(AccumulateInto(p, a, y, {8}).bindings()[2].offset, p.info(y).offset);
    Program big;
    TensorId x = big.add("x", {100000}, Role::Activation), z = big.add("z", {100000}, Role::Activation);
    TensorId s = big.add("s", {100000}, Role::Activation);
    ResidualAdd wide(big, x, z, s, {100000});
    QCOMPARE(wide.forDevice(DeviceClass::Gpu).grid().x, ceilDiv(25000, wide.localSize()));
    QCOMPARE(wide.forDevice(DeviceClass::CpuImplementation).grid().x, kStridedCpuClassWorkgroups);
  }
};

QTEST_APPLESS_MAIN(TestResidualAdd)
#include "test_transformer_ops_residual.moc"
