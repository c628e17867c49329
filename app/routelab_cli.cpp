// routelab-cli: the headless front end. info | presets | train | eval.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/factory.h"
#include "backend/vulkan/context.h"
#include "cli_progress.h"
#include "cli_report.h"
#include "io/csv_table.h"
#include "io/run_log.h"
#include "io/safetensors.h"
#include "spec/presets.h"
#include "spec/spec_json.h"
#include "train/run_record.h"
#include "train/session.h"

namespace {

const char* kUsage = R"(routelab-cli — train and inspect Mixture-of-Experts networks (Vulkan compute, Eigen reference)

usage:
  routelab-cli info
  routelab-cli presets
  routelab-cli train [--preset NAME | --config FILE] [--steps N] [--backend auto|vulkan|cpu]
                     [--device INDEX|NAME] [--seed S] [--out DIR] [--json 1]
  routelab-cli eval --config FILE --weights FILE --input CSV --out CSV [--backend ...]
      (a transformer's CSV: one sequence of token ids per row, optional "group" column;
       its output has one row per token)

train writes config.json, weights.safetensors, metrics.csv and summary.json into DIR
(default: routelab-runs/<preset or config name>) and prints a report (--json 1: summary.json instead). ROUTELAB_DEVICE picks a Vulkan device too.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --key value pairs after the command word; every key must be known to the command.
std::map<std::string, std::string> parseFlags(int argc, char** argv, const std::vector<std::string>& known) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + key + "'");
    key = key.substr(2);
    if (std::find(known.begin(), known.end(), key) == known.end()) throw UsageError("unknown option --" + key);
    if (i + 1 >= argc) throw UsageError("--" + key + " needs a value");
    flags[key] = argv[++i];
  }
  return flags;
}

