#pragma once
// The problem list validateSpec fills (spec_validate*.cpp), and the checks split across files.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "spec/spec.h"

namespace rl::validation {

inline std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

class Problems {
 public:
  void add(const std::string& path, const std::string& reason) { list_.push_back(path + ": " + reason); }

  // Each check adds one message when the value is outside its range. NaN fails every check.
  void intRange(const std::string& path, long v, long lo, long hi) {
    if (v < lo || v > hi) add(path, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (got " + std::to_string(v) + ")");
  }
  void positive(const std::string& path, double v) {
    if (!(v > 0) || !std::isfinite(v)) add(path, "must be > 0 (got " + num(v) + ")");
  }
  void nonNegative(const std::string& path, double v) {
    if (!(v >= 0) || !std::isfinite(v)) add(path, "must be >= 0 (got " + num(v) + ")");
  }
  void unitInterval(const std::string& path, double v) {  // [0, 1)
    if (!(v >= 0 && v < 1)) add(path, "must be in [0, 1) (got " + num(v) + ")");
  }
  std::vector<std::string> take() { return std::move(list_); }

 private:
  std::vector<std::string> list_;
};

// Limits that keep a spec inside what the engine is built and tested for.
constexpr int kMaxLayers = 32;
constexpr int kMaxExperts = 64;
constexpr int kMaxWidth = 4096;

// spec_validate_transformer.cpp: model.kind transformer (model.transformer, and model.layers /
// head / loss as a Transformer needs them), and the token stream fields of data.
void checkTransformerModel(Problems& p, const Spec& spec);
void checkTokenData(Problems& p, const DataSpec& d);

}  // namespace rl::validation
