// Attention core (engine/ops/attention.h): forward against a double-precision loop, backward
// against central finite differences (CPU), Vulkan vs CPU parity over many shapes, causal and
// bidirectional, on lavapipe's capped grid and on the GPU-class grid.
#include "test_support.h"
#include "pinned_variant.h"

#include <algorithm>
#include <optional>

#include "ops/attention.h"

using namespace rl;

namespace {

struct AttnCase {
  uint32_t B, T, H, dh;
  uint32_t causal;
  float range = 1.f;  // qkv uniform in [-range, range]: larger = peakier softmax
  uint32_t D() const { return H * dh; }
  uint32_t N() const { return B * T; }
  AttentionParams params() const { return {B, T, H, dh, causal, 0.f}; }
  std::string describe() const {
    std::ostringstream os;
    os << "B=" << B << " T=" << T << " H=" << H << " dh=" << dh << " causal=" << causal << " range=" << range;
    return os.str();
  }
};

// Phase "fwd" = AttentionForward, phase "bwd" = AttentionBackward (dout given).
struct AttnRig {
  Program program;
  TensorId qkv, o, probs, lse, dout, dqkv;
  AttnRig(const AttnCase& c, std::optional<DeviceClass> pin = std::nullopt) {
    qkv = program.add("qkv", {c.N(), 3 * c.D()}, Role::Activation);
    o = program.add("o", {c.N(), c.D()}, Role::Activation);
    probs = program.add("probs", {c.B, c.H, c.T, c.T}, Role::Activation);
    lse = program.add("lse", {c.B, c.H, c.T, 4}, Role::Activation);
    dout = program.add("dout", {c.N(), c.D()}, Role::Gradient);
    dqkv = program.add("dqkv", {c.N(), 3 * c.D()}, Role::Gradient);
    auto add = [&](const char* phase, std::unique_ptr<Op> op) {
      program.append(phase, pin ? std::make_unique<rltest::PinnedVariant>(std::move(op), *pin) : std::move(op));
    };
    add("fwd", std::make_unique<AttentionForward>(program, qkv, o, probs, lse, c.params()));
    add("bwd", std::make_unique<AttentionBackward>(program, qkv, o, probs, lse, dout, dqkv, c.params()));
  }
};

struct AttnData {
  std::vector<float> qkv, dout;
  AttnData(const AttnCase& c, uint32_t seed)
      : qkv(rltest::randomVector(size_t(c.N()) * 3 * c.D(), seed, -c.range, c.range)),
        dout(rltest::randomVector(size_t(c.N()) * c.D(), seed + 1)) {}
};

struct AttnOut {
  std::vector<float> o, probs, lse, dqkv;
};

// NaN starting values: every element an op should write and does not shows up.
AttnOut runAttention(Backend& be, const AttnRig& r, const AttnData& in) {
  be.load(r.program);
  be.writeTensor(r.program, r.qkv, in.qkv);
  be.writeTensor(r.program, r.dout, in.dout);
  for (TensorId t : {r.o, r.probs, r.lse, r.dqkv})
    be.writeTensor(r.program, t, std::vector<float>(r.program.info(t).count, NAN));
  be.run("fwd");
  be.run("bwd");
  return {be.readTensor<float>(r.program, r.o), be.readTensor<float>(r.program, r.probs),
          be.readTensor<float>(r.program, r.lse), be.readTensor<float>(r.program, r.dqkv)};
}

// The formulas in double, independently of the op's code: o and probs.
void naiveForward(const AttnCase& c, const std::vector<float>& qkv, std::vector<double>& o, std::vector<double>& P,
                  std::vector<double>& lse) {
  const uint32_t D = c.D(), T = c.T;
  const double scale = 1.0 / std::sqrt(double(c.dh));
  o.assign(size_t(c.N()) * D, 0.0);
  P.assign(size_t(c.B) * c.H * T * T, 0.0);
  lse.assign(size_t(c.B) * c.H * T * 4, 0.0);
  auto at = [&](uint32_t b, uint32_t t, uint32_t part, uint32_t h, uint32_t e) {
    return double(qkv[(size_t(b) * T + t) * 3 * D + part * D + h * c.dh + e]);
  };
  for (uint32_t b = 0; b < c.B; ++b)
    for (uint32_t h = 0; h < c.H; ++h)
      for (uint32_t i = 0; i < T; ++i) {
        std::vector<double> s(T, -INFINITY);
        double m = -INFINITY;
        for (uint32_t j = 0; j < T; ++j) {
          if (c.causal && j > i) continue;
          double dot = 0;
          for (uint32_t e = 0; e < c.dh; ++e) dot += at(b, i, 0, h, e) * at(b, j, 1, h, e);
          s[j] = dot * scale;
          m = std::max(m, s[j]);
        }
        double sum = 0;
        for (uint32_t j = 0; j < T; ++j) sum += (s[j] = std::exp(s[j] - m));
        lse[((size_t(b) * c.H + h) * T + i) * 4] = m + std::log(sum);
        for (uint32_t j = 0; j < T; ++j) {
          const double pij = s[j] / sum;
          P[((size_t(b) * c.H + h) * T + i) * T + j] = pij;
          for (uint32_t e = 0; e < c.dh; ++e) o[(size_t(b) * T + i) * D + h * c.dh + e] += pij * at(b, j, 2, h, e);
        }
      }
}

std::vector<float> toFloat(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

}  // namespace

class TestAttention : public QObject {
  Q_OBJECT

