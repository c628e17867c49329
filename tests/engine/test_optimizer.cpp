// Optimizer ops and the gradient norm (engine/ops/optimizer.h): Adam and SGD with momentum over
// three steps against values computed by hand (in double), the norm against known values, and
// Vulkan vs CPU parity over range sizes around the workgroup size and past the grid-stride limit.
#include "test_support.h"

#include <cstring>

#include "ops/globals.h"
#include "ops/optimizer.h"
#include "pinned_variant.h"

using namespace rl;

namespace {

enum class Kind { Adam, Sgd, AdamNorm };  // AdamNorm: AdamGradNorm, both in one dispatch

constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-8f, kMomentum = 0.9f;

// Parameters, gradients and state as separate tensors bound as word ranges, like the builder's
// contiguous ranges; phase "step" runs the optimizer (pinned to the variant of `variant`, so
// lavapipe runs both grids) then the norm of the gradients.
struct OptRig {
  Program program;
  TensorId params, grads, stateA, stateB, globals, norm;
  OptRig(Kind kind, uint32_t count, DeviceClass variant = DeviceClass::Gpu) {
    params = program.add("params", {count}, Role::Param);
    grads = program.add("grads", {count}, Role::Grad);
    stateA = program.add("stateA", {count}, Role::OptState);
    stateB = program.add("stateB", {count}, Role::OptState);
    globals = program.add(kGlobalsTensor, {4}, Role::Input);
    norm = program.add("norm", {1}, Role::Output);
    const Binding p = bind(program, params), g = bind(program, grads);
    std::unique_ptr<Op> step;
    if (kind == Kind::AdamNorm) {  // the same tensors; one op computes the norm and the step
      step = std::make_unique<AdamGradNorm>(program, p, g, bind(program, stateA), bind(program, stateB), globals, norm,
                                            AdamParams{count, kBeta1, kBeta2, kEps});
      program.append("step", std::make_unique<rltest::PinnedVariant>(std::move(step), variant));
      return;
    }
    if (kind == Kind::Adam)
      step = std::make_unique<Adam>(program, p, g, bind(program, stateA), bind(program, stateB), globals,
                                    AdamParams{count, kBeta1, kBeta2, kEps});
    else
      step = std::make_unique<SgdMomentum>(program, p, g, bind(program, stateA), globals, SgdParams{count, kMomentum});
    program.append("step", std::make_unique<rltest::PinnedVariant>(std::move(step), variant));
    program.append("step", std::make_unique<GradNorm>(program, g, norm, GradNormParams{count}));
  }
  void setGlobals(Backend& be, uint32_t step, float lr) const {
    Globals gl;
    gl.step = step;
    gl.seed = 1;
    gl.lr = lr;
    gl.train = 1;
    uint32_t words[4];
    std::memcpy(words, static_cast<const void*>(&gl), sizeof words);
    be.write(program.info(globals).offset, words, 4);
  }
};

struct OptResult {
  std::vector<float> params, stateA, stateB;
  std::vector<float> norms;  // one per step
};

// Runs len(grads) steps from `start`, step t with learning rate lrs[t].
OptResult runSteps(Backend& be, const OptRig& r, const std::vector<float>& start,
                   const std::vector<std::vector<float>>& grads, const std::vector<float>& lrs) {
  be.load(r.program);
  be.writeTensor(r.program, r.params, start);
  OptResult out;
  for (size_t t = 0; t < grads.size(); ++t) {
    r.setGlobals(be, uint32_t(t + 1), lrs[t]);
    be.writeTensor(r.program, r.grads, grads[t]);
    be.run("step");
    out.norms.push_back(be.readTensor<float>(r.program, r.norm)[0]);
  }
  out.params = be.readTensor<float>(r.program, r.params);
  out.stateA = be.readTensor<float>(r.program, r.stateA);
  out.stateB = be.readTensor<float>(r.program, r.stateB);
  return out;
}

std::string kindName(Kind k) { return k == Kind::Adam ? "adam" : k == Kind::Sgd ? "sgd" : "adam+grad_norm"; }

const std::vector<float> kStart = {0.5f, -1.f, 2.f, 0.f};
const std::vector<std::vector<float>> kGrads = {{0.1f, -0.2f, 0.f, 1.f}, {0.3f, 0.1f, -0.5f, 1.f}, {-0.2f, 0.f, 0.4f, 1.f}};
const std::vector<float> kLrs = {0.1f, 0.05f, 0.1f};

}  // namespace

