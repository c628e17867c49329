#pragma once
// One op call: what a backend needs to run it. The CPU backend calls runCpu() on the arena;
// the Vulkan backend binds bindings() as storage-buffer ranges 0..n-1, pushes pushConstants(),
// specialises constant 0 = localSize() and 1.. = specConstants(), and dispatches grid().
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "graph/program.h"

namespace rl {

// CPU access to an arena laid out by a Program.
class ArenaView {
 public:
  ArenaView(const Program& p, uint32_t* words) : program_(p), words_(words) {}
  float* f(TensorId t) const { return reinterpret_cast<float*>(words_ + program_.info(t).offset); }
  int32_t* i(TensorId t) const { return reinterpret_cast<int32_t*>(words_ + program_.info(t).offset); }
  uint32_t* word(uint64_t offset) const { return words_ + offset; }
  const TensorInfo& info(TensorId t) const { return program_.info(t); }

 private:
  const Program& program_;
  uint32_t* words_;
};

// The class of device a Vulkan backend runs on: some ops keep one variant per class (lavapipe-style
// CPU implementations want register tiles and image loads; real GPUs want shared-memory tiling).
enum class DeviceClass : uint8_t { CpuImplementation, Gpu };

struct Grid {
  uint32_t x = 1, y = 1, z = 1;
};

inline uint32_t ceilDiv(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

// A binding may be a whole tensor or a raw word range of the arena (used for the contiguous
// parameter / gradient / optimizer-state ranges).
struct Binding {
  uint64_t offset = 0;  // words
  uint64_t words = 0;
};

class Op {
 public:
  virtual ~Op() = default;
  virtual std::string name() const = 0;    // for messages, e.g. "linear_fwd(moe.0.experts.fc1)"
  virtual std::string shader() const = 0;  // shaders/<shader>.comp
  virtual std::vector<Binding> bindings() const = 0;
  virtual std::vector<uint32_t> pushConstants() const = 0;
  virtual std::vector<uint32_t> specConstants() const { return {}; }
  virtual uint32_t localSize() const { return 64; }
  virtual Grid grid() const = 0;
  virtual void runCpu(const ArenaView& arena) const = 0;
  // Bindings read as rgba32f texel buffers (readonly imageBuffer) instead of storage buffers:
  // entry i true = binding i. Empty or shorter = storage buffers. Offsets are 256-byte aligned.
  virtual std::vector<bool> texelBindings() const { return {}; }
  // The op a Vulkan backend dispatches on a device of this class; ops with per-class variants
  // return the matching one (it must compute the same thing).
  virtual const Op& forDevice(DeviceClass) const { return *this; }
};

// Helper for ops whose push-constant block is a plain struct P (mirrors the shader's block).
template <class P>
std::vector<uint32_t> pushWords(const P& p) {
  static_assert(sizeof(P) % 4 == 0 && sizeof(P) <= 128, "push constants: whole words, <= 128 bytes");
  std::vector<uint32_t> w(sizeof(P) / 4);
  std::memcpy(w.data(), &p, sizeof(P));
  return w;
}

inline Binding bind(const Program& p, TensorId t) { return {p.info(t).offset, p.info(t).count}; }

}  // namespace rl
