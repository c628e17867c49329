#include "backend/vulkan/context.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include "backend/vulkan/vk_check.h"

namespace rl {
namespace {

constexpr const char* kNoVulkan = "no Vulkan loader/driver found: install mesa-vulkan-drivers";

VkInstance createInstance() {
  auto app = vk::make<VkApplicationInfo>(VK_STRUCTURE_TYPE_APPLICATION_INFO);
  app.pApplicationName = "routelab";
  app.apiVersion = VK_API_VERSION_1_1;  // shaders target vulkan1.1
  auto ci = vk::make<VkInstanceCreateInfo>(VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO);
  ci.pApplicationInfo = &app;
  VkInstance instance = VK_NULL_HANDLE;
  if (vkCreateInstance(&ci, nullptr, &instance) != VK_SUCCESS) return VK_NULL_HANDLE;
  return instance;
}

std::string typeName(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

// First queue family with compute, or UINT32_MAX.
uint32_t computeFamily(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> families(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, families.data());
  for (uint32_t i = 0; i < n; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return i;
  return UINT32_MAX;
}

VulkanDeviceInfo describe(VkPhysicalDevice pd, uint32_t index) {
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(pd, &props);
  VulkanDeviceInfo d;
  d.index = index;
  d.name = props.deviceName;
  d.type = typeName(props.deviceType);
  d.apiVersion = props.apiVersion;
  d.isCpu = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  d.driver = "driver version " + std::to_string(props.driverVersion);
  if (props.apiVersion >= VK_API_VERSION_1_2) {  // driver name needs 1.2 (or the extension)
    auto driver = vk::make<VkPhysicalDeviceDriverProperties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES);
    auto p2 = vk::make<VkPhysicalDeviceProperties2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2);
    p2.pNext = &driver;
    vkGetPhysicalDeviceProperties2(pd, &p2);
    d.driver = std::string(driver.driverName) + " " + driver.driverInfo;
  }
  return d;
}

// Usable devices: Vulkan 1.1 or later with a compute queue, with their handles.
struct Found {
  VulkanDeviceInfo info;
  VkPhysicalDevice handle;
};
std::vector<Found> enumerate(VkInstance instance) {
  uint32_t n = 0;
  if (vkEnumeratePhysicalDevices(instance, &n, nullptr) != VK_SUCCESS) return {};
  std::vector<VkPhysicalDevice> handles(n);
  if (vkEnumeratePhysicalDevices(instance, &n, handles.data()) < 0) return {};
  std::vector<Found> found;
  for (uint32_t i = 0; i < n; ++i) {
    VulkanDeviceInfo d = describe(handles[i], i);
    if (d.apiVersion < VK_API_VERSION_1_1 || computeFamily(handles[i]) == UINT32_MAX) continue;
    found.push_back({d, handles[i]});
  }
  return found;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string deviceList(const std::vector<VulkanDeviceInfo>& devices) {
  std::string s;
  for (const auto& d : devices)
    s += (s.empty() ? "" : ", ") + ("[" + std::to_string(d.index) + "] " + d.name + " (" + d.type + ")");
  return s;
}

}  // namespace

int devicePreference(const VulkanDeviceInfo& d) {
  if (d.type == "discrete GPU") return 0;
  if (d.type == "integrated GPU") return 1;
  if (d.type == "virtual GPU") return 2;
  if (d.type == "CPU") return 3;
  return 4;
}

const VulkanDeviceInfo& chooseVulkanDevice(const std::vector<VulkanDeviceInfo>& devices, const std::string& hintArg) {
  if (devices.empty()) throw std::runtime_error(kNoVulkan);
  std::string hint = hintArg;
  if (hint.empty()) {
    const char* env = std::getenv("ROUTELAB_DEVICE");
    if (env) hint = env;
  }
  if (hint.empty()) {
    return *std::min_element(devices.begin(), devices.end(), [](const auto& a, const auto& b) {
      return devicePreference(a) < devicePreference(b);
    });
  }
  bool numeric = std::all_of(hint.begin(), hint.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  for (const auto& d : devices)
    if (numeric ? std::to_string(d.index) == hint : lower(d.name).find(lower(hint)) != std::string::npos) return d;
  throw std::runtime_error("no Vulkan device matches '" + hint + "'; devices: " + deviceList(devices));
}

std::vector<VulkanDeviceInfo> listVulkanDevices() {
  VkInstance instance = createInstance();
  if (!instance) return {};
  std::vector<VulkanDeviceInfo> out;
  try {
    for (const auto& f : enumerate(instance)) out.push_back(f.info);
  } catch (const std::exception&) {  // promised never to throw: a listing is best effort
    out.clear();
  }
  vkDestroyInstance(instance, nullptr);
  return out;
}

std::shared_ptr<VulkanContext> VulkanContext::create(const std::string& deviceHint) {
  std::shared_ptr<VulkanContext> ctx(new VulkanContext());  // destructor cleans up on any throw below
  ctx->instance_ = createInstance();
  if (!ctx->instance_) throw std::runtime_error(kNoVulkan);
  auto found = enumerate(ctx->instance_);
  std::vector<VulkanDeviceInfo> devices;
  for (const auto& f : found) devices.push_back(f.info);
  const VulkanDeviceInfo& choice = chooseVulkanDevice(devices, deviceHint);
  const Found& chosen = found[&choice - devices.data()];
  ctx->info_ = chosen.info;
  ctx->physical_ = chosen.handle;
  ctx->family_ = computeFamily(chosen.handle);
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(chosen.handle, &props);
  ctx->limits_ = props.limits;
  vkGetPhysicalDeviceMemoryProperties(chosen.handle, &ctx->memory_);

  float priority = 1.f;
  auto queue = vk::make<VkDeviceQueueCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO);
  queue.queueFamilyIndex = ctx->family_;
  queue.queueCount = 1;
  queue.pQueuePriorities = &priority;
  auto dci = vk::make<VkDeviceCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO);
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &queue;
  vk::check(vkCreateDevice(chosen.handle, &dci, nullptr, &ctx->device_), "vkCreateDevice");
  vkGetDeviceQueue(ctx->device_, ctx->family_, 0, &ctx->queue_);

  auto pci = vk::make<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = ctx->family_;
  vk::check(vkCreateCommandPool(ctx->device_, &pci, nullptr, &ctx->pool_), "vkCreateCommandPool");
  auto fci = vk::make<VkFenceCreateInfo>(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
  vk::check(vkCreateFence(ctx->device_, &fci, nullptr, &ctx->fence_), "vkCreateFence");
  return ctx;
}

VulkanContext::~VulkanContext() {
  if (device_) {
    vkDeviceWaitIdle(device_);
    if (fence_) vkDestroyFence(device_, fence_, nullptr);
    if (pool_) vkDestroyCommandPool(device_, pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

uint32_t VulkanContext::findMemoryType(uint32_t typeBits, VkMemoryPropertyFlags required) const {
  for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
    if ((typeBits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & required) == required) return i;
  return UINT32_MAX;
}

void VulkanContext::submitAndWait(VkCommandBuffer cmd) const {
  auto si = vk::make<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO);
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  vk::check(vkQueueSubmit(queue_, 1, &si, fence_), "vkQueueSubmit");
  vk::check(vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  vk::check(vkResetFences(device_, 1, &fence_), "vkResetFences");
}

}  // namespace rl
