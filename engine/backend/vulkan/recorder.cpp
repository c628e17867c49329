#include "backend/vulkan/recorder.h"

#include "backend/vulkan/vk_check.h"

namespace rl {

RecordedPhase::RecordedPhase(std::shared_ptr<VulkanContext> ctx, Dispatcher& dispatcher,
                             const std::vector<const Op*>& ops, DeviceClass deviceClass)
    : ctx_(std::move(ctx)) {
  auto ai = vk::make<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
  ai.commandPool = ctx_->commandPool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  vk::check(vkAllocateCommandBuffers(ctx_->device(), &ai, &cmd_), "vkAllocateCommandBuffers(phase)");
  try {
    auto bi = vk::make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);  // reusable: no one-time flag
    vk::check(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer(phase)");
    for (const auto& op : ops)
      if (dispatcher.record(cmd_, op->forDevice(deviceClass))) ++dispatches_;
    // Results become visible to host reads (mapped arena) and to staging copies.
    auto mb = vk::make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
    vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0,
                         nullptr);
    vk::check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer(phase)");
  } catch (...) {
    vkFreeCommandBuffers(ctx_->device(), ctx_->commandPool(), 1, &cmd_);
    throw;
  }
}

RecordedPhase::~RecordedPhase() {
  if (cmd_) vkFreeCommandBuffers(ctx_->device(), ctx_->commandPool(), 1, &cmd_);
}

void RecordedPhase::run() const { ctx_->submitAndWait(cmd_); }

}  // namespace rl
