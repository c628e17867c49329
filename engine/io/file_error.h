#pragma once
// The one exception type of the file readers and writers. Messages start with the file name
// ("runs/a/weights.safetensors: tensor 'head.bias': ..." or "data.csv:12: ...").
#include <stdexcept>
#include <string>

namespace rl {

class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace rl
