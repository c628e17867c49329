// The Vulkan runtime: device listing and choice, backend factory, arena, recorded phases, the
// dispatch helper's checks, and the fill op against the CPU reference.
#include "test_support.h"

#include <cstdlib>
#include <limits>

#include "backend/vulkan/context.h"
#include "backend/vulkan/vulkan_backend.h"
#include "ops/fill.h"

using namespace rl;

namespace {

// Restores an environment variable on scope exit, so one test cannot leak a device hint.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name), had_(qEnvironmentVariableIsSet(name)), old_(qgetenv(name)) {}
  ~EnvGuard() { had_ ? qputenv(name_, old_) : qunsetenv(name_); }

 private:
  const char* name_;
  bool had_;
  QByteArray old_;
};

// An op whose every property a test can break, to exercise the dispatch helper's checks.
class ProbeOp final : public Op {
 public:
  std::string label = "probe_op(test)";
  std::string shaderName = "fill";
  std::vector<Binding> binds;
  std::vector<uint32_t> push = {0, 0};
  uint32_t local = 64;
  Grid g{1, 1, 1};
  std::string name() const override { return label; }
  std::string shader() const override { return shaderName; }
  std::vector<Binding> bindings() const override { return binds; }
  std::vector<uint32_t> pushConstants() const override { return push; }
  uint32_t localSize() const override { return local; }
  Grid grid() const override { return g; }
  void runCpu(const ArenaView&) const override {}
};

