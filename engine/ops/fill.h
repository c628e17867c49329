#pragma once
// fill: sets every word of a range to one float value (zeroes the gradient range once per step).
// Legend: n words.
#include <cstdint>
#include <string>

#include "ops/op.h"

namespace rl {

class Fill final : public Op {
 public:
  struct Params {  // mirrors shaders/fill.comp push constants
    uint32_t n;
    float value;
  };
  static_assert(sizeof(Params) == 8);

  Fill(const Program& program, Binding range, float value, std::string label = "range");

  std::string name() const override { return "fill(" + label_ + ")"; }
  std::string shader() const override { return "fill"; }
  std::vector<Binding> bindings() const override { return {range_}; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(params_); }
  uint32_t localSize() const override { return 256; }
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  Binding range_;
  Params params_;
  std::string label_;
};

}  // namespace rl
