// matmul: both Vulkan variants (ImageTiled, SharedTiled) and Auto against the Eigen reference,
// over tile-multiple shapes and shapes that force the ImageTiled fallback.
#include "test_support.h"

#include "backend/vulkan/vulkan_backend.h"
#include "ops/matmul.h"

using namespace rl;

namespace {

const char* variantName(MatmulVariant v) {
  switch (v) {
    case MatmulVariant::Auto: return "Auto";
    case MatmulVariant::ImageTiled: return "ImageTiled";
    case MatmulVariant::SharedTiled: return "SharedTiled";
  }
  return "?";
}

}  // namespace

class TestMatmul : public QObject {
  Q_OBJECT
  std::unique_ptr<Backend> vkBase_;

 private slots:
  void parity_data() {
    QTest::addColumn<int>("M");
    QTest::addColumn<int>("N");
    QTest::addColumn<int>("K");
    QTest::addColumn<int>("accumulate");
    auto row = [](int m, int n, int k, int acc) {
      std::string name = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + (acc ? "+=" : "=");
      QTest::newRow(name.c_str()) << m << n << k << acc;
    };
    // ImageTiled runs these as they are. Each distinct shape is a new pipeline (sizes are
    // specialisation constants) costing ~1 s to compile on lavapipe with a cold shader cache.
    row(16, 16, 2, 0);
    row(64, 48, 32, 1);
    row(32, 128, 300, 0);
    // Not tile multiples (or odd K): ImageTiled falls back to SharedTiled.
    row(1, 1, 1, 0);
    row(17, 33, 5, 1);
    row(65, 64, 63, 0);
    row(100, 7, 129, 0);
    row(16, 16, 3, 1);
    row(70, 130, 64, 0);
  }

  void parity() {
    QFETCH(int, M);
    QFETCH(int, N);
    QFETCH(int, K);
    QFETCH(int, accumulate);
    // One backend for every row: its pipeline cache then compiles each shader variant once.
    if (!vkBase_) RL_REQUIRE_VULKAN(vkBase_);
    auto* vk = dynamic_cast<VulkanBackend*>(vkBase_.get());
    QVERIFY(vk);
    const Matmul::Params params{uint32_t(M), uint32_t(N), uint32_t(K), uint32_t(accumulate)};
    const bool fits = Matmul::imageTiledFits(params);

    for (auto variant : {MatmulVariant::ImageTiled, MatmulVariant::SharedTiled, MatmulVariant::Auto}) {
      std::string what = std::string(variantName(variant)) + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                         " K=" + std::to_string(K) + " accumulate=" + std::to_string(accumulate);
      Program p;
      TensorId at = p.add("At", {uint32_t(K), uint32_t(M)}, Role::Input);
      TensorId b = p.add("B", {uint32_t(K), uint32_t(N)}, Role::Input);
      TensorId c = p.add("C", {uint32_t(M), uint32_t(N)}, Role::Output);
      TensorId guard = p.add("guard", {64}, Role::Activation);  // catches stores past C
      auto op = std::make_unique<Matmul>(p, at, b, c, params, variant);

      // The variant that will actually run on this device (lavapipe is a CPU implementation).
      const auto& dispatched = dynamic_cast<const Matmul&>(op->forDevice(vk->deviceClass()));
      MatmulVariant expected = MatmulVariant::SharedTiled;
      if (variant != MatmulVariant::SharedTiled && fits && vk->deviceClass() == DeviceClass::CpuImplementation)
        expected = MatmulVariant::ImageTiled;
      QVERIFY2(dispatched.variant() == expected, (what + ": dispatches " + variantName(dispatched.variant())).c_str());
      Grid g = dispatched.grid();
      QVERIFY2(g.x >= 1 && g.y >= 1 && g.z >= 1, (what + ": empty grid").c_str());
      p.append("mm", std::move(op));

      auto atData = rltest::randomVector(size_t(K) * M, 11 + M);
      auto bData = rltest::randomVector(size_t(K) * N, 13 + N);
      auto c0 = rltest::randomVector(size_t(M) * N, 17 + K);  // must be overwritten (=) or added to (+=)
      auto guard0 = rltest::randomVector(64, 19);
      CpuBackend cpu;
      for (Backend* be : {static_cast<Backend*>(&cpu), vkBase_.get()}) {
        be->load(p);
        be->writeTensor(p, at, atData);
        be->writeTensor(p, b, bData);
        be->writeTensor(p, c, c0);
        be->writeTensor(p, guard, guard0);
        be->run("mm");
      }
      // Rounding grows with K (sums of K products of values in [-1, 1]; the orders differ).
      const double atol = 1e-6 * K, rtol = 1e-5;
      RL_EXPECT_CLOSE(vk->readTensor<float>(p, c), cpu.readTensor<float>(p, c), atol, rtol, what);
      RL_EXPECT_CLOSE(vk->readTensor<float>(p, guard), guard0, 1e-30, 0.0, what + " guard");
    }
  }

  // The CPU reference itself, against a plain triple loop, so the oracle is checked too.
  void cpuReferenceMatchesLoop() {
    const uint32_t M = 5, N = 7, K = 9;
    Program p;
    TensorId at = p.add("At", {K, M}, Role::Input), b = p.add("B", {K, N}, Role::Input),
             c = p.add("C", {M, N}, Role::Output);
    p.append("mm", std::make_unique<Matmul>(p, at, b, c, Matmul::Params{M, N, K, 1}));
    auto atData = rltest::randomVector(K * M, 1), bData = rltest::randomVector(K * N, 2),
         c0 = rltest::randomVector(M * N, 3);
    CpuBackend cpu;
    cpu.load(p);
    cpu.writeTensor(p, at, atData);
    cpu.writeTensor(p, b, bData);
    cpu.writeTensor(p, c, c0);
    cpu.run("mm");
    std::vector<float> want = c0;
    for (uint32_t m = 0; m < M; ++m)
      for (uint32_t n = 0; n < N; ++n)
        for (uint32_t k = 0; k < K; ++k) want[m * N + n] += atData[k * M + m] * bData[k * N + n];
    RL_EXPECT_CLOSE(cpu.readTensor<float>(p, c), want, 1e-5, 1e-5, "cpu matmul += vs loop");
  }

  void rejectsMismatchedSizes() {
    Program p;
    TensorId at = p.add("At", {4, 16}, Role::Input), b = p.add("B", {4, 16}, Role::Input),
             c = p.add("C", {16, 15}, Role::Output);
    try {
      Matmul op(p, at, b, c, Matmul::Params{16, 16, 4, 0});
      QFAIL("a 16x15 C was accepted for a 16x16 product");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(std::string(e.what()).find("'C'") != std::string::npos, e.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestMatmul)
#include "test_matmul.moc"
