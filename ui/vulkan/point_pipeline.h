#pragma once
// The graphics pipeline that draws the point cloud (shaders/points.vert|.frag): one instanced
// quad per point, alpha blended, into QVulkanWindow's default render pass.
#include <QString>
#include <QVulkanInstance>
#include <cstdint>

class QVulkanWindow;

namespace rl::ui {

// Per-instance vertex data (binding 0, input rate instance).
struct PointInstance {
  float from[2];   // position the glide starts at (data units)
  float to[2];     // position it ends at
  uint32_t rgba;   // R8G8B8A8_UNORM, R in the lowest byte
  uint32_t flags;  // kPointSelected
};
static_assert(sizeof(PointInstance) == 24);
constexpr uint32_t kPointSelected = 1u;

// Mirrors the PointView push-constant block of shaders/points.glsl.
struct PointPushConstants {
  float scale[2];
  float offset[2];
  float viewport[2];
  float t;
  float radius;
  int32_t emphasis;
  int32_t hasSelection;
};
static_assert(sizeof(PointPushConstants) == 40);

struct PointPipeline {
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;

  // Builds the pipeline for `window`'s default render pass and sample count. Returns an empty
  // string, or what failed.
  QString create(QVulkanWindow& window);
  void destroy(QVulkanWindow& window);
};

}  // namespace rl::ui
