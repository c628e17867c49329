#include "vulkan/imgui_layer.h"

#include <QFile>
#include <QVulkanDeviceFunctions>
#include <QVulkanFunctions>
#include <QVulkanWindow>
#include <cfloat>
#include <imgui.h>
#include <imgui_internal.h>
#include <backends/imgui_impl_vulkan.h>

namespace rl::ui {

namespace {
const char* kFontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
}

ImGuiLayer::ImGuiLayer() {
  ImGuiContext* previous = ImGui::GetCurrentContext();
  context_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(context_);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // panel state is ours (PanelState), not an imgui.ini in the cwd
  io.LogFilename = nullptr;
  io.BackendPlatformName = "routelab-qt";
  ImGui::StyleColorsLight();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 4.0f;
  style.FrameRounding = 3.0f;
  style.Colors[ImGuiCol_WindowBg].w = 0.92f;
  if (QFile::exists(kFontFile)) io.Fonts->AddFontFromFileTTF(kFontFile, 13.0f);
  if (io.Fonts->Fonts.empty()) io.Fonts->AddFontDefault();
  ImGui::SetCurrentContext(previous);
}

ImGuiLayer::~ImGuiLayer() {
  releaseVulkan();
  ImGui::DestroyContext(context_);
}

void ImGuiLayer::makeCurrent() const { ImGui::SetCurrentContext(context_); }

bool ImGuiLayer::initVulkan(QVulkanWindow& window, QString& error) {
  makeCurrent();
  window_ = &window;
  VkDevice device = window.device();
  QVulkanDeviceFunctions* df = window.vulkanInstance()->deviceFunctions(device);

  // The font atlas is the backend's only texture; a few sets leave room for a re-upload.
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 4};
  VkDescriptorPoolCreateInfo poolInfo{};
  poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  poolInfo.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  poolInfo.maxSets = 4;
  poolInfo.poolSizeCount = 1;
  poolInfo.pPoolSizes = &size;
  if (df->vkCreateDescriptorPool(device, &poolInfo, nullptr, &descriptorPool_) != VK_SUCCESS) {
    error = "ImGui: cannot create a descriptor pool";
    return false;
  }

  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = window.vulkanInstance()->vkInstance();
  info.PhysicalDevice = window.physicalDevice();
  info.Device = device;
  info.QueueFamily = window.graphicsQueueFamilyIndex();
  info.Queue = window.graphicsQueue();
  info.DescriptorPool = descriptorPool_;
  info.Subpass = 0;
  // The backend rotates its vertex buffers over ImageCount frames: at least as many as can be
  // in flight.
  info.MinImageCount = 2;
  info.ImageCount = QVulkanWindow::MAX_CONCURRENT_FRAME_COUNT;
  info.MSAASamples = window.sampleCountFlagBits();
  if (!ImGui_ImplVulkan_Init(&info, window.defaultRenderPass())) {
    df->vkDestroyDescriptorPool(device, descriptorPool_, nullptr);
    descriptorPool_ = VK_NULL_HANDLE;
    error = "ImGui: the Vulkan backend did not initialise";
    return false;
  }

  // Upload the font atlas once, synchronously.
  VkCommandBufferAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  alloc.commandPool = window.graphicsCommandPool();
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  if (df->vkAllocateCommandBuffers(device, &alloc, &cb) != VK_SUCCESS) {
    error = "ImGui: cannot allocate a command buffer for the font upload";
    releaseVulkan();
    return false;
  }
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  df->vkBeginCommandBuffer(cb, &begin);
  ImGui_ImplVulkan_CreateFontsTexture(cb);
  df->vkEndCommandBuffer(cb);
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cb;
  const VkResult r = df->vkQueueSubmit(window.graphicsQueue(), 1, &submit, VK_NULL_HANDLE);
  df->vkQueueWaitIdle(window.graphicsQueue());
  df->vkFreeCommandBuffers(device, window.graphicsCommandPool(), 1, &cb);
  ImGui_ImplVulkan_DestroyFontUploadObjects();
  if (r != VK_SUCCESS) {
    error = "ImGui: the font upload failed";
    releaseVulkan();
    return false;
  }
  return true;
}

