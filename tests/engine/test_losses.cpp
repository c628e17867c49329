// Loss ops (engine/ops/losses.h): hand-computed values, gradients against central finite
// differences (CPU), and Vulkan vs CPU parity over many shapes.
#include "test_support.h"

#include "ops/linear_loss.h"
#include "ops/losses.h"
#include "pinned_variant.h"

using namespace rl;

namespace {

enum class Kind { CrossEntropy, Mse };

struct LossCase {
  Kind kind;
  uint32_t rows, cols;  // N and C (classes) or D (features)
  float scale = 1.f;
  uint32_t classify = 1;      // MSE only
  bool integerLogits = false; // many exact ties: exercises "ties -> lowest index"
  bool ignoredLabels = false; // cross-entropy: some labels outside [0, C)

  std::string describe() const {
    std::ostringstream os;
    os << (kind == Kind::CrossEntropy ? "cross_entropy" : "mse") << " N=" << rows << " C/D=" << cols
       << " scale=" << scale << " classify=" << classify << " integerLogits=" << integerLogits
       << " ignoredLabels=" << ignoredLabels;
    return os.str();
  }
};

struct LossRig {
  Program program;
  TensorId pred, target, labels, grad, out;
  explicit LossRig(const LossCase& c) {
    pred = program.add("pred", {c.rows, c.cols}, Role::Activation);
    target = program.add("target", {c.rows, c.cols}, Role::Input);
    labels = program.add("labels", {c.rows}, Role::Input, DType::I32);
    grad = program.add("dpred", {c.rows, c.cols}, Role::Gradient);
    out = program.add("out", {2}, Role::Output);
    if (c.kind == Kind::CrossEntropy)
      program.append("run", std::make_unique<SoftmaxCrossEntropy>(program, pred, labels, grad, out,
                                                                  CrossEntropyParams{c.rows, c.cols, c.scale}));
    else
      program.append("run", std::make_unique<MeanSquaredError>(program, pred, target, labels, grad, out,
                                                               MseParams{c.rows, c.cols, c.classify, c.scale}));
  }
};

struct LossInputs {
  std::vector<float> pred, target;
  std::vector<int32_t> labels;
  LossInputs(const LossCase& c, uint32_t seed) {
    const size_t n = size_t(c.rows) * c.cols;
    pred = rltest::randomVector(n, seed, -3.f, 3.f);
    if (c.integerLogits)
      for (float& v : pred) v = std::round(v);
    target = rltest::randomVector(n, seed + 1);
    std::mt19937 gen(seed + 2);
    labels.resize(c.rows);
    for (uint32_t r = 0; r < c.rows; ++r) {
      labels[r] = int32_t(gen() % c.cols);
      if (c.ignoredLabels && r % 5 == 2) labels[r] = r % 2 ? -1 : int32_t(c.cols);
    }
  }
};

struct LossOutputs {
  std::vector<float> grad, out;
};

LossOutputs runLoss(Backend& be, const LossRig& r, const LossInputs& in) {
  be.load(r.program);
  be.writeTensor(r.program, r.pred, in.pred);
  be.writeTensor(r.program, r.target, in.target);
  be.writeTensor(r.program, r.labels, in.labels);
  be.run("run");
  return {be.readTensor<float>(r.program, r.grad), be.readTensor<float>(r.program, r.out)};
}

// d out[0] / d pred by central differences (h = 1e-2), the loss read back as float and differenced
// in double.
std::vector<float> finiteDifferences(const LossCase& c, const LossInputs& in) {
  LossRig rig(c);
  CpuBackend cpu;
  const float h = 1e-2f;
  std::vector<float> g(in.pred.size());
  for (size_t i = 0; i < in.pred.size(); ++i) {
    LossInputs plus = in, minus = in;
    plus.pred[i] += h;
    minus.pred[i] -= h;
    double lp = runLoss(cpu, rig, plus).out[0], lm = runLoss(cpu, rig, minus).out[0];
    g[i] = float((lp - lm) / (2 * h));
  }
  return g;
}

}  // namespace

class TestLosses : public QObject {
  Q_OBJECT

 private slots:
  // N=2, C=3; row 1 ties classes 0 and 1, so argmax is 0 and the row (label 1) is not correct.
  // Expected values computed in double by hand (softmax, logsumexp).
  void crossEntropyHandValues() {
    LossCase c{Kind::CrossEntropy, 2, 3};
    LossRig rig(c);
    LossInputs in(c, 1);
    in.pred = {1, 2, 3, 0.5f, 0.5f, -1};
    in.labels = {2, 1};
    CpuBackend cpu;
    auto out = runLoss(cpu, rig, in);
    RL_EXPECT_CLOSE(out.out, (std::vector<float>{0.6032610746430529f, 1.f}), 1e-6, 1e-6, "loss, correct");
    std::vector<float> grad = {0.04501528658519024f, 0.12236423552739885f, -0.167379522112589f,
                               0.2249081088291371f,  -0.2750918911708629f, 0.05018378234172584f};
    RL_EXPECT_CLOSE(out.grad, grad, 1e-7, 1e-6, "dlogits");
  }

