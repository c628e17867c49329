#include "ops/fill.h"

#include <algorithm>

namespace rl {

namespace {
// Each invocation fills about kPerInvocation words; the grid is capped at 65535 (the smallest
// maxComputeWorkGroupCount Vulkan allows) and the shader strides over the rest.
constexpr uint32_t kPerInvocation = 4;
constexpr uint32_t kMaxGroups = 65535;
}

Fill::Fill(const Program&, Binding range, float value, std::string label)
    : range_(range), params_{static_cast<uint32_t>(range.words), value}, label_(std::move(label)) {}

Grid Fill::grid() const {
  return {std::clamp<uint32_t>(ceilDiv(params_.n, uint64_t(localSize()) * kPerInvocation), 1, kMaxGroups)};
}

void Fill::runCpu(const ArenaView& arena) const {
  float* out = reinterpret_cast<float*>(arena.word(range_.offset));
  std::fill(out, out + params_.n, params_.value);
}

}  // namespace rl