void ImGuiLayer::releaseVulkan() {
  if (!window_ || descriptorPool_ == VK_NULL_HANDLE) return;
  makeCurrent();
  if (ImGui::GetIO().BackendRendererUserData) ImGui_ImplVulkan_Shutdown();
  QVulkanDeviceFunctions* df = window_->vulkanInstance()->deviceFunctions(window_->device());
  df->vkDestroyDescriptorPool(window_->device(), descriptorPool_, nullptr);
  descriptorPool_ = VK_NULL_HANDLE;
}

void ImGuiLayer::mouseMove(const QPointF& pos) { mouse_ = pos; }

void ImGuiLayer::mouseButton(int button, bool down) {
  if (button < 0 || button > 2) return;
  if (down) {
    down_[button] = true;
    pressUnseen_[button] = true;
    releaseHeld_[button] = false;
  } else if (pressUnseen_[button]) {
    releaseHeld_[button] = true;  // let the next frame see the press, the one after the release
  } else {
    down_[button] = false;
  }
}

void ImGuiLayer::mouseWheel(float steps) { wheel_ += steps; }

void ImGuiLayer::mouseLeft() { mouse_ = QPointF(-FLT_MAX, -FLT_MAX); }

void ImGuiLayer::beginFrame(const QSizeF& logicalSize, float devicePixelRatio, float deltaSeconds) {
  makeCurrent();
  ImGuiIO& io = ImGui::GetIO();
  io.DisplaySize = ImVec2(float(logicalSize.width()), float(logicalSize.height()));
  io.DisplayFramebufferScale = ImVec2(devicePixelRatio, devicePixelRatio);
  io.DeltaTime = deltaSeconds > 0 ? deltaSeconds : 1.0f / 60.0f;
  io.MousePos = ImVec2(float(mouse_.x()), float(mouse_.y()));
  for (int b = 0; b < 3; ++b) io.MouseDown[b] = down_[b];
  io.MouseWheel = wheel_;
  wheel_ = 0;
  anotherFrame_ = false;
  ImGui_ImplVulkan_NewFrame();
  ImGui::NewFrame();
  for (int b = 0; b < 3; ++b) {
    pressUnseen_[b] = false;
    if (releaseHeld_[b]) {
      releaseHeld_[b] = false;
      down_[b] = false;
      anotherFrame_ = true;
    }
  }
}

void ImGuiLayer::render(VkCommandBuffer commandBuffer) {
  makeCurrent();
  popupOpen_ = ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId);
  ImGui::Render();
  // Remember where the panels are, so input between frames can be routed without waiting for
  // ImGui's WantCaptureMouse of the next frame. Tooltips never take the mouse.
  panelRects_.clear();
  for (ImGuiWindow* w : context_->Windows) {
    if (!w->Active || w->Hidden || (w->Flags & ImGuiWindowFlags_Tooltip)) continue;
    panelRects_.emplace_back(w->Pos.x, w->Pos.y, w->Size.x, w->Size.y);
  }
  // Widgets animate (hover colours, popups opening) and settle over a frame or two.
  if (ImGui::GetIO().WantCaptureMouse && anotherFrame_ == false)
    anotherFrame_ = ImGui::IsAnyItemActive();
  ImGui_ImplVulkan_RenderDrawData(ImGui::GetDrawData(), commandBuffer);
}

bool ImGuiLayer::capturesMouseAt(const QPointF& pos) const {
  if (popupOpen_) return true;
  for (const QRectF& r : panelRects_)
    if (r.contains(pos)) return true;
  return false;
}

}  // namespace rl::ui
