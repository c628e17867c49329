#include "views/input_map_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QScreen>
#include <QStackedWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <qcustomplot.h>

#include "views/plot_style.h"

namespace rl::ui {

// The decision boundary as line segments in plot coordinates, drawn in one pass (vector in
// SVG/PDF exports, unlike a second colour map).
class BoundaryLinesItem : public QCPAbstractItem {
 public:
  explicit BoundaryLinesItem(QCustomPlot* plot) : QCPAbstractItem(plot) {}
  std::vector<QLineF> lines;
  QPen pen;

  double selectTest(const QPointF&, bool, QVariant*) const override { return -1; }

 protected:
  void draw(QCPPainter* painter) override {
    QCPAxis* x = clipAxisRect()->axis(QCPAxis::atBottom);
    QCPAxis* y = clipAxisRect()->axis(QCPAxis::atLeft);
    QVector<QLineF> pixels;
    pixels.reserve(static_cast<int>(lines.size()));
    for (const QLineF& l : lines)
      pixels.append(QLineF(x->coordToPixel(l.x1()), y->coordToPixel(l.y1()), x->coordToPixel(l.x2()),
                           y->coordToPixel(l.y2())));
    painter->setPen(pen);
    painter->drawLines(pixels);
  }
};

namespace {

// Text sizes in pixels (the points at the screen's DPI): exports replay the plot through a QPicture,
// which resolves point sizes at the target's DPI (72 for SVG) and would shrink the text there.
QFont figureFont(int pointSize) {
  QFont font = plotFont(pointSize);
  const QScreen* screen = QGuiApplication::primaryScreen();
  font.setPixelSize(std::max(1, qRound(pointSize * (screen ? screen->logicalDotsPerInchY() : 96.0) / 72.0)));
  return font;
}

constexpr int kListEveryExpertUpTo = 12;  // legend lines for experts that own no region, up to this many experts
constexpr int kExpertAlpha = 115;  // fills stay light enough for the points on top
constexpr int kClassAlpha = 90;
constexpr double kHoverFraction = 0.025;  // hover radius as a fraction of the larger axis span

// One colour per integer level: stops at i / (levels - 1) and exactly `levels` buffer entries, so
// a cell holding the integer i gets colours[i] (QCPColorGradient::colorize truncates
// (value - lower) * (levels - 1) / range, which is exact for integers on [0, levels - 1]).
QCPColorGradient categoricalGradient(const std::vector<QColor>& colors) {
  const int n = static_cast<int>(colors.size());
  const int levels = std::max(2, n);
  QCPColorGradient g;
  g.clearColorStops();
  for (int i = 0; i < levels; ++i) g.setColorStopAt(double(i) / (levels - 1), colors[std::min(i, n - 1)]);
  g.setLevelCount(levels);
  g.setPeriodic(false);
  return g;
}

QColor withAlpha(QColor c, int alpha) {
  c.setAlpha(alpha);
  return c;
}

void styleAxis(QCPAxis* axis) {
  axis->setTickLabelFont(figureFont(9));
  axis->setLabelFont(figureFont(9));
  axis->grid()->setVisible(false);
}

int argmax(const float* values, int n) {
  return n > 0 ? static_cast<int>(std::max_element(values, values + n) - values) : -1;
}

}  // namespace

bool InputMapView::Shown::sameData(const RunSnapshot& s) const {
  const InputMap& m = s.inputMap;
  if (s.step != step || s.classes != classes || m.resolution != map.resolution) return false;
  if (m.xMin != map.xMin || m.xMax != map.xMax || m.yMin != map.yMin || m.yMax != map.yMax) return false;
  if (m.topExpert != map.topExpert || m.predictedClass != map.predictedClass) return false;
  if (s.probe.rows != probe.rows || s.probe.x != probe.x || s.probe.labels != probe.labels) return false;
  if (s.probe.prediction != probe.prediction || s.probe.layers.size() != probe.layers.size()) return false;
  for (size_t j = 0; j < probe.layers.size(); ++j)
    if (s.probe.layers[j].probs != probe.layers[j].probs || s.probe.layers[j].idx != probe.layers[j].idx)
      return false;
  return true;
}

InputMapView::InputMapView(QWidget* parent) : FigureView(parent) {
  controls_ = new QWidget(this);
  auto* bar = new QHBoxLayout(controls_);
  bar->setContentsMargins(8, 4, 8, 0);
  layerLabel_ = new QLabel(QStringLiteral("MoE layer:"), controls_);
  layerBox_ = new QComboBox(controls_);
  byClassBox_ = new QCheckBox(QStringLiteral("Colour by predicted class"), controls_);
  byClassBox_->setToolTip(QStringLiteral("Fill the plane by the class the model predicts instead of by the router's top expert"));
  bar->addWidget(layerLabel_);
  bar->addWidget(layerBox_);
  bar->addSpacing(12);
  bar->addWidget(byClassBox_);
  bar->addStretch(1);
  connect(layerBox_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { redraw(); });
  connect(byClassBox_, &QCheckBox::toggled, this, [this] { redraw(); });

  stack_ = new QStackedWidget(this);
  plot_ = new QCustomPlot(stack_);
  note_ = new QLabel(stack_);
  note_->setWordWrap(true);
  note_->setAlignment(Qt::AlignCenter);
  note_->setMargin(32);
  note_->setFont(figureFont(11));
  note_->setStyleSheet(QStringLiteral("color: #444; background: white;"));
  stack_->addWidget(plot_);
  stack_->addWidget(note_);
  buildPlot();

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(controls_);
  layout->addWidget(stack_, 1);
  updateLayerSelector(0);
  showNote(QStringLiteral("The input-space map appears with the first snapshot."));
}

void InputMapView::buildPlot() {
  QCustomPlot* p = plot_;
  p->setBackground(Qt::white);
  p->setMouseTracking(true);
  for (QCPAxis* axis : p->axisRect()->axes()) styleAxis(axis);
  p->xAxis->setLabel(QStringLiteral("input x₀"));
  p->yAxis->setLabel(QStringLiteral("input x₁"));

  QFont titleFont = figureFont(10);
  titleFont.setBold(true);
  title_ = new QCPTextElement(p, QString(), titleFont);
  p->plotLayout()->insertRow(0);
  p->plotLayout()->addElement(0, 0, title_);

  // Draw order follows creation: fill, boundary, points, hover ring.
  map_ = new QCPColorMap(p->xAxis, p->yAxis);
  map_->setInterpolate(false);
  map_->setTightBoundary(false);
  boundary_ = new BoundaryLinesItem(p);
  boundary_->pen = QPen(QColor(25, 25, 25), 1.6, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);

  // Legend to the right of the plane, top-aligned (an empty element below takes the slack). The
  // plane and the legend share the row under the title, so the title spans the whole width.
  QCPAxisRect* plane = p->axisRect();
  p->plotLayout()->take(plane);
  auto* body = new QCPLayoutGrid;
  p->plotLayout()->addElement(1, 0, body);
  body->addElement(0, 0, plane);
  auto* side = new QCPLayoutGrid;
  body->addElement(0, 1, side);
  body->setColumnStretchFactor(1, 0.001);
  p->axisRect()->insetLayout()->take(p->legend);
  side->addElement(0, 0, p->legend);
  side->addElement(1, 0, new QCPLayoutElement(p));
  side->setRowStretchFactor(0, 0.001);
  p->legend->setVisible(true);
  p->legend->setFont(figureFont(8));
  p->legend->setBorderPen(QPen(QColor(200, 200, 200)));
  p->legend->setRowSpacing(0);
  p->legend->setFillOrder(QCPLayoutGrid::foRowsFirst);
  p->legend->setWrap(14);

  connect(p, &QCustomPlot::beforeReplot, this, &InputMapView::fitEqualAspect);
  // The longest title variant that fits (the title row changes no other element's size).
  connect(p, &QCustomPlot::afterLayout, this, [this] {
    if (!titles_.isEmpty()) title_->setText(firstThatFits(titles_, title_->font(), title_->outerRect().width() - 8));
  });
  connect(p, &QCustomPlot::mouseMove, this, &InputMapView::onMouseMove);
}

void InputMapView::showSnapshot(const RunSnapshot& snapshot) {
  const size_t layers = std::max({snapshot.probe.layers.size(), snapshot.inputMap.topExpert.size(),
                                  snapshot.layers.size()});
  updateLayerSelector(static_cast<int>(layers));
  if (shown_.sameData(snapshot)) return;
  shown_.step = snapshot.step;
  shown_.classes = snapshot.classes;
  shown_.dataKind = snapshot.spec.data.kind;
  shown_.tokens = snapshot.spec.model.kind == ModelKind::Transformer;
  shown_.inputDim = snapshot.probe.rows > 0 ? static_cast<int>(snapshot.probe.x.size()) / snapshot.probe.rows : 0;
  shown_.map = snapshot.inputMap;
  shown_.probe = snapshot.probe;
  shown_.layerExperts.assign(layers, 0);
  shown_.layerK.assign(layers, 0);
  for (size_t j = 0; j < layers; ++j) {
    if (j < snapshot.layers.size()) {
      shown_.layerExperts[j] = snapshot.layers[j].experts;
      shown_.layerK[j] = snapshot.layers[j].k;
    }
    if (j < snapshot.probe.layers.size()) {
      shown_.layerExperts[j] = snapshot.probe.layers[j].experts;
      shown_.layerK[j] = snapshot.probe.layers[j].k;
    }
  }
  redraw();
}

void InputMapView::updateLayerSelector(int layers) {
  if (layerBox_->count() != layers) {
    const int keep = std::clamp(layerBox_->currentIndex(), 0, std::max(0, layers - 1));
    QSignalBlocker block(layerBox_);
    layerBox_->clear();
    for (int j = 0; j < layers; ++j) layerBox_->addItem(QString("%1 of %2").arg(j + 1).arg(layers));
    layerBox_->setCurrentIndex(layers > 0 ? keep : -1);
  }
  layerLabel_->setVisible(layers > 1);
  layerBox_->setVisible(layers > 1);
}

int InputMapView::layerCount() const { return layerBox_->count(); }
int InputMapView::currentLayer() const { return std::max(0, layerBox_->currentIndex()); }
void InputMapView::setCurrentLayer(int layer) { layerBox_->setCurrentIndex(layer); }
bool InputMapView::colourByClass() const { return byClassBox_->isChecked() && shown_.classes > 0; }
void InputMapView::setColourByClass(bool byClass) { byClassBox_->setChecked(byClass); }

void InputMapView::showNote(const QString& note) {
  note_->setText(note);
  stack_->setCurrentWidget(note_);
  controls_->hide();
  mapExperts_ = 0;
}

void InputMapView::redraw() {
  const InputMap& m = shown_.map;
  const size_t cells = static_cast<size_t>(m.resolution) * m.resolution;
  const bool valid = m.resolution > 0 && !m.topExpert.empty() &&
                     std::all_of(m.topExpert.begin(), m.topExpert.end(), [&](const auto& t) { return t.size() == cells; });
  if (!valid) {
    if (shown_.tokens)
      showNote(QStringLiteral("The input-space map needs 2-D input; this model reads token sequences.\n\n"
                              "The token routing view shows which expert each token goes to."));
    else if (shown_.inputDim > 0 && shown_.inputDim != 2)
      showNote(QString("The input-space map needs a 2-D dataset; \"%1\" has %2 input features.\n\n"
                       "The routing view shows how its probe rows are routed.")
                   .arg(QString::fromStdString(shown_.dataKind))
                   .arg(shown_.inputDim));
    else
      showNote(QStringLiteral("The input-space map appears with the first snapshot of a 2-D dataset."));
    return;
  }
  stack_->setCurrentWidget(plot_);
  byClassBox_->setVisible(shown_.classes > 0);
  controls_->setVisible(layerCount() > 1 || shown_.classes > 0);
  const int layer = std::min(currentLayer(), static_cast<int>(m.topExpert.size()) - 1);
  updateMap(layer);
  updateBoundary();
  updatePoints();
  updateLegend(static_cast<int>(cellsPerExpert_.size()));

  const QString layerText = layerCount() > 1 ? QString(" · layer %1").arg(layer + 1) : QString();
  const QString stepText = QString(" · step %1").arg(shown_.step);
  titles_ = colourByClass()
                ? QStringList{QString("Predicted class over the input plane%1%2").arg(layerText, stepText),
                              QString("Predicted class%1%2").arg(layerText, stepText), QString("Predicted class%1").arg(layerText)}
                : QStringList{QString("Router's top expert over the input plane%1%2").arg(layerText, stepText),
                              QString("Top expert over the input plane%1%2").arg(layerText, stepText),
                              QString("Top expert%1%2").arg(layerText, stepText), QString("Top expert%1").arg(layerText)};
  const int width = title_->outerRect().width();
  title_->setText(width > 0 ? firstThatFits(titles_, title_->font(), width - 8) : titles_.front());
  fitEqualAspect();
  replotIfVisible();
}

void InputMapView::replotIfVisible() {
  // A view in a hidden dock tab only keeps its data; showEvent draws it when it comes back.
  if (isVisible() && !showsNote()) plot_->replot(QCustomPlot::rpQueuedReplot);
}

void InputMapView::showEvent(QShowEvent* event) {
  FigureView::showEvent(event);
  replotIfVisible();
}

void InputMapView::updateMap(int layer) {
  const InputMap& m = shown_.map;
  const int res = m.resolution;
  const bool byClass = colourByClass() && m.predictedClass.size() == m.topExpert[layer].size();
  const std::vector<int>& topExpert = m.topExpert[layer];
  const std::vector<int>& values = byClass ? m.predictedClass : topExpert;
  int experts = layer < static_cast<int>(shown_.layerExperts.size()) ? shown_.layerExperts[layer] : 0;
  if (experts <= 0) experts = topExpert.empty() ? 1 : *std::max_element(topExpert.begin(), topExpert.end()) + 1;
  const int levels = byClass ? shown_.classes : experts;

  // A new palette only when the number of levels or the mode changes (it rebuilds the buffer).
  const int paletteKey = byClass ? -levels : levels;
  if (paletteKey != mapExperts_ || map_->gradient().levelCount() != std::max(2, levels)) {
    std::vector<QColor> colors;
    for (int i = 0; i < levels; ++i)
      colors.push_back(byClass ? withAlpha(classColor(i), kClassAlpha) : withAlpha(expertColor(i), kExpertAlpha));
    map_->setGradient(categoricalGradient(colors));
    map_->setDataRange(QCPRange(0, std::max(2, levels) - 1));
    mapExperts_ = paletteKey;
  }

  // Cell centres: InputMap's extent is the covered plane, split into res × res cells.
  QCPColorMapData* data = map_->data();
  const double dx = (m.xMax - m.xMin) / res, dy = (m.yMax - m.yMin) / res;
  const int stored = res == 1 ? 2 : res;  // QCPColorMap draws a single cell with no extent
  if (data->keySize() != stored || data->valueSize() != stored) data->setSize(stored, stored);
  if (res == 1)
    data->setRange(QCPRange(m.xMin + dx / 4, m.xMax - dx / 4), QCPRange(m.yMin + dy / 4, m.yMax - dy / 4));
  else
    data->setRange(QCPRange(m.xMin + dx / 2, m.xMax - dx / 2), QCPRange(m.yMin + dy / 2, m.yMax - dy / 2));
  cellsPerExpert_.assign(static_cast<size_t>(experts), 0);
  for (int e : topExpert)
    if (e >= 0 && e < experts) ++cellsPerExpert_[e];
  for (int iy = 0; iy < stored; ++iy)
    for (int ix = 0; ix < stored; ++ix) {
      const int v = values[static_cast<size_t>(res == 1 ? 0 : iy) * res + (res == 1 ? 0 : ix)];
      data->setCell(ix, iy, std::clamp(v, 0, levels - 1));  // out-of-range ids would index past the palette
    }
}

void InputMapView::updateBoundary() {
  // The boundary runs between cell centres of different predicted class: on each square of four
  // neighbouring centres it joins the midpoints of the edges whose ends differ (two crossings),
  // or meets at the square's centre (three or four crossings, where several classes meet).
  boundary_->lines.clear();
  const InputMap& m = shown_.map;
  const int res = m.resolution;
  if (m.predictedClass.size() != static_cast<size_t>(res) * res || res < 2) return;
  const double dx = (m.xMax - m.xMin) / res, dy = (m.yMax - m.yMin) / res;
  const auto cls = [&](int ix, int iy) { return m.predictedClass[static_cast<size_t>(iy) * res + ix]; };
  const auto centre = [&](double ix, double iy) { return QPointF(m.xMin + (ix + 0.5) * dx, m.yMin + (iy + 0.5) * dy); };
  for (int iy = 0; iy + 1 < res; ++iy)
    for (int ix = 0; ix + 1 < res; ++ix) {
      const int a = cls(ix, iy), b = cls(ix + 1, iy), c = cls(ix + 1, iy + 1), d = cls(ix, iy + 1);
      if (a == b && b == c && c == d) continue;
      QPointF crossings[4];
      int n = 0;
      if (a != b) crossings[n++] = centre(ix + 0.5, iy);
      if (b != c) crossings[n++] = centre(ix + 1, iy + 0.5);
      if (d != c) crossings[n++] = centre(ix + 0.5, iy + 1);
      if (a != d) crossings[n++] = centre(ix, iy + 0.5);
      if (n == 2) {
        boundary_->lines.emplace_back(crossings[0], crossings[1]);
      } else {
        const QPointF mid = centre(ix + 0.5, iy + 0.5);
        for (int i = 0; i < n; ++i) boundary_->lines.emplace_back(crossings[i], mid);
      }
    }
}

void InputMapView::updatePoints() {
  const Probe& probe = shown_.probe;
  const int rows = probe.rows, dim = shown_.inputDim;
  int groups = shown_.classes;
  if (groups <= 0)  // regression: points coloured by region id
    for (int label : probe.labels) groups = std::max(groups, label + 1);
  while (static_cast<int>(pointGraphs_.size()) < groups) {
    auto* graph = new QCPGraph(plot_->xAxis, plot_->yAxis);
    graph->setLineStyle(QCPGraph::lsNone);
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor(35, 35, 35), 0.8),
                                           QBrush(classColor(static_cast<int>(pointGraphs_.size()))), 5.5));
    graph->setAdaptiveSampling(false);
    pointGraphs_.push_back(graph);
  }
  std::vector<QVector<double>> xs(pointGraphs_.size()), ys(pointGraphs_.size());
  if (dim == 2)
    for (int r = 0; r < rows && r < static_cast<int>(probe.labels.size()); ++r) {
      const int g = probe.labels[r];
      if (g < 0 || g >= groups) continue;
      xs[g].append(probe.x[static_cast<size_t>(r) * 2]);
      ys[g].append(probe.x[static_cast<size_t>(r) * 2 + 1]);
    }
  for (size_t g = 0; g < pointGraphs_.size(); ++g) {
    pointGraphs_[g]->setData(xs[g], ys[g]);
    pointGraphs_[g]->setVisible(static_cast<int>(g) < groups);
    pointGraphs_[g]->setName(QString(shown_.classes > 0 ? "class %1" : "region %1").arg(g));
  }
  if (!hoverRing_) {
    hoverRing_ = new QCPGraph(plot_->xAxis, plot_->yAxis);
    hoverRing_->setLineStyle(QCPGraph::lsNone);
    hoverRing_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 1.6), Qt::NoBrush, 13));
    hoverRing_->removeFromLegend();
  }
  if (hovered_ >= rows) hovered_ = -1;
  hoverRing_->data()->clear();
  if (hovered_ >= 0 && dim == 2)
    hoverRing_->addData(probe.x[static_cast<size_t>(hovered_) * 2], probe.x[static_cast<size_t>(hovered_) * 2 + 1]);
}

