#include "backend/vulkan/pipelines.h"

#include <stdexcept>

#include "backend/vulkan/vk_check.h"
#include "embedded_shaders.h"

namespace rl {

PipelineCache::~PipelineCache() {
  VkDevice dev = ctx_->device();
  for (auto& [key, e] : pipelines_) vkDestroyPipeline(dev, e.pipeline, nullptr);
  for (auto& [key, l] : layouts_) vkDestroyPipelineLayout(dev, l, nullptr);
  for (auto& [key, l] : setLayouts_) vkDestroyDescriptorSetLayout(dev, l, nullptr);
  for (auto& [key, m] : modules_) vkDestroyShaderModule(dev, m, nullptr);
}

VkShaderModule PipelineCache::module(const std::string& shader) {
  auto it = modules_.find(shader);
  if (it != modules_.end()) return it->second;
  auto spirv = embeddedShader(shader);
  if (spirv.empty()) throw std::runtime_error("no embedded shader '" + shader + "' (shaders/" + shader + ".comp)");
  auto ci = vk::make<VkShaderModuleCreateInfo>(VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO);
  ci.codeSize = spirv.size() * 4;
  ci.pCode = spirv.data();
  VkShaderModule m = VK_NULL_HANDLE;
  vk::check(vkCreateShaderModule(ctx_->device(), &ci, nullptr, &m), ("vkCreateShaderModule(" + shader + ")").c_str());
  modules_[shader] = m;
  return m;
}

VkDescriptorSetLayout PipelineCache::setLayout(const std::vector<BindingKind>& bindings) {
  auto it = setLayouts_.find(bindings);
  if (it != setLayouts_.end()) return it->second;
  std::vector<VkDescriptorSetLayoutBinding> b(bindings.size());
  for (uint32_t i = 0; i < bindings.size(); ++i) {
    b[i].binding = i;
    b[i].descriptorType = bindings[i] == BindingKind::TexelBuffer ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                                                  : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  auto ci = vk::make<VkDescriptorSetLayoutCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO);
  ci.bindingCount = static_cast<uint32_t>(b.size());
  ci.pBindings = b.data();
  VkDescriptorSetLayout l = VK_NULL_HANDLE;
  vk::check(vkCreateDescriptorSetLayout(ctx_->device(), &ci, nullptr, &l), "vkCreateDescriptorSetLayout");
  setLayouts_[bindings] = l;
  return l;
}

VkPipelineLayout PipelineCache::pipelineLayout(const std::vector<BindingKind>& bindings, uint32_t pushBytes) {
  auto key = std::make_pair(bindings, pushBytes);
  auto it = layouts_.find(key);
  if (it != layouts_.end()) return it->second;
  VkDescriptorSetLayout set = setLayout(bindings);
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, pushBytes};
  auto ci = vk::make<VkPipelineLayoutCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
  ci.setLayoutCount = 1;
  ci.pSetLayouts = &set;
  ci.pushConstantRangeCount = pushBytes ? 1 : 0;
  ci.pPushConstantRanges = pushBytes ? &range : nullptr;
  VkPipelineLayout l = VK_NULL_HANDLE;
  vk::check(vkCreatePipelineLayout(ctx_->device(), &ci, nullptr, &l), "vkCreatePipelineLayout");
  layouts_[key] = l;
  return l;
}

const PipelineEntry& PipelineCache::get(const PipelineKey& key) {
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return it->second;
  PipelineEntry e;
  VkShaderModule m = module(key.shader);
  e.setLayout = setLayout(key.bindings);
  e.layout = pipelineLayout(key.bindings, key.pushBytes);

  std::vector<VkSpecializationMapEntry> entries(key.specConstants.size());
  for (uint32_t i = 0; i < entries.size(); ++i) entries[i] = {i, i * 4, 4};
  VkSpecializationInfo spec{};
  spec.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec.pMapEntries = entries.data();
  spec.dataSize = key.specConstants.size() * 4;
  spec.pData = key.specConstants.data();

  auto ci = vk::make<VkComputePipelineCreateInfo>(VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO);
  ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = m;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = &spec;
  ci.layout = e.layout;
  vk::check(vkCreateComputePipelines(ctx_->device(), VK_NULL_HANDLE, 1, &ci, nullptr, &e.pipeline),
            ("vkCreateComputePipelines(" + key.shader + ")").c_str());
  return pipelines_.emplace(key, e).first->second;
}

}  // namespace rl
