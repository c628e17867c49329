#include "vulkan/point_pipeline.h"

#include <QVulkanDeviceFunctions>
#include <QVulkanWindow>
#include <array>

#include "embedded_shaders.h"

namespace rl::ui {

namespace {

VkShaderModule shaderModule(QVulkanDeviceFunctions& df, VkDevice device, const char* name) {
  const auto spirv = embeddedShader(name);
  if (spirv.empty()) return VK_NULL_HANDLE;
  VkShaderModuleCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  info.codeSize = spirv.size_bytes();
  info.pCode = spirv.data();
  VkShaderModule module = VK_NULL_HANDLE;
  if (df.vkCreateShaderModule(device, &info, nullptr, &module) != VK_SUCCESS)
    return VK_NULL_HANDLE;
  return module;
}

}  // namespace

QString PointPipeline::create(QVulkanWindow& window) {
  VkDevice device = window.device();
  QVulkanDeviceFunctions& df = *window.vulkanInstance()->deviceFunctions(device);

  VkPushConstantRange range{VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                            sizeof(PointPushConstants)};
  VkPipelineLayoutCreateInfo layoutInfo{};
  layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  layoutInfo.pushConstantRangeCount = 1;
  layoutInfo.pPushConstantRanges = &range;
  if (df.vkCreatePipelineLayout(device, &layoutInfo, nullptr, &layout) != VK_SUCCESS)
    return "point pipeline: cannot create the pipeline layout";

  VkShaderModule vert = shaderModule(df, device, "points.vert");
  VkShaderModule frag = shaderModule(df, device, "points.frag");
  if (!vert || !frag) {
    if (vert) df.vkDestroyShaderModule(device, vert, nullptr);
    if (frag) df.vkDestroyShaderModule(device, frag, nullptr);
    return "point pipeline: the embedded points.vert/points.frag shaders are missing or invalid";
  }
  std::array<VkPipelineShaderStageCreateInfo, 2> stages{};
  stages[0] = {};
  stages[0].sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
  stages[0].module = vert;
  stages[0].pName = "main";
  stages[1] = {};
  stages[1].sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
  stages[1].module = frag;
  stages[1].pName = "main";

  VkVertexInputBindingDescription binding{0, sizeof(PointInstance), VK_VERTEX_INPUT_RATE_INSTANCE};
  const std::array<VkVertexInputAttributeDescription, 4> attributes = {{
      {0, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(PointInstance, from)},
      {1, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(PointInstance, to)},
      {2, 0, VK_FORMAT_R8G8B8A8_UNORM, offsetof(PointInstance, rgba)},
      {3, 0, VK_FORMAT_R32_UINT, offsetof(PointInstance, flags)},
  }};
  VkPipelineVertexInputStateCreateInfo vertexInput{};
  vertexInput.sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO;
  vertexInput.vertexBindingDescriptionCount = 1;
  vertexInput.pVertexBindingDescriptions = &binding;
  vertexInput.vertexAttributeDescriptionCount = attributes.size();
  vertexInput.pVertexAttributeDescriptions = attributes.data();

  VkPipelineInputAssemblyStateCreateInfo assembly{};

  assembly.sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO;
  assembly.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
  VkPipelineViewportStateCreateInfo viewport{};
  viewport.sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO;
  viewport.viewportCount = 1;
  viewport.scissorCount = 1;
  VkPipelineRasterizationStateCreateInfo raster{};
  raster.sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO;
  raster.polygonMode = VK_POLYGON_MODE_FILL;
  raster.cullMode = VK_CULL_MODE_NONE;
  raster.lineWidth = 1.0f;
  VkPipelineMultisampleStateCreateInfo multisample{};
  multisample.sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO;
  multisample.rasterizationSamples = window.sampleCountFlagBits();
  VkPipelineColorBlendAttachmentState blend{};
  blend.blendEnable = VK_TRUE;
  blend.srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA;
  blend.dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
  blend.colorBlendOp = VK_BLEND_OP_ADD;
  blend.srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE;
  blend.dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
  blend.alphaBlendOp = VK_BLEND_OP_ADD;
  blend.colorWriteMask = 0xF;
  VkPipelineColorBlendStateCreateInfo colourBlend{};
  colourBlend.sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO;
  colourBlend.attachmentCount = 1;
  colourBlend.pAttachments = &blend;
  VkPipelineDepthStencilStateCreateInfo depth{};
  depth.sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO;  // no depth test: draw order
  const std::array<VkDynamicState, 2> dynamicStates = {VK_DYNAMIC_STATE_VIEWPORT,
                                                       VK_DYNAMIC_STATE_SCISSOR};
  VkPipelineDynamicStateCreateInfo dynamic{};
  dynamic.sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO;
  dynamic.dynamicStateCount = dynamicStates.size();
  dynamic.pDynamicStates = dynamicStates.data();

  VkGraphicsPipelineCreateInfo info{};

  info.sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO;
  info.stageCount = stages.size();
  info.pStages = stages.data();
  info.pVertexInputState = &vertexInput;
  info.pInputAssemblyState = &assembly;
  info.pViewportState = &viewport;
  info.pRasterizationState = &raster;
  info.pMultisampleState = &multisample;
  info.pDepthStencilState = &depth;
  info.pColorBlendState = &colourBlend;
  info.pDynamicState = &dynamic;
  info.layout = layout;
  info.renderPass = window.defaultRenderPass();
  const VkResult r =
      df.vkCreateGraphicsPipelines(device, VK_NULL_HANDLE, 1, &info, nullptr, &pipeline);
  df.vkDestroyShaderModule(device, vert, nullptr);
  df.vkDestroyShaderModule(device, frag, nullptr);
  if (r != VK_SUCCESS) return QString("point pipeline: vkCreateGraphicsPipelines failed (%1)").arg(r);
  return {};
}

void PointPipeline::destroy(QVulkanWindow& window) {
  QVulkanDeviceFunctions& df = *window.vulkanInstance()->deviceFunctions(window.device());
  if (pipeline) df.vkDestroyPipeline(window.device(), pipeline, nullptr);
  if (layout) df.vkDestroyPipelineLayout(window.device(), layout, nullptr);
  pipeline = VK_NULL_HANDLE;
  layout = VK_NULL_HANDLE;
}

}  // namespace rl::ui
