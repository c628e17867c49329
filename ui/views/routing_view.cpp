#include "views/routing_view.h"

#include <QComboBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QFontMetrics>
#include <QLabel>
#include <QScreen>
#include <QStackedWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <qcustomplot.h>

#include "run/row_set.h"
#include "views/plot_style.h"

namespace rl::ui {
namespace {

// Text sizes in pixels (the points at the screen's DPI): exports replay the plot through a QPicture,
// which resolves point sizes at the target's DPI (72 for SVG) and would shrink the text there.
QFont figureFont(int pointSize) {
  QFont font = plotFont(pointSize);
  const QScreen* screen = QGuiApplication::primaryScreen();
  font.setPixelSize(std::max(1, qRound(pointSize * (screen ? screen->logicalDotsPerInchY() : 96.0) / 72.0)));
  return font;
}

// Fraction of the value axis given to the coloured expert header under the cells.
constexpr double kStripFraction = 0.07;

// Perceptually uniform and readable in grey (viridis, sampled at tenths).
QCPColorGradient probabilityGradient() {
  static const char* stops[] = {"#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
                                "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"};
  QCPColorGradient g;
  g.clearColorStops();
  for (int i = 0; i <= 10; ++i) g.setColorStopAt(i / 10.0, QColor(stops[i]));
  g.setLevelCount(256);
  return g;
}

// Text on a viridis cell: white on the dark end, black on the light end.
QColor textColorOn(double probability) { return probability < 0.6 ? Qt::white : Qt::black; }

// QCPColorMap draws a dimension of one cell with zero extent, so one row or column is stored as
// two half-width cells holding the same value.
int storedCells(int n) { return n == 1 ? 2 : n; }
QCPRange storedRange(int n) { return n == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, n - 1); }
int logicalCell(int n, int stored) { return n == 1 ? 0 : stored; }

void resizeMap(QCPColorMapData* data, int keys, int values) {
  if (data->keySize() != storedCells(keys) || data->valueSize() != storedCells(values))
    data->setSize(storedCells(keys), storedCells(values));
  data->setRange(storedRange(keys), storedRange(values));
}

void styleAxis(QCPAxis* axis) {
  axis->setTickLabelFont(figureFont(9));
  axis->setLabelFont(figureFont(9));
  axis->grid()->setVisible(false);
  axis->setSubTicks(false);
}

void stylePlot(QCustomPlot* plot) {
  plot->setBackground(Qt::white);
  for (QCPAxis* axis : plot->axisRect()->axes()) styleAxis(axis);
  plot->setNoAntialiasingOnDrag(false);
}

QCPTextElement* addTitle(QCustomPlot* plot) {
  QFont font = figureFont(10);
  font.setBold(true);
  auto* title = new QCPTextElement(plot, QString(), font);
  plot->plotLayout()->insertRow(0);
  plot->plotLayout()->addElement(0, 0, title);
  return title;
}

// Row ticks at round numbers below `rows` (a regression heatmap has no class groups).
void setRowTicks(QCPAxisTickerText& ticker, int rows) {
  ticker.clear();
  const double raw = std::max(1.0, rows / 5.0);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) { step = m * magnitude; break; }
  for (double r = 0; r < rows; r += step) ticker.addTick(r, QString::number(static_cast<int>(r)));
}

QString percentText(double share) {
  if (share <= 0) return QStringLiteral("0%");
  if (share < 0.01) return QStringLiteral("<1%");
  return QString::number(std::lround(share * 100)) + "%";
}

}  // namespace

bool RoutingView::Shown::sameData(const RunSnapshot& s) const {
  if (s.step != step || s.classes != classes || s.probe.rows != probe.rows) return false;
  if (QString::fromStdString(s.groupKind) != groupKind || int(s.groupNames.size()) != groupNames.size()) return false;
  if (s.probe.labels != probe.labels || s.probe.layers.size() != probe.layers.size()) return false;
  for (size_t j = 0; j < probe.layers.size(); ++j)
    if (s.probe.layers[j].probs != probe.layers[j].probs) return false;
  return s.latestEval.classExpertCounts == classExpertCounts;
}

