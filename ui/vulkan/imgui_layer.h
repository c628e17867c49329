#pragma once
// ImGuiLayer: one Dear ImGui context per view, acting as ImGui's platform backend (mouse input,
// display size) and driving its Vulkan renderer backend inside the view's render pass.
// ImGui 1.86 reads the mouse state once per NewFrame(), so a press and release that arrive
// between two frames would be lost: a release is held down for one frame when its press was
// not seen yet.
#include <QPointF>
#include <QRectF>
#include <QSizeF>
#include <QString>
#include <QVulkanInstance>
#include <vector>

struct ImGuiContext;
class QVulkanWindow;

namespace rl::ui {

class ImGuiLayer {
 public:
  ImGuiLayer();
  ~ImGuiLayer();
  ImGuiLayer(const ImGuiLayer&) = delete;
  ImGuiLayer& operator=(const ImGuiLayer&) = delete;

  // From QVulkanWindowRenderer::initResources (render pass and device ready) / releaseResources.
  // On failure returns false and says why.
  bool initVulkan(QVulkanWindow& window, QString& error);
  void releaseVulkan();
  bool vulkanReady() const { return descriptorPool_ != VK_NULL_HANDLE; }

  // Input in logical pixels; button 0 left, 1 right, 2 middle.
  void mouseMove(const QPointF& pos);
  void mouseButton(int button, bool down);
  void mouseWheel(float steps);
  void mouseLeft();

  // Starts a frame (makes this layer's context current). Panels may be drawn until render().
  void beginFrame(const QSizeF& logicalSize, float devicePixelRatio, float deltaSeconds);
  // Ends the frame and records its draw commands (inside the current render pass).
  void render(VkCommandBuffer commandBuffer);
  // A held release or a settling widget needs one more frame.
  bool wantsAnotherFrame() const { return anotherFrame_; }
  // True if a panel or popup covered `pos` in the last frame, or a popup is open (a click
  // anywhere then belongs to ImGui, which closes the popup).
  bool capturesMouseAt(const QPointF& pos) const;

 private:
  void makeCurrent() const;

  ImGuiContext* context_ = nullptr;
  QVulkanWindow* window_ = nullptr;
  VkDescriptorPool descriptorPool_ = VK_NULL_HANDLE;
  QPointF mouse_{-1e9, -1e9};
  bool down_[3] = {}, pressUnseen_[3] = {}, releaseHeld_[3] = {};
  float wheel_ = 0;
  bool anotherFrame_ = false;
  bool popupOpen_ = false;
  std::vector<QRectF> panelRects_;
};

}  // namespace rl::ui
