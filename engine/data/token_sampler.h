#pragma once
// Draws the training sequences of each step, deterministically from a seed. Its whole state is a
// string, so a Session snapshot can store it and a restored run draws the same batches again
// (as the Session does for the vector datasets).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rl {

class TokenBatchSampler {
 public:
  explicit TokenBatchSampler(uint64_t seed);

  // `batch` row indices in [0, rows), drawn uniformly with replacement. rows must be > 0.
  std::vector<uint32_t> next(int batch, size_t rows);

  // The generator's state as text; restore() continues exactly where state() was taken.
  std::string state() const;
  // Throws std::invalid_argument when the text is not a state written by state().
  void restore(const std::string& state);

 private:
  std::mt19937_64 rng_;
};

}  // namespace rl