RoutingView::RoutingView(QWidget* parent) : FigureView(parent) {
  layerBar_ = new QWidget(this);
  auto* bar = new QHBoxLayout(layerBar_);
  bar->setContentsMargins(8, 4, 8, 0);
  bar->addWidget(new QLabel(QStringLiteral("MoE layer:"), layerBar_));
  layerBox_ = new QComboBox(layerBar_);
  bar->addWidget(layerBox_);
  bar->addStretch(1);
  layerBar_->hide();
  connect(layerBox_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { redraw(); });

  heatPlot_ = new QCustomPlot(this);
  matrixStack_ = new QStackedWidget(this);
  matrixPlot_ = new QCustomPlot(matrixStack_);
  matrixNote_ = new QLabel(matrixStack_);
  matrixNote_->setWordWrap(true);
  matrixNote_->setAlignment(Qt::AlignCenter);
  matrixNote_->setMargin(24);
  matrixNote_->setFont(figureFont(10));
  matrixNote_->setStyleSheet(QStringLiteral("color: #555; background: white;"));
  matrixStack_->addWidget(matrixPlot_);
  matrixStack_->addWidget(matrixNote_);
  buildHeatmap();
  buildMatrix();
  // Titles, expert numbers and cell percentages follow the plot's size (also an export's).
  connect(heatPlot_, &QCustomPlot::afterLayout, this, [this] { fitToWidth(heatPlot_, heatTitle_, heatTitles_, heatStrip_); });
  connect(matrixPlot_, &QCustomPlot::afterLayout, this, [this] {
    fitToWidth(matrixPlot_, matrixTitle_, matrixTitles_, matrixStrip_);
    fitCellTexts();
  });

  auto* plots = new QHBoxLayout;
  plots->setSpacing(0);
  plots->addWidget(heatPlot_, 3);
  plots->addWidget(matrixStack_, 2);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(layerBar_);
  layout->addLayout(plots, 1);

  setTitles(heatTitle_, heatTitles_, {QStringLiteral("Gate probabilities (waiting for the first probe)"),
                                      QStringLiteral("Gate probabilities (waiting)")});
  showMatrixNote(waitingNote());
}

QString RoutingView::groupLabel(int group) const {
  if (group >= 0 && group < shown_.groupNames.size()) return shown_.groupNames[group];
  return QString("%1 %2").arg(shown_.groupKind).arg(group);
}

QString RoutingView::waitingNote() const {
  return QString("The %1 × expert matrix appears after the first held-out evaluation.").arg(shown_.groupKind);
}

void RoutingView::buildHeatmap() {
  QCustomPlot* p = heatPlot_;
  stylePlot(p);
  heatTitle_ = addTitle(p);
  heatMap_ = new QCPColorMap(p->xAxis, p->yAxis);
  heatMap_->setInterpolate(false);
  heatMap_->setGradient(probabilityGradient());
  heatMap_->setDataRange(QCPRange(0, 1));
  heatMap_->setVisible(false);

  // The title spans the whole width: the cells and their colour scale share the row below it.
  QCPAxisRect* cells = p->axisRect();
  p->plotLayout()->take(cells);
  auto* body = new QCPLayoutGrid;
  p->plotLayout()->addElement(1, 0, body);
  body->addElement(0, 0, cells);
  heatScale_ = new QCPColorScale(p);
  body->addElement(0, 1, heatScale_);
  body->setColumnStretchFactor(1, 0.001);
  heatScale_->setType(QCPAxis::atRight);
  heatScale_->setBarWidth(12);
  heatScale_->setGradient(probabilityGradient());
  heatScale_->setDataRange(QCPRange(0, 1));
  heatScale_->axis()->setLabel(QStringLiteral("gate probability"));
  styleAxis(heatScale_->axis());
  heatMap_->setColorScale(heatScale_);
  auto* margins = new QCPMarginGroup(p);
  p->axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
  heatScale_->setMarginGroup(QCP::msTop | QCP::msBottom, margins);

  p->xAxis->setLabel(QStringLiteral("expert"));
  p->xAxis->setTicks(false);  // the coloured header names the experts
  p->yAxis->setRangeReversed(true);  // first class at the top
  heatClassTicks_.reset(new QCPAxisTickerText);
  p->yAxis->setTicker(heatClassTicks_);
  p->yAxis->setLabel(QStringLiteral("probe row"));
}