class TestOptimizer : public QObject {
  Q_OBJECT

 private slots:
  // Expected values computed by hand in double (m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
  // p -= lr mhat / (sqrt(vhat) + eps)). Step 1 moves each parameter by lr sign(g): mhat = g and
  // vhat = g^2. Tolerance atol 1e-6, rtol 1e-5 (float vs double).
  void adamMatchesHandValues() {
    OptRig rig(Kind::Adam, 4);
    CpuBackend cpu;
    auto one = runSteps(cpu, rig, kStart, {kGrads[0]}, kLrs);
    RL_EXPECT_CLOSE(one.params, (std::vector<float>{0.4f, -0.9f, 2.f, -0.1f}), 1e-6, 1e-5, "adam step 1");
    auto two = runSteps(cpu, rig, kStart, {kGrads[0], kGrads[1]}, kLrs);
    RL_EXPECT_CLOSE(two.params,
                    (std::vector<float>{0.3541109561027944f, -0.8866831538593378f, 2.037206840126244f,
                                        -0.14999999849999968f}),
                    1e-6, 1e-5, "adam step 2");
    auto three = runSteps(cpu, rig, kStart, kGrads, kLrs);
    RL_EXPECT_CLOSE(three.params,
                    (std::vector<float>{0.32832057678699744f, -0.8660952250961833f, 2.0421966576573265f,
                                        -0.24999999749999965f}),
                    1e-6, 1e-5, "adam step 3");
    RL_EXPECT_CLOSE(three.stateA, (std::vector<float>{0.0151f, -0.0072f, -0.005f, 0.271f}), 1e-7, 1e-5, "adam m");
    // rtol 5e-5 for v: 1 - 0.999f is 1.3e-5 away from 0.001 (0.999 rounded to float); the bias
    // correction divides the same factor out again, so the parameters are unaffected.
    RL_EXPECT_CLOSE(three.stateB, (std::vector<float>{0.00013989001f, 4.991004e-05f, 0.00040975f, 0.002997001f}),
                    1e-9, 5e-5, "adam v");
  }

  // v = mu v + g; p -= lr v, by hand in double. Tolerance atol 1e-6, rtol 1e-6.
  void sgdMatchesHandValues() {
    OptRig rig(Kind::Sgd, 4);
    CpuBackend cpu;
    auto one = runSteps(cpu, rig, kStart, {kGrads[0]}, kLrs);
    RL_EXPECT_CLOSE(one.params, (std::vector<float>{0.49f, -0.98f, 2.f, -0.1f}), 1e-6, 1e-6, "sgd step 1");
    auto two = runSteps(cpu, rig, kStart, {kGrads[0], kGrads[1]}, kLrs);
    RL_EXPECT_CLOSE(two.params, (std::vector<float>{0.4705f, -0.976f, 2.025f, -0.195f}), 1e-6, 1e-6, "sgd step 2");
    auto three = runSteps(cpu, rig, kStart, kGrads, kLrs);
    RL_EXPECT_CLOSE(three.params, (std::vector<float>{0.4554f, -0.9688f, 2.03f, -0.466f}), 1e-6, 1e-6, "sgd step 3");
    RL_EXPECT_CLOSE(three.stateA, (std::vector<float>{0.151f, -0.072f, -0.05f, 2.71f}), 1e-6, 1e-6, "sgd velocity");
  }

  void gradNormKnownValues() {
    CpuBackend cpu;
    OptRig rig(Kind::Sgd, 4);
    auto r = runSteps(cpu, rig, kStart, {{3.f, 0.f, -4.f, 0.f}, {1.f, 1.f, 1.f, 1.f}}, {0.f, 0.f});
    QCOMPARE(r.norms[0], 5.f);
    QCOMPARE(r.norms[1], 2.f);
  }