  // N=2, D=2: squared errors 1 and 8 -> loss 4.5; dpred = 2 (pred - t) / 2; argmax rows 1 and 0.
  void mseHandValues() {
    for (uint32_t classify : {0u, 1u}) {
      LossCase c{Kind::Mse, 2, 2, 1.f, classify};
      LossRig rig(c);
      LossInputs in(c, 1);
      in.pred = {1, 2, 3, -1};
      in.target = {0, 2, 1, 1};
      in.labels = {1, 0};
      CpuBackend cpu;
      auto out = runLoss(cpu, rig, in);
      RL_EXPECT_CLOSE(out.out, (std::vector<float>{4.5f, classify ? 2.f : 0.f}), 1e-7, 1e-7,
                      "loss, correct; classify=" << classify);
      RL_EXPECT_CLOSE(out.grad, (std::vector<float>{1, 0, 2, -2}), 1e-7, 1e-7, "dpred");
    }
  }

  // The written gradient is scale times d(loss)/d(pred): against central differences with
  // h = 1e-2, atol 5e-5, rtol 1e-3; then scale = 0.5 gives half of it.
  void gradientsMatchFiniteDifferences() {
    for (Kind kind : {Kind::CrossEntropy, Kind::Mse}) {
      LossCase c{kind, 6, 4};
      c.ignoredLabels = kind == Kind::CrossEntropy;
      LossInputs in(c, 21);
      LossRig rig(c);
      CpuBackend cpu;
      auto analytic = runLoss(cpu, rig, in);
      RL_EXPECT_CLOSE(analytic.grad, finiteDifferences(c, in), 5e-5, 1e-3, "gradient vs FD, " << c.describe());

      LossCase half = c;
      half.scale = 0.5f;
      LossRig halfRig(half);
      auto scaled = runLoss(cpu, halfRig, in);
      std::vector<float> expected = analytic.grad;
      for (float& v : expected) v *= 0.5f;
      RL_EXPECT_CLOSE(scaled.grad, expected, 1e-8, 1e-6, "scale 0.5, " << half.describe());
      RL_EXPECT_CLOSE(scaled.out, analytic.out, 0.0 + 1e-30, 0.0, "scale leaves the loss alone");
    }
  }

  void ignoredLabelsHaveNoEffect() {
    LossCase c{Kind::CrossEntropy, 4, 3};
    LossRig rig(c);
    LossInputs in(c, 3);
    in.labels = {0, -1, 3, 2};
    CpuBackend cpu;
    auto out = runLoss(cpu, rig, in);
    for (int i = 3; i < 9; ++i) QCOMPARE(out.grad[i], 0.f);  // rows 1 and 2
    // Same loss as rows 0 and 3 alone, still divided by N = 4.
    LossCase two{Kind::CrossEntropy, 2, 3};
    LossRig rig2(two);
    LossInputs in2(two, 3);
    in2.pred = {in.pred[0], in.pred[1], in.pred[2], in.pred[9], in.pred[10], in.pred[11]};
    in2.labels = {0, 2};
    auto ref = runLoss(cpu, rig2, in2);
    QVERIFY(std::abs(out.out[0] - ref.out[0] * 0.5f) < 1e-6f);
    QCOMPARE(out.out[1], ref.out[1]);
  }