void RoutingView::buildMatrix() {
  QCustomPlot* p = matrixPlot_;
  stylePlot(p);
  matrixTitle_ = addTitle(p);
  setTitles(matrixTitle_, matrixTitles_,
            {QStringLiteral("True class → expert routing (held-out)"), QStringLiteral("Class → expert routing (held-out)"),
             QStringLiteral("Class → expert routing"), QStringLiteral("Class → expert")});
  matrixMap_ = new QCPColorMap(p->xAxis, p->yAxis);
  matrixMap_->setInterpolate(false);
  matrixMap_->setGradient(probabilityGradient());
  matrixMap_->setDataRange(QCPRange(0, 1));
  p->xAxis->setLabel(QStringLiteral("expert (cell: share of the class's routing)"));
  p->xAxis->setTicks(false);
  p->yAxis->setRangeReversed(true);  // the class names say what the rows are (see the title)
  matrixClassTicks_.reset(new QCPAxisTickerText);
  p->yAxis->setTicker(matrixClassTicks_);
}

void RoutingView::showSnapshot(const RunSnapshot& snapshot) {
  const int layers = static_cast<int>(std::max(snapshot.probe.layers.size(), snapshot.layers.size()));
  updateLayerSelector(layers);
  if (shown_.sameData(snapshot)) return;
  shown_.step = snapshot.step;
  shown_.classes = snapshot.classes;
  shown_.groupKind = QString::fromStdString(snapshot.groupKind);
  shown_.groupNames.clear();
  for (const std::string& name : snapshot.groupNames) shown_.groupNames << QString::fromStdString(name);
  shown_.groups = snapshot.groupNames.empty() ? snapshot.classes : static_cast<int>(snapshot.groupNames.size());
  shown_.tokens = snapshot.spec.model.kind == ModelKind::Transformer;
  shown_.probe = snapshot.probe;
  shown_.classExpertCounts = snapshot.latestEval.classExpertCounts;
  redraw();
}

void RoutingView::updateLayerSelector(int layers) {
  if (layerBox_->count() == layers) return;
  const int keep = std::clamp(layerBox_->currentIndex(), 0, std::max(0, layers - 1));
  {
    QSignalBlocker block(layerBox_);
    layerBox_->clear();
    for (int j = 0; j < layers; ++j) layerBox_->addItem(QString("%1 of %2").arg(j + 1).arg(layers));
    layerBox_->setCurrentIndex(layers > 0 ? keep : -1);
  }
  layerBar_->setVisible(layers > 1);
  redraw();
}

int RoutingView::layerCount() const { return layerBox_->count(); }
int RoutingView::currentLayer() const { return std::max(0, layerBox_->currentIndex()); }
void RoutingView::setCurrentLayer(int layer) { layerBox_->setCurrentIndex(layer); }

void RoutingView::redraw() {
  updateHeatmap(currentLayer());
  updateMatrix(currentLayer());
  replotIfVisible();
}

void RoutingView::replotIfVisible() {
  // A view in a hidden dock tab only keeps its data; showEvent draws it when it comes back.
  if (!isVisible()) return;
  heatPlot_->replot(QCustomPlot::rpQueuedReplot);
  if (matrixShown()) matrixPlot_->replot(QCustomPlot::rpQueuedReplot);
}

void RoutingView::showEvent(QShowEvent* event) {
  FigureView::showEvent(event);
  replotIfVisible();
}

