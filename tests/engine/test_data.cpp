// Datasets: same seed -> same rows, shapes and targets consistent, classes balanced, the default
// preset's data learnable, and CSV import with file:line errors for every kind of bad input.
#include "test_support.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/dataset.h"
#include "data/seeded_random.h"
#include "io/file_error.h"

using namespace rl;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kGenerated = {"circle", "xor", "gaussians", "spiral", "spiral4", "regression_local", "vowels"};

DataSpec spec(const std::string& kind, int samples = 1000, uint64_t seed = 1, double noise = 0.1) {
  DataSpec d;
  d.kind = kind;
  d.samples = samples;
  d.seed = seed;
  d.noise = noise;
  d.testFraction = 0.2;
  return d;
}

bool identical(const Dataset& a, const Dataset& b) {
  return a.x.size() == b.x.size() && std::memcmp(a.x.data(), b.x.data(), a.x.size() * 4) == 0 && a.label == b.label &&
         a.target.size() == b.target.size() && std::memcmp(a.target.data(), b.target.data(), a.target.size() * 4) == 0;
}

std::map<int, int> classCounts(const Dataset& d) {
  std::map<int, int> c;
  for (int32_t l : d.label) ++c[l];
  return c;
}

// k-nearest-neighbour accuracy of test against train: a model-free estimate of learnability.
double knnAccuracy(const Dataset& train, const Dataset& test, int k) {
  int correct = 0;
  std::vector<std::pair<float, int>> dist(train.size());
  for (size_t i = 0; i < test.size(); ++i) {
    for (size_t j = 0; j < train.size(); ++j) {
      float s = 0;
      for (int f = 0; f < test.inputDim; ++f) {
        const float diff = test.x[i * test.inputDim + f] - train.x[j * train.inputDim + f];
        s += diff * diff;
      }
      dist[j] = {s, train.label[j]};
    }
    std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
    std::map<int, int> votes;
    for (int n = 0; n < k; ++n) ++votes[dist[n].second];
    int best = -1, bestVotes = -1;
    for (auto [label, v] : votes)
      if (v > bestVotes) best = label, bestVotes = v;
    correct += best == test.label[i];
  }
  return double(correct) / test.size();
}

