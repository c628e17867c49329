#pragma once
// A backend runs a Program's phases on its own copy of the arena.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/program.h"

namespace rl {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;    // "cpu" or "vulkan"
  virtual std::string device() const = 0;  // human-readable device description
  // Allocates the arena (zeroed), prepares every phase (pipelines, recorded command buffers).
  virtual void load(const Program& program) = 0;
  // Runs one phase to completion (synchronous).
  virtual void run(const std::string& phase) = 0;
  // Raw word access to the arena (host <-> device copies on Vulkan).
  virtual void write(uint64_t offsetWords, const void* src, uint64_t words) = 0;
  virtual void read(uint64_t offsetWords, void* dst, uint64_t words) const = 0;

  // Each op of a phase run alone `reps` times: mean milliseconds per op, in phase order.
  // For benchmarks and profiling only (it changes the arena like running the ops would).
  struct OpTiming {
    std::string op;
    double ms = 0;
  };
  virtual std::vector<OpTiming> profile(const std::string& phase, int reps) = 0;

  template <class T>
  void writeTensor(const Program& p, TensorId t, const std::vector<T>& v) {
    static_assert(sizeof(T) == 4);
    write(p.info(t).offset, v.data(), std::min<uint64_t>(v.size(), p.info(t).count));
  }
  template <class T>
  std::vector<T> readTensor(const Program& p, TensorId t) const {
    static_assert(sizeof(T) == 4);
    std::vector<T> v(p.info(t).count);
    read(p.info(t).offset, v.data(), v.size());
    return v;
  }
};

}  // namespace rl