long parseInt(const std::string& flag, const std::string& text, long lo, long hi) {
  try {
    size_t used = 0;
    long v = std::stol(text, &used);
    if (used == text.size() && v >= lo && v <= hi) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("--" + flag + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                   ", not '" + text + "'");
}

rl::BackendSelection chooseBackend(const std::map<std::string, std::string>& flags) {
  auto choice = rl::parseBackendChoice(flags.count("backend") ? flags.at("backend") : "auto");
  return rl::createBackend(choice, flags.count("device") ? flags.at("device") : "");
}

int cmdInfo() {
  auto devices = rl::listVulkanDevices();
  if (devices.empty()) {
    std::cout << "Vulkan: no device found (install mesa-vulkan-drivers for the CPU implementation, lavapipe)\n";
  } else {
    std::cout << "Vulkan devices:\n";
    for (const auto& d : devices)
      std::cout << "  [" << d.index << "] " << d.name << " — " << d.type << ", Vulkan " << (d.apiVersion >> 22) << "."
                << ((d.apiVersion >> 12) & 0x3ff) << ", " << d.driver << "\n";
  }
  try {
    auto vk = rl::createBackend(rl::BackendChoice::Vulkan);
    std::cout << "Vulkan backend would use: " << vk.backend->device() << "\n";
  } catch (const std::exception& e) {
    std::cout << "Vulkan backend unavailable: " << e.what() << "\n";
  }
  auto automatic = rl::createBackend(rl::BackendChoice::Auto);
  std::cout << "auto backend: " << automatic.backend->name() << " (" << automatic.reason << ")\n";
  return 0;
}

int cmdPresets() {
  for (const auto& name : rl::presetNames()) {
    rl::Spec s = rl::loadPreset(name);
    std::cout << name << (name == rl::kDefaultPreset ? " (default)" : "") << "\n    "
              << rl::oneLine(s.description, 160) << "\n";
  }
  return 0;
}

std::string fmt(double v, int prec = 4) {
  if (std::isnan(v)) return "-";
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(prec);
  os << v;
  return os.str();
}

// The spec's semantic problems, named with where the spec came from (the JSON reader already names
// the file for syntax errors), before a backend is set up for it.
void requireValidSpec(const rl::Spec& spec, const std::string& source) {
  const std::vector<std::string> problems = rl::validateSpec(spec);
  if (problems.empty()) return;
  std::string msg = source + ": invalid spec:";
  for (const std::string& p : problems) msg += "\n  " + p;
  throw std::runtime_error(msg);
}

int cmdTrain(int argc, char** argv) {
  auto flags = parseFlags(argc, argv, {"preset", "config", "steps", "backend", "device", "seed", "out", "json"});
  if (flags.count("preset") && flags.count("config")) throw UsageError("give --preset or --config, not both");
  const std::string preset = flags.count("preset") ? flags.at("preset") : std::string(rl::kDefaultPreset);
  rl::Spec spec = flags.count("config") ? rl::loadSpecFile(flags.at("config")) : rl::loadPreset(preset);
  if (flags.count("seed")) {
    spec.train.seed = static_cast<uint64_t>(parseInt("seed", flags.at("seed"), 0, 2147483647));
  }
  const int steps = flags.count("steps") ? static_cast<int>(parseInt("steps", flags.at("steps"), 1, 10000000))
                                         : spec.train.steps;
  requireValidSpec(spec, flags.count("config") ? flags.at("config") : "preset " + preset);
  std::string name = spec.name.empty() ? "run" : spec.name;
  std::string out = flags.count("out") ? flags.at("out") : "routelab-runs/" + name;

  auto selection = chooseBackend(flags);
  std::cerr << "backend: " << selection.backend->name() << " — " << selection.backend->device() << "\n  ("
            << selection.reason << ")\n";
  rl::Session session(spec, std::move(selection));
  rl::RunRecord record(static_cast<int>(session.model().moeLayers.size()));

  rl::ProgressBar bar(steps, isatty(STDERR_FILENO) != 0);
  std::string stopReason = "completed";
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) {
    rl::StepMetrics m = session.step();
    record.add(m);
    if (!m.finite) {
      stopReason = "diverged at step " + std::to_string(m.step) + " (loss " + std::to_string(m.loss) +
                   ", gradient norm " + std::to_string(m.gradNorm) + "): lower the learning rate";
      break;
    }
    bar.update(m.step, "loss " + fmt(m.loss) + "  acc " + fmt(m.accuracy, 3));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bar.finish();
  rl::RunTiming timing{1000.0 * seconds / std::max<size_t>(1, record.steps().size()), seconds};
  std::string summary = rl::writeRunOutputs(out, session, record, timing, stopReason);
  if (flags.count("json") && flags.at("json") != "0")
    std::cout << summary << "\n";
  else
    rl::printRunReport(nlohmann::json::parse(summary), out);
  if (stopReason != "completed") {
    std::cerr << "routelab-cli: training stopped: " << stopReason << "\n";
    return 3;
  }
  return 0;
}

// Output probabilities of one row of logits (softmax) and the argmax.
void appendProbabilities(std::vector<double>& row, const float* y, int n) {
  const float mx = *std::max_element(y, y + n);
  double z = 0;
  for (int c = 0; c < n; ++c) z += std::exp(double(y[c]) - mx);
  for (int c = 0; c < n; ++c) row.push_back(std::exp(double(y[c]) - mx) / z);
  row.push_back(static_cast<double>(std::max_element(y, y + n) - y));
}

// eval's input table; an input with a header and no rows would silently write nothing.
rl::CsvTable readEvalInput(const std::string& path) {
  rl::CsvTable table = rl::readCsvTable(path);
  if (table.rows.empty()) throw std::runtime_error(path + ": no data rows after the header");
  return table;
}

// The "group" column of a Transformer eval CSV: one task (multi_task) or language (multi_language)
// id per sequence, a whole number in [-1, groups) (-1: unlabelled, task routing sends it nowhere).
// Without the column every sequence is group 0, which is only harmless when no layer routes by
// task: there it would silently send every sequence to expert 0, so that is refused.
std::vector<int32_t> sequenceGroups(const rl::Spec& spec, const rl::CsvTable& table, long groupCol,
                                    const std::string& source) {
  const bool tasks = spec.data.kind == "multi_task";
  const int groups = tasks ? spec.data.tasks : spec.data.languages;
  const std::string what = tasks ? "task" : "language";
  if (groupCol < 0) {
    const auto& layers = spec.model.transformer.layers;
    for (size_t l = 0; l < layers.size(); ++l)
      if (layers[l].router.type == rl::TokenRouterType::Task)
        throw std::runtime_error(source + ": model.transformer.layers[" + std::to_string(l) + "]" +
                                 " routes by task: the input needs a 'group' column (each sequence's " + what +
                                 " id in [0, " + std::to_string(groups) + "), or -1 for none)");
    return std::vector<int32_t>(table.rows.size(), 0);
  }
  std::vector<int32_t> group;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const double v = table.rows[r][groupCol];
    if (!(v >= -1 && v < groups && v == std::floor(v)))
      throw std::runtime_error(source + ":" + std::to_string(table.lines[r]) + ": column 'group': " +
                               std::to_string(v) + " is not a " + what + " id in [0, " + std::to_string(groups) +
                               ") or -1 (unlabelled)");
    group.push_back(static_cast<int32_t>(v));
  }
  return group;
}