void InputMapView::updateLegend(int experts) {
  QCPLegend* legend = plot_->legend;
  legend->clearItems();
  const bool byClass = colourByClass();
  while (static_cast<int>(expertSwatches_.size()) < experts) {
    auto* swatch = new QCPGraph(plot_->xAxis, plot_->yAxis);  // no data: a legend entry only
    swatch->setLineStyle(QCPGraph::lsNone);
    const int e = static_cast<int>(expertSwatches_.size());
    swatch->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, QPen(expertColor(e).darker(115)),
                                            QBrush(withAlpha(expertColor(e), 170)), 10));
    expertSwatches_.push_back(swatch);
  }
  // Each expert's share of the plane: an expert that owns no region is easy to spot. With many
  // experts only the owners are listed, and one line counts the rest.
  const double cells = std::max(1, shown_.map.resolution * shown_.map.resolution);
  const bool ownersOnly = experts > kListEveryExpertUpTo;
  int unlisted = 0;
  for (int e = 0; e < experts && !byClass; ++e) {
    const int owned = e < static_cast<int>(cellsPerExpert_.size()) ? cellsPerExpert_[e] : 0;
    if (ownersOnly && owned == 0) {
      ++unlisted;
      continue;
    }
    const double share = 100.0 * owned / cells;
    expertSwatches_[e]->setName(owned == 0     ? QString("expert %1 · no region").arg(e)
                                : share < 1    ? QString("expert %1 · <1% of plane").arg(e)
                                               : QString("expert %1 · %2% of plane").arg(e).arg(std::lround(share)));
    expertSwatches_[e]->addToLegend(legend);
  }
  if (!othersEntry_) {
    othersEntry_ = new QCPGraph(plot_->xAxis, plot_->yAxis);  // no data and no mark: a line of text
    othersEntry_->setLineStyle(QCPGraph::lsNone);
    othersEntry_->setPen(Qt::NoPen);
    othersEntry_->removeFromLegend();
  }
  if (unlisted > 0) {
    othersEntry_->setName(QString("%1 other experts · no region").arg(unlisted));
    othersEntry_->addToLegend(legend);
  }
  if (!boundaryEntry_) {
    boundaryEntry_ = new QCPGraph(plot_->xAxis, plot_->yAxis);  // no data: a legend entry only
    boundaryEntry_->setPen(boundary_->pen);
    boundaryEntry_->setName(QStringLiteral("decision boundary"));
    boundaryEntry_->removeFromLegend();
  }
  if (!boundary_->lines.empty()) boundaryEntry_->addToLegend(legend);
  for (QCPGraph* g : pointGraphs_)
    if (g->visible()) g->addToLegend(legend);
}

