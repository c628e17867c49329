#include "backend/vulkan/dispatcher.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "backend/vulkan/vk_check.h"
#include "embedded_shaders.h"

namespace rl {
namespace {

constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kBuffersPerPool = kSetsPerPool * 8;
constexpr uint32_t kTexelsPerPool = kSetsPerPool * 2;

[[noreturn]] void reject(const Op& op, const std::string& why) {
  throw std::runtime_error("vulkan: op '" + op.name() + "': " + why);
}

std::vector<BindingKind> bindingKinds(const Op& op, size_t count) {
  std::vector<BindingKind> kinds(count, BindingKind::StorageBuffer);
  auto texel = op.texelBindings();
  for (size_t i = 0; i < texel.size() && i < count; ++i)
    if (texel[i]) kinds[i] = BindingKind::TexelBuffer;
  return kinds;
}

}  // namespace

void validateDispatch(const Op& op, const VkPhysicalDeviceLimits& lim, uint64_t arenaWords) {
  using std::to_string;
  if (embeddedShader(op.shader()).empty())
    reject(op, "shader '" + op.shader() + "' is not embedded (no shaders/" + op.shader() + ".comp)");

  auto bindings = op.bindings();
  auto kinds = bindingKinds(op, bindings.size());
  if (op.texelBindings().size() > bindings.size())
    reject(op, "texelBindings() marks " + to_string(op.texelBindings().size()) + " bindings but the op has " +
                   to_string(bindings.size()));
  uint32_t buffers = 0, texels = 0;
  for (auto k : kinds) (k == BindingKind::TexelBuffer ? texels : buffers)++;
  if (buffers > lim.maxPerStageDescriptorStorageBuffers)
    reject(op, to_string(buffers) + " storage-buffer bindings exceed the device limit of " +
                   to_string(lim.maxPerStageDescriptorStorageBuffers));
  if (texels > lim.maxPerStageDescriptorStorageImages)
    reject(op, to_string(texels) + " texel-buffer bindings exceed the device limit of " +
                   to_string(lim.maxPerStageDescriptorStorageImages));
  for (size_t i = 0; i < bindings.size(); ++i) {
    const Binding& b = bindings[i];
    std::string where = "binding " + to_string(i) + " (" + to_string(b.words) + " words at word " +
                        to_string(b.offset) + ")";
    if (b.offset > arenaWords || b.words > arenaWords - b.offset) reject(op, where + " lies outside the arena");
    bool texel = kinds[i] == BindingKind::TexelBuffer;
    uint64_t align = texel ? lim.minTexelBufferOffsetAlignment : lim.minStorageBufferOffsetAlignment;
    if ((b.offset * 4) % align) reject(op, where + " is not aligned to the device's " + to_string(align) + " bytes");
    if (b.words * 4 > lim.maxStorageBufferRange)
      reject(op, where + " exceeds the device's " + to_string(lim.maxStorageBufferRange) + "-byte range limit");
    if (texel && (b.words % 4 != 0 || b.words == 0))
      reject(op, where + " is a texel buffer, so it needs a positive multiple of 4 words (rgba32f)");
    if (texel && b.words / 4 > lim.maxTexelBufferElements)
      reject(op, where + " exceeds the device's " + to_string(lim.maxTexelBufferElements) + " texel-buffer elements");
  }

  size_t pushBytes = op.pushConstants().size() * 4;
  if (pushBytes > lim.maxPushConstantsSize)
    reject(op, "push constants of " + to_string(pushBytes) + " bytes exceed the device limit of " +
                   to_string(lim.maxPushConstantsSize));

  uint32_t local = op.localSize();
  if (local == 0) reject(op, "local size is 0");
  if (local > lim.maxComputeWorkGroupSize[0] || local > lim.maxComputeWorkGroupInvocations)
    reject(op, "local size " + to_string(local) + " exceeds the device limit of " +
                   to_string(std::min(lim.maxComputeWorkGroupSize[0], lim.maxComputeWorkGroupInvocations)));

  Grid g = op.grid();
  const uint32_t dims[3] = {g.x, g.y, g.z};
  for (int d = 0; d < 3; ++d)
    if (dims[d] > lim.maxComputeWorkGroupCount[d])
      reject(op, "grid " + to_string(g.x) + "x" + to_string(g.y) + "x" + to_string(g.z) +
                     " exceeds the device limit of " + to_string(lim.maxComputeWorkGroupCount[d]) + " in dimension " +
                     "xyz"[d]);
}

Dispatcher::~Dispatcher() {
  VkDevice dev = ctx_->device();
  for (auto v : views_) vkDestroyBufferView(dev, v, nullptr);
  for (auto p : pools_) vkDestroyDescriptorPool(dev, p, nullptr);
}

VkDescriptorSet Dispatcher::allocateSet(VkDescriptorSetLayout layout) {
  auto ai = vk::make<VkDescriptorSetAllocateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  if (!pools_.empty()) {
    ai.descriptorPool = pools_.back();
    VkResult r = vkAllocateDescriptorSets(ctx_->device(), &ai, &set);
    if (r == VK_SUCCESS) return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) vk::check(r, "vkAllocateDescriptorSets");
  }
  // The current pool is full (or there is none yet): start another.
  VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBuffersPerPool},
                                   {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, kTexelsPerPool}};
  auto pci = vk::make<VkDescriptorPoolCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
  pci.maxSets = kSetsPerPool;
  pci.poolSizeCount = 2;
  pci.pPoolSizes = sizes;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  vk::check(vkCreateDescriptorPool(ctx_->device(), &pci, nullptr, &pool), "vkCreateDescriptorPool");
  pools_.push_back(pool);
  ai.descriptorPool = pool;
  vk::check(vkAllocateDescriptorSets(ctx_->device(), &ai, &set), "vkAllocateDescriptorSets");
  return set;
}