// eval for a Transformer: the input CSV has one sequence per row, T token-id columns (any names)
// and a "group" column (sequenceGroups: optional unless a layer routes by task). The output has
// one row per token: sequence, position, token, the probabilities (of the sequence's class,
// repeated on each of its tokens, or of the next token at this position) with their argmax, then
// each MoE layer's choices for this token.
int evalSequences(rl::Session& session, const std::map<std::string, std::string>& flags) {
  const rl::Spec& spec = session.spec();
  const int T = spec.model.transformer.sequenceLength, V = spec.model.transformer.vocabulary;
  const int outDim = session.model().shape.outputDim;
  const bool perToken = spec.model.transformer.task == rl::SequenceTask::NextToken;
  rl::CsvTable table = readEvalInput(flags.at("input"));
  std::vector<size_t> tokenCols;
  long groupCol = -1;
  for (size_t c = 0; c < table.header.size(); ++c) {
    if (table.header[c] == "group") groupCol = static_cast<long>(c);
    else if (table.header[c] != "label") tokenCols.push_back(c);
  }
  if (static_cast<int>(tokenCols.size()) != T)
    throw std::runtime_error(flags.at("input") + ": has " + std::to_string(tokenCols.size()) +
                             " token columns, the model reads sequences of " + std::to_string(T));
  const std::vector<int32_t> group = sequenceGroups(spec, table, groupCol, flags.at("input"));
  std::vector<int32_t> ids;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (size_t c : tokenCols) {
      const double v = table.rows[r][c];
      if (!(v >= 0 && v < V && v == std::floor(v)))
        throw std::runtime_error(flags.at("input") + ":" + std::to_string(table.lines[r]) + ": column '" +
                                 table.header[c] + "': " + std::to_string(v) + " is not a token id in [0, " +
                                 std::to_string(V) + ")");
      ids.push_back(static_cast<int32_t>(v));
    }
  }
  rl::Probe p = session.predictSequences(ids, group);

  std::vector<std::string> header{"sequence", "position", "token"};
  for (int c = 0; c < outDim; ++c) header.push_back("prob_" + std::to_string(c));
  header.push_back(perToken ? "predicted_token" : "predicted_class");
  for (size_t l = 0; l < p.layers.size(); ++l)
    for (int j = 0; j < p.layers[l].k; ++j) {
      std::string base = "moe" + std::to_string(l) + "_choice" + std::to_string(j);
      header.push_back(base + "_expert");
      header.push_back(base + "_gate");
    }
  std::vector<std::vector<double>> rows;
  for (int r = 0; r < p.rows; ++r) {
    std::vector<double> row{double(r / T), double(r % T), double(p.ids[r])};
    appendProbabilities(row, &p.prediction[static_cast<size_t>(perToken ? r : r / T) * outDim], outDim);
    for (const auto& L : p.layers)
      for (int j = 0; j < L.k; ++j) {
        size_t a = static_cast<size_t>(r) * L.k + j;
        row.push_back(L.slot[a] < 0 ? -1 : L.idx[a]);  // -1: dropped by the capacity limit
        row.push_back(L.slot[a] < 0 ? 0.0 : L.wt[a]);
      }
    rows.push_back(std::move(row));
  }
  rl::writeCsvFile(flags.at("out"), header, rows);
  std::cerr << "wrote " << rows.size() << " token rows (" << p.sequences << " sequences) to " << flags.at("out") << "\n";
  return 0;
}