void InputMapView::fitEqualAspect() {
  // One input unit is as long on both axes, so circles look round and the spiral is not squashed.
  const InputMap& m = shown_.map;
  if (m.resolution <= 0) return;
  const double w = plot_->axisRect()->width(), h = plot_->axisRect()->height();
  const double xs = m.xMax - m.xMin, ys = m.yMax - m.yMin;
  const double cx = (m.xMin + m.xMax) / 2, cy = (m.yMin + m.yMax) / 2;
  if (w <= 10 || h <= 10 || xs <= 0 || ys <= 0) {
    plot_->xAxis->setRange(m.xMin, m.xMax);
    plot_->yAxis->setRange(m.yMin, m.yMax);
    return;
  }
  const double perPixel = std::max(xs / w, ys / h);
  plot_->xAxis->setRange(cx - perPixel * w / 2, cx + perPixel * w / 2);
  plot_->yAxis->setRange(cy - perPixel * h / 2, cy + perPixel * h / 2);
}

int InputMapView::nearestPoint(QPointF p) const {
  const Probe& probe = shown_.probe;
  if (shown_.inputDim != 2 || stack_->currentWidget() != plot_) return -1;
  const double radius = kHoverFraction * std::max(plot_->xAxis->range().size(), plot_->yAxis->range().size());
  int best = -1;
  double bestDistance = radius * radius;
  for (int r = 0; r < probe.rows; ++r) {
    const double dx = probe.x[static_cast<size_t>(r) * 2] - p.x(), dy = probe.x[static_cast<size_t>(r) * 2 + 1] - p.y();
    const double d = dx * dx + dy * dy;
    if (d <= bestDistance) best = r, bestDistance = d;
  }
  return best;
}

