#pragma once
// PointRenderer: QVulkanWindow's renderer for the point cloud view. Each frame it lets the window
// run its ImGui panels (which may change the scene), uploads the point instances if they changed
// (one host-visible buffer per frame in flight), and records points, the hovered point on top,
// then ImGui, into the default render pass.
#include <QVulkanWindowRenderer>
#include <array>
#include <cstdint>

#include "vulkan/point_pipeline.h"

namespace rl::ui {

class PointCloudWindow;

class PointRenderer : public QVulkanWindowRenderer {
 public:
  explicit PointRenderer(PointCloudWindow& window);

  void initResources() override;
  void releaseResources() override;
  void startNextFrame() override;

 private:
  struct InstanceBuffer {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void* mapped = nullptr;
    size_t capacity = 0;          // instances
    uint64_t generation = ~0ull;  // of the scene data it holds
  };
  bool ensureCapacity(InstanceBuffer& b, size_t instances);
  void destroyBuffer(InstanceBuffer& b);

  PointCloudWindow& window_;
  PointPipeline pipeline_;
  std::array<InstanceBuffer, QVulkanWindow::MAX_CONCURRENT_FRAME_COUNT> buffers_;
  bool ready_ = false;
};

}  // namespace rl::ui