 private slots:
  // o and probs against the formulas in double; causal rows end in exact zeros.
  void forwardMatchesNaive() {
    for (uint32_t causal : {0u, 1u})
      for (AttnCase c : {AttnCase{2, 5, 2, 4, causal}, AttnCase{1, 7, 3, 8, causal, 3.f}, AttnCase{3, 1, 1, 4, causal}}) {
        AttnRig rig(c);
        AttnData in(c, 7);
        CpuBackend cpu;
        auto out = runAttention(cpu, rig, in);
        std::vector<double> o, P, lse;
        naiveForward(c, in.qkv, o, P, lse);
        RL_EXPECT_CLOSE(out.o, toFloat(o), 1e-6, 1e-5, "o " << c.describe());
        RL_EXPECT_CLOSE(out.probs, toFloat(P), 1e-7, 1e-5, "probs " << c.describe());
        RL_EXPECT_CLOSE(out.lse, toFloat(lse), 1e-6, 1e-6, "lse " << c.describe());
        if (!c.causal) continue;
        for (uint32_t bh = 0; bh < c.B * c.H; ++bh)
          for (uint32_t i = 0; i < c.T; ++i)
            for (uint32_t j = i + 1; j < c.T; ++j)
              QVERIFY2(out.probs[(size_t(bh) * c.T + i) * c.T + j] == 0.f,
                       qPrintable(QString("masked prob not 0 at bh=%1 i=%2 j=%3 %4")
                                      .arg(bh).arg(i).arg(j).arg(c.describe().c_str())));
      }
  }

