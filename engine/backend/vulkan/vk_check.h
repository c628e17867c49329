#pragma once
// Turns a failed VkResult into a std::runtime_error that says what was being done.
#include <vulkan/vulkan.h>

#include <stdexcept>
#include <string>

namespace rl::vk {

const char* resultName(VkResult r);

inline void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) throw std::runtime_error(std::string("vulkan: ") + what + " failed (" + resultName(r) + ")");
}

// A zeroed Vulkan info struct with its sType set.
template <class T>
T make(VkStructureType type) {
  T t{};
  t.sType = type;
  return t;
}

}  // namespace rl::vk
