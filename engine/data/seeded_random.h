#pragma once
// Random numbers that are the same on every standard library: std::mt19937_64's raw output is
// fully specified, but std::uniform_real_distribution / normal_distribution are not, so the
// transforms are written here.
#include <cmath>
#include <cstdint>
#include <random>

namespace rl {

class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : gen_(seed) {}

  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(gen_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Standard normal by Marsaglia's polar method (needs only log and sqrt).
  double normal() {
    if (haveSpare_) {
      haveSpare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    haveSpare_ = true;
    return u * f;
  }

  // Uniform integer in [0, n), unbiased (rejects the short last block of 2^64 mod n values).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do r = gen_();
    while (r >= limit);
    return r % n;
  }

 private:
  std::mt19937_64 gen_;
  double spare_ = 0;
  bool haveSpare_ = false;
};

}  // namespace rl