void RoutingView::updateHeatmap(int layer) {
  const Probe& probe = shown_.probe;
  if (layer >= static_cast<int>(probe.layers.size()) || probe.rows <= 0 || probe.layers[layer].experts <= 0) {
    order_.clear();
    rowClass_.clear();
    groupStarts_.clear();
    heatMap_->setVisible(false);
    for (QCPItemLine* line : separators_) line->setVisible(false);
    updateStrip(heatPlot_, heatStrip_, 0, 0, 0);
    setTitles(heatTitle_, heatTitles_, {QStringLiteral("Gate probabilities (waiting for the first probe)"),
                                        QStringLiteral("Gate probabilities (waiting)")});
    return;
  }
  const ProbeLayer& L = probe.layers[layer];
  const int rows = probe.rows, experts = L.experts;
  const bool grouped = shown_.groups > 0 && static_cast<int>(probe.labels.size()) == rows;
  const auto prob = [&](int row, int e) { return L.probs[static_cast<size_t>(row) * experts + e]; };

  // Within a class, rows that share a top expert sit together (most confident first), so the
  // heatmap shows blocks instead of noise.
  std::vector<int> top(rows, 0);
  for (int r = 0; r < rows; ++r)
    for (int e = 1; e < experts; ++e)
      if (prob(r, e) > prob(r, top[r])) top[r] = e;
  order_.resize(rows);
  std::iota(order_.begin(), order_.end(), 0);
  if (grouped) {
    std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) {
      if (probe.labels[a] != probe.labels[b]) return probe.labels[a] < probe.labels[b];
      if (top[a] != top[b]) return top[a] < top[b];
      return prob(a, top[a]) > prob(b, top[b]);
    });
  }
  rowClass_.assign(rows, -1);
  groupStarts_.clear();
  for (int r = 0; r < rows; ++r) {
    if (!grouped) continue;
    rowClass_[r] = probe.labels[order_[r]];
    if (r == 0 || rowClass_[r] != rowClass_[r - 1]) groupStarts_.push_back(r);
  }

  QCPColorMapData* data = heatMap_->data();
  resizeMap(data, experts, rows);
  for (int sr = 0; sr < data->valueSize(); ++sr) {
    const int source = order_[logicalCell(rows, sr)];
    for (int se = 0; se < data->keySize(); ++se) data->setCell(se, sr, prob(source, logicalCell(experts, se)));
  }
  heatMap_->setVisible(true);

  // Value axis: rows, then a gap and the expert header strip at the bottom.
  const double span = rows / (1.0 - kStripFraction);
  const double stripTop = rows - 0.5 + span * 0.012, stripBottom = rows - 0.5 + span * kStripFraction;
  heatPlot_->xAxis->setRange(-0.5, experts - 0.5);
  heatPlot_->yAxis->setRange(-0.5, stripBottom);
  updateStrip(heatPlot_, heatStrip_, experts, stripTop, stripBottom);

  // Class labels at the middle of each group, thin white separators between groups.
  heatClassTicks_->clear();
  for (size_t g = 0; g < groupStarts_.size(); ++g) {
    const int begin = groupStarts_[g];
    const int end = g + 1 < groupStarts_.size() ? groupStarts_[g + 1] : rows;
    heatClassTicks_->addTick((begin + end - 1) / 2.0, groupLabel(rowClass_[begin]));
  }
  if (!grouped) setRowTicks(*heatClassTicks_, rows);
  const QString what = shown_.tokens ? QStringLiteral("probe tokens") : QStringLiteral("probe rows");
  if (grouped)
    setVerticalAxisLabel(*heatPlot_->yAxis, QString("%1, grouped by %2").arg(what, shown_.tokens ? shown_.groupKind : "true class"), what);
  else
    setVerticalAxisLabel(*heatPlot_->yAxis, shown_.tokens ? QStringLiteral("probe token (data order)")
                                                          : QStringLiteral("probe row (regression: data order)"), what);
  const size_t separators = groupStarts_.empty() ? 0 : groupStarts_.size() - 1;
  while (separators_.size() < separators) {
    auto* line = new QCPItemLine(heatPlot_);
    line->setPen(QPen(Qt::white, 2));
    separators_.push_back(line);
  }
  for (size_t i = 0; i < separators_.size(); ++i) {
    separators_[i]->setVisible(i < separators);
    if (i >= separators) continue;
    const double y = groupStarts_[i + 1] - 0.5;
    separators_[i]->start->setCoords(-0.5, y);
    separators_[i]->end->setCoords(experts - 0.5, y);
  }

  // Longest title first; the first that fits the width is shown (fitToWidth).
  const QString layerText = layerCount() > 1 ? QString(" · layer %1").arg(layer + 1) : QString();
  const QString stepText = QString(" · step %1").arg(shown_.step);
  const int highlighted = applyHighlight();
  const QString highlightText = highlighted > 0 ? QString(" · %1 highlighted").arg(highlighted) : QString();
  setTitles(heatTitle_, heatTitles_,
            {QString("Gate probabilities of %1 probe rows%2%3%4").arg(rows).arg(layerText, stepText, highlightText),
             QString("Gate probabilities%1%2%3").arg(layerText, stepText, highlightText),
             QString("Gate probabilities%1%2").arg(layerText, highlightText), QString("Gate probabilities%1").arg(layerText),
             QStringLiteral("Gate probabilities")});

  // Colours span 0 … the largest probability (rounded up to a tenth, at least 0.2): with many
  // experts no gate probability comes near 1, and a 0–1 scale would paint every cell dark.
  float largest = 0;
  for (float v : L.probs) largest = std::max(largest, v);
  const double scaleTop = std::clamp(std::ceil(largest * 10.0 - 1e-6) / 10.0, 0.2, 1.0);
  heatMap_->setDataRange(QCPRange(0, scaleTop));
  heatScale_->setDataRange(QCPRange(0, scaleTop));
}

