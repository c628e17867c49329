#pragma once
// The Program's arena on the device: one buffer every binding is a range of. Mapped directly when
// the device offers host-visible device-local memory (lavapipe, integrated GPUs, ReBAR); otherwise
// device-local with a host-visible staging buffer and copy submissions for write()/read().
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>

#include "backend/vulkan/context.h"

namespace rl {

class VulkanArena {
 public:
  // Zero-filled. Allocates a little past `words` so a zero-word binding at the end is still valid.
  // forceStaging takes the discrete-GPU path (device-local + staging copies) even when the device
  // offers mapped device-local memory, so that path is tested on lavapipe too.
  VulkanArena(std::shared_ptr<VulkanContext> ctx, uint64_t words, bool forceStaging = false);
  ~VulkanArena();
  VulkanArena(const VulkanArena&) = delete;
  VulkanArena& operator=(const VulkanArena&) = delete;

  VkBuffer buffer() const { return buffer_; }
  uint64_t words() const { return words_; }  // usable words (as requested)
  uint64_t bytes() const { return bytes_; }  // allocated bytes
  bool mapped() const { return mapped_ != nullptr; }

  void write(uint64_t offsetWords, const void* src, uint64_t words);
  void read(uint64_t offsetWords, void* dst, uint64_t words) const;

 private:
  struct Allocation {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
  };
  Allocation allocate(VkBufferUsageFlags usage, VkMemoryPropertyFlags preferred, VkMemoryPropertyFlags required,
                      bool* gotPreferred) const;
  void release(Allocation& a) const;
  void checkRange(uint64_t offsetWords, uint64_t words, const char* what) const;
  void ensureStaging() const;
  // Copies between the arena and the staging buffer in one submission (staging path only).
  void copy(bool toArena, uint64_t offsetBytes, uint64_t bytes) const;

  std::shared_ptr<VulkanContext> ctx_;
  uint64_t words_ = 0, bytes_ = 0;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void* mapped_ = nullptr;
  mutable Allocation staging_;
  mutable void* stagingMapped_ = nullptr;
  mutable VkCommandBuffer copyCmd_ = VK_NULL_HANDLE;
};

}  // namespace rl
