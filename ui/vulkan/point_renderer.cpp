#include "vulkan/point_renderer.h"

#include <QVulkanDeviceFunctions>
#include <QVulkanFunctions>
#include <cstring>

#include "vulkan/point_cloud_window.h"

namespace rl::ui {

PointRenderer::PointRenderer(PointCloudWindow& window) : window_(window) {}

void PointRenderer::initResources() {
  QString error = pipeline_.create(window_);
  if (error.isEmpty() && !window_.imgui().initVulkan(window_, error)) pipeline_.destroy(window_);
  ready_ = error.isEmpty();
  if (!ready_) window_.setRenderError(error);
}

void PointRenderer::releaseResources() {
  for (InstanceBuffer& b : buffers_) destroyBuffer(b);
  window_.imgui().releaseVulkan();
  pipeline_.destroy(window_);
  ready_ = false;
}

bool PointRenderer::ensureCapacity(InstanceBuffer& b, size_t instances) {
  if (b.capacity >= instances && b.buffer) return true;
  destroyBuffer(b);
  const size_t capacity = std::max<size_t>(1024, instances + instances / 4);
  VkDevice device = window_.device();
  QVulkanDeviceFunctions& df = *window_.vulkanInstance()->deviceFunctions(device);
  VkBufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = capacity * sizeof(PointInstance);
  info.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT;
  if (df.vkCreateBuffer(device, &info, nullptr, &b.buffer) != VK_SUCCESS) return false;
  VkMemoryRequirements req;
  df.vkGetBufferMemoryRequirements(device, b.buffer, &req);
  VkMemoryAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  alloc.allocationSize = req.size;
  // Host-visible and coherent: the CPU rewrites a few hundred KB at most when the scene changes.
  alloc.memoryTypeIndex = window_.hostVisibleMemoryIndex();
  if (df.vkAllocateMemory(device, &alloc, nullptr, &b.memory) != VK_SUCCESS ||
      df.vkBindBufferMemory(device, b.buffer, b.memory, 0) != VK_SUCCESS ||
      df.vkMapMemory(device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped) != VK_SUCCESS) {
    destroyBuffer(b);
    return false;
  }
  b.capacity = capacity;
  b.generation = ~0ull;
  return true;
}

void PointRenderer::destroyBuffer(InstanceBuffer& b) {
  VkDevice device = window_.device();
  if (!device) return;
  QVulkanDeviceFunctions& df = *window_.vulkanInstance()->deviceFunctions(device);
  if (b.mapped) df.vkUnmapMemory(device, b.memory);
  if (b.buffer) df.vkDestroyBuffer(device, b.buffer, nullptr);
  if (b.memory) df.vkFreeMemory(device, b.memory, nullptr);
  b = InstanceBuffer{};
}

void PointRenderer::startNextFrame() {
  VkCommandBuffer cb = window_.currentCommandBuffer();
  QVulkanDeviceFunctions& df = *window_.vulkanInstance()->deviceFunctions(window_.device());
  const QSize size = window_.swapChainImageSize();

  // The panels run first: a colour-by change there is drawn in this very frame.
  PointCloudWindow::Frame frame;
  if (ready_) frame = window_.beginFrame();

  InstanceBuffer& buffer = buffers_[static_cast<size_t>(window_.currentFrame())];
  const auto& instances = window_.instances();
  bool haveBuffer = ready_ && frame.count > 0 && ensureCapacity(buffer, instances.size());
  if (haveBuffer && buffer.generation != window_.instanceGeneration()) {
    std::memcpy(buffer.mapped, instances.data(), instances.size() * sizeof(PointInstance));
    buffer.generation = window_.instanceGeneration();
  }

  const QColor bg = PointCloudWindow::backgroundColor();
  VkClearValue clear[3]{};
  clear[0].color = {{bg.redF(), bg.greenF(), bg.blueF(), 1.0f}};
  clear[1].depthStencil = {1.0f, 0};
  clear[2].color = clear[0].color;
  VkRenderPassBeginInfo pass{};
  pass.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO;
  pass.renderPass = window_.defaultRenderPass();
  pass.framebuffer = window_.currentFramebuffer();
  pass.renderArea.extent = {uint32_t(size.width()), uint32_t(size.height())};
  pass.clearValueCount = window_.sampleCountFlagBits() > VK_SAMPLE_COUNT_1_BIT ? 3 : 2;
  pass.pClearValues = clear;
  df.vkCmdBeginRenderPass(cb, &pass, VK_SUBPASS_CONTENTS_INLINE);

  if (haveBuffer) {
    VkViewport viewport{0, 0, float(size.width()), float(size.height()), 0, 1};
    VkRect2D scissor{{0, 0}, {uint32_t(size.width()), uint32_t(size.height())}};
    df.vkCmdSetViewport(cb, 0, 1, &viewport);
    df.vkCmdSetScissor(cb, 0, 1, &scissor);
    df.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline_.pipeline);
    VkDeviceSize offset = 0;
    df.vkCmdBindVertexBuffers(cb, 0, 1, &buffer.buffer, &offset);
    const VkShaderStageFlags stages = VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT;
    df.vkCmdPushConstants(cb, pipeline_.layout, stages, 0, sizeof(frame.constants),
                          &frame.constants);
    df.vkCmdDraw(cb, 6, uint32_t(frame.count), 0, 0);
    if (frame.hovered >= 0 && frame.hovered < frame.count) {
      PointPushConstants emphasis = frame.constants;
      emphasis.emphasis = 1;
      df.vkCmdPushConstants(cb, pipeline_.layout, stages, 0, sizeof(emphasis), &emphasis);
      df.vkCmdDraw(cb, 6, 1, 0, uint32_t(frame.hovered));
    }
  }
  if (ready_) window_.imgui().render(cb);
  df.vkCmdEndRenderPass(cb);

  window_.frameReady();
  emit window_.frameRendered();
  if (frame.moreFrames) window_.requestUpdate();
}

}  // namespace rl::ui
