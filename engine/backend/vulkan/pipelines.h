#pragma once
// Compute pipelines built from the embedded SPIR-V, cached so ops that share a shader and its
// specialisation share one pipeline. Key: shader, spec constants, local size, binding kinds, push size.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "backend/vulkan/context.h"

namespace rl {

// How one binding is bound: a storage buffer range or an rgba32f storage texel buffer view.
enum class BindingKind : uint8_t { StorageBuffer, TexelBuffer };

struct PipelineKey {
  std::string shader;
  std::vector<uint32_t> specConstants;  // [0] = local size, then the op's own
  std::vector<BindingKind> bindings;
  uint32_t pushBytes = 0;
  auto tie() const { return std::tie(shader, specConstants, bindings, pushBytes); }
  bool operator<(const PipelineKey& o) const { return tie() < o.tie(); }
};

struct PipelineEntry {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
};

class PipelineCache {
 public:
  explicit PipelineCache(std::shared_ptr<VulkanContext> ctx) : ctx_(std::move(ctx)) {}
  ~PipelineCache();
  PipelineCache(const PipelineCache&) = delete;
  PipelineCache& operator=(const PipelineCache&) = delete;

  // Throws std::runtime_error if the shader is not embedded or the driver rejects it.
  const PipelineEntry& get(const PipelineKey& key);
  size_t size() const { return pipelines_.size(); }

 private:
  VkShaderModule module(const std::string& shader);
  VkDescriptorSetLayout setLayout(const std::vector<BindingKind>& bindings);
  VkPipelineLayout pipelineLayout(const std::vector<BindingKind>& bindings, uint32_t pushBytes);

  std::shared_ptr<VulkanContext> ctx_;
  std::map<std::string, VkShaderModule> modules_;
  std::map<std::vector<BindingKind>, VkDescriptorSetLayout> setLayouts_;
  std::map<std::pair<std::vector<BindingKind>, uint32_t>, VkPipelineLayout> layouts_;
  std::map<PipelineKey, PipelineEntry> pipelines_;
};

}  // namespace rl