  // Vulkan vs CPU. Tolerances: loss atol 1e-6, rtol 2e-6 (float tree sum vs double sum over N);
  // gradients atol 1e-7, rtol 1e-5 (exp/log differ by a few ulp); correct counts exact.
  // LinearSoftmaxCrossEntropy (the head and its loss in one dispatch) against LinearForward +
  // SoftmaxCrossEntropy on the CPU: the same numbers bit for bit on the CPU (their code); on Vulkan
  // logits and dlogits within 2e-6 sqrt(I) + 1e-6 (the linear parity tolerance), the loss within
  // 1e-5 relative (float vs double sums), the correct count exact except where the top two logits
  // are within the logit tolerance (then argmax may flip; such rows are counted and allowed).
  // Rows not a multiple of the 8-row tile, 4..16 classes, ignored labels, with and without bias.
  // With a combine input (k > 0; dropped choices included) the reference runs CombineForward first
  // and the combined rows the fused op writes must match it too (1e-6).
  void linearSoftmaxCrossEntropyMatchesTwoOps() {
    struct Shape { uint32_t N, I, C, hasBias, k = 0; };
    const Shape shapes[] = {{256, 32, 4, 1},    {1, 4, 4, 1},     {13, 8, 8, 0},      {300, 64, 12, 1},
                            {65, 4, 16, 1},     {1024, 64, 8, 1}, {7, 12, 16, 1},     {257, 32, 4, 0},
                            {256, 32, 4, 1, 2}, {13, 8, 8, 1, 1}, {300, 64, 12, 0, 3}, {65, 4, 4, 1, 8}};
    QVERIFY(!LinearSoftmaxCrossEntropy::fits({1, 8, 4, 20, 0, 0, 1, 0}));  // past kLinearLossMaxClasses
    QVERIFY(!LinearSoftmaxCrossEntropy::fits({1, 8, 4, 6, 0, 0, 1, 0}));   // C not a multiple of 4
    QVERIFY(!LinearSoftmaxCrossEntropy::fits({1, 8, 4, 4, 1, 0, 1, 0}));   // an activation
    QVERIFY(!LinearSoftmaxCrossEntropy::fits({2, 8, 4, 4, 0, 0, 1, 0}));   // groups
    QVERIFY(LinearSoftmaxCrossEntropy::fits({1, 8, 4, 16, 0, 0, 0, 0}));
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    uint32_t seed = 40;
    for (const Shape& sh : shapes)
      for (int run = 0; run < 3; ++run) {  // 0: CPU; 1, 2: Vulkan, CPU-class / GPU-class variant
        Program P;
        const TensorId x = P.add("x", {sh.N, sh.I}, Role::Activation), w = P.add("w", {sh.C, sh.I}, Role::Param);
        const TensorId b = P.add("b", {sh.C}, Role::Param), labels = P.add("labels", {sh.N}, Role::Input, DType::I32);
        // Combine input: E = 4 experts of capacity C = N k / 4 (so some choices drop), slots in token order.
        const uint32_t S = sh.k ? 4 * std::max(1u, sh.N * sh.k / 4) : 4;
        const TensorId oe = P.add("oe", {S, sh.I}, Role::Activation);
        const TensorId slot = P.add("slot", {sh.N, std::max(sh.k, 1u)}, Role::Activation, DType::I32);
        const TensorId wt = P.add("wt", {sh.N, std::max(sh.k, 1u)}, Role::Activation);
        TensorId logits[2], dlogits[2], out[2];
        for (int v = 0; v < 2; ++v) {
          const std::string n = v ? "fused." : "two.";
          logits[v] = P.add(n + "logits", {sh.N, sh.C}, Role::Activation);
          dlogits[v] = P.add(n + "dlogits", {sh.N, sh.C}, Role::Gradient);
          out[v] = P.add(n + "out", {2}, Role::Output);
        }
        const LinearParams lp{1, sh.N, sh.I, sh.C, 0, 0, sh.hasBias, 0};
        const CrossEntropyParams ce{sh.N, sh.C, 1.0f};
        const CombineParams cp{sh.N, sh.I, sh.k, S};
        std::optional<CombineInput> combine;
        if (sh.k) {
          combine = CombineInput{oe, slot, wt, x, cp};
          P.append("two", std::make_unique<CombineForward>(P, oe, slot, wt, x, cp));
        }
        P.append("two", std::make_unique<LinearForward>(P, x, w, b, logits[0], logits[0], lp));
        P.append("two", std::make_unique<SoftmaxCrossEntropy>(P, logits[0], labels, dlogits[0], out[0], ce));
        std::unique_ptr<Op> fused = std::make_unique<LinearSoftmaxCrossEntropy>(P, x, w, b, logits[1], labels,
                                                                                dlogits[1], out[1], lp, ce, combine);
        if (run) fused = std::make_unique<rltest::PinnedVariant>(std::move(fused), run == 2 ? DeviceClass::Gpu : DeviceClass::CpuImplementation);
        P.append("fused", std::move(fused));
        std::vector<int32_t> lab(sh.N);
        for (uint32_t n = 0; n < sh.N; ++n) lab[n] = n % 11 == 5 ? -1 : n % 13 == 7 ? int32_t(sh.C) : int32_t((n * 7 + seed) % sh.C);
        CpuBackend cpu;
        Backend& be = run ? *vk : static_cast<Backend&>(cpu);
        for (Backend* target : {static_cast<Backend*>(&cpu), &be}) {
          target->load(P);
          target->writeTensor(P, x, rltest::randomVector(size_t(sh.N) * sh.I, seed + 1));
          target->writeTensor(P, w, rltest::randomVector(size_t(sh.C) * sh.I, seed + 2, -0.5f, 0.5f));
          target->writeTensor(P, b, rltest::randomVector(sh.C, seed + 3));
          target->writeTensor(P, labels, lab);
          if (!sh.k) continue;
          std::vector<int32_t> slotOf(size_t(sh.N) * sh.k, -1);
          for (uint32_t c = 0, next = 0; c < sh.N * sh.k; ++c)
            if (c % 5 != 3 && next < S) slotOf[c] = int32_t((next++ * 7) % S);  // a few dropped choices
          target->writeTensor(P, slot, slotOf);
          target->writeTensor(P, wt, rltest::randomVector(size_t(sh.N) * sh.k, seed + 4, 0.f, 1.f));
          target->writeTensor(P, oe, rltest::randomVector(size_t(S) * sh.I, seed + 5));
        }
        cpu.run("two");
        be.run("fused");
        std::ostringstream os;
        os << "N=" << sh.N << " I=" << sh.I << " C=" << sh.C << " hasBias=" << sh.hasBias << " combine k=" << sh.k
           << (run == 0 ? " (cpu)" : run == 1 ? " (vulkan, CPU-class)" : " (vulkan, GPU-class)");
        const std::string what = os.str();
        const double tol = run ? 2e-6 * std::sqrt(double(sh.I)) + 1e-6 : 0.0;
        if (sh.k)
          RL_EXPECT_CLOSE(be.readTensor<float>(P, x), cpu.readTensor<float>(P, x), run ? 1e-6 : 1e-30, run ? 1e-6 : 0.0,
                          "combined rows " << what);
        const auto wantLogits = cpu.readTensor<float>(P, logits[0]);
        RL_EXPECT_CLOSE(be.readTensor<float>(P, logits[1]), wantLogits, tol + 1e-30, tol, "logits " << what);
        RL_EXPECT_CLOSE(be.readTensor<float>(P, dlogits[1]), cpu.readTensor<float>(P, dlogits[0]), tol + 1e-30, tol,
                        "dlogits " << what);
        const auto got = be.readTensor<float>(P, out[1]), want = cpu.readTensor<float>(P, out[0]);
        RL_EXPECT_CLOSE(std::vector<float>{got[0]}, std::vector<float>{want[0]}, run ? 1e-6 : 1e-30, run ? 1e-5 : 0.0,
                        "loss " << what);
        int nearTies = 0;  // rows whose top two logits are closer than the tolerance
        for (uint32_t n = 0; n < sh.N; ++n) {
          std::vector<float> row(wantLogits.begin() + size_t(n) * sh.C, wantLogits.begin() + size_t(n + 1) * sh.C);
          std::sort(row.rbegin(), row.rend());
          if (sh.C > 1 && row[0] - row[1] <= 2 * (tol + tol * std::abs(row[0]))) ++nearTies;
        }
        QVERIFY2(std::abs(got[1] - want[1]) <= nearTies,
                 qPrintable(QString("correct %1 vs %2 (near ties %3) %4").arg(got[1]).arg(want[1]).arg(nearTies)
                                .arg(QString::fromStdString(what))));
        seed += 10;
      }
  }

