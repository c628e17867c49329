// Router-input jitter (engine/ops/jitter.h): the noise formula, no noise at evaluation, the
// backward against central finite differences and its accumulate flag, and Vulkan vs CPU parity.
#include "test_support.h"

#include <cstring>

#include "ops/globals.h"
#include "ops/jitter.h"
#include "ops/rng.h"

using namespace rl;

namespace {

struct JitterCase {
  uint32_t count;
  float eps = 0.1f;
  uint32_t stream = 100;
  uint32_t accumulate = 0;
  uint32_t train = 1, seed = 7, step = 3;

  std::string describe() const {
    std::ostringstream os;
    os << "count=" << count << " eps=" << eps << " stream=" << stream << " accumulate=" << accumulate
       << " train=" << train << " seed=" << seed << " step=" << step;
    return os.str();
  }
};

// Phase "fwd": y = jitter(x); phase "bwd": dx (=/+=) jitter'(dy).
struct JitterRig {
  Program program;
  TensorId x, y, dy, dx, globals;
  explicit JitterRig(const JitterCase& c) {
    x = program.add("x", {c.count}, Role::Input);
    y = program.add("y", {c.count}, Role::Activation);
    dy = program.add("dy", {c.count}, Role::Gradient);
    dx = program.add("dx", {c.count}, Role::Gradient);
    globals = program.add(kGlobalsTensor, {4}, Role::Input);
    JitterParams p{c.count, c.eps, c.stream, c.accumulate};
    program.append("fwd", std::make_unique<JitterForward>(program, x, globals, y, p));
    program.append("bwd", std::make_unique<JitterBackward>(program, dy, globals, dx, p));
  }
};

struct JitterIO {
  std::vector<float> x, dy, dx0;
  std::vector<float> y, dx;  // results
};

JitterIO runJitter(Backend& be, const JitterRig& r, const JitterCase& c, uint32_t seed) {
  JitterIO io;
  io.x = rltest::randomVector(c.count, seed);
  io.dy = rltest::randomVector(c.count, seed + 1);
  io.dx0 = rltest::randomVector(c.count, seed + 2);
  be.load(r.program);
  Globals g;
  g.step = c.step;
  g.seed = c.seed;
  g.lr = 0.01f;
  g.train = c.train;
  uint32_t words[4];
  std::memcpy(words, static_cast<const void*>(&g), sizeof words);
  be.write(r.program.info(r.globals).offset, words, 4);
  be.writeTensor(r.program, r.x, io.x);
  be.writeTensor(r.program, r.dy, io.dy);
  be.writeTensor(r.program, r.dx, io.dx0);
  be.run("fwd");
  be.run("bwd");
  io.y = be.readTensor<float>(r.program, r.y);
  io.dx = be.readTensor<float>(r.program, r.dx);
  return io;
}

float factor(const JitterCase& c, uint32_t i) {
  return 1.f + c.eps * (2.f * rng::uniform(c.seed, c.step, c.stream, i) - 1.f);
}

}  // namespace

class TestJitter : public QObject {
  Q_OBJECT

 private slots:
  // y_i = x_i (1 + eps (2u - 1)); every factor inside [1 - eps, 1 + eps], not all equal; other
  // steps and streams draw other noise.
  void forwardFormula() {
    JitterCase c{64};
    JitterRig rig(c);
    CpuBackend cpu;
    auto io = runJitter(cpu, rig, c, 1);
    std::vector<float> expected(c.count);
    float lo = INFINITY, hi = -INFINITY;
    for (uint32_t i = 0; i < c.count; ++i) {
      expected[i] = io.x[i] * factor(c, i);
      lo = std::min(lo, factor(c, i));
      hi = std::max(hi, factor(c, i));
    }
    RL_EXPECT_CLOSE(io.y, expected, 1e-7, 1e-6, "y " << c.describe());
    QVERIFY2(lo >= 1.f - c.eps && hi <= 1.f + c.eps && hi - lo > c.eps,
             qPrintable(QString("factors in [%1, %2]").arg(lo).arg(hi)));
    JitterCase otherStep = c, otherStream = c;
    otherStep.step = 4;
    otherStream.stream = 101;
    auto a = runJitter(cpu, JitterRig(otherStep), otherStep, 1);
    auto b = runJitter(cpu, JitterRig(otherStream), otherStream, 1);
    QVERIFY(a.y != io.y);
    QVERIFY(b.y != io.y);
  }

  // globals.train == 0: y = x and dx = dy exactly (accumulate: dx0 + dy).
  void identityWhenNotTraining() {
    for (uint32_t acc : {0u, 1u}) {
      JitterCase c{33};
      c.train = 0;
      c.accumulate = acc;
      JitterRig rig(c);
      CpuBackend cpu;
      auto io = runJitter(cpu, rig, c, 5);
      QCOMPARE(io.y, io.x);
      std::vector<float> expected = io.dy;
      if (acc)
        for (size_t i = 0; i < expected.size(); ++i) expected[i] += io.dx0[i];
      QCOMPARE(io.dx, expected);
    }
  }

  // dx against central differences of L = sum(dy (.) y) with h = 1e-2 (atol 1e-4, rtol 1e-3); with
  // accumulate = 1 the same gradient is added to the starting dx; the forward ignores accumulate.
  void backwardMatchesFiniteDifferences() {
    JitterCase c{9, 0.3f};
    JitterRig rig(c);
    CpuBackend cpu;
    auto io = runJitter(cpu, rig, c, 9);
    std::vector<float> numeric(c.count);
    const float h = 1e-2f;
    for (uint32_t i = 0; i < c.count; ++i) {
      auto loss = [&](float xi) {
        auto x = io.x;
        x[i] = xi;
        cpu.writeTensor(rig.program, rig.x, x);
        cpu.run("fwd");
        auto y = cpu.readTensor<float>(rig.program, rig.y);
        double s = 0;
        for (uint32_t j = 0; j < c.count; ++j) s += double(io.dy[j]) * y[j];
        return s;
      };
      numeric[i] = float((loss(io.x[i] + h) - loss(io.x[i] - h)) / (2 * h));
    }
    RL_EXPECT_CLOSE(io.dx, numeric, 1e-4, 1e-3, "dx vs finite differences " << c.describe());

    JitterCase added = c;
    added.accumulate = 1;
    auto acc = runJitter(cpu, JitterRig(added), added, 9);
    std::vector<float> expected = io.dx;
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += acc.dx0[i];
    RL_EXPECT_CLOSE(acc.dx, expected, 1e-7, 1e-6, "accumulate adds " << added.describe());
    QCOMPARE(acc.y, io.y);
  }

  // Vulkan vs CPU: the same counter-based noise on both. Tolerance atol 1e-7, rtol 1e-6 (the
  // factor may be fused into an fma on the GPU).
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    CpuBackend cpu;
    uint32_t seed = 40;
    for (uint32_t count : {1u, 63u, 64u, 65u, 1000u, 4097u})
      for (uint32_t train : {0u, 1u})
        for (uint32_t acc : {0u, 1u}) {
          JitterCase c{count, 0.2f, 100 + count, acc, train, 11, 5 + count};
          JitterRig rig(c);
          auto want = runJitter(cpu, rig, c, ++seed);
          auto got = runJitter(*vk, rig, c, seed);
          RL_EXPECT_CLOSE(got.y, want.y, 1e-7, 1e-6, "y " << c.describe());
          RL_EXPECT_CLOSE(got.dx, want.dx, 1e-7, 1e-6, "dx " << c.describe());
        }
  }
};

QTEST_APPLESS_MAIN(TestJitter)
#include "test_jitter.moc"
