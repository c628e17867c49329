#pragma once
// Datasets: seeded generators and CSV import, split into train and held-out test rows.
// Every kind is documented in docs/spec.md (data section).
#include <cstdint>
#include <string>
#include <vector>

#include "spec/spec.h"

namespace rl {

struct Dataset {
  int inputDim = 0;
  int outputDim = 0;
  bool regression = false;
  int classes = 0;                      // classification: outputDim; regression: number of region ids
  std::vector<float> x;                 // [n, inputDim]
  std::vector<int32_t> label;           // [n] class id, or region id for regression
  std::vector<float> target;            // [n, outputDim]: one-hot for classification, values for regression
  std::vector<std::string> classNames;  // [classes]
  size_t size() const { return label.size(); }
};

struct DataSplit {
  Dataset train, test;
};

// Same DataSpec (seed included) -> the same rows in the same order on every machine.
// Throws std::invalid_argument for an unknown kind and FileError ("file:line: reason") for CSV
// problems.
DataSplit makeDataset(const DataSpec& spec);

// Splits per label (stratified): round(count · testFraction) rows of each label go to test, at
// least one row in total on each side when there are two or more rows; both sides are shuffled.
DataSplit splitDataset(const Dataset& all, double testFraction, uint64_t seed);

}  // namespace rl
