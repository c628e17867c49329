#include "edit/spec_problems.h"

#include <QDateTime>
#include <QFileInfo>
#include <exception>
#include <map>
#include <regex>

#include "data/dataset.h"
#include "graph/builder.h"
#include "io/csv_table.h"
#include "spec/spec_json.h"

namespace rl::ui {

namespace {

struct OutputWidth {
  int width = -1;
  std::string error;
};

// Reading a CSV file on every keystroke would be slow, so results are kept per data identity
// (a CSV file is read again when it changes on disk).
OutputWidth computeOutputWidth(const DataSpec& data) {
  DataSpec probe = data;
  probe.samples = 40;  // enough rows for every class of the generated kinds; csv ignores it
  probe.testFraction = 0.2;
  try {
    return {makeDataset(probe).train.outputDim, {}};
  } catch (const std::exception& e) {
    // Generated kinds only fail on values validateSpec already reports.
    return {-1, data.kind == "csv" ? e.what() : std::string()};
  }
}

OutputWidth cachedOutputWidth(const DataSpec& data) {
  static std::map<std::string, OutputWidth> cache;
  std::string key = data.kind;
  if (data.kind == "csv") {
    const QFileInfo file(QString::fromStdString(data.csvPath));
    key += "|" + data.csvPath + "|" + data.labelColumn + "|" + (data.regression ? "r" : "c") + "|" +
           std::to_string(file.lastModified().toMSecsSinceEpoch()) + "|" + std::to_string(file.size());
  }
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, computeOutputWidth(data)).first;
  return it->second;
}

void checkOutputWidth(const Spec& spec, std::vector<std::string>& out) {
  const DataSpec& data = spec.data;
  if (data.kind == "csv" && data.csvPath.empty()) return;  // validateSpec says so
  if (data.kind == "csv" && data.labelColumn.empty()) {
    // validateSpec asks for the label column; the file may be the reason there is none to pick.
    try {
      readCsvText(data.csvPath);
    } catch (const std::exception& e) {
      out.push_back(std::string("data.csv_path: ") + e.what());
    }
    return;
  }
  const OutputWidth need = cachedOutputWidth(data);
  if (!need.error.empty()) out.push_back("data.csv_path: " + need.error);
  if (need.width < 1 || spec.model.head || spec.model.layers.empty()) return;
  const size_t last = spec.model.layers.size() - 1;
  const LayerSpec& layer = spec.model.layers[last];
  const std::string at = "model.layers[" + std::to_string(last) + "]";
  const std::string because = " must equal the data's output size (" + std::to_string(need.width) +
                              ") without an output head";
  if (layer.type == LayerType::Dense && layer.units != need.width)
    out.push_back(at + ".units: " + std::to_string(layer.units) + because);
  if (layer.type == LayerType::Moe && !layer.expertWidths.empty() && layer.expertWidths.back() != need.width)
    out.push_back(at + ".expert_widths[" + std::to_string(layer.expertWidths.size() - 1) +
                  "]: the last width " + std::to_string(layer.expertWidths.back()) + because);
}

// Builds the Transformer's graph on the CPU side only (no backend, no weights): milliseconds for the
// models the app trains. The output width does not change what the builder accepts.
void checkTransformerBuild(const Spec& spec, std::vector<std::string>& out) {
  ModelShape shape;
  shape.inputDim = spec.data.sequenceLength;
  shape.outputDim = spec.model.transformer.task == SequenceTask::NextToken ? spec.model.transformer.vocabulary : 2;
  shape.classify = true;
  try {
    buildModel(spec, shape, 1);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    // Builder messages start with their JSON path; anything else is still worth showing.
    out.push_back(what.rfind("model.", 0) == 0 ? what : "model.transformer: " + what);
  }
}

QString keyLabel(const std::string& key) {
  static const std::map<std::string, QString> labels{
      {"kind", "dataset"}, {"samples", "samples"}, {"noise", "noise"}, {"test_fraction", "test fraction"},
      {"seed", "seed"}, {"csv_path", "CSV file"}, {"label_column", "label column"},
      {"regression", "regression"}, {"layers", "layers"}, {"head", "output head"}, {"loss", "loss"},
      {"experts", "experts"}, {"expert_widths", "expert widths"}, {"units", "units"},
      {"activation", "activation"}, {"type", "type"}, {"k", "k"}, {"capacity_factor", "capacity factor"},
      {"jitter", "jitter"}, {"temperature", "temperature"}, {"aux_loss_coef", "aux-loss coefficient"},
      {"z_loss_coef", "z-loss coefficient"}, {"optimizer", "optimizer"}, {"learning_rate", "learning rate"},
      {"momentum", "momentum"}, {"beta1", "beta1"}, {"beta2", "beta2"}, {"epsilon", "epsilon"},
      {"batch_size", "batch size"}, {"steps", "steps"}, {"vocabulary", "vocabulary"},
      {"sequence_length", "sequence length"}, {"d_model", "d_model"}, {"heads", "heads"}, {"causal", "causal"},
      {"task", "objective"}, {"expert_width", "expert width"}, {"slots_per_expert", "slots per expert"},
      {"tasks", "tasks"}, {"languages", "languages"}, {"transformer", "transformer"}};
  const auto it = labels.find(key);
  return it != labels.end() ? it->second : QString::fromStdString(key);
}

SpecProblem locate(const std::string& message, int selectedLayer, int selectedTransformerLayer) {
  SpecProblem p;
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) {
    p.text = QString::fromStdString(message);
    return p;
  }
  const std::string path = message.substr(0, colon);
  const QString reason = QString::fromStdString(message.substr(colon + 2));
  static const std::regex layerPath(R"(model\.layers\[(\d+)\]\.(router\.)?([a-z_0-9]+)(\[(\d+)\])?)");
  static const std::regex plainPath(R"((data|model|train)\.([a-z_0-9]+))");
  static const std::regex transformerLayerPath(R"(model\.transformer\.layers\[(\d+)\]\.(router\.)?([a-z_0-9]+))");
  static const std::regex transformerPath(R"(model\.transformer(\.([a-z_0-9]+))?)");
  std::smatch m;
  QString label;
  if (std::regex_match(path, m, transformerLayerPath)) {
    p.layer = std::stoi(m[1]);
    p.section = SpecSectionId::Transformer;
    p.key = m[3];
    label = (m[2].matched && p.key == "type") ? QString("router") : keyLabel(p.key);
    if (p.layer != selectedTransformerLayer) label = QString("layer %1 %2").arg(p.layer + 1).arg(label);
  } else if (std::regex_match(path, m, transformerPath)) {
    p.section = SpecSectionId::Transformer;
    p.key = m[2].matched ? std::string(m[2]) : std::string("transformer");
    label = keyLabel(p.key);
  } else if (std::regex_match(path, m, layerPath)) {
    p.layer = std::stoi(m[1]);
    p.section = m[2].matched ? SpecSectionId::Router : SpecSectionId::Model;
    p.key = m[3];
    label = keyLabel(p.key);
    if (m[5].matched && p.key == "expert_widths") label = QString("expert width %1").arg(std::stoi(m[5]) + 1);
    if (p.layer != selectedLayer) label = QString("layer %1 %2").arg(p.layer + 1).arg(label);
  } else if (std::regex_match(path, m, plainPath)) {
    const std::string top = m[1];
    p.section = top == "data" ? SpecSectionId::Data : top == "model" ? SpecSectionId::Model : SpecSectionId::Training;
    p.key = m[2];
    label = keyLabel(p.key);
    if (top == "data" && p.key == "seed") label = "data seed";
  } else {
    label = QString::fromStdString(path);
  }
  p.text = label + ": " + reason;
  return p;
}

}  // namespace

std::vector<std::string> findSpecProblems(const Spec& spec) {
  std::vector<std::string> problems = validateSpec(spec);
  if (spec.model.kind == ModelKind::Transformer) {
    if (problems.empty()) checkTransformerBuild(spec, problems);
    return problems;
  }
  checkOutputWidth(spec, problems);
  return problems;
}

std::vector<SpecProblem> locateProblems(const std::vector<std::string>& messages, int selectedLayer,
                                        int selectedTransformerLayer) {
  std::vector<SpecProblem> out;
  out.reserve(messages.size());
  for (const auto& message : messages) out.push_back(locate(message, selectedLayer, selectedTransformerLayer));
  return out;
}

}  // namespace rl::ui
