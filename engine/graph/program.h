#pragma once
// Program: tensor slots in one arena plus named phases, each an ordered list of op calls.
// The arena is counted in 4-byte words; float and int32 tensors share it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rl {

class Op;

enum class Role : uint8_t { Param, Grad, Activation, Gradient, OptState, Input, Output };
enum class DType : uint8_t { F32, I32 };

using TensorId = uint32_t;

struct TensorInfo {
  std::string name;
  std::vector<uint32_t> shape;
  Role role = Role::Activation;
  DType dtype = DType::F32;
  uint64_t offset = 0;  // words from arena start, multiple of kAlignWords
  uint64_t count = 0;   // words (product of shape)
};

// 64 words = 256 bytes: the largest minStorageBufferOffsetAlignment / texel alignment Vulkan allows.
constexpr uint64_t kAlignWords = 64;

struct Program {
  Program();
  ~Program();
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;

  std::vector<TensorInfo> tensors;
  std::map<std::string, TensorId> byName;
  std::map<std::string, std::vector<std::unique_ptr<Op>>> phases;  // e.g. "train", "eval"
  uint64_t arenaWords = 0;

  // Parameters occupy one contiguous range, and their gradients another with the same layout,
  // so the optimizer, gradient norm and zeroing are each one dispatch over the whole range.
  uint64_t paramBegin = 0, paramWords = 0;
  uint64_t gradBegin = 0;

  TensorId add(const std::string& name, std::vector<uint32_t> shape, Role role,
               DType dtype = DType::F32);
  TensorId id(const std::string& name) const;  // throws std::out_of_range with the name
  bool has(const std::string& name) const { return byName.count(name) != 0; }
  const TensorInfo& info(TensorId t) const { return tensors.at(t); }
  void append(const std::string& phase, std::unique_ptr<Op> op);
};

uint64_t elementCount(const std::vector<uint32_t>& shape);

}  // namespace rl