  void vulkanMatchesCpu() {
    std::unique_ptr<Backend> vk;
    RL_REQUIRE_VULKAN(vk);
    std::vector<LossCase> cases;
    const uint32_t shapes[][2] = {{1, 1},   {1, 4},   {7, 3},    {63, 2},  {65, 10},
                                  {256, 4}, {300, 33}, {1000, 4}, {257, 1}, {513, 7}};
    int k = 0;
    for (const auto& s : shapes) {
      const float scales[] = {1.f, 0.5f, 0.f};
      cases.push_back({Kind::CrossEntropy, s[0], s[1], scales[k % 3], 1, k % 3 == 1, k % 2 == 1});
      cases.push_back({Kind::Mse, s[0], s[1], scales[(k + 1) % 3], uint32_t(k % 2), k % 3 == 2});
      ++k;
    }
    CpuBackend cpu;
    uint32_t seed = 500;
    for (const LossCase& c : cases) {
      LossRig rig(c);
      LossInputs in(c, seed += 7);
      auto want = runLoss(cpu, rig, in);
      auto got = runLoss(*vk, rig, in);
      RL_EXPECT_CLOSE(got.grad, want.grad, 1e-7, 1e-5, "gradient " << c.describe());
      QVERIFY2(std::abs(got.out[0] - want.out[0]) <= 1e-6 + 2e-6 * std::abs(want.out[0]),
               qPrintable(QString("loss %1 vs %2, %3").arg(got.out[0]).arg(want.out[0]).arg(c.describe().c_str())));
      QVERIFY2(got.out[1] == want.out[1],
               qPrintable(QString("correct %1 vs %2, %3").arg(got.out[1]).arg(want.out[1]).arg(c.describe().c_str())));
    }
  }
};

QTEST_APPLESS_MAIN(TestLosses)
#include "test_losses.moc"