QString InputMapView::tooltipAt(QPointF dataPoint) const {
  const int r = nearestPoint(dataPoint);
  if (r < 0) return {};
  const Probe& probe = shown_.probe;
  const bool classify = shown_.classes > 0;
  QStringList lines;
  lines << QString("Probe point %1 at (%2, %3)")
               .arg(r)
               .arg(probe.x[static_cast<size_t>(r) * 2], 0, 'f', 2)
               .arg(probe.x[static_cast<size_t>(r) * 2 + 1], 0, 'f', 2);
  const int label = r < static_cast<int>(probe.labels.size()) ? probe.labels[r] : -1;
  const int outputs = probe.rows > 0 ? static_cast<int>(probe.prediction.size()) / probe.rows : 0;
  const float* y = outputs > 0 ? &probe.prediction[static_cast<size_t>(r) * outputs] : nullptr;
  if (classify) {
    const int predicted = y ? argmax(y, outputs) : -1;
    lines << QString("class %1 · predicted %2 (%3)")
                 .arg(label)
                 .arg(predicted)
                 .arg(predicted == label ? "correct" : "wrong");
  } else {
    lines << QString("region %1 · prediction %2").arg(label).arg(y ? QString::number(y[0], 'f', 3) : "—");
  }
  const int layer = currentLayer();
  if (layer < static_cast<int>(probe.layers.size())) {
    const ProbeLayer& L = probe.layers[layer];
    const float* p = &L.probs[static_cast<size_t>(r) * L.experts];
    std::vector<int> order(L.experts);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    lines << QString("Gate probabilities, MoE layer %1 (● = chosen, top-%2):").arg(layer + 1).arg(L.k);
    const int listed = L.experts <= 12 ? L.experts : 10;
    for (int i = 0; i < listed; ++i) {
      const int e = order[i];
      int choice = -1;
      for (int j = 0; j < L.k; ++j)
        if (L.idx[static_cast<size_t>(r) * L.k + j] == e) choice = j;
      QString line = QString("%1 expert %2: %3").arg(choice >= 0 ? "●" : "   ").arg(e).arg(p[e], 0, 'f', 3);
      if (choice >= 0 && !L.slot.empty() && L.slot[static_cast<size_t>(r) * L.k + choice] < 0)
        line += " (dropped: over capacity)";
      lines << line;
    }
    if (listed < L.experts)
      lines << QString("   … %1 more experts, each below %2").arg(L.experts - listed).arg(p[order[listed - 1]], 0, 'f', 3);
  }
  return lines.join('\n');
}