int cmdEval(int argc, char** argv) {
  auto flags = parseFlags(argc, argv, {"config", "weights", "input", "out", "backend", "device"});
  for (const char* need : {"config", "weights", "input", "out"})
    if (!flags.count(need)) throw UsageError(std::string("eval needs --") + need);
  rl::Spec spec = rl::loadSpecFile(flags.at("config"));
  requireValidSpec(spec, flags.at("config"));
  auto weights = rl::readSafetensors(flags.at("weights"));
  rl::Session session(spec, chooseBackend(flags));
  session.importWeights(weights.tensors);
  if (session.transformer()) return evalSequences(session, flags);
  const int in = session.model().shape.inputDim, outDim = session.model().shape.outputDim;

  rl::CsvTable table = readEvalInput(flags.at("input"));
  // Feature columns: all columns except the spec's label column (if present), in order.
  std::vector<size_t> featureCols;
  for (size_t c = 0; c < table.header.size(); ++c)
    if (table.header[c] != spec.data.labelColumn && table.header[c] != "label") featureCols.push_back(c);
  if (static_cast<int>(featureCols.size()) != in)
    throw std::runtime_error(flags.at("input") + ": has " + std::to_string(featureCols.size()) +
                             " feature columns, the model takes " + std::to_string(in));
  std::vector<float> x;
  for (const auto& row : table.rows)
    for (size_t c : featureCols) x.push_back(static_cast<float>(row[c]));
  std::vector<int32_t> labels(table.rows.size(), 0);
  rl::Probe p = session.predict(x, labels);

  std::vector<std::string> header;
  const bool classify = session.model().shape.classify;
  for (int c = 0; c < outDim; ++c) header.push_back((classify ? "prob_" : "output_") + std::to_string(c));
  if (classify) header.push_back("predicted_class");
  for (size_t l = 0; l < p.layers.size(); ++l)
    for (int j = 0; j < p.layers[l].k; ++j) {
      std::string base = "moe" + std::to_string(l) + "_choice" + std::to_string(j);
      header.push_back(base + "_expert");
      header.push_back(base + "_gate");
    }
  std::vector<std::vector<double>> rows;
  for (int r = 0; r < p.rows; ++r) {
    std::vector<double> row;
    const float* y = &p.prediction[static_cast<size_t>(r) * outDim];
    if (classify) {
      float mx = *std::max_element(y, y + outDim);
      double z = 0;
      for (int c = 0; c < outDim; ++c) z += std::exp(double(y[c]) - mx);
      for (int c = 0; c < outDim; ++c) row.push_back(std::exp(double(y[c]) - mx) / z);
      row.push_back(static_cast<double>(std::max_element(y, y + outDim) - y));
    } else {
      for (int c = 0; c < outDim; ++c) row.push_back(y[c]);
    }
    for (const auto& L : p.layers)
      for (int j = 0; j < L.k; ++j) {
        size_t a = static_cast<size_t>(r) * L.k + j;
        row.push_back(L.slot[a] < 0 ? -1 : L.idx[a]);  // -1: dropped by the capacity limit
        row.push_back(L.slot[a] < 0 ? 0.0 : L.wt[a]);
      }
    rows.push_back(std::move(row));
  }
  rl::writeCsvFile(flags.at("out"), header, rows);
  std::cerr << "wrote " << rows.size() << " predictions to " << flags.at("out") << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "info") return cmdInfo();
    if (cmd == "presets") return cmdPresets();
    if (cmd == "train") return cmdTrain(argc, argv);
    if (cmd == "eval") return cmdEval(argc, argv);
    throw UsageError("unknown command '" + cmd + "'");
  } catch (const UsageError& e) {
    std::cerr << "routelab-cli: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "routelab-cli: " << e.what() << "\n";
    return 1;
  }
}
