#pragma once
// A phase recorded once: every op of the phase in one command buffer (load time); run() only
// resubmits it and waits, so a training step costs one submission.
#include <vulkan/vulkan.h>

#include <memory>
#include <vector>

#include "backend/vulkan/context.h"
#include "backend/vulkan/dispatcher.h"
#include "ops/op.h"

namespace rl {

class RecordedPhase {
 public:
  // Records `ops` (each resolved for `deviceClass`). Throws, naming the op, if one cannot run.
  RecordedPhase(std::shared_ptr<VulkanContext> ctx, Dispatcher& dispatcher,
                const std::vector<const Op*>& ops, DeviceClass deviceClass);
  ~RecordedPhase();
  RecordedPhase(const RecordedPhase&) = delete;
  RecordedPhase& operator=(const RecordedPhase&) = delete;

  void run() const;
  size_t dispatches() const { return dispatches_; }

 private:
  std::shared_ptr<VulkanContext> ctx_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  size_t dispatches_ = 0;
};

}  // namespace rl