void InputMapView::onMouseMove(QMouseEvent* event) {
  const QPointF data(plot_->xAxis->pixelToCoord(event->position().x()), plot_->yAxis->pixelToCoord(event->position().y()));
  const int r = nearestPoint(data);
  if (r != hovered_) {
    hovered_ = r;
    updatePoints();
    replotIfVisible();
  }
  if (r >= 0)
    QToolTip::showText(event->globalPosition().toPoint(), tooltipAt(data), plot_);
  else
    QToolTip::hideText();
}

int InputMapView::mapResolution() const { return stack_->currentWidget() == plot_ ? shown_.map.resolution : 0; }

int InputMapView::mapCellValue(int ix, int iy) const {
  const int res = mapResolution();
  if (ix < 0 || iy < 0 || ix >= res || iy >= res) return -1;
  return static_cast<int>(std::lround(map_->data()->cell(ix, iy)));
}

QColor InputMapView::mapCellColor(int ix, int iy) const {
  const int res = mapResolution();
  if (ix < 0 || iy < 0 || ix >= res || iy >= res) return {};
  QCPColorGradient gradient = map_->gradient();
  const QRgb premultiplied = gradient.color(map_->data()->cell(ix, iy), map_->dataRange());
  return QColor::fromRgba(qUnpremultiply(premultiplied));
}

