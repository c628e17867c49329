#pragma once
// safetensors files (https://github.com/huggingface/safetensors), F32 only: an 8-byte
// little-endian header length N, N bytes of JSON header (padded with spaces to a multiple of 8),
// then the tensor bytes. The header maps each name to {dtype, shape, data_offsets [begin, end)}
// relative to the byte buffer, plus an optional "__metadata__" string map.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/file_error.h"

namespace rl {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
};

// Largest header readSafetensors accepts (the reference implementation's limit).
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// Tensors are written sorted by name, data laid out back to back in that order. Throws FileError
// naming the tensor for a duplicate or empty name, a negative dimension, or a shape whose product
// differs from data.size(); the file is written atomically.
std::string encodeSafetensors(const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata, const std::string& sourceName);
void writeSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Checks everything before trusting it (sizes, JSON, dtypes, shapes, offsets in range, sizes
// matching shapes, the buffer covered exactly once) and throws FileError "file: reason" naming the
// tensor where there is one.
SafetensorsFile decodeSafetensors(const std::string& bytes, const std::string& sourceName);
SafetensorsFile readSafetensors(const std::string& path);

}  // namespace rl
