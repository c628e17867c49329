#pragma once
// Shared by engine tests: seeded fills, Vulkan backend for parity, comparisons that print.
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/factory.h"
#include "graph/program.h"
#include "ops/op.h"

namespace rltest {

// The Vulkan backend on the pinned device. Parity tests fail (not skip) without it: this project
// always has lavapipe. Set ROUTELAB_ALLOW_NO_VULKAN=1 to turn that failure into a skip elsewhere.
inline std::unique_ptr<rl::Backend> vulkanBackend() {
  return rl::createBackend(rl::BackendChoice::Vulkan).backend;
}
#define RL_REQUIRE_VULKAN(ptr)                                                        \
  do {                                                                                \
    try {                                                                             \
      ptr = rltest::vulkanBackend();                                                  \
    } catch (const std::exception& e) {                                               \
      if (std::getenv("ROUTELAB_ALLOW_NO_VULKAN")) QSKIP(e.what());                   \
      QFAIL(e.what());                                                                \
    }                                                                                 \
  } while (0)

inline std::vector<float> randomVector(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// Max |a-b| / (atol + rtol*|b|) over the elements: <= 1 passes.
struct Compare {
  double worst = 0;
  size_t at = 0;
  float a = 0, b = 0;
};
inline Compare compare(const std::vector<float>& a, const std::vector<float>& b, double atol, double rtol) {
  Compare c;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    double r = std::abs(double(a[i]) - double(b[i])) / (atol + rtol * std::abs(double(b[i])));
    if (!(r <= c.worst)) {  // also catches NaN
      c.worst = std::isnan(r) ? INFINITY : r;
      c.at = i;
      c.a = a[i];
      c.b = b[i];
    }
  }
  return c;
}

#define RL_EXPECT_CLOSE(actual, expected, atol, rtol, what)                                           \
  do {                                                                                                \
    QCOMPARE((actual).size(), (expected).size());                                                     \
    auto cmp_ = rltest::compare(actual, expected, atol, rtol);                                        \
    if (cmp_.worst > 1.0) {                                                                           \
      std::ostringstream os_;                                                                         \
      os_ << what << ": element " << cmp_.at << " got " << cmp_.a << " expected " << cmp_.b           \
          << " (atol " << (atol) << ", rtol " << (rtol) << ", ratio " << cmp_.worst << ")";           \
      QFAIL(os_.str().c_str());                                                                       \
    }                                                                                                 \
  } while (0)

}  // namespace rltest
