// Routing metrics against hand-computed values, and the collapse detector on synthetic load
// histories: it fires at the right step, and not on balanced or briefly disturbed runs.
#include "test_support.h"

#include "metrics/routing_metrics.h"

using namespace rl;

namespace {

constexpr double kTol = 1e-9;

#define EXPECT_NEAR(actual, expected)                                                                    \
  QVERIFY2(std::abs(double(actual) - double(expected)) <= kTol,                                          \
           qPrintable(QString("%1 = %2, expected %3").arg(#actual).arg(double(actual), 0, 'g', 17).arg(double(expected), 0, 'g', 17)))

std::vector<float> uniform(int e) { return std::vector<float>(e, 1.f / e); }

// Shares moving linearly from uniform (t = 0) to {0.9, 0.1, 0, ...} (t = 1).
std::vector<float> towardsCollapse(int e, double t) {
  std::vector<float> v(e);
  for (int i = 0; i < e; ++i) {
    const double end = i == 0 ? 0.9 : i == 1 ? 0.1 : 0.0;
    v[i] = static_cast<float>((1 - t) / e + t * end);
  }
  return v;
}

// Uniform with a deterministic wiggle of +-20% so "balanced" is not trivially perfect.
std::vector<float> wiggled(int e, int step) {
  std::vector<float> v(e);
  for (int i = 0; i < e; ++i) v[i] = 1.f + 0.2f * static_cast<float>(((step * 7 + i * 3) % 5) - 2) / 2.f;
  return v;
}

std::string describe(const CollapseVerdict& v) {
  std::string dead;
  for (int e : v.deadExperts) dead += std::to_string(e) + " ";
  return "collapsed=" + std::to_string(v.collapsed) + " began=" + std::to_string(v.beganAtStep) + " dead=[" + dead +
         "] reason: " + v.reason;
}

}  // namespace

class TestMetrics : public QObject {
  Q_OBJECT
 private slots:
  void loadStatisticsByHand() {
    EXPECT_NEAR(normalisedLoadEntropy(uniform(4)), 1.0);
    EXPECT_NEAR(coefficientOfVariation(uniform(4)), 0.0);
    EXPECT_NEAR(maxShare(uniform(4)), 0.25);

    const std::vector<float> one = {1, 0, 0, 0};
    EXPECT_NEAR(normalisedLoadEntropy(one), 0.0);
    EXPECT_NEAR(coefficientOfVariation(one), std::sqrt(3.0));  // sqrt(E-1)
    EXPECT_NEAR(maxShare(one), 1.0);

    const std::vector<float> two = {0.5, 0.5, 0, 0};  // ln 2 / ln 4
    EXPECT_NEAR(normalisedLoadEntropy(two), 0.5);
    EXPECT_NEAR(coefficientOfVariation(two), 1.0);
    EXPECT_NEAR(maxShare(two), 0.5);

    // Counts give the same answers as fractions.
    const std::vector<float> counts = {30, 10, 0};
    const double h = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25)) / std::log(3.0);
    EXPECT_NEAR(normalisedLoadEntropy(counts), h);
    EXPECT_NEAR(maxShare(counts), 0.75);
    const double mean = 40.0 / 3, sd = std::sqrt(((30 - mean) * (30 - mean) + (10 - mean) * (10 - mean) + mean * mean) / 3);
    QVERIFY(std::abs(coefficientOfVariation(counts) - sd / mean) < 1e-6);  // float inputs

    // Degenerate inputs.
    EXPECT_NEAR(normalisedLoadEntropy({0.7f}), 1.0);
    EXPECT_NEAR(normalisedLoadEntropy({0, 0, 0}), 0.0);
    EXPECT_NEAR(maxShare({0, 0}), 0.0);
    EXPECT_NEAR(coefficientOfVariation({}), 0.0);
  }

  void mutualInformationByHand() {
    std::vector<std::vector<double>> diagonal(4, std::vector<double>(4, 0.0));
    for (int i = 0; i < 4; ++i) diagonal[i][i] = 10;
    EXPECT_NEAR(mutualInformation(diagonal), std::log(4.0));
    EXPECT_NEAR(normalisedMutualInformation(diagonal), 1.0);

    const std::vector<std::vector<double>> flat(4, std::vector<double>(4, 5.0));
    EXPECT_NEAR(mutualInformation(flat), 0.0);
    EXPECT_NEAR(normalisedMutualInformation(flat), 0.0);

    // p = [[3/8, 1/8], [1/8, 3/8]]: I = 3/4 ln(3/2) + 1/4 ln(1/2).
    const std::vector<std::vector<double>> mixed = {{30, 10}, {10, 30}};
    const double mi = 0.75 * std::log(1.5) + 0.25 * std::log(0.5);
    EXPECT_NEAR(mutualInformation(mixed), mi);
    EXPECT_NEAR(normalisedMutualInformation(mixed), mi / std::log(2.0));

    // More experts than classes; the expert determines the class: I = H(class).
    const std::vector<std::vector<double>> split = {{10, 0, 0}, {0, 5, 5}};
    EXPECT_NEAR(mutualInformation(split), std::log(2.0));
    EXPECT_NEAR(normalisedMutualInformation(split), 1.0);

    // One class: H(class) = 0, normalised MI defined as 0.
    EXPECT_NEAR(normalisedMutualInformation({{3, 4, 5}}), 0.0);
    EXPECT_NEAR(mutualInformation({}), 0.0);
  }

  void deadExpertsOverTheWindow() {
    // Expert 2 never used; expert 1 used once inside the last 3 entries; expert 3 only early on.
    const std::vector<std::vector<float>> history = {
        {0.3f, 0.3f, 0.0f, 0.4f}, {0.5f, 0.0f, 0.0f, 0.5f}, {0.9f, 0.1f, 0.0f, 0.0f},
        {1.0f, 0.0f, 0.0f, 0.0f}, {1.0f, 0.0f, 0.0f, 0.0f}};
    QCOMPARE(deadExperts(history, 0.05, 3), std::vector<int>({2, 3}));
    QCOMPARE(deadExperts(history, 0.05, 2), std::vector<int>({1, 2, 3}));
    QCOMPARE(deadExperts(history, 0.05, 5), std::vector<int>({2}));
    QCOMPARE(deadExperts(history, 0.05, 6), std::vector<int>());  // not enough history to say
    // The threshold is a share: counts work too.
    QCOMPARE(deadExperts({{90, 9, 1}}, 0.05, 1), std::vector<int>({2}));
  }

  void detectorFiresWhereCollapseBegins() {
    // Balanced for 100 points, then a slide to {0.9, 0.1, 0...} over 100 points, then held.
    // Steps are recorded every 10 training steps.
    const int experts = 8;
    CollapseDetector d;
    int expectedStart = -1;
    for (int i = 0; i < 400; ++i) {
      const int step = 10 * (i + 1);
      auto load = i < 100 ? wiggled(experts, i) : towardsCollapse(experts, std::min(1.0, (i - 100) / 100.0));
      const bool bad = normalisedLoadEntropy(load) < 0.5 || maxShare(load) > 0.8;
      if (bad && expectedStart < 0) expectedStart = step;
      d.add(step, load);
    }
    CollapseVerdict v = d.verdict();
    QVERIFY2(expectedStart > 1000 && expectedStart < 2010, qPrintable(QString("test setup: start %1").arg(expectedStart)));
    QVERIFY2(v.collapsed, describe(v).c_str());
    QVERIFY2(v.beganAtStep == expectedStart, (describe(v) + " expected began=" + std::to_string(expectedStart)).c_str());
    QCOMPARE(v.deadExperts, std::vector<int>({2, 3, 4, 5, 6, 7}));
    QVERIFY2(v.reason.find("collapsed since step " + std::to_string(expectedStart)) != std::string::npos, v.reason.c_str());
  }

  void detectorNeedsASustainedStretch() {
    // 49 collapsed points at the end are one short of the default window of 50.
    CollapseDetector d;
    for (int s = 1; s <= 200; ++s) d.add(s, s > 151 ? std::vector<float>{1, 0, 0, 0} : uniform(4));
    CollapseVerdict v = d.verdict();
    QVERIFY2(!v.collapsed && v.beganAtStep == -1, describe(v).c_str());
    d.add(201, {1, 0, 0, 0});  // the 50th
    v = d.verdict();
    QVERIFY2(v.collapsed && v.beganAtStep == 152, describe(v).c_str());
  }

  void detectorStaysQuietWhenBalanced() {
    CollapseDetector d;
    for (int s = 1; s <= 500; ++s) {
      auto load = wiggled(8, s);
      if (s >= 200 && s < 230) load = {10, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};  // a brief spike (30 < 50 points)
      d.add(s, load);
    }
    CollapseVerdict v = d.verdict();
    QVERIFY2(!v.collapsed, describe(v).c_str());
    QVERIFY2(v.deadExperts.empty(), describe(v).c_str());
    QCOMPARE(v.beganAtStep, -1);
    QVERIFY2(v.reason.rfind("balanced", 0) == 0, v.reason.c_str());
  }

  void detectorReportsRecovery() {
    CollapseDetector d;
    for (int s = 1; s <= 300; ++s) d.add(s, s >= 50 && s < 150 ? std::vector<float>{1, 0, 0, 0} : uniform(4));
    CollapseVerdict v = d.verdict();
    QVERIFY2(!v.collapsed, describe(v).c_str());
    QVERIFY2(v.reason.find("collapsed from step 50 to step 150") != std::string::npos, v.reason.c_str());
  }

  void deadExpertWithoutCollapse() {
    // One of 8 experts starves (share 0.001 < 0.1/8) while the rest share evenly: a dead expert,
    // not a collapse; it takes the full dead window (100 points) to be declared.
    CollapseDetector d;
    std::vector<float> load(8, 1.f);
    load[5] = 0.007f;
    for (int s = 1; s <= 99; ++s) d.add(s, load);
    QVERIFY2(d.verdict().deadExperts.empty(), describe(d.verdict()).c_str());
    d.add(100, load);
    CollapseVerdict v = d.verdict();
    QVERIFY2(!v.collapsed, describe(v).c_str());
    QCOMPARE(v.deadExperts, std::vector<int>({5}));
    QVERIFY2(v.reason.find("dead experts: 5") != std::string::npos, v.reason.c_str());
    // Custom criteria: a shorter window and stricter entropy threshold.
    CollapseCriteria c;
    c.window = 5;
    c.entropyBelow = 0.995;  // {0.4, 0.3, 0.3} has 0.991
    CollapseDetector strict(c);
    for (int s = 1; s <= 5; ++s) strict.add(s, {0.4f, 0.3f, 0.3f});
    QVERIFY2(strict.verdict().collapsed && strict.verdict().beganAtStep == 1, describe(strict.verdict()).c_str());
  }
};

QTEST_APPLESS_MAIN(TestMetrics)
#include "test_metrics.moc"
