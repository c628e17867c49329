#pragma once
// Vulkan device discovery and the per-backend context: instance, chosen physical device, one
// compute queue, a command pool and the limits the dispatch helper checks against.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rl {

struct VulkanDeviceInfo {
  uint32_t index = 0;       // position in vkEnumeratePhysicalDevices order
  std::string name;         // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string type;         // "discrete GPU" | "integrated GPU" | "virtual GPU" | "CPU" | "other"
  uint32_t apiVersion = 0;  // VK_MAKE_API_VERSION encoding
  std::string driver;       // driver name and info, e.g. "llvmpipe Mesa 22.3.6 (LLVM 15.0.6)"
  bool isCpu = false;       // a CPU implementation (lavapipe, SwiftShader)
};

// Every Vulkan device with a compute queue; empty (never throws) without a loader, ICD or device.
std::vector<VulkanDeviceInfo> listVulkanDevices();

class VulkanContext {
 public:
  // deviceHint: an index ("0") or a case-insensitive name substring; empty means the
  // ROUTELAB_DEVICE environment variable, then the best device (discrete > integrated > virtual > CPU).
  // Throws std::runtime_error naming the problem and the devices present.
  static std::shared_ptr<VulkanContext> create(const std::string& deviceHint = {});
  ~VulkanContext();
  VulkanContext(const VulkanContext&) = delete;
  VulkanContext& operator=(const VulkanContext&) = delete;

  const VulkanDeviceInfo& info() const { return info_; }
  const VkPhysicalDeviceLimits& limits() const { return limits_; }
  VkPhysicalDevice physicalDevice() const { return physical_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  VkCommandPool commandPool() const { return pool_; }
  uint32_t queueFamily() const { return family_; }

  // Memory type index with all of `required` among `typeBits`, or UINT32_MAX.
  uint32_t findMemoryType(uint32_t typeBits, VkMemoryPropertyFlags required) const;
  // Submits one command buffer and blocks until it finishes (fence reused).
  void submitAndWait(VkCommandBuffer cmd) const;

 private:
  VulkanContext() = default;

  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  uint32_t family_ = 0;
  VulkanDeviceInfo info_;
  VkPhysicalDeviceLimits limits_{};
  VkPhysicalDeviceMemoryProperties memory_{};
};

// Preference rank of a device type: lower is better (discrete 0 ... CPU 3, other 4).
int devicePreference(const VulkanDeviceInfo& d);

// The device a hint selects among `devices` (non-empty): an index or a case-insensitive name
// substring; an empty hint falls back to ROUTELAB_DEVICE, then to the preference order.
// Throws std::runtime_error("no Vulkan device matches 'x'; devices: ...").
const VulkanDeviceInfo& chooseVulkanDevice(const std::vector<VulkanDeviceInfo>& devices, const std::string& hint);

}  // namespace rl
