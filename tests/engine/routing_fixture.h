#pragma once
// Shared by the routing tests: a Program with its inputs that runs the same way on any backend,
// and input generators with clear gaps so top-k choices cannot flip between backends.
#include "test_support.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "ops/globals.h"
#include "spec/spec.h"

namespace rltest {

// A Program plus the words of its inputs: load, write inputs, run phases, read back.
struct Bench {
  rl::Program program;
  std::vector<std::pair<rl::TensorId, std::vector<uint32_t>>> inputs;

  rl::TensorId f32(const std::string& name, std::vector<uint32_t> shape) {
    return program.add(name, std::move(shape), rl::Role::Activation);
  }
  rl::TensorId i32(const std::string& name, std::vector<uint32_t> shape) {
    return program.add(name, std::move(shape), rl::Role::Activation, rl::DType::I32);
  }
  template <class T>
  void set(rl::TensorId t, const std::vector<T>& v) {
    static_assert(sizeof(T) == 4);
    std::vector<uint32_t> w(v.size());
    std::memcpy(w.data(), v.data(), v.size() * 4);
    for (auto& in : inputs)
      if (in.first == t) {
        in.second = std::move(w);
        return;
      }
    inputs.emplace_back(t, std::move(w));
  }
  rl::TensorId globals(uint32_t step, uint32_t seed, uint32_t train, const std::string& name = rl::kGlobalsTensor) {
    rl::TensorId g = program.add(name, {4}, rl::Role::Input);
    setGlobals(g, step, seed, train);
    return g;
  }
  void setGlobals(rl::TensorId g, uint32_t step, uint32_t seed, uint32_t train) {
    float lr = 0.f;
    uint32_t lrWord;
    std::memcpy(&lrWord, &lr, 4);
    set(g, std::vector<uint32_t>{step, seed, lrWord, train});
  }
  void load(rl::Backend& b) const {
    b.load(program);
    for (const auto& [t, w] : inputs) b.write(program.info(t).offset, w.data(), w.size());
  }
  // Rewrites the inputs (after a test changed some) without reloading.
  void rewrite(rl::Backend& b) const {
    for (const auto& [t, w] : inputs) b.write(program.info(t).offset, w.data(), w.size());
  }
  std::vector<float> f(const rl::Backend& b, rl::TensorId t) const { return b.readTensor<float>(program, t); }
  std::vector<int32_t> i(const rl::Backend& b, rl::TensorId t) const { return b.readTensor<int32_t>(program, t); }
};

// Logits whose values in a row are at least 0.2 apart (a shuffled ladder plus small jitter).
inline std::vector<float> gappedLogits(uint32_t N, uint32_t E, uint32_t seed, float step = 0.3f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> jitter(-0.05f, 0.05f);
  std::vector<float> v(size_t(N) * E);
  std::vector<uint32_t> perm(E);
  for (uint32_t n = 0; n < N; ++n) {
    std::iota(perm.begin(), perm.end(), 0u);
    std::shuffle(perm.begin(), perm.end(), gen);
    for (uint32_t e = 0; e < E; ++e) v[size_t(n) * E + e] = (float(perm[e]) - 0.5f * E) * step + jitter(gen);
  }
  return v;
}

// k distinct experts per row, drawn with a skew towards low expert ids so some experts overflow.
inline std::vector<int32_t> skewedChoices(uint32_t N, uint32_t E, uint32_t k, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<double> weight(E);
  for (uint32_t e = 0; e < E; ++e) weight[e] = 1.0 / (1.0 + e);
  std::vector<int32_t> idx(size_t(N) * k);
  for (uint32_t n = 0; n < N; ++n) {
    std::vector<double> w = weight;
    for (uint32_t j = 0; j < k; ++j) {
      std::discrete_distribution<int> d(w.begin(), w.end());
      int e = d(gen);
      idx[size_t(n) * k + j] = e;
      w[e] = 0.0;  // distinct within the row
    }
  }
  return idx;
}

// Softmax rows of random logits: valid probabilities.
inline std::vector<float> randomProbs(uint32_t N, uint32_t E, uint32_t seed) {
  std::vector<float> v = randomVector(size_t(N) * E, seed, -2.f, 2.f);
  for (uint32_t n = 0; n < N; ++n) {
    float* r = v.data() + size_t(n) * E;
    float m = *std::max_element(r, r + E), s = 0.f;
    for (uint32_t e = 0; e < E; ++e) s += (r[e] = std::exp(r[e] - m));
    for (uint32_t e = 0; e < E; ++e) r[e] /= s;
  }
  return v;
}

// The (E, k) pairs the parity tests cover: k in {1, 2, E}, k <= E.
inline std::vector<std::pair<uint32_t, uint32_t>> expertChoicePairs() {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (uint32_t E : {1u, 2u, 3u, 8u, 16u})
    for (uint32_t k : {1u, 2u, E})
      if (k <= E && std::find(out.begin(), out.end(), std::make_pair(E, k)) == out.end()) out.emplace_back(E, k);
  return out;
}
inline const std::vector<uint32_t>& tokenCounts() {
  static const std::vector<uint32_t> n = {1, 5, 63, 64, 65, 256, 1000};
  return n;
}

// First index where two int vectors differ, or -1.
inline long firstDifference(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return long(i);
  return -1;
}

#define RL_EXPECT_EQUAL_INTS(actual, expected, what)                                                        \
  do {                                                                                                       \
    long at_ = rltest::firstDifference(actual, expected);                                                    \
    if (at_ >= 0) {                                                                                          \
      std::ostringstream os_;                                                                                \
      os_ << what << ": sizes " << (actual).size() << "/" << (expected).size() << ", first difference at "   \
          << at_;                                                                                            \
      if (size_t(at_) < (actual).size() && size_t(at_) < (expected).size())                                  \
        os_ << ": got " << (actual)[at_] << " expected " << (expected)[at_];                                \
      QFAIL(os_.str().c_str());                                                                              \
    }                                                                                                        \
  } while (0)

}  // namespace rltest