void RoutingView::showMatrixNote(const QString& note) {
  matrixClasses_ = matrixExperts_ = 0;
  matrix_.clear();
  matrixNote_->setText(note);
  matrixStack_->setCurrentWidget(matrixNote_);
}

void RoutingView::updateMatrix(int layer) {
  if (shown_.groups == 0 && !shown_.tokens) {
    showMatrixNote(QStringLiteral("Regression data has no classes, so there is no class × expert matrix. "
                                  "The heatmap shows the probe rows in data order."));
    return;
  }
  const auto& all = shown_.classExpertCounts;
  if (layer >= static_cast<int>(all.size()) || all[layer].empty() || all[layer][0].empty()) {
    showMatrixNote(waitingNote());
    return;
  }
  const auto& counts = all[layer];
  const int classes = static_cast<int>(counts.size());
  const int experts = static_cast<int>(counts[0].size());
  matrix_.assign(static_cast<size_t>(classes) * experts, 0.0);
  for (int c = 0; c < classes; ++c) {
    double total = 0;
    for (int e = 0; e < experts && e < static_cast<int>(counts[c].size()); ++e) total += counts[c][e];
    for (int e = 0; e < experts && e < static_cast<int>(counts[c].size()); ++e)
      matrix_[static_cast<size_t>(c) * experts + e] = total > 0 ? counts[c][e] / total : 0.0;
  }
  matrixClasses_ = classes;
  matrixExperts_ = experts;
  matrixStack_->setCurrentWidget(matrixPlot_);

  QCPColorMapData* data = matrixMap_->data();
  resizeMap(data, experts, classes);
  for (int sc = 0; sc < data->valueSize(); ++sc)
    for (int se = 0; se < data->keySize(); ++se)
      data->setCell(se, sc, matrixValue(logicalCell(classes, sc), logicalCell(experts, se)));

  const double span = classes / (1.0 - kStripFraction);
  const double stripTop = classes - 0.5 + span * 0.012, stripBottom = classes - 0.5 + span * kStripFraction;
  matrixPlot_->xAxis->setRange(-0.5, experts - 0.5);
  matrixPlot_->yAxis->setRange(-0.5, stripBottom);
  updateStrip(matrixPlot_, matrixStrip_, experts, stripTop, stripBottom);
  matrixClassTicks_->clear();
  for (int c = 0; c < classes; ++c) matrixClassTicks_->addTick(c, groupLabel(c));

  // One percentage per cell; smaller text when the cells get narrow.
  const int cells = classes * experts;
  while (static_cast<int>(cellTexts_.size()) < cells) {
    auto* text = new QCPItemText(matrixPlot_);
    text->setPositionAlignment(Qt::AlignCenter);
    cellTexts_.push_back(text);
  }
  const QFont font = figureFont(experts <= 8 ? 9 : experts <= 16 ? 7 : 6);
  for (int i = 0; i < static_cast<int>(cellTexts_.size()); ++i) {
    QCPItemText* text = cellTexts_[i];
    text->setVisible(i < cells && cellTextsFit_);
    if (i >= cells) continue;
    const int c = i / experts, e = i % experts;
    const double share = matrix_[i];
    text->position->setCoords(e, c);
    text->setText(percentText(share));
    text->setColor(textColorOn(share));
    text->setFont(font);
  }
  const QString layerText = layerCount() > 1 ? QString(" · layer %1").arg(layer + 1) : QString();
  if (shown_.tokens) {
    // Tokens counted by the task or language of their sequence.
    QString kind = shown_.groupKind;
    kind[0] = kind[0].toUpper();
    setTitles(matrixTitle_, matrixTitles_,
              {QString("%1 → expert routing (held-out tokens)%2").arg(kind, layerText),
               QString("%1 → expert routing%2").arg(kind, layerText), QString("%1 → expert%2").arg(kind, layerText)});
    matrixPlot_->xAxis->setLabel(QString("expert (% of the %1's tokens)").arg(shown_.groupKind));
    return;
  }
  matrixPlot_->xAxis->setLabel(QStringLiteral("expert (cell: share of the class's routing)"));
  setTitles(matrixTitle_, matrixTitles_,
            {QString("True class → expert routing (held-out)%1").arg(layerText),
             QString("Class → expert routing (held-out)%1").arg(layerText),
             QString("Class → expert routing%1").arg(layerText), QString("Class → expert%1").arg(layerText)});
}