struct TempCsv {
  std::string path;
  explicit TempCsv(const std::string& text) {
    static int counter = 0;
    path = (fs::temp_directory_path() / ("routelab_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".csv")).string();
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempCsv() { fs::remove(path); }
};

DataSpec csvSpec(const std::string& path, const std::string& label, bool regression = false) {
  DataSpec d = spec("csv");
  d.csvPath = path;
  d.labelColumn = label;
  d.regression = regression;
  d.testFraction = 0.25;
  return d;
}

// The FileError message of loading the CSV text ("" when it loads).
std::string csvError(const std::string& text, const std::string& label = "y", bool regression = false, std::string* path = nullptr) {
  TempCsv f(text);
  if (path) *path = f.path;
  try {
    makeDataset(csvSpec(f.path, label, regression));
  } catch (const FileError& e) {
    std::string msg = e.what();
    if (msg.rfind(f.path, 0) == 0) msg = "FILE" + msg.substr(f.path.size());  // messages start with the path
    return msg;
  }
  return "";
}

}  // namespace

class TestData : public QObject {
  Q_OBJECT
 private slots:
  void seededRandomIsPinned() {
    // The raw mt19937_64 stream is fixed by the C++ standard; these transforms are ours, so the
    // values are the same with every standard library.
    SeededRandom r(1);
    const double u = r.uniform();
    QCOMPARE(u, double(std::mt19937_64(1)() >> 11) / 9007199254740992.0);
    SeededRandom a(7), b(7);
    for (int i = 0; i < 1000; ++i) {
      QCOMPARE(a.normal(), b.normal());
      QCOMPARE(a.below(10), b.below(10));
    }
    // Mean and variance of the normals are right (50k draws: standard errors 0.0045 and 0.0063).
    SeededRandom g(3);
    double s = 0, s2 = 0;
    for (int i = 0; i < 50000; ++i) {
      const double v = g.normal();
      s += v;
      s2 += v * v;
    }
    QVERIFY2(std::abs(s / 50000) < 0.02, qPrintable(QString("mean %1").arg(s / 50000)));
    QVERIFY2(std::abs(s2 / 50000 - 1) < 0.03, qPrintable(QString("variance %1").arg(s2 / 50000)));
  }

  void sameSeedSameData() {
    for (const auto& kind : kGenerated) {
      DataSplit a = makeDataset(spec(kind)), b = makeDataset(spec(kind)), c = makeDataset(spec(kind, 1000, 2));
      QVERIFY2(identical(a.train, b.train) && identical(a.test, b.test), kind.c_str());
      QVERIFY2(!identical(a.train, c.train), (kind + ": seed 2 gave seed 1's data").c_str());
    }
  }

  void goldenValues() {
    // Pinned rows of the default preset's data (seed 1): a change to a generator or to the split
    // shows up here. Loose tolerance: sin/cos/log may differ in the last bit between libms.
    DataSplit s = makeDataset(spec("spiral4", 4000, 1, 0.1));
    const std::vector<float> expectTrain = {0.24039869f, -0.413159817f, -0.232428819f, 0.421032697f};
    const std::vector<float> expectTest = {-0.167554304f, -0.64318186f, -0.865204275f, 0.335463524f};
    std::vector<float> train(s.train.x.begin(), s.train.x.begin() + 4), test(s.test.x.begin(), s.test.x.begin() + 4);
    RL_EXPECT_CLOSE(train, expectTrain, 1e-6, 1e-5, "spiral4 seed 1 first train rows");
    RL_EXPECT_CLOSE(test, expectTest, 1e-6, 1e-5, "spiral4 seed 1 first test rows");
    QCOMPARE(s.train.label[0], 2);
  }

  void shapesAndTargetsAreConsistent() {
    for (const auto& kind : kGenerated) {
      const int samples = 1003;
      DataSplit s = makeDataset(spec(kind, samples));
      const std::string what = kind;
      QVERIFY2(s.train.size() + s.test.size() == size_t(samples), what.c_str());
      QVERIFY2(std::abs(int(s.test.size()) - int(std::lround(samples * 0.2))) <= 4, what.c_str());
      for (const Dataset* d : {&s.train, &s.test}) {
        QCOMPARE(d->inputDim, 2);
        QCOMPARE(d->x.size(), d->size() * 2);
        QCOMPARE(d->target.size(), d->size() * d->outputDim);
        QCOMPARE(d->classNames.size(), size_t(d->classes));
        QVERIFY2(d->regression == (kind == "regression_local"), what.c_str());
        for (float v : d->x) QVERIFY2(std::isfinite(v) && std::abs(v) < 10, what.c_str());
        for (size_t r = 0; r < d->size(); ++r) {
          QVERIFY2(d->label[r] >= 0 && d->label[r] < d->classes, what.c_str());
          if (d->regression) continue;
          for (int c = 0; c < d->outputDim; ++c)  // one-hot of the label
            QCOMPARE(d->target[r * d->outputDim + c], c == d->label[r] ? 1.f : 0.f);
        }
      }
      const int expectedClasses = kind == "spiral4" || kind == "vowels" || kind == "regression_local" ? 4 : 2;
      QVERIFY2(s.train.classes == expectedClasses, what.c_str());
      QCOMPARE(s.train.outputDim, kind == "regression_local" ? 1 : expectedClasses);
    }
  }

  void classesAreBalanced() {
    for (const auto& kind : kGenerated) {
      DataSplit s = makeDataset(spec(kind, 1003));
      for (const Dataset* d : {&s.train, &s.test}) {
        auto counts = classCounts(*d);
        QCOMPARE(int(counts.size()), d->classes);
        int lo = INT32_MAX, hi = 0;
        for (auto [label, n] : counts) lo = std::min(lo, n), hi = std::max(hi, n);
        QVERIFY2(hi - lo <= 1, qPrintable(QString("%1: class counts from %2 to %3").arg(kind.c_str()).arg(lo).arg(hi)));
      }
      // Train and test are shuffled: the first rows are not all one class.
      std::set<int32_t> firstLabels(s.test.label.begin(), s.test.label.begin() + 20);
      QVERIFY2(firstLabels.size() > 1, kind.c_str());
    }
  }

  void defaultPresetDataIsLearnable() {
    // spiral4 with noise 0.1 (the default preset): a 7-nearest-neighbour classifier separates it
    // almost perfectly, so a good model can pass 95%.
    DataSplit s = makeDataset(spec("spiral4", 4000, 1, 0.1));
    const double acc = knnAccuracy(s.train, s.test, 7);
    QVERIFY2(acc >= 0.98, qPrintable(QString("spiral4 kNN accuracy %1 < 0.98").arg(acc)));
    // vowels overlap but stay classifiable.
    DataSplit v = makeDataset(spec("vowels", 2000, 1, 1.0));
    const double vacc = knnAccuracy(v.train, v.test, 15);
    qInfo("kNN accuracy: spiral4 %.4f, vowels %.4f", acc, vacc);
    QVERIFY2(vacc >= 0.9 && vacc < 1.0, qPrintable(QString("vowels kNN accuracy %1 outside [0.9, 1)").arg(vacc)));
    // More noise makes the spiral harder.
    DataSplit n = makeDataset(spec("spiral4", 4000, 1, 0.6));
    QVERIFY(knnAccuracy(n.train, n.test, 7) < acc);
  }

  void regressionLocalFollowsItsRegions() {
    DataSplit s = makeDataset(spec("regression_local", 400, 5, 0.0));
    const double pi = 3.14159265358979323846;
    for (const Dataset* d : {&s.train, &s.test})
      for (size_t r = 0; r < d->size(); ++r) {
        const double x0 = d->x[2 * r], x1 = d->x[2 * r + 1];
        const int region = (x0 >= 0 ? 1 : 0) + (x1 >= 0 ? 2 : 0);
        QCOMPARE(d->label[r], region);
        QVERIFY(x0 >= -1 && x0 < 1 && x1 >= -1 && x1 < 1);
        const double f = region == 0 ? 0.5 + 0.8 * x0 + 0.4 * x1
                         : region == 1 ? 1.5 * x0 * x0 - 0.8
                         : region == 2 ? 0.8 * std::sin(2 * pi * x1)
                                       : -0.3 - 0.6 * x0 + 0.9 * x1;
        QVERIFY2(std::abs(d->target[r] - f) < 1e-5,
                 qPrintable(QString("row %1 region %2: target %3, expected %4").arg(r).arg(region).arg(d->target[r]).arg(f)));
      }
  }

  void vowelClustersSitWhereDocumented() {
    DataSplit s = makeDataset(spec("vowels", 400, 1, 0.0));  // no spread: every point is its class mean
    QCOMPARE(s.train.classNames, std::vector<std::string>({"i", "a", "u", "e"}));
    const double f[4][2] = {{270, 2290}, {730, 1090}, {300, 870}, {530, 1840}};
    for (size_t r = 0; r < s.train.size(); ++r) {
      const int c = s.train.label[r];
      QVERIFY(std::abs(s.train.x[2 * r] - (f[c][0] - 457.5) / 187) < 1e-5);
      QVERIFY(std::abs(s.train.x[2 * r + 1] - (f[c][1] - 1522.5) / 566) < 1e-5);
    }
  }

  void unknownKindIsRejected() {
    try {
      makeDataset(spec("spirals"));
      QFAIL("unknown kind accepted");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(std::string(e.what()).find("spirals") != std::string::npos, e.what());
    }
  }

  void smallSplitsKeepBothSides() {
    Dataset d;
    d.inputDim = 1;
    d.outputDim = 1;
    d.classes = 1;
    d.regression = true;
    d.x = {1, 2};
    d.target = {1, 2};
    d.label = {0, 0};
    DataSplit s = splitDataset(d, 0.1, 1);
    QCOMPARE(s.train.size(), size_t(1));
    QCOMPARE(s.test.size(), size_t(1));
    QCOMPARE(s.train.x[0] + s.test.x[0], 3.f);
  }

  void csvClassIds() {
    TempCsv f("a,y,b\n1,0,10\n2,1,20\n3,2,30\n4,0,40\n5,1,50\n6,2,60\n7,0,70\n8,1,80\n");
    DataSplit s = makeDataset(csvSpec(f.path, "y"));
    QCOMPARE(s.train.size() + s.test.size(), size_t(8));
    QCOMPARE(s.train.inputDim, 2);
    QCOMPARE(s.train.outputDim, 3);
    QCOMPARE(s.train.classNames, std::vector<std::string>({"0", "1", "2"}));
    // Feature columns keep file order around the label column: b = 10 a, label = (a - 1) mod 3.
    for (const Dataset* d : {&s.train, &s.test})
      for (size_t r = 0; r < d->size(); ++r) {
        QCOMPARE(d->x[2 * r + 1], 10 * d->x[2 * r]);
        QCOMPARE(d->label[r], (int(d->x[2 * r]) - 1) % 3);
        QCOMPARE(d->target[3 * r + d->label[r]], 1.f);
      }
    // Same seed, same split.
    DataSplit again = makeDataset(csvSpec(f.path, "y"));
    QVERIFY(identical(s.train, again.train) && identical(s.test, again.test));
  }

  void csvNamedClassesAndRegression() {
    TempCsv f("x,species\n1.5,setosa\n2.5,virginica\n3.5,setosa\n4.5,versicolor\n5.5,virginica\n6.5,versicolor\n");
    DataSplit s = makeDataset(csvSpec(f.path, "species"));
    QCOMPARE(s.train.classNames, std::vector<std::string>({"setosa", "virginica", "versicolor"}));  // first appearance
    for (const Dataset* d : {&s.train, &s.test})
      for (size_t r = 0; r < d->size(); ++r) {
        const int a = int(d->x[r]);
        QCOMPARE(d->label[r], a == 1 || a == 3 ? 0 : a == 2 || a == 5 ? 1 : 2);
      }
    TempCsv g("u,v,t\n1,2,0.5\n3,4,-1.25\n5,6,7\n7,8,1e3\n");
    DataSplit r = makeDataset(csvSpec(g.path, "t", true));
    QVERIFY(r.train.regression);
    QCOMPARE(r.train.outputDim, 1);
    for (const Dataset* d : {&r.train, &r.test})
      for (size_t i = 0; i < d->size(); ++i) {
        const float u = d->x[2 * i];
        QCOMPARE(d->target[i], u == 1 ? 0.5f : u == 3 ? -1.25f : u == 5 ? 7.f : 1000.f);
        QCOMPARE(d->label[i], 0);
      }
  }

  void csvErrorsNameTheLine() {
    struct Case {
      std::string text, label;
      bool regression;
      std::string expected;
    };
    const std::vector<Case> cases = {
        {"", "y", false, "FILE:1: empty file (a header row is required)"},
        {"a,y\n1,0\n2,1\n3,x\n", "y", true, "FILE:4: label column 'y': 'x' is not a finite number"},
        {"a,y\n1,0\nabc,1\n", "y", false, "FILE:3: column 'a': 'abc' is not a finite number"},
        {"a,y\n1,0\nnan,1\n", "y", false, "FILE:3: column 'a': 'nan' is not a finite number"},
        {"a,y\n1,0\n2,1,3\n", "y", false, "FILE:3: 3 cells, the header has 2"},
        {"a,y\n1,0\n2\n", "y", false, "FILE:3: 1 cells, the header has 2"},
        {"a,b\n1,0\n2,1\n", "y", false, "FILE:1: no label column named 'y' (columns: a, b)"},
        {"a,y\n1,0\n2,1.5\n", "y", false, "FILE:3: label '1.5' is not a class id (a whole number >= 0)"},
        {"a,y\n1,0\n2,-1\n", "y", false, "FILE:3: label '-1' is not a class id (a whole number >= 0)"},
        {"a,y\n1,0\n2,5000\n", "y", false, "FILE:3: class id 5000 exceeds the limit of 4096 classes"},
        {"a,y\n", "y", false, "FILE:1: needs at least 2 data rows to split into train and test (has 0)"},
        {"y\n1\n2\n", "y", false, "FILE:1: needs at least one feature column besides 'y'"},
        {"a,y\n1,cat\n2,cat\n", "y", false, "FILE:1: label column 'y' holds a single class ('cat'); classification needs at least two"},
    };
    for (const auto& c : cases) {
      const std::string msg = csvError(c.text, c.label, c.regression);
      QVERIFY2(msg == c.expected, qPrintable(QString::fromStdString("expected: " + c.expected + "\n  got:      " + msg)));
    }
    std::string path;
    QVERIFY(csvError("a,y\n1,0\n2,1\n", "y", false, &path).empty());
    DataSpec missing = csvSpec("/nonexistent/dir/x.csv", "y");
    try {
      makeDataset(missing);
      QFAIL("a missing CSV loaded");
    } catch (const FileError& e) {
      QVERIFY2(std::string(e.what()).rfind("/nonexistent/dir/x.csv: cannot open", 0) == 0, e.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestData)
#include "test_data.moc"