std::string loadError(Backend& backend, const Program& program) {
  try {
    backend.load(program);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace

class TestVulkanRuntime : public QObject {
  Q_OBJECT

 private slots:
  void init() { qunsetenv("ROUTELAB_DEVICE"); }

  void listsLavapipeAsCpu() {
    auto devices = listVulkanDevices();
    QVERIFY2(!devices.empty(), "no Vulkan device listed (is mesa-vulkan-drivers installed?)");
    bool found = false;
    for (const auto& d : devices) {
      if (d.name.find("llvmpipe") == std::string::npos) continue;
      found = true;
      QVERIFY2(d.isCpu, d.name.c_str());
      QCOMPARE(d.type, std::string("CPU"));
      QVERIFY(d.apiVersion >= VK_API_VERSION_1_1);
      QVERIFY2(!d.driver.empty(), d.name.c_str());
    }
    QVERIFY2(found, "lavapipe (llvmpipe) not among the Vulkan devices");
  }

  void autoPicksCpuOnLavapipe() {
    EnvGuard guard("ROUTELAB_DEVICE");
    auto sel = createBackend(BackendChoice::Auto);
    QCOMPARE(sel.backend->name(), std::string("cpu"));
    QVERIFY2(sel.reason.find("CPU implementation") != std::string::npos, sel.reason.c_str());
    QVERIFY2(sel.reason.find("llvmpipe") != std::string::npos, sel.reason.c_str());
  }

  void explicitChoices() {
    auto cpu = createBackend(BackendChoice::Cpu);
    QCOMPARE(cpu.backend->name(), std::string("cpu"));
    BackendSelection vk;
    try {
      vk = createBackend(BackendChoice::Vulkan);
    } catch (const std::exception& e) {
      QFAIL(e.what());
    }
    QCOMPARE(vk.backend->name(), std::string("vulkan"));
    QVERIFY2(vk.backend->device().find("llvmpipe") != std::string::npos, vk.backend->device().c_str());
    QVERIFY2(vk.backend->device().find("(CPU)") != std::string::npos, vk.backend->device().c_str());
    QVERIFY2(vk.reason.find("llvmpipe") != std::string::npos, vk.reason.c_str());
  }

  void parsesBackendChoice() {
    QVERIFY(parseBackendChoice("auto") == BackendChoice::Auto);
    QVERIFY(parseBackendChoice("vulkan") == BackendChoice::Vulkan);
    QVERIFY(parseBackendChoice("cpu") == BackendChoice::Cpu);
    try {
      parseBackendChoice("gpu");
      QFAIL("parseBackendChoice accepted 'gpu'");
    } catch (const std::invalid_argument& e) {
      QCOMPARE(std::string(e.what()), std::string("backend must be auto, vulkan or cpu, not 'gpu'"));
    }
  }

  void deviceHintSelects() {
    EnvGuard guard("ROUTELAB_DEVICE");
    auto deviceFor = [](const std::string& hint) -> std::string {
      try {
        return createBackend(BackendChoice::Vulkan, hint).backend->device();
      } catch (const std::exception& e) {
        return std::string("threw: ") + e.what();
      }
    };
    for (std::string hint : {"llvm", "LLVMPIPE", "0"}) {
      std::string device = deviceFor(hint);
      QVERIFY2(device.find("llvmpipe") != std::string::npos, ("hint " + hint + ": " + device).c_str());
    }
    qputenv("ROUTELAB_DEVICE", "LlvmPipe");
    std::string device = deviceFor("");
    QVERIFY2(device.find("llvmpipe") != std::string::npos, ("ROUTELAB_DEVICE=LlvmPipe: " + device).c_str());
  }

  void deviceHintRejects() {
    EnvGuard guard("ROUTELAB_DEVICE");
    auto expectReject = [](const std::string& hint, BackendChoice choice, const std::string& expected) {
      try {
        createBackend(choice, hint);
      } catch (const std::runtime_error& e) {
        std::string msg = e.what();
        if (msg.find("no Vulkan device matches '" + expected + "'") == std::string::npos ||
            msg.find("llvmpipe") == std::string::npos)
          QFAIL(("hint '" + hint + "': unexpected message: " + msg).c_str());
        return;
      }
      QFAIL(("hint '" + hint + "' was accepted").c_str());
    };
    expectReject("no-such-gpu", BackendChoice::Vulkan, "no-such-gpu");
    expectReject("7", BackendChoice::Vulkan, "7");
    expectReject("no-such-gpu", BackendChoice::Auto, "no-such-gpu");
    qputenv("ROUTELAB_DEVICE", "radeon-from-env");
    expectReject("", BackendChoice::Vulkan, "radeon-from-env");
  }

  void fillMatchesCpu_data() {
    QTest::addColumn<int>("n");
    for (int n : {1, 63, 64, 65, 100000}) QTest::newRow(std::to_string(n).c_str()) << n;
  }
  void fillMatchesCpu() {
    QFETCH(int, n);
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    // Guards on both sides catch writes past the range.
    Program p;
    TensorId before = p.add("before", {64}, Role::Activation);
    TensorId x = p.add("x", {uint32_t(n)}, Role::Grad);
    TensorId after = p.add("after", {64}, Role::Activation);
    auto fill = std::make_unique<Fill>(p, bind(p, x), -2.5f, "x");
    QVERIFY2(fill->grid().x >= 1, "fill emitted an empty grid");
    p.append("zero", std::move(fill));

    CpuBackend cpu;
    std::vector<float> before0 = rltest::randomVector(64, 1), x0 = rltest::randomVector(n, 2),
                       after0 = rltest::randomVector(64, 3);
    for (Backend* b : {static_cast<Backend*>(&cpu), vk.get()}) {
      b->load(p);
      b->writeTensor(p, before, before0);
      b->writeTensor(p, x, x0);
      b->writeTensor(p, after, after0);
      b->run("zero");
    }
    std::string what = "fill n=" + std::to_string(n);
    auto got = vk->readTensor<float>(p, x);
    RL_EXPECT_CLOSE(got, cpu.readTensor<float>(p, x), 1e-30, 0.0, what);
    RL_EXPECT_CLOSE(got, std::vector<float>(n, -2.5f), 1e-30, 0.0, what);
    RL_EXPECT_CLOSE(vk->readTensor<float>(p, before), before0, 1e-30, 0.0, what + " guard before");
    RL_EXPECT_CLOSE(vk->readTensor<float>(p, after), after0, 1e-30, 0.0, what + " guard after");
  }

  void arenaStartsZeroed() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    Program p;
    TensorId x = p.add("x", {1000}, Role::Activation);
    vk->load(p);
    vk->writeTensor(p, x, rltest::randomVector(1000, 4));
    vk->load(p);  // a reload starts from a fresh, zeroed arena
    RL_EXPECT_CLOSE(vk->readTensor<float>(p, x), std::vector<float>(1000, 0.f), 1e-30, 0.0, "arena after reload");
  }

  // The discrete-GPU arena (device-local memory, staging copies), forced on lavapipe.
  void stagedArenaRoundTrips() {
    std::shared_ptr<VulkanContext> ctx;
    try {
      ctx = VulkanContext::create();
    } catch (const std::exception& e) {
      QFAIL(e.what());
    }
    VulkanBackend vk(ctx, VulkanBackend::Options{true});
    Program p;
    TensorId x = p.add("x", {1000}, Role::Activation);
    TensorId y = p.add("y", {77}, Role::Activation);
    p.append("fill", std::make_unique<Fill>(p, Binding{p.info(x).offset + 64, 128}, 4.f, "x[64:192]"));
    vk.load(p);
    QVERIFY2(!vk.arenaMapped(), "forced staging still mapped the arena");
    RL_EXPECT_CLOSE(vk.readTensor<float>(p, x), std::vector<float>(1000, 0.f), 1e-30, 0.0, "staged arena at load");
    auto x0 = rltest::randomVector(1000, 5), y0 = rltest::randomVector(77, 6);
    vk.writeTensor(p, x, x0);
    vk.writeTensor(p, y, y0);
    vk.run("fill");
    for (int i = 64; i < 192; ++i) x0[i] = 4.f;
    RL_EXPECT_CLOSE(vk.readTensor<float>(p, x), x0, 1e-30, 0.0, "staged x after fill");
    RL_EXPECT_CLOSE(vk.readTensor<float>(p, y), y0, 1e-30, 0.0, "staged y untouched");
    std::vector<float> part(3);
    vk.read(p.info(x).offset + 190, part.data(), 3);  // a sub-range read
    RL_EXPECT_CLOSE(part, (std::vector<float>{4.f, 4.f, x0[192]}), 1e-30, 0.0, "staged partial read");
    try {
      vk.read(p.arenaWords - 2, part.data(), 3);
      QFAIL("read past the arena did not throw");
    } catch (const std::out_of_range&) {
    }
  }

  void phaseRecordedOnceRunTwice() {
    std::unique_ptr<Backend> vkBase;
    RL_REQUIRE_VULKAN(vkBase);
    auto* vk = dynamic_cast<VulkanBackend*>(vkBase.get());
    QVERIFY(vk);
    Program p;
    TensorId x = p.add("x", {300}, Role::Activation);
    // Order matters: the second fill overwrites part of the first, so a missing barrier or a
    // reordering would show.
    p.append("step", std::make_unique<Fill>(p, bind(p, x), 1.f, "x"));
    p.append("step", std::make_unique<Fill>(p, Binding{p.info(x).offset + 64, 100}, 2.f, "x[64:164]"));
    p.append("other", std::make_unique<Fill>(p, bind(p, x), 3.f, "x"));
    uint64_t recordedBefore = vk->recordings();
    vk->load(p);
    QCOMPARE(vk->recordings() - recordedBefore, uint64_t(2));  // one per phase
    QCOMPARE(vk->dispatches("step"), size_t(2));

    std::vector<float> expected(300, 1.f);
    for (int i = 64; i < 164; ++i) expected[i] = 2.f;
    for (int run = 0; run < 2; ++run) {
      vk->writeTensor(p, x, std::vector<float>(300, -7.f));  // the rerun must really execute
      vk->run("step");
      RL_EXPECT_CLOSE(vk->readTensor<float>(p, x), expected, 1e-30, 0.0, "run " + std::to_string(run));
    }
    vk->run("other");
    RL_EXPECT_CLOSE(vk->readTensor<float>(p, x), std::vector<float>(300, 3.f), 1e-30, 0.0, "phase 'other'");
    QCOMPARE(vk->recordings() - recordedBefore, uint64_t(2));  // runs never re-record
    try {
      vk->run("missing");
      QFAIL("run of an unknown phase did not throw");
    } catch (const std::runtime_error& e) {
      QVERIFY2(std::string(e.what()).find("'missing'") != std::string::npos, e.what());
    }
  }

  void zeroGridIsSkipped() {
    std::unique_ptr<Backend> vkBase;
    RL_REQUIRE_VULKAN(vkBase);
    auto* vk = dynamic_cast<VulkanBackend*>(vkBase.get());
    Program p;
    TensorId x = p.add("x", {4}, Role::Activation);
    auto op = std::make_unique<ProbeOp>();
    op->binds = {bind(p, x)};
    op->g = {0, 1, 1};
    p.append("p", std::move(op));
    vk->load(p);
    QCOMPARE(vk->dispatches("p"), size_t(0));
    vk->run("p");
  }

  void dispatchRejectionsNameTheOp_data() {
    QTest::addColumn<QString>("fault");
    QTest::addColumn<QString>("expected");
    QTest::newRow("shader") << "shader" << "no_such_shader";
    QTest::newRow("bindings") << "bindings" << "storage-buffer bindings exceed";
    QTest::newRow("push") << "push" << "push constants of 132 bytes";
    QTest::newRow("local") << "local" << "local size 4096";
    QTest::newRow("grid") << "grid" << "grid";
    QTest::newRow("range") << "range" << "outside the arena";
    QTest::newRow("texel") << "texel" << "texelBindings()";
  }
  void dispatchRejectionsNameTheOp() {
    QFETCH(QString, fault);
    QFETCH(QString, expected);
    std::unique_ptr<Backend> vkBase;
    RL_REQUIRE_VULKAN(vkBase);
    auto* vk = dynamic_cast<VulkanBackend*>(vkBase.get());
    Program p;
    TensorId x = p.add("x", {4}, Role::Activation);
    auto op = std::make_unique<ProbeOp>();
    op->label = "probe_op(" + fault.toStdString() + ")";
    op->binds = {bind(p, x)};
    struct TexelOp final : Op {  // marks more texel bindings than it has
      std::string name() const override { return "probe_op(texel)"; }
      std::string shader() const override { return "fill"; }
      std::vector<Binding> bindings() const override { return {}; }
      std::vector<uint32_t> pushConstants() const override { return {0, 0}; }
      Grid grid() const override { return {}; }
      void runCpu(const ArenaView&) const override {}
      std::vector<bool> texelBindings() const override { return {true}; }
    };
    const auto& lim = vk->context().limits();
    if (fault == "shader") op->shaderName = "no_such_shader";
    if (fault == "bindings") op->binds.assign(lim.maxPerStageDescriptorStorageBuffers + 1, bind(p, x));
    if (fault == "push") op->push.assign(33, 0);
    if (fault == "local") op->local = 4096;
    if (fault == "grid") op->g = {1, lim.maxComputeWorkGroupCount[1] + 1, 1};
    if (fault == "range") op->binds = {Binding{p.info(x).offset, p.arenaWords + 1}};
    if (fault == "texel") p.append("p", std::make_unique<TexelOp>());
    else p.append("p", std::move(op));
    std::string msg = loadError(*vk, p);
    std::string context = "fault " + fault.toStdString() + ": '" + msg + "'";
    QVERIFY2(!msg.empty(), (context + " was accepted").c_str());
    QVERIFY2(msg.find("probe_op(" + fault.toStdString() + ")") != std::string::npos, context.c_str());
    QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, context.c_str());
  }
};

QTEST_APPLESS_MAIN(TestVulkanRuntime)
#include "test_vulkan_runtime.moc"