void RoutingView::updateStrip(QCustomPlot* plot, ExpertStrip& strip, int experts, double top, double bottom) {
  while (static_cast<int>(strip.cells.size()) < experts) {
    auto* cell = new QCPItemRect(plot);
    cell->setPen(Qt::NoPen);
    auto* label = new QCPItemText(plot);
    label->setPositionAlignment(Qt::AlignCenter);
    label->setColor(Qt::white);
    strip.cells.push_back(cell);
    strip.labels.push_back(label);
  }
  QFont font = figureFont(experts <= 12 ? 8 : 6);
  font.setBold(true);
  for (int e = 0; e < static_cast<int>(strip.cells.size()); ++e) {
    const bool shown = e < experts;
    strip.cells[e]->setVisible(shown);
    strip.labels[e]->setVisible(shown);
    if (!shown) continue;
    const double gap = experts > 1 ? 0.04 : 0.0;
    strip.cells[e]->topLeft->setCoords(e - 0.5 + gap, top);
    strip.cells[e]->bottomRight->setCoords(e + 0.5 - gap, bottom);
    strip.cells[e]->setBrush(expertColor(e));
    strip.labels[e]->position->setCoords(e, (top + bottom) / 2);
    strip.labels[e]->setText(QString::number(e));
    strip.labels[e]->setFont(font);
  }
}

void RoutingView::setTitles(QCPTextElement* title, QStringList& titles, const QStringList& candidates) {
  titles = candidates;
  const int width = title->outerRect().width();
  title->setText(width > 0 ? firstThatFits(titles, title->font(), width - 8) : titles.front());
}

void RoutingView::fitToWidth(QCustomPlot* plot, QCPTextElement* title, const QStringList& titles, ExpertStrip& strip) {
  // The title has a row of its own, so a new text changes no other element's size.
  if (!titles.isEmpty()) title->setText(firstThatFits(titles, title->font(), title->outerRect().width() - 8));
  // Expert numbers: every one while they fit their cells, else every 2nd, 5th, 10th … (0 always).
  int experts = 0;
  for (QCPItemRect* cell : strip.cells) experts += cell->visible();
  if (experts == 0) return;
  const double cellWidth = plot->axisRect()->width() / double(experts);
  const QFontMetrics metrics(strip.labels.front()->font());
  const int needed = metrics.horizontalAdvance(QString::number(experts - 1)) + 4;
  int stride = 1;
  for (int s : {1, 2, 5, 10, 20, 50, 100}) {
    stride = s;
    if (cellWidth * s >= needed) break;
  }
  for (int e = 0; e < experts; ++e) strip.labels[size_t(e)]->setVisible(e % stride == 0);
}

void RoutingView::fitCellTexts() {
  // Percentages only where they fit inside their cells; the colours still tell the story.
  const int cells = matrixClasses_ * matrixExperts_;
  if (cells == 0 || cellTexts_.empty()) return;
  const QFontMetrics metrics(cellTexts_.front()->font());
  const bool fits = matrixPlot_->axisRect()->width() / double(matrixExperts_) >= metrics.horizontalAdvance("100%") + 2 &&
                    matrixPlot_->axisRect()->height() / (matrixClasses_ / (1.0 - kStripFraction)) >= metrics.height();
  for (int i = 0; i < cells && i < int(cellTexts_.size()); ++i) cellTexts_[size_t(i)]->setVisible(fits);
  cellTextsFit_ = fits;
}

void RoutingView::setHighlightedRows(const std::vector<int>& probeRows) {
  std::vector<int> rows = sortedUnique(probeRows);
  if (rows == highlighted_) return;
  highlighted_ = std::move(rows);
  redraw();
}

bool RoutingView::heatmapRowHighlighted(int row) const {
  const int source = heatmapRowSource(row);
  return source >= 0 && std::binary_search(highlighted_.begin(), highlighted_.end(), source);
}

