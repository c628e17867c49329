#include "data/token_sampler.h"

#include <sstream>
#include <stdexcept>

namespace rl {

TokenBatchSampler::TokenBatchSampler(uint64_t seed) : rng_(seed) {}

std::vector<uint32_t> TokenBatchSampler::next(int batch, size_t rows) {
  if (rows == 0 || rows > UINT32_MAX) throw std::invalid_argument("TokenBatchSampler: rows must be in [1, 2^32)");
  if (batch < 0) throw std::invalid_argument("TokenBatchSampler: negative batch size");
  // Unbiased: reject the short last block of 2^64 mod rows values.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % rows;
  std::vector<uint32_t> out(static_cast<size_t>(batch));
  for (auto& r : out) {
    uint64_t v;
    do v = rng_();
    while (v >= limit);
    r = static_cast<uint32_t>(v % rows);
  }
  return out;
}

std::string TokenBatchSampler::state() const {
  std::ostringstream os;
  os << rng_;
  return os.str();
}

void TokenBatchSampler::restore(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 g;
  is >> g;
  std::string rest;
  if (is.fail() || (is >> rest, !rest.empty()))
    throw std::invalid_argument("TokenBatchSampler: not a sampler state (" + std::to_string(state.size()) + " characters)");
  rng_ = g;
}

}  // namespace rl
