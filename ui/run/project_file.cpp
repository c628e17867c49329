#include "run/project_file.h"

#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "io/atomic_file.h"
#include "io/file_error.h"
#include "run/history_json.h"
#include "spec/spec_json.h"

namespace rl::ui {

namespace {

constexpr const char* kOptimizerTensor = "routelab.optimizer_state";

int parseCount(const std::string& text, const std::string& key, const std::string& source) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= 0 && v <= std::numeric_limits<int>::max()) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw FileError(source + ": metadata '" + key + "' is not a step count: '" + text.substr(0, 40) + "'");
}

const std::string& required(const std::map<std::string, std::string>& meta, const std::string& key,
                            const std::string& source) {
  auto it = meta.find(key);
  if (it == meta.end()) throw FileError(source + ": metadata '" + key + "' is missing");
  return it->second;
}

}  // namespace

ProjectState captureProject(const Session& session, std::vector<HistoryPoint> history,
                            std::vector<ComparisonRun> comparisons) {
  ProjectState p;
  p.spec = session.spec();
  p.weights = session.exportWeights();
  const Snapshot s = session.snapshot();
  p.optimizerState.resize(s.optState.size());
  std::memcpy(p.optimizerState.data(), s.optState.data(), s.optState.size() * sizeof(uint32_t));
  p.step = s.step;
  p.optimizerBase = s.optimizerBase;
  p.batchRng = s.batchRng;
  p.history = std::move(history);
  p.comparisons = std::move(comparisons);
  return p;
}

std::string encodeProject(const ProjectState& state, const std::string& sourceName) {
  std::vector<NamedTensor> tensors = state.weights;
  tensors.push_back({kOptimizerTensor, {static_cast<int64_t>(state.optimizerState.size())}, state.optimizerState});
  const std::map<std::string, std::string> meta{
      {"format", kProjectFormat},
      {"spec", specToJson(state.spec)},
      {"step", std::to_string(state.step)},
      {"optimizer_base", std::to_string(state.optimizerBase)},
      {"batch_rng", state.batchRng},
      {"history", historyToJson(state.history)},
      {"comparisons", comparisonsToJson(state.comparisons)},
  };
  return encodeSafetensors(tensors, meta, sourceName);
}

void writeProjectFile(const std::string& path, const ProjectState& state) {
  writeFileAtomic(path, encodeProject(state, path));
}

ProjectState decodeProject(const std::string& bytes, const std::string& source) {
  SafetensorsFile file = decodeSafetensors(bytes, source);
  const auto& meta = file.metadata;
  auto format = meta.find("format");
  if (format == meta.end() || format->second != kProjectFormat)
    throw FileError(source + ": not a Routelab project file (format " +
                    (format == meta.end() ? std::string("missing") : "'" + format->second.substr(0, 40) + "'") +
                    ", expected '" + kProjectFormat + "')");
  ProjectState p;
  try {
    p.spec = parseSpec(required(meta, "spec", source), source + ": spec");
  } catch (const SpecError& e) {
    throw FileError(e.what());
  }
  const auto problems = validateSpec(p.spec);
  if (!problems.empty()) throw FileError(source + ": spec: " + problems.front());
  p.step = parseCount(required(meta, "step", source), "step", source);
  p.optimizerBase = parseCount(required(meta, "optimizer_base", source), "optimizer_base", source);
  if (p.optimizerBase > p.step) throw FileError(source + ": optimizer_base is after step");
  p.batchRng = required(meta, "batch_rng", source);
  std::mt19937_64 rng;
  std::istringstream rngText(p.batchRng);
  if (!(rngText >> rng)) throw FileError(source + ": metadata 'batch_rng' is not a random generator state");
  try {
    p.history = historyFromJson(required(meta, "history", source));
    p.comparisons = comparisonsFromJson(required(meta, "comparisons", source));
  } catch (const FileError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw FileError(source + ": " + e.what());
  }
  if (!p.history.empty() && p.history.back().step > p.step)
    throw FileError(source + ": history reaches step " + std::to_string(p.history.back().step) +
                    ", after the saved step " + std::to_string(p.step));
  bool haveOptimizer = false;
  for (NamedTensor& t : file.tensors) {
    if (t.name == kOptimizerTensor) {
      p.optimizerState = std::move(t.data);
      haveOptimizer = true;
    } else {
      p.weights.push_back(std::move(t));
    }
  }
  if (!haveOptimizer) throw FileError(source + ": tensor '" + kOptimizerTensor + "' is missing");
  return p;
}

ProjectState readProjectFile(const std::string& path) { return decodeProject(readFileBytes(path), path); }

std::unique_ptr<Session> restoreSession(const ProjectState& state, BackendSelection backend, const std::string& source) {
  std::unique_ptr<Session> session;
  try {
    session = std::make_unique<Session>(state.spec, std::move(backend));
    session->importWeights(state.weights);
  } catch (const std::exception& e) {
    throw FileError(source + ": " + e.what());
  }
  Snapshot s = session->snapshot();  // the imported weights, in the engine's layout
  if (state.optimizerState.size() != s.optState.size())
    throw FileError(source + ": optimizer state has " + std::to_string(state.optimizerState.size()) +
                    " values, the model needs " + std::to_string(s.optState.size()));
  std::memcpy(s.optState.data(), state.optimizerState.data(), s.optState.size() * sizeof(uint32_t));
  s.step = state.step;
  s.optimizerBase = state.optimizerBase;
  s.batchRng = state.batchRng;
  session->restore(s);
  return session;
}

}  // namespace rl::ui
