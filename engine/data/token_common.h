#pragma once
// Shared by the token stream generators: array set-up and the distinct-sequence check.
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "data/token_dataset.h"

namespace rl {

// Redraws allowed for one sequence before the generator gives up: the space of sequences is then
// too small for the number asked for.
constexpr int kMaxRedraws = 200;

// Sizes every per-sequence and per-token array for B sequences of T tokens.
inline void allocateTokenArrays(TokenDataset& d, size_t sequences, int length) {
  const size_t n = sequences * static_cast<size_t>(length);
  d.length = length;
  d.ids.assign(n, 0);
  d.nextToken.assign(n, -1);
  d.taskLabel.assign(n, -1);
  d.languageLabel.assign(n, -1);
  d.position.assign(n, 0);
  d.role.assign(n, 0);
  d.sequenceClass.assign(sequences, 0);
  d.group.assign(sequences, 0);
}

// Remembers the sequences drawn so far (as raw bytes of their ids).
class DistinctSequences {
 public:
  // True when [begin, begin + count) has not been seen, and remembers it.
  bool insert(const int32_t* begin, size_t count) {
    return seen_.emplace(reinterpret_cast<const char*>(begin), count * sizeof(int32_t)).second;
  }

 private:
  std::unordered_set<std::string> seen_;
};

}  // namespace rl