VkBufferView Dispatcher::texelView(const Binding& b) {
  auto ci = vk::make<VkBufferViewCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO);
  ci.buffer = arena_.buffer();
  ci.format = VK_FORMAT_R32G32B32A32_SFLOAT;
  ci.offset = b.offset * 4;
  ci.range = b.words * 4;
  VkBufferView view = VK_NULL_HANDLE;
  vk::check(vkCreateBufferView(ctx_->device(), &ci, nullptr, &view), "vkCreateBufferView");
  views_.push_back(view);
  return view;
}

bool Dispatcher::record(VkCommandBuffer cmd, const Op& op) {
  validateDispatch(op, ctx_->limits(), arena_.words());
  Grid g = op.grid();
  if (g.x == 0 || g.y == 0 || g.z == 0) return false;

  auto bindings = op.bindings();
  auto push = op.pushConstants();
  PipelineKey key;
  key.shader = op.shader();
  key.specConstants.push_back(op.localSize());
  for (uint32_t c : op.specConstants()) key.specConstants.push_back(c);
  key.bindings = bindingKinds(op, bindings.size());
  key.pushBytes = static_cast<uint32_t>(push.size() * 4);
  const PipelineEntry* entry = nullptr;
  try {
    entry = &pipelines_.get(key);
  } catch (const std::exception& e) {
    reject(op, e.what());
  }

  VkDescriptorSet set = allocateSet(entry->setLayout);
  std::vector<VkDescriptorBufferInfo> buffers(bindings.size());
  std::vector<VkBufferView> views(bindings.size(), VK_NULL_HANDLE);
  std::vector<VkWriteDescriptorSet> writes(bindings.size());
  for (uint32_t i = 0; i < bindings.size(); ++i) {
    VkWriteDescriptorSet& w = writes[i];
    w = vk::make<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
    w.dstSet = set;
    w.dstBinding = i;
    w.descriptorCount = 1;
    if (key.bindings[i] == BindingKind::TexelBuffer) {
      views[i] = texelView(bindings[i]);
      w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
      w.pTexelBufferView = &views[i];
    } else {
      // An empty tensor still needs a valid range: bind one word (the arena has spare room).
      buffers[i] = {arena_.buffer(), bindings[i].offset * 4, std::max<uint64_t>(bindings[i].words, 1) * 4};
      w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      w.pBufferInfo = &buffers[i];
    }
  }
  vkUpdateDescriptorSets(ctx_->device(), static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);

  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, entry->pipeline);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, entry->layout, 0, 1, &set, 0, nullptr);
  if (!push.empty())
    vkCmdPushConstants(cmd, entry->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, key.pushBytes, push.data());
  vkCmdDispatch(cmd, g.x, g.y, g.z);
  auto mb = vk::make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0,
                       nullptr, 0, nullptr);
  return true;
}

}  // namespace rl
