#include "vulkan/point_cloud_view.h"

#include <QFileInfo>
#include <QLabel>
#include <QSaveFile>
#include <QVBoxLayout>
#include <QVulkanFunctions>
#include <QVulkanInstance>

#include "vulkan/point_cloud_window.h"

namespace rl::ui {

namespace {

// Empty if the instance has at least one physical device; else why not.
QString deviceProblem(QVulkanInstance& instance) {
  QVulkanFunctions* f = instance.functions();
  uint32_t count = 0;
  if (f->vkEnumeratePhysicalDevices(instance.vkInstance(), &count, nullptr) != VK_SUCCESS ||
      count == 0)
    return "Vulkan has no usable device on this machine";
  return {};
}

}  // namespace

PointCloudView::PointCloudView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  setMinimumSize(200, 150);

  instance_ = std::make_unique<QVulkanInstance>();
  instance_->setApiVersion(QVersionNumber(1, 0));
  if (!instance_->create()) {
    showUnavailable(QString("Vulkan is not available (vkCreateInstance failed, VkResult %1)")
                        .arg(instance_->errorCode()));
    return;
  }
  if (QString problem = deviceProblem(*instance_); !problem.isEmpty()) {
    showUnavailable(problem);
    return;
  }
  window_ = new PointCloudWindow;
  window_->setVulkanInstance(instance_.get());
  container_ = QWidget::createWindowContainer(window_, this);
  container_->setFocusPolicy(Qt::StrongFocus);
  layout->addWidget(container_);
  connect(window_, &PointCloudWindow::selectionChanged, this, &PointCloudView::selectionChanged);
  connect(window_, &PointCloudWindow::hoveredChanged, this, &PointCloudView::hoveredChanged);
  connect(window_, &PointCloudWindow::colourByChanged, this, &PointCloudView::colourByChanged);
  connect(window_, &PointCloudWindow::frameRendered, this, &PointCloudView::frameRendered);
  connect(window_, &PointCloudWindow::renderFailed, this, &PointCloudView::showUnavailable);
}

PointCloudView::~PointCloudView() {
  // The window must go before the instance it renders with.
  delete container_;
  container_ = nullptr;
  window_ = nullptr;
  instance_.reset();
}

void PointCloudView::showUnavailable(const QString& reason) {
  reason_ = reason;
  if (container_) container_->hide();
  if (!message_) {
    message_ = new QLabel(this);
    message_->setAlignment(Qt::AlignCenter);
    message_->setWordWrap(true);
    message_->setStyleSheet("color: #555; padding: 16px;");
    layout()->addWidget(message_);
  }
  message_->setText(QString("The point cloud view cannot draw: %1.\nTraining and the other "
                            "views are not affected.").arg(reason));
}

QString PointCloudView::unavailableReason() const { return reason_; }

QString PointCloudView::setPoints(PointCloud cloud) {
  if (!window_) {
    if (QString problem = cloud.validate(); !problem.isEmpty()) return problem;
    emptyCloud_ = std::move(cloud);  // kept so points() still answers
    return {};
  }
  return window_->setPoints(std::move(cloud));
}

const PointCloud& PointCloudView::points() const {
  return window_ ? window_->points() : emptyCloud_;
}

void PointCloudView::setAnimationDuration(int ms) {
  if (window_) window_->setAnimationDuration(ms);
}

void PointCloudView::setColourBy(int attribute) {
  if (window_) window_->setColourBy(attribute);
}

int PointCloudView::colourBy() const { return window_ ? window_->colourBy() : 0; }

void PointCloudView::setSelection(std::vector<int> indices) {
  if (window_) window_->setSelection(std::move(indices));
}

std::vector<int> PointCloudView::selection() const {
  return window_ ? window_->selection() : std::vector<int>{};
}

int PointCloudView::hoveredIndex() const { return window_ ? window_->hoveredIndex() : -1; }

QString PointCloudView::hoveredText() const { return window_ ? window_->hoveredText() : QString(); }

QPointF PointCloudView::dataToPixel(const QPointF& data) const {
  return window_ ? window_->dataToPixel(data) : QPointF();
}

QPointF PointCloudView::pixelToData(const QPointF& pixel) const {
  return window_ ? window_->pixelToData(pixel) : QPointF();
}

QPointF PointCloudView::pointPixel(int index) const {
  return window_ ? window_->pointPixel(index) : QPointF();
}

void PointCloudView::zoomAt(const QPointF& pixel, double factor) {
  if (window_) window_->zoomAt(pixel, factor);
}

void PointCloudView::resetView() {
  if (window_) window_->resetView();
}

double PointCloudView::zoom() const { return window_ ? window_->zoom() : 1.0; }

PanelState PointCloudView::panelState() const {
  return window_ ? window_->panelState() : PanelState{};
}

void PointCloudView::setPanelState(const PanelState& state) {
  if (window_) window_->setPanelState(state);
}

QRectF PointCloudView::panelItemRect(const QString& name) const {
  return window_ ? window_->panelItemRect(name) : QRectF();
}

void PointCloudView::setColourPanelOpen(bool open) {
  if (window_) window_->setColourPanelOpen(open);
}

bool PointCloudView::colourPanelOpen() const { return window_ && window_->colourPanelOpen(); }

std::vector<QRectF> PointCloudView::panelRects() const {
  return window_ ? window_->panelRects() : std::vector<QRectF>();
}

QImage PointCloudView::grabImage() {
  if (!window_ || !window_->isExposed() || !reason_.isEmpty()) return {};
  return window_->grabViewport();
}

QString PointCloudView::exportPng(const QString& path) {
  const QImage image = grabImage();
  if (image.isNull())
    return QString("%1: nothing to export (%2)")
        .arg(path, reason_.isEmpty() ? "the view is not shown" : reason_);
  // Written to a temporary file and renamed, so a failed export leaves no half-written PNG.
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly))
    return QString("%1: cannot write (%2)").arg(path, file.errorString());
  if (!image.save(&file, "PNG")) return QString("%1: PNG encoding failed").arg(path);
  if (!file.commit()) return QString("%1: cannot write (%2)").arg(path, file.errorString());
  return {};
}

QWindow* PointCloudView::viewportWindow() const { return window_; }

}  // namespace rl::ui