int InputMapView::boundarySegments() const { return mapResolution() > 0 ? static_cast<int>(boundary_->lines.size()) : 0; }

int InputMapView::pointCount() const {
  int n = 0;
  for (QCPGraph* g : pointGraphs_)
    if (g->visible()) n += g->dataCount();
  return mapResolution() > 0 ? n : 0;
}

bool InputMapView::showsNote() const { return stack_->currentWidget() == note_; }
QString InputMapView::titleText() const { return title_->text(); }
QRect InputMapView::legendRect() const { return plot_->legend->outerRect(); }
QRect InputMapView::planeRect() const { return plot_->axisRect()->outerRect(); }
QString InputMapView::noteText() const { return showsNote() ? note_->text() : QString(); }

void InputMapView::paintFigure(QPainter& painter, const QSize& size) {
  if (layout()) layout()->activate();
  const QSize own = this->size().isEmpty() ? size : this->size();
  painter.save();
  painter.scale(double(size.width()) / own.width(), double(size.height()) / own.height());
  painter.fillRect(QRect(QPoint(), own), Qt::white);
  if (showsNote()) {
    note_->render(&painter, note_->mapTo(this, QPoint()));
  } else {
    fitEqualAspect();
    paintPlotAt(painter, *plot_, plot_->mapTo(this, QPoint()));
  }
  painter.restore();
}

}  // namespace rl::ui
