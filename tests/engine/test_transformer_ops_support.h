#pragma once
// Shared by tests/engine/test_transformer_ops_*.cpp: a Program with phases "fwd" and "bwd" whose ops
// may be pinned to a device class's variant, a run that starts every float tensor as NaN (so an
// element an op should write and does not shows up), and central finite differences on a backend.
#include "test_support.h"
#include "pinned_variant.h"

#include <map>
#include <optional>

namespace tfops {

struct Rig {
  rl::Program program;
  std::optional<rl::DeviceClass> pin;  // set: every op runs as this device class's variant

  explicit Rig(std::optional<rl::DeviceClass> p = std::nullopt) : pin(p) {}
  void add(const char* phase, std::unique_ptr<rl::Op> op) {
    program.append(phase, pin ? std::make_unique<rltest::PinnedVariant>(std::move(op), *pin) : std::move(op));
  }
};

// What a test writes before running: float inputs (also the starting values of accumulated
// gradients) and int32 inputs (token ids).
struct Inputs {
  std::map<rl::TensorId, std::vector<float>> f;
  std::map<rl::TensorId, std::vector<int32_t>> i;
};

inline void writeInputs(rl::Backend& be, const rl::Program& p, const Inputs& in) {
  for (rl::TensorId t = 0; t < p.tensors.size(); ++t)
    if (p.info(t).dtype == rl::DType::F32) be.writeTensor(p, t, std::vector<float>(p.info(t).count, NAN));
  for (const auto& [t, v] : in.f) be.writeTensor(p, t, v);
  for (const auto& [t, v] : in.i) be.writeTensor(p, t, v);
}

// Loads the Program, writes the inputs over NaN, runs the phases in order and reads back every
// float tensor (indexed by TensorId; int32 tensors come back empty).
inline std::vector<std::vector<float>> run(rl::Backend& be, const rl::Program& p, const Inputs& in,
                                           std::initializer_list<const char*> phases) {
  be.load(p);
  writeInputs(be, p, in);
  for (const char* phase : phases) be.run(phase);
  std::vector<std::vector<float>> out(p.tensors.size());
  for (rl::TensorId t = 0; t < p.tensors.size(); ++t)
    if (p.info(t).dtype == rl::DType::F32) out[t] = be.readTensor<float>(p, t);
  return out;
}

// d/dx of L = Σ_i w[i] · out[i] after phase "fwd", for every element of tensor x (starting from
// `base`; the backend holds the other inputs), by central differences with step h, in double.
// The backend's x is left at `base`.
inline std::vector<float> numericGradient(rl::Backend& be, const rl::Program& p, rl::TensorId x,
                                          const std::vector<float>& base, rl::TensorId out,
                                          const std::vector<float>& w, float h) {
  auto loss = [&](const std::vector<float>& v) {
    be.writeTensor(p, x, v);
    be.run("fwd");
    auto y = be.readTensor<float>(p, out);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += double(w[i]) * y[i];
    return s;
  };
  std::vector<float> g(base.size()), v = base;
  for (size_t i = 0; i < base.size(); ++i) {
    const float up = base[i] + h, down = base[i] - h;
    v[i] = up;
    const double lUp = loss(v);
    v[i] = down;
    const double lDown = loss(v);
    v[i] = base[i];
    g[i] = float((lUp - lDown) / (double(up) - double(down)));  // the step as rounded in float
  }
  be.writeTensor(p, x, base);
  return g;
}

// Bit-for-bit equality (NaN never equals): for ops whose arithmetic is the same on both backends.
#define TF_EXPECT_EQUAL(actual, expected, what)                                                      \
  do {                                                                                             \
    QCOMPARE((actual).size(), (expected).size());                                                  \
    for (size_t i_ = 0; i_ < (actual).size(); ++i_)                                                \
      if (!((actual)[i_] == (expected)[i_])) {                                                     \
        std::ostringstream os_;                                                                    \
        os_ << what << ": element " << i_ << " got " << (actual)[i_] << " expected " << (expected)[i_] \
            << " (exact comparison)";                                                              \
        QFAIL(os_.str().c_str());                                                                  \
      }                                                                                            \
  } while (0)

inline std::vector<float> minus(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

}  // namespace tfops
