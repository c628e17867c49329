#include "backend/vulkan/arena.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "backend/vulkan/vk_check.h"
#include "graph/program.h"

namespace rl {

VulkanArena::VulkanArena(std::shared_ptr<VulkanContext> ctx, uint64_t words, bool forceStaging)
    : ctx_(std::move(ctx)), words_(words) {
  // Whole 256-byte blocks plus one spare block: every binding range, even an empty one at the very
  // end of the arena (bound as 4 bytes), and every rgba32f texel view stays inside the buffer.
  bytes_ = ((words + kAlignWords - 1) / kAlignWords + 1) * kAlignWords * 4;

  const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
                                   VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                   VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  const VkMemoryPropertyFlags hostMapped = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  bool direct = false;
  const VkMemoryPropertyFlags preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | (forceStaging ? 0 : hostMapped);
  Allocation a = allocate(usage, preferred, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &direct);
  direct = direct && !forceStaging;
  buffer_ = a.buffer;
  memory_ = a.memory;
  if (direct) {
    vk::check(vkMapMemory(ctx_->device(), memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "vkMapMemory(arena)");
    std::memset(mapped_, 0, bytes_);
    return;
  }
  // Device-local only: zero it on the device.
  auto ai = vk::make<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
  ai.commandPool = ctx_->commandPool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  vk::check(vkAllocateCommandBuffers(ctx_->device(), &ai, &copyCmd_), "vkAllocateCommandBuffers(arena)");
  auto bi = vk::make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk::check(vkBeginCommandBuffer(copyCmd_, &bi), "vkBeginCommandBuffer(arena zero)");
  vkCmdFillBuffer(copyCmd_, buffer_, 0, VK_WHOLE_SIZE, 0);
  auto mb = vk::make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
  mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  vkCmdPipelineBarrier(copyCmd_, VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0,
                       nullptr);
  vk::check(vkEndCommandBuffer(copyCmd_), "vkEndCommandBuffer(arena zero)");
  ctx_->submitAndWait(copyCmd_);
}

VulkanArena::~VulkanArena() {
  VkDevice dev = ctx_->device();
  vkDeviceWaitIdle(dev);
  if (copyCmd_) vkFreeCommandBuffers(dev, ctx_->commandPool(), 1, &copyCmd_);
  release(staging_);
  if (mapped_) vkUnmapMemory(dev, memory_);
  Allocation main{buffer_, memory_};
  release(main);
}

VulkanArena::Allocation VulkanArena::allocate(VkBufferUsageFlags usage, VkMemoryPropertyFlags preferred,
                                              VkMemoryPropertyFlags required, bool* gotPreferred) const {
  VkDevice dev = ctx_->device();
  Allocation a;
  auto bci = vk::make<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
  bci.size = bytes_;
  bci.usage = usage;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  vk::check(vkCreateBuffer(dev, &bci, nullptr, &a.buffer), "vkCreateBuffer(arena)");
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(dev, a.buffer, &req);
  uint32_t type = ctx_->findMemoryType(req.memoryTypeBits, preferred);
  *gotPreferred = type != UINT32_MAX;
  if (!*gotPreferred) type = ctx_->findMemoryType(req.memoryTypeBits, required);
  if (type == UINT32_MAX) {
    vkDestroyBuffer(dev, a.buffer, nullptr);
    throw std::runtime_error("vulkan: no memory type fits the arena buffer");
  }
  auto mai = vk::make<VkMemoryAllocateInfo>(VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO);
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  VkResult r = vkAllocateMemory(dev, &mai, nullptr, &a.memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(dev, a.buffer, nullptr);
    vk::check(r, ("vkAllocateMemory(" + std::to_string(bytes_) + " bytes)").c_str());
  }
  vk::check(vkBindBufferMemory(dev, a.buffer, a.memory, 0), "vkBindBufferMemory(arena)");
  return a;
}

void VulkanArena::release(Allocation& a) const {
  if (a.buffer) vkDestroyBuffer(ctx_->device(), a.buffer, nullptr);
  if (a.memory) vkFreeMemory(ctx_->device(), a.memory, nullptr);
  a = {};
}

void VulkanArena::checkRange(uint64_t offsetWords, uint64_t words, const char* what) const {
  if (offsetWords > words_ || words > words_ - offsetWords)
    throw std::out_of_range(std::string("vulkan backend: ") + what + " of " + std::to_string(words) + " words at " +
                            std::to_string(offsetWords) + " is past the arena (" + std::to_string(words_) + " words)");
}

void VulkanArena::ensureStaging() const {
  if (staging_.buffer) return;
  bool coherent = false;
  staging_ = allocate(VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, &coherent);
  vk::check(vkMapMemory(ctx_->device(), staging_.memory, 0, VK_WHOLE_SIZE, 0, &stagingMapped_), "vkMapMemory(staging)");
}

void VulkanArena::copy(bool toArena, uint64_t offsetBytes, uint64_t bytes) const {
  vk::check(vkResetCommandBuffer(copyCmd_, 0), "vkResetCommandBuffer(copy)");
  auto bi = vk::make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk::check(vkBeginCommandBuffer(copyCmd_, &bi), "vkBeginCommandBuffer(copy)");
  VkBufferCopy region{offsetBytes, offsetBytes, bytes};
  if (toArena) {
    vkCmdCopyBuffer(copyCmd_, staging_.buffer, buffer_, 1, &region);
    auto mb = vk::make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    vkCmdPipelineBarrier(copyCmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0,
                         nullptr, 0, nullptr);
  } else {
    vkCmdCopyBuffer(copyCmd_, buffer_, staging_.buffer, 1, &region);
    auto mb = vk::make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(copyCmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr,
                         0, nullptr);
  }
  vk::check(vkEndCommandBuffer(copyCmd_), "vkEndCommandBuffer(copy)");
  ctx_->submitAndWait(copyCmd_);
}

void VulkanArena::write(uint64_t offsetWords, const void* src, uint64_t words) {
  checkRange(offsetWords, words, "write");
  if (words == 0) return;
  if (mapped_) {
    std::memcpy(static_cast<uint32_t*>(mapped_) + offsetWords, src, words * 4);
    return;
  }
  ensureStaging();
  std::memcpy(static_cast<uint32_t*>(stagingMapped_) + offsetWords, src, words * 4);
  copy(true, offsetWords * 4, words * 4);
}

void VulkanArena::read(uint64_t offsetWords, void* dst, uint64_t words) const {
  checkRange(offsetWords, words, "read");
  if (words == 0) return;
  if (mapped_) {
    std::memcpy(dst, static_cast<const uint32_t*>(mapped_) + offsetWords, words * 4);
    return;
  }
  ensureStaging();
  copy(false, offsetWords * 4, words * 4);
  std::memcpy(dst, static_cast<const uint32_t*>(stagingMapped_) + offsetWords, words * 4);
}

}  // namespace rl