  // dqkv against central differences of L = sum(dout (.) o) in double from the float forward.
  // Step 1e-2 on O(1) inputs; tolerance atol 2e-3, rtol 1e-2 (float forward, second-order error).
  void backwardMatchesFiniteDifferences() {
    const float h = 1e-2f;
    for (uint32_t causal : {0u, 1u})
      for (AttnCase c : {AttnCase{2, 4, 2, 4, causal}, AttnCase{1, 5, 1, 8, causal, 2.f}}) {
        AttnRig rig(c);
        AttnData in(c, 21 + causal);
        CpuBackend cpu;
        auto analytic = runAttention(cpu, rig, in);
        auto loss = [&](const std::vector<float>& qkv) {
          cpu.writeTensor(rig.program, rig.qkv, qkv);
          cpu.run("fwd");
          auto o = cpu.readTensor<float>(rig.program, rig.o);
          double s = 0;
          for (size_t i = 0; i < o.size(); ++i) s += double(in.dout[i]) * o[i];
          return s;
        };
        std::vector<float> numeric(in.qkv.size());
        for (size_t i = 0; i < in.qkv.size(); ++i) {
          auto plus = in.qkv, minus = in.qkv;
          plus[i] += h;
          minus[i] -= h;
          numeric[i] = float((loss(plus) - loss(minus)) / (2 * h));
        }
        RL_EXPECT_CLOSE(analytic.dqkv, numeric, 2e-3, 1e-2, "dqkv vs finite differences " << c.describe());
        // Causal: the last position's q gets no gradient from other positions, but a k/v at j
        // receives from every i >= j; the first key of a causal head always gets a v gradient.
        double norm = 0;
        for (float g : analytic.dqkv) norm += double(g) * g;
        QVERIFY2(norm > 1e-3, ("gradient vanished: " + c.describe()).c_str());
      }
  }

