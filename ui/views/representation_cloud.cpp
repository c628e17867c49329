#include "views/representation_cloud.h"

#include <algorithm>
#include <numeric>

#include <QStringList>

#include "views/plot_style.h"

namespace rl::ui {

int chosenExpert(const ProbeLayer& layer, int row) {
  if (layer.k <= 0) return -1;
  const size_t base = static_cast<size_t>(row) * layer.k;
  if (base + layer.k > layer.wt.size() || base + layer.k > layer.idx.size()) return -1;
  int best = 0;
  for (int j = 1; j < layer.k; ++j)
    if (layer.wt[base + j] > layer.wt[base + best]) best = j;
  return layer.idx[base + best];
}

QString representationName(int layer, HiddenSide side) {
  switch (side) {
    case HiddenSide::Input: return QString("MoE %1 input").arg(layer + 1);
    case HiddenSide::Output: return QString("MoE %1 output").arg(layer + 1);
    case HiddenSide::Stream: break;
  }
  return QString("stream after block %1").arg(layer + 1);  // a Transformer's: MoE layer j is block j
}

int defaultColourAttribute(const HiddenStates& states) {
  return std::clamp(states.layer, 0, std::max(0, static_cast<int>(states.routing.size()) - 1));
}

namespace {

// The input map's class colours, with the ones made for dark outlines on colour (white, yellow)
// darkened so they show on the cloud's white background.
QColor cloudClassColor(int cls) {
  const QColor c = classColor(cls);
  if (c.lightness() > 200) return c.saturation() < 30 ? QColor(140, 140, 140) : c.darker(125);
  return c;
}

// "layer 1: expert 3 (71%) + expert 5 (22%)" then the full gate distribution, largest first.
QString routingText(const ProbeLayer& L, int row, int layerIndex, int layers) {
  const QString layerName = layers > 1 ? QString("layer %1 ").arg(layerIndex + 1) : QString();
  QString chosen;
  const size_t base = static_cast<size_t>(row) * L.k;
  std::vector<int> byWeight(L.k);
  std::iota(byWeight.begin(), byWeight.end(), 0);
  std::sort(byWeight.begin(), byWeight.end(), [&](int a, int b) { return L.wt[base + a] > L.wt[base + b]; });
  for (int j : byWeight) {
    if (L.wt[base + j] <= 0) continue;
    if (!chosen.isEmpty()) chosen += " + ";
    chosen += QString("expert %1 (%2%)").arg(L.idx[base + j]).arg(std::lround(L.wt[base + j] * 100));
    if (L.slot.size() > base + j && L.slot[base + j] < 0) chosen += " dropped";
  }
  QString text = QString("%1routed to %2").arg(layerName, chosen.isEmpty() ? QString("no expert") : chosen);
  std::vector<int> experts(L.experts);
  std::iota(experts.begin(), experts.end(), 0);
  const float* p = L.probs.data() + static_cast<size_t>(row) * L.experts;
  std::sort(experts.begin(), experts.end(), [p](int a, int b) { return p[a] > p[b]; });
  QStringList parts;
  for (int e : experts) parts << QString("%1: %2").arg(e).arg(p[e], 0, 'f', 2);
  text += QString("\n%1gate probabilities  %2").arg(layerName, parts.join("  "));
  return text;
}

// A token's neighbours in its sequence, the token itself in brackets: "s1 s1 [s8] s8 <sep>".
// Token rows are whole held-out sequences in order (row s·T + t), so the sequence is the run of
// points around i; empty for non-token data.
QString tokenContext(const HiddenStates& s, int i, int radius = 4) {
  const RowLabels* tokens = nullptr;
  for (const RowLabels& l : s.extraLabels)
    if (l.name == "token") tokens = &l;
  const int T = s.sequenceLength;
  if (!tokens || T <= 0) return {};
  const int t = s.testRows[size_t(i)] % T, begin = i - t;
  if (begin < 0 || begin + T > s.rows) return {};
  QStringList words;
  for (int j = std::max(0, t - radius); j <= std::min(T - 1, t + radius); ++j) {
    const int id = tokens->labels[size_t(begin + j)];
    QString word = id >= 0 && id < int(tokens->names.size()) ? QString::fromStdString(tokens->names[size_t(id)])
                                                              : QString::number(id);
    words << (j == t ? "[" + word + "]" : word);
  }
  return (t > radius ? "… " : "") + words.join(' ') + (t + radius < T - 1 ? " …" : "");
}

}  // namespace

PointCloud representationCloud(std::shared_ptr<const HiddenStates> states, std::vector<float> embedding) {
  PointCloud cloud;
  cloud.xy = std::move(embedding);
  const HiddenStates& h = *states;
  const int layers = static_cast<int>(h.routing.size());
  for (int j = 0; j < layers; ++j) {
    PointAttribute a;
    a.name = layers > 1 ? QString("expert · layer %1").arg(j + 1) : QString("chosen expert");
    a.labels.resize(static_cast<size_t>(h.rows));
    for (int r = 0; r < h.rows; ++r) a.labels[static_cast<size_t>(r)] = chosenExpert(h.routing[j], r);
    for (int e = 0; e < h.routing[j].experts; ++e) a.labelNames.push_back(QString("expert %1").arg(e));
    cloud.attributes.push_back(std::move(a));
  }
  if (h.classes > 0) {
    PointAttribute a;
    const QString label = h.regression ? "region" : "class";
    a.name = label;
    a.labels.assign(h.labels.begin(), h.labels.end());
    for (int c = 0; c < h.classes; ++c) {
      a.labelNames.push_back(c < static_cast<int>(h.classNames.size()) ? QString::fromStdString(h.classNames[c])
                                                                         : QString("%1 %2").arg(label).arg(c));
      a.colours.push_back(cloudClassColor(c));
    }
    cloud.attributes.push_back(std::move(a));
  }
  // Token data: task, language, position, token id (filled by the data, empty for MLP datasets).
  for (const RowLabels& extra : h.extraLabels) {
    PointAttribute a;
    a.name = QString::fromStdString(extra.name);
    a.kind = extra.ordinal ? PointAttribute::Kind::Ordinal : PointAttribute::Kind::Categorical;
    a.labels.assign(extra.labels.begin(), extra.labels.end());
    for (const std::string& n : extra.names) a.labelNames.push_back(QString::fromStdString(n));
    cloud.attributes.push_back(std::move(a));
  }
  cloud.describe = [states](int i) {
    const HiddenStates& s = *states;
    const int row = s.testRows[static_cast<size_t>(i)];
    QString text = s.sequenceLength > 0
                       ? QString("point %1 · held-out sequence %2, token %3").arg(i).arg(row / s.sequenceLength).arg(row % s.sequenceLength)
                       : QString("point %1 · held-out row %2").arg(i).arg(row);
    if (s.classes > 0) {
      const int c = s.labels[static_cast<size_t>(i)];
      text += QString(" · %1 %2").arg(s.regression ? "region" : "class").arg(c);
      if (c >= 0 && c < static_cast<int>(s.classNames.size())) text += QString(" (%1)").arg(QString::fromStdString(s.classNames[c]));
    }
    if (const QString context = tokenContext(s, i); !context.isEmpty()) text += "\ncontext: " + context;
    for (const RowLabels& extra : s.extraLabels) {
      const int l = extra.labels[static_cast<size_t>(i)];
      const QString name = l >= 0 && l < static_cast<int>(extra.names.size()) ? QString::fromStdString(extra.names[l])
                                                                               : QString::number(l);
      text += QString("\n%1: %2").arg(QString::fromStdString(extra.name), name);
    }
    const int layers = static_cast<int>(s.routing.size());
    for (int j = 0; j < layers; ++j) text += "\n" + routingText(s.routing[j], i, j, layers);
    return text;
  };
  return cloud;
}

}  // namespace rl::ui
