#pragma once
// Constructor-time checks that an op's tensors are as large as its params claim, so a wrong shape
// is a clear exception when the Program is built rather than a silent out-of-bounds access later.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "graph/program.h"
#include "ops/op.h"

namespace rl {

inline void requireWords(const Program& p, TensorId t, uint64_t words, const std::string& op, const char* role) {
  const TensorInfo& info = p.info(t);
  if (info.count < words)
    throw std::invalid_argument(op + ": " + role + " '" + info.name + "' has " + std::to_string(info.count) +
                                " elements, needs " + std::to_string(words));
}

inline void requireDType(const Program& p, TensorId t, DType d, const std::string& op, const char* role) {
  if (p.info(t).dtype != d)
    throw std::invalid_argument(op + ": " + role + " '" + p.info(t).name + "' has the wrong element type");
}

inline void requireRange(const Binding& b, uint64_t words, const std::string& op, const char* role) {
  if (b.words < words)
    throw std::invalid_argument(op + ": " + role + " range has " + std::to_string(b.words) + " words, needs " +
                                std::to_string(words));
}

}  // namespace rl