  // Rows of probs sum to 1; the backward writes every element of dqkv (NaN start) on both kinds of
  // grid; dh not a multiple of 4 and short tensors are rejected.
  void invariantsAndChecks() {
    AttnCase c{3, 9, 2, 4, 1};
    AttnRig rig(c);
    CpuBackend cpu;
    auto out = runAttention(cpu, rig, AttnData(c, 3));
    for (size_t r = 0; r < out.probs.size() / c.T; ++r) {
      double s = 0;
      for (uint32_t j = 0; j < c.T; ++j) s += out.probs[r * c.T + j];
      QVERIFY2(std::abs(s - 1) < 1e-5, qPrintable(QString("row %1 sums to %2").arg(r).arg(s)));
    }
    QVERIFY(std::none_of(out.dqkv.begin(), out.dqkv.end(), [](float f) { return std::isnan(f); }));

    Program p;
    TensorId qkv = p.add("qkv", {6, 18}, Role::Activation), o = p.add("o", {6, 6}, Role::Activation);
    TensorId probs = p.add("probs", {1, 2, 6, 6}, Role::Activation), lse = p.add("lse", {1, 2, 6, 4}, Role::Activation);
    const AttentionParams good{1, 6, 2, 4, 0, 0.f};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AttentionForward(p, qkv, o, probs, lse, {1, 6, 2, 3, 0, 0.f}));
    TensorId qkv2 = p.add("qkv2", {6, 24}, Role::Activation), o2 = p.add("o2", {6, 8}, Role::Activation);
    TensorId shortProbs = p.add("shortProbs", {1, 2, 6, 5}, Role::Activation);
    TensorId shortLse = p.add("shortLse", {1, 2, 6, 3}, Role::Activation);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AttentionForward(p, qkv2, o2, shortProbs, lse, good));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AttentionForward(p, qkv2, o2, probs, shortLse, good));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AttentionForward(p, qkv, o2, probs, lse, good));  // qkv short
    AttentionForward ok(p, qkv2, o2, probs, lse, good);
    QCOMPARE(ok.params().scale, 0.5f);  // 1/sqrt(4)
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AttentionForward(p, qkv2, o2, probs, lse, {1, 6, 2, 4, 2, 0.f}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AttentionForward(p, qkv2, o2, probs, lse, {0, 6, 2, 4, 0, 0.f}));
    // Items: one per head and tile of kAttentionRows positions (2 heads x 2 tiles); backward twice that.
    QCOMPARE(ok.items(), uint64_t(2 * 2));
    QCOMPARE(ok.grid().x, 1u);
    TensorId small = p.add("small", {6, 23}, Role::Activation);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, AttentionBackward(p, qkv2, o2, probs, lse, o2, small, good));
    AttentionBackward back(p, qkv2, o2, probs, lse, o2, qkv2, good);
    QCOMPARE(back.items(), uint64_t(2 * 2 * 2));
    // Lavapipe's grid is capped, a GPU's is not.
    AttnRig big({32, 32, 4, 16, 1});
    const Op& fwd = *big.program.phases["fwd"][0];
    QCOMPARE(fwd.forDevice(DeviceClass::Gpu).grid().x, ceilDiv(32 * 4 * 8, fwd.localSize()));
    QCOMPARE(fwd.forDevice(DeviceClass::CpuImplementation).grid().x, kStridedCpuClassWorkgroups);
    // A long sequence: the capped grid would give each lavapipe invocation 64 items of ~6T loop
    // iterations, past llvmpipe's silent 65535-iteration limit; the grid is widened instead, so
    // every invocation stays under it (forward: T·(2 + R) + 1 per item; backward: T + 1).
    AttnRig longSeq({32, 1024, 4, 4, 0});
    for (const auto& [phase, perItem] : {std::pair{"fwd", 1024u * (2 + kAttentionRows) + 1}, std::pair{"bwd", 1024u + 1}}) {
      const auto& op = dynamic_cast<const StridedOp&>(*longSeq.program.phases[phase][0]);
      const Grid g = op.forDevice(DeviceClass::CpuImplementation).grid();
      QVERIFY2(g.x > kStridedCpuClassWorkgroups, phase);
      const uint64_t itemsPerInvocation = ceilDiv(op.items(), uint64_t(g.x) * op.localSize());
      QVERIFY2(itemsPerInvocation * perItem < kLavapipeLoopLimit,
               qPrintable(QString("%1: %2 items of %3 iterations per invocation").arg(phase).arg(itemsPerInvocation).arg(perItem)));
    }
  }

  // Vulkan vs CPU over shapes whose row counts (B H T) are and are not multiples of the 64-wide
  // workgroup, T from 1 to 64, dh 4..32, causal and not. Tolerances (O(1) inputs): probs and o
  // atol = rtol = 2e-6 sqrt(dh T) + 1e-6 (a dot of dh terms, then a softmax-weighted sum of T);
  // dqkv the same with 4x the factor (dS subtracts two such sums before a second sum over T).
  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    std::vector<AttnCase> cases;
    const uint32_t shapes[][4] = {{1, 1, 1, 4},  {2, 3, 1, 4},  {1, 7, 3, 8},   {3, 13, 2, 16}, {2, 32, 4, 16},
                                  {5, 17, 2, 12}, {1, 64, 1, 32}, {4, 33, 3, 4}, {32, 32, 4, 16}, {7, 9, 5, 8},
                                  {2, 1, 4, 4},  {1, 50, 2, 20}};
    int k = 0;
    for (const auto& s : shapes)
      for (uint32_t causal : {0u, 1u}) cases.push_back({s[0], s[1], s[2], s[3], causal, k++ % 3 == 2 ? 3.f : 1.f});

    CpuBackend cpu;
    uint32_t seed = 500;
    int index = 0;
    for (const AttnCase& c : cases) {
      const bool asGpu = index++ % 3 == 0;  // lavapipe's capped grid otherwise
      AttnRig rig(c, asGpu ? std::optional(DeviceClass::Gpu) : std::nullopt);
      AttnData in(c, seed += 10);
      auto want = runAttention(cpu, rig, in);
      auto got = runAttention(*vk, rig, in);
      const std::string what = c.describe() + (asGpu ? " (GPU-class grid)" : "");
      const double tol = 2e-6 * std::sqrt(double(c.dh) * c.T) + 1e-6;
      RL_EXPECT_CLOSE(got.probs, want.probs, tol, tol, "probs " << what);
      RL_EXPECT_CLOSE(got.o, want.o, tol, tol, "o " << what);
      RL_EXPECT_CLOSE(got.lse, want.lse, tol, tol, "lse " << what);
      RL_EXPECT_CLOSE(got.dqkv, want.dqkv, 4 * tol, 4 * tol, "dqkv " << what);
    }
  }
};

QTEST_APPLESS_MAIN(TestAttention)
#include "test_attention.moc"
