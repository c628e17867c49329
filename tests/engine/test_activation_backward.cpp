// ActivationBackward (engine/ops/activation_backward.h): the formula on the CPU against
// activation.h's scalar derivative, the derivative itself against central finite differences of
// act(), Vulkan vs CPU parity for every activation over counts that are and are not multiples of 4
// and of the 64-wide workgroup, on both grids and with dz aliasing dy; constructor checks.
#include "test_transformer_ops_support.h"

#include "ops/activation.h"
#include "ops/activation_backward.h"

using namespace rl;

namespace {

const Activation kAll[] = {Activation::None, Activation::Relu, Activation::Gelu, Activation::Tanh,
                           Activation::Sigmoid};

const char* actName(Activation a) {
  static const char* names[] = {"none", "relu", "gelu", "tanh", "sigmoid"};
  return names[static_cast<int>(a)];
}

struct ActRig : tfops::Rig {
  TensorId dy, z, dz;
  ActRig(uint32_t count, Activation a, bool aliasDy, std::optional<DeviceClass> pin = std::nullopt) : Rig(pin) {
    dy = program.add("dy", {count}, Role::Gradient);
    z = program.add("z", {count}, Role::Activation);
    dz = aliasDy ? dy : program.add("dz", {count}, Role::Gradient);
    add("bwd", std::make_unique<ActivationBackward>(program, dy, z, dz,
                                                    ActivationBackwardParams{count, static_cast<uint32_t>(a)}));
  }
};

tfops::Inputs actInputs(const ActRig& r, uint32_t count, uint32_t seed) {
  tfops::Inputs in;
  in.f[r.dy] = rltest::randomVector(count, seed, -2.f, 2.f);
  in.f[r.z] = rltest::randomVector(count, seed + 1, -4.f, 4.f);  // both tails of tanh / sigmoid / GELU
  return in;
}

}  // namespace

class TestActivationBackward : public QObject {
  Q_OBJECT

 private slots:
  // dz = dy * act'(z) with act' from activation.h (the op's vectorised Eigen tanh/exp vs the
  // scalar std:: ones): measured relative differences up to ~2e-5; tolerance 1e-6 + 1e-4 relative.
  void cpuComputesTheFormula() {
    const uint32_t n = 101;
    for (Activation a : kAll) {
      ActRig rig(n, a, false);
      auto in = actInputs(rig, n, 5);
      CpuBackend cpu;
      auto out = tfops::run(cpu, rig.program, in, {"bwd"});
      std::vector<float> expect(n);
      for (uint32_t i = 0; i < n; ++i) {
        const float z = in.f[rig.z][i];
        expect[i] = in.f[rig.dy][i] * actGrad(a, z, act(a, z));
      }
      RL_EXPECT_CLOSE(out[rig.dz], expect, 1e-6, 1e-4, std::string("dz, act ") + actName(a));
    }
  }

  // act'(z) against (act(z + h) - act(z - h)) / 2h in double, h = 1e-3: measured error up to 2.1e-4
  // (float rounding of act divided by 2h); tolerance 1e-3. ReLU skips |z| < h (the kink).
  void derivativeMatchesFiniteDifferences() {
    const uint32_t n = 64;
    const double h = 1e-3;
    for (Activation a : kAll) {
      ActRig rig(n, a, false);
      tfops::Inputs in = actInputs(rig, n, 9);
      in.f[rig.dy].assign(n, 1.f);  // dz is then act'(z) itself
      CpuBackend cpu;
      auto out = tfops::run(cpu, rig.program, in, {"bwd"});
      for (uint32_t i = 0; i < n; ++i) {
        const double z = in.f[rig.z][i];
        if (a == Activation::Relu && std::abs(z) < h) continue;
        const double fd = (double(act(a, float(z + h))) - double(act(a, float(z - h)))) / (2 * h);
        if (std::abs(fd - out[rig.dz][i]) > 1e-3)
          QFAIL(qPrintable(QString("act %1, z %2: op %3, finite difference %4")
                               .arg(actName(a)).arg(z).arg(out[rig.dz][i]).arg(fd)));
      }
    }
  }

  // Vulkan vs CPU. The shader evaluates the same formula in float with GLSL's tanh/exp, the CPU with
  // Eigen's vectorised ones: measured |difference| / (1 + |dz|) up to 4.3e-6 over these cases;
  // tolerance 5e-5 absolute + 5e-5 relative.
  void vulkanMatchesCpu_data() {
    QTest::addColumn<int>("grid");
    QTest::newRow("gpu grid") << int(DeviceClass::Gpu);
    QTest::newRow("cpu-class grid (capped, strided)") << int(DeviceClass::CpuImplementation);
  }
  void vulkanMatchesCpu() {
    QFETCH(int, grid);
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    uint32_t seed = 100;
    for (uint32_t count : {1u, 3u, 4u, 5u, 63u, 64u, 65u, 257u, 1001u, 4096u, 40003u})
      for (Activation a : kAll)
        for (bool alias : {false, true}) {
          ActRig rig(count, a, alias, DeviceClass(grid));
          auto in = actInputs(rig, count, seed += 2);
          CpuBackend cpu;
          auto want = tfops::run(cpu, rig.program, in, {"bwd"});
          auto got = tfops::run(*vk, rig.program, in, {"bwd"});
          std::ostringstream what;
          what << "count=" << count << " act=" << actName(a) << " aliasDy=" << alias << " grid=" << grid;
          RL_EXPECT_CLOSE(got[rig.dz], want[rig.dz], 5e-5, 5e-5, what.str());
        }
  }

  void constructorRejectsBadArguments() {
    Program p;
    TensorId small = p.add("small", {3}, Role::Gradient);
    TensorId big = p.add("big", {8}, Role::Gradient);
    TensorId ids = p.add("ids", {8}, Role::Input, DType::I32);
    auto make = [&](TensorId dy, TensorId z, TensorId dz, ActivationBackwardParams params) {
      ActivationBackward op(p, dy, z, dz, params);
    };
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, make(big, big, big, {0, 2}));   // empty
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, make(big, big, big, {8, 9}));   // unknown activation
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, make(small, big, big, {8, 2})); // dy too short
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, make(big, ids, big, {8, 2}));   // int32 z
    make(big, big, big, {8, 2});                                                    // fits
  }
};

QTEST_APPLESS_MAIN(TestActivationBackward)
#include "test_activation_backward.moc"
