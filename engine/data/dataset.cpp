#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "data/generators.h"
#include "spec/spec_names.h"

namespace rl {

namespace {

// Independent streams for the rows and for the split, so either can change without moving the other.
constexpr uint64_t kSplitStream = 0x9E3779B97F4A7C15ull;

void shuffle(std::vector<size_t>& v, SeededRandom& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

Dataset pick(const Dataset& all, const std::vector<size_t>& rows) {
  Dataset d;
  d.inputDim = all.inputDim;
  d.outputDim = all.outputDim;
  d.regression = all.regression;
  d.classes = all.classes;
  d.classNames = all.classNames;
  d.x.reserve(rows.size() * all.inputDim);
  d.target.reserve(rows.size() * all.outputDim);
  for (size_t r : rows) {
    d.x.insert(d.x.end(), all.x.begin() + r * all.inputDim, all.x.begin() + (r + 1) * all.inputDim);
    d.target.insert(d.target.end(), all.target.begin() + r * all.outputDim,
                    all.target.begin() + (r + 1) * all.outputDim);
    d.label.push_back(all.label[r]);
  }
  return d;
}

}  // namespace

void setOneHotTargets(Dataset& d, int classes) {
  d.regression = false;
  d.classes = classes;
  d.outputDim = classes;
  d.target.assign(d.size() * classes, 0.f);
  for (size_t r = 0; r < d.size(); ++r) d.target[r * classes + d.label[r]] = 1.f;
}

DataSplit splitDataset(const Dataset& all, double testFraction, uint64_t seed) {
  SeededRandom rng(seed);
  std::map<int32_t, std::vector<size_t>> byLabel;  // ordered: the same order everywhere
  for (size_t r = 0; r < all.size(); ++r) byLabel[all.label[r]].push_back(r);
  std::vector<size_t> train, test;
  for (auto& [label, rows] : byLabel) {
    shuffle(rows, rng);
    const auto nTest = static_cast<size_t>(std::llround(rows.size() * testFraction));
    test.insert(test.end(), rows.begin(), rows.begin() + std::min(nTest, rows.size()));
    train.insert(train.end(), rows.begin() + std::min(nTest, rows.size()), rows.end());
  }
  // Small sets can round every label to zero test rows (or all of them): keep one on each side.
  if (all.size() >= 2 && test.empty()) {
    test.push_back(train.back());
    train.pop_back();
  } else if (all.size() >= 2 && train.empty()) {
    train.push_back(test.back());
    test.pop_back();
  }
  shuffle(train, rng);
  shuffle(test, rng);
  return {pick(all, train), pick(all, test)};
}

DataSplit makeDataset(const DataSpec& spec) {
  SeededRandom rng(spec.seed);
  Dataset all;
  if (spec.kind == "regression_local")
    all = makeRegressionLocal(spec.samples, spec.noise, rng);
  else if (spec.kind == "vowels")
    all = makeVowels(spec.samples, spec.noise, rng);
  else if (spec.kind == "csv")
    all = loadCsvDataset(spec.csvPath, spec.labelColumn, spec.regression);
  else if (spec.kind == "circle" || spec.kind == "xor" || spec.kind == "gaussians" || spec.kind == "spiral" ||
           spec.kind == "spiral4")
    all = makeToy2d(spec.kind, spec.samples, spec.noise, rng);
  else
    throw std::invalid_argument("data.kind: unknown kind '" + spec.kind + "' (one of: " +
                                joinNames(dataKindNames()) + ")");
  return splitDataset(all, spec.testFraction, spec.seed ^ kSplitStream);
}

}  // namespace rl