  void rejectsShortRanges() {
    OptRig rig(Kind::Adam, 4);
    const Binding p = bind(rig.program, rig.params);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Adam(rig.program, p, p, p, p, rig.globals, AdamParams{5, 0.9f, 0.99f, 1e-8f}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, SgdMomentum(rig.program, p, p, p, rig.norm, SgdParams{4, 0.9f}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, GradNorm(rig.program, p, rig.norm, GradNormParams{5}));
  }

  // The CPU-class variant caps its grid (the shader strides); the GPU-class one does not. AdamGradNorm
  // adds its norm workgroup in front of Adam's grid.
  void cpuClassVariantCapsGrid() {
    for (Kind kind : {Kind::Adam, Kind::Sgd, Kind::AdamNorm})
      for (uint32_t count : {1u, 10000u, 1100000u}) {
        const std::string what = kindName(kind) + " count=" + std::to_string(count);
        OptRig gpu(kind, count, DeviceClass::Gpu), cpuClass(kind, count, DeviceClass::CpuImplementation);
        const uint32_t full = std::min(ceilDiv(count, kOptimizerLocalSize), kOptimizerMaxGroups);
        const uint32_t norm = kind == Kind::AdamNorm ? 1 : 0;
        QVERIFY2(gpu.program.phases.at("step")[0]->grid().x == norm + full, what.c_str());
        QVERIFY2(cpuClass.program.phases.at("step")[0]->grid().x == norm + std::min(full, kOptimizerCpuClassGroups),
                 what.c_str());
      }
  }

  // AdamGradNorm on the CPU is the two ops' code: the same numbers bit for bit as Adam + GradNorm.
  void adamGradNormCpuIsTheTwoOps() {
    for (uint32_t count : {4u, 257u, 10000u}) {
      auto start = rltest::randomVector(count, count + 3);
      std::vector<std::vector<float>> grads;
      for (uint32_t t = 0; t < 3; ++t) grads.push_back(rltest::randomVector(count, count + 20 + t, -0.1f, 0.1f));
      const OptRig twoOps(Kind::Adam, count), oneOp(Kind::AdamNorm, count);
      CpuBackend cpu;
      auto two = runSteps(cpu, twoOps, start, grads, kLrs);
      auto one = runSteps(cpu, oneOp, start, grads, kLrs);
      const std::string what = "count=" + std::to_string(count);
      RL_EXPECT_CLOSE(one.params, two.params, 1e-30, 0.0, "params " << what);
      RL_EXPECT_CLOSE(one.stateA, two.stateA, 1e-30, 0.0, "m " << what);
      RL_EXPECT_CLOSE(one.stateB, two.stateB, 1e-30, 0.0, "v " << what);
      RL_EXPECT_CLOSE(one.norms, two.norms, 1e-30, 0.0, "norm " << what);
    }
  }

  // Vulkan vs CPU over three steps, both grid variants; counts around the workgroup (256) and past
  // 4096 workgroups x 256 lanes, where the shaders' grid-stride loop takes over. Tolerances: state atol 1e-7,
  // rtol 1e-5; parameters atol 1e-6, rtol 1e-6 (a few ulp of the updates, which are ~lr = 0.01);
  // norm rtol 1e-5 (float sums in different orders over up to 1.1e6 squares).
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    CpuBackend cpu;
    for (DeviceClass variant : {DeviceClass::Gpu, DeviceClass::CpuImplementation})
    for (Kind kind : {Kind::Adam, Kind::Sgd, Kind::AdamNorm})
      for (uint32_t count : {1u, 255u, 256u, 257u, 10000u, 1100000u}) {
        const std::string what = kindName(kind) + " count=" + std::to_string(count) +
                                 (variant == DeviceClass::Gpu ? " gpu-class grid" : " cpu-class grid");
        OptRig rig(kind, count, variant);
        // The fused op on Vulkan against the unfused ops (Adam, then GradNorm) on the CPU.
        OptRig reference(kind == Kind::AdamNorm ? Kind::Adam : kind, count);
        auto start = rltest::randomVector(count, count + 1);
        std::vector<std::vector<float>> grads;
        for (uint32_t t = 0; t < 3; ++t) grads.push_back(rltest::randomVector(count, count + 10 + t, -0.1f, 0.1f));
        const std::vector<float> lrs = {0.01f, 0.02f, 0.005f};
        auto want = runSteps(cpu, reference, start, grads, lrs);
        auto got = runSteps(*vk, rig, start, grads, lrs);
        RL_EXPECT_CLOSE(got.stateA, want.stateA, 1e-7, 1e-5, "state A, " << what);
        RL_EXPECT_CLOSE(got.stateB, want.stateB, 1e-7, 1e-5, "state B, " << what);
        RL_EXPECT_CLOSE(got.params, want.params, 1e-6, 1e-6, "params, " << what);
        RL_EXPECT_CLOSE(got.norms, want.norms, 1e-7, 1e-5, "grad norm, " << what);
      }
  }
};

QTEST_APPLESS_MAIN(TestOptimizer)
#include "test_optimizer.moc"
