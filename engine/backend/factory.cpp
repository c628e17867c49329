#include "backend/factory.h"

#include <stdexcept>

#include "backend/cpu/cpu_backend.h"
#include "backend/vulkan/context.h"
#include "backend/vulkan/vulkan_backend.h"

namespace rl {
namespace {

std::string describe(const VulkanDeviceInfo& d) { return d.name + " (" + d.type + ")"; }

BackendSelection cpu(std::string reason) { return {std::make_unique<CpuBackend>(), std::move(reason)}; }

}  // namespace

BackendSelection createBackend(BackendChoice choice, const std::string& deviceHint) {
  switch (choice) {
    case BackendChoice::Cpu:
      return cpu("cpu: requested");
    case BackendChoice::Vulkan: {
      auto backend = std::make_unique<VulkanBackend>(deviceHint);
      std::string reason = "vulkan: requested, on " + backend->device();
      return {std::move(backend), reason};
    }
    case BackendChoice::Auto:
      break;
  }
  auto devices = listVulkanDevices();
  if (devices.empty()) return cpu("auto: no Vulkan device found -> cpu");
  // A hint that matches nothing throws: the user named a device, silently ignoring it would mislead.
  const VulkanDeviceInfo& best = chooseVulkanDevice(devices, deviceHint);
  if (best.isCpu) {
    const bool only = devices.size() == 1;
    return cpu(std::string("auto: ") + (only ? "only Vulkan device" : "chosen Vulkan device") + " is a CPU implementation (" +
               best.name + "); the Eigen backend is faster there -> cpu");
  }
  try {
    auto backend = std::make_unique<VulkanBackend>(std::to_string(best.index));
    return {std::move(backend), "auto: " + describe(best) + " -> vulkan"};
  } catch (const std::exception& e) {
    return cpu("auto: Vulkan device " + describe(best) + " failed to open (" + e.what() + ") -> cpu");
  }
}

BackendChoice parseBackendChoice(const std::string& text) {
  if (text == "auto") return BackendChoice::Auto;
  if (text == "vulkan") return BackendChoice::Vulkan;
  if (text == "cpu") return BackendChoice::Cpu;
  throw std::invalid_argument("backend must be auto, vulkan or cpu, not '" + text + "'");
}

}  // namespace rl
