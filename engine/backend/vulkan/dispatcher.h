#pragma once
// The one dispatch helper: checks an op against the device limits (every message names the op),
// then records it into a command buffer: pipeline, descriptor set over arena ranges, push
// constants, dispatch, and a compute->compute barrier so the next op sees its writes.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/vulkan/arena.h"
#include "backend/vulkan/context.h"
#include "backend/vulkan/pipelines.h"
#include "ops/op.h"

namespace rl {

// Throws std::runtime_error("vulkan: op '<name>': ...") when `op` cannot run on a device with
// these limits over an arena of `arenaWords` words. Shader existence is checked here too.
void validateDispatch(const Op& op, const VkPhysicalDeviceLimits& limits, uint64_t arenaWords);

class Dispatcher {
 public:
  Dispatcher(std::shared_ptr<VulkanContext> ctx, const VulkanArena& arena, PipelineCache& pipelines)
      : ctx_(std::move(ctx)), arena_(arena), pipelines_(pipelines) {}
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Validates, then records. Returns false (records nothing) for a grid with a zero dimension.
  bool record(VkCommandBuffer cmd, const Op& op);

 private:
  VkDescriptorSet allocateSet(VkDescriptorSetLayout layout);
  VkBufferView texelView(const Binding& b);

  std::shared_ptr<VulkanContext> ctx_;
  const VulkanArena& arena_;
  PipelineCache& pipelines_;
  std::vector<VkDescriptorPool> pools_;  // descriptor sets live as long as the recorded phases
  std::vector<VkBufferView> views_;
};

}  // namespace rl
