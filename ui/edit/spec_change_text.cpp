#include "edit/spec_change_text.h"

#include <QFileInfo>
#include <QStringList>

#include "edit/spec_labels.h"
#include "spec/spec_json.h"

namespace rl::ui {

namespace {

QString widthsText(const std::vector<int>& widths) {
  QStringList parts;
  for (int w : widths) parts << QString::number(w);
  return parts.join(", ");
}

// Appends "<name> to <value>" when the values differ.
template <class T, class Format>
void noteChange(QStringList& out, const QString& name, const T& before, const T& after, Format format) {
  if (!(before == after)) out << name + " to " + format(after);
}

QString number(double v) { return shortNumber(v); }
QString integer(long long v) { return QString::number(v); }

void describeData(QStringList& out, const DataSpec& b, const DataSpec& a) {
  noteChange(out, "dataset", b.kind, a.kind, [](const std::string& k) { return dataKindLabel(k); });
  noteChange(out, "CSV file", b.csvPath, a.csvPath,
             [](const std::string& p) { return QFileInfo(QString::fromStdString(p)).fileName(); });
  noteChange(out, "label column", b.labelColumn, a.labelColumn,
             [](const std::string& c) { return QString::fromStdString(c); });
  noteChange(out, "CSV target", b.regression, a.regression,
             [](bool r) { return QString(r ? "regression" : "classes"); });
  noteChange(out, "noise", b.noise, a.noise, number);
  noteChange(out, "samples", b.samples, a.samples, [](int v) { return integer(v); });
  noteChange(out, "test fraction", b.testFraction, a.testFraction, number);
  noteChange(out, "data seed", b.seed, a.seed, [](uint64_t v) { return QString::number(v); });
  noteChange(out, "tasks", b.tasks, a.tasks, [](int v) { return integer(v); });
  noteChange(out, "languages", b.languages, a.languages, [](int v) { return integer(v); });
}

// Vocabulary and sequence length change in model and data together: the model's names them.
void describeTransformer(QStringList& out, const TransformerSpec& b, const TransformerSpec& a) {
  const auto whole = [](int v) { return integer(v); };
  noteChange(out, "vocabulary", b.vocabulary, a.vocabulary, whole);
  noteChange(out, "sequence length", b.sequenceLength, a.sequenceLength, whole);
  noteChange(out, "d_model", b.dModel, a.dModel, whole);
  noteChange(out, "heads", b.heads, a.heads, whole);
  if (b.causal != a.causal) out << QString("causal attention ") + (a.causal ? "on" : "off");
  noteChange(out, "objective", b.task, a.task, sequenceTaskLabel);
  if (b.layers.size() != a.layers.size()) {
    out << QString("layers to %1").arg(a.layers.size());
    return;
  }
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const QString prefix = a.layers.size() > 1 ? QString("layer %1 ").arg(i + 1) : QString();
    const TransformerLayerSpec& lb = b.layers[i];
    const TransformerLayerSpec& la = a.layers[i];
    noteChange(out, prefix + "experts", lb.experts, la.experts, whole);
    noteChange(out, prefix + "expert width", lb.expertWidth, la.expertWidth, whole);
    const TokenRouterSpec& rb = lb.router;
    const TokenRouterSpec& ra = la.router;
    noteChange(out, prefix + "router", rb.type, ra.type, tokenRouterLabel);
    noteChange(out, prefix + "k", rb.k, ra.k, whole);
    noteChange(out, prefix + "capacity factor", rb.capacityFactor, ra.capacityFactor,
               [](double v) { return v > 0 ? shortNumber(v) : QString("unlimited"); });
    noteChange(out, prefix + "slots per expert", rb.slotsPerExpert, ra.slotsPerExpert, whole);
    noteChange(out, prefix + "jitter", rb.jitter, ra.jitter, number);
    noteChange(out, prefix + "temperature", rb.temperature, ra.temperature, number);
    noteChange(out, prefix + "aux-loss coefficient", rb.auxLossCoef, ra.auxLossCoef, number);
    noteChange(out, prefix + "z-loss coefficient", rb.zLossCoef, ra.zLossCoef, number);
  }
}

void describeLayer(QStringList& out, const QString& prefix, const LayerSpec& b, const LayerSpec& a) {
  noteChange(out, prefix + "experts", b.experts, a.experts, [](int v) { return integer(v); });
  noteChange(out, prefix + "expert widths", b.expertWidths, a.expertWidths, widthsText);
  noteChange(out, prefix + "units", b.units, a.units, [](int v) { return integer(v); });
  noteChange(out, prefix + "activation", b.activation, a.activation, activationLabel);
  const RouterSpec& rb = b.router;
  const RouterSpec& ra = a.router;
  noteChange(out, prefix + "router", rb.type, ra.type, routerLabel);
  noteChange(out, prefix + "k", rb.k, ra.k, [](int v) { return integer(v); });
  noteChange(out, prefix + "capacity factor", rb.capacityFactor, ra.capacityFactor,
             [](double v) { return v > 0 ? shortNumber(v) : QString("unlimited"); });
  noteChange(out, prefix + "jitter", rb.jitter, ra.jitter, number);
  noteChange(out, prefix + "temperature", rb.temperature, ra.temperature, number);
  noteChange(out, prefix + "aux-loss coefficient", rb.auxLossCoef, ra.auxLossCoef, number);
  noteChange(out, prefix + "z-loss coefficient", rb.zLossCoef, ra.zLossCoef, number);
}

void describeModel(QStringList& out, const ModelSpec& b, const ModelSpec& a) {
  noteChange(out, "loss", b.loss, a.loss, lossLabel);
  if (b.head != a.head) out << QString("output head ") + (a.head ? "on" : "off");
  if (b.layers.size() != a.layers.size()) {
    out << QString("layers to %1").arg(a.layers.size());
    return;
  }
  int moeLayers = 0;
  for (const auto& layer : a.layers) moeLayers += layer.type == LayerType::Moe;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    // Name the layer only when there is more than one to choose from.
    const QString prefix = moeLayers > 1 || a.layers.size() > 1 ? QString("layer %1 ").arg(i + 1) : QString();
    noteChange(out, prefix + "type", b.layers[i].type, a.layers[i].type,
               [](LayerType t) { return QString::fromStdString(toName(t)); });
    describeLayer(out, prefix, b.layers[i], a.layers[i]);
  }
}

void describeTrain(QStringList& out, const TrainSpec& b, const TrainSpec& a) {
  noteChange(out, "optimizer", b.optimizer, a.optimizer, optimizerLabel);
  noteChange(out, "learning rate", b.learningRate, a.learningRate, number);
  noteChange(out, "momentum", b.momentum, a.momentum, number);
  noteChange(out, "batch size", b.batchSize, a.batchSize, [](int v) { return integer(v); });
  noteChange(out, "seed", b.seed, a.seed, [](uint64_t v) { return QString::number(v); });
  noteChange(out, "steps", b.steps, a.steps, [](int v) { return integer(v); });
}

}  // namespace

QString describeSpecChange(const Spec& before, const Spec& after) {
  QStringList changes;
  describeData(changes, before.data, after.data);
  describeModel(changes, before.model, after.model);
  describeTransformer(changes, before.model.transformer, after.model.transformer);
  describeTrain(changes, before.train, after.train);
  if (changes.isEmpty()) return "Edit spec";
  return "Set " + changes.join(", ");
}

bool sameSpec(const Spec& a, const Spec& b) {
  // The JSON form round-trips exactly, so equal text means equal fields.
  return specToJson(a) == specToJson(b);
}

}  // namespace rl::ui