double RoutingView::heatmapAlpha(int row, int expert) const {
  if (row < 0 || row >= heatmapRows() || expert < 0 || expert >= heatmapColumns()) return std::nan("");
  return const_cast<QCPColorMap*>(heatMap_)->data()->alpha(expert, row);
}

int RoutingView::applyHighlight() {
  // Highlighted rows keep their colour; the others fade towards the white background. The cell
  // values stay as they are (heatmapValue reads them), only their alpha changes.
  QCPColorMapData* data = heatMap_->data();
  const int rows = heatmapRows();
  int shown = 0;
  for (int r = 0; r < rows; ++r) shown += heatmapRowHighlighted(r);
  if (shown == 0) {
    data->clearAlpha();
    return 0;
  }
  for (int sr = 0; sr < data->valueSize(); ++sr) {
    const unsigned char alpha = heatmapRowHighlighted(logicalCell(rows, sr)) ? 255 : 40;
    for (int se = 0; se < data->keySize(); ++se) data->setAlpha(se, sr, alpha);
  }
  return shown;
}

bool RoutingView::matrixCellTextsShown() const { return matrixShown() && cellTextsFit_ && matrixClasses_ > 0; }
QString RoutingView::heatmapTitle() const { return heatTitle_->text(); }
QString RoutingView::matrixTitle() const { return matrixTitle_->text(); }
QRect RoutingView::heatmapTitleRect() const { return heatTitle_->outerRect(); }
double RoutingView::heatmapColourTop() const { return heatMap_->dataRange().upper; }

int RoutingView::heatmapRows() const { return static_cast<int>(order_.size()); }

int RoutingView::heatmapColumns() const {
  const int layer = currentLayer();
  if (order_.empty() || layer >= static_cast<int>(shown_.probe.layers.size())) return 0;
  return shown_.probe.layers[layer].experts;
}

double RoutingView::heatmapValue(int row, int expert) const {
  const int rows = heatmapRows(), experts = heatmapColumns();
  if (row < 0 || row >= rows || expert < 0 || expert >= experts) return std::nan("");
  // Stored cell 0 holds logical cell 0 also when a dimension has a single cell.
  return heatMap_->data()->cell(expert, row);
}

int RoutingView::heatmapRowSource(int row) const {
  return row >= 0 && row < heatmapRows() ? order_[row] : -1;
}

int RoutingView::heatmapRowClass(int row) const {
  return row >= 0 && row < static_cast<int>(rowClass_.size()) ? rowClass_[row] : -1;
}

std::vector<int> RoutingView::heatmapGroupStarts() const { return groupStarts_; }

int RoutingView::matrixClasses() const { return matrixClasses_; }
int RoutingView::matrixExperts() const { return matrixExperts_; }

double RoutingView::matrixValue(int cls, int expert) const {
  if (cls < 0 || cls >= matrixClasses_ || expert < 0 || expert >= matrixExperts_) return std::nan("");
  return matrix_[static_cast<size_t>(cls) * matrixExperts_ + expert];
}

QString RoutingView::matrixCellText(int cls, int expert) const {
  if (cls < 0 || cls >= matrixClasses_ || expert < 0 || expert >= matrixExperts_) return {};
  return cellTexts_[static_cast<size_t>(cls) * matrixExperts_ + expert]->text();
}

bool RoutingView::matrixShown() const { return matrixStack_->currentWidget() == matrixPlot_; }
QString RoutingView::matrixNote() const { return matrixShown() ? QString() : matrixNote_->text(); }

void RoutingView::paintFigure(QPainter& painter, const QSize& size) {
  if (layout()) layout()->activate();
  const QSize own = this->size().isEmpty() ? size : this->size();
  painter.save();
  painter.scale(double(size.width()) / own.width(), double(size.height()) / own.height());
  painter.fillRect(QRect(QPoint(), own), Qt::white);
  paintPlotAt(painter, *heatPlot_, heatPlot_->mapTo(this, QPoint()));
  if (matrixShown())
    paintPlotAt(painter, *matrixPlot_, matrixPlot_->mapTo(this, QPoint()));
  else
    matrixNote_->render(&painter, matrixNote_->mapTo(this, QPoint()));
  painter.restore();
}

}  // namespace rl::ui
