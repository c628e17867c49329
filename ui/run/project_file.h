#pragma once
// Project files (.routelab): everything needed to continue a run where it was saved: the spec,
// the weights, the optimizer state, the batch RNG and step counters, the metric history and the
// comparison runs. One safetensors file (docs/project-file.md): weights under their
// PyTorch-style names, the optimizer state as one raw tensor, the rest as metadata strings.
#include <memory>
#include <string>
#include <vector>

#include "backend/factory.h"
#include "io/safetensors.h"
#include "run/run_snapshot.h"
#include "spec/spec.h"
#include "train/session.h"

namespace rl::ui {

constexpr const char* kProjectFormat = "routelab-project/1";
constexpr const char* kProjectSuffix = ".routelab";

struct ProjectState {
  Spec spec;
  std::vector<NamedTensor> weights;   // Session::exportWeights
  std::vector<float> optimizerState;  // Session::snapshot().optState, word for word
  int step = 0, optimizerBase = 0;
  std::string batchRng;               // the batch sampler's state (std::mt19937_64 text form)
  std::vector<HistoryPoint> history;
  std::vector<ComparisonRun> comparisons;
};

// Captures a session's state (with its history) for saving.
ProjectState captureProject(const Session& session, std::vector<HistoryPoint> history,
                            std::vector<ComparisonRun> comparisons);

std::string encodeProject(const ProjectState& state, const std::string& sourceName);
void writeProjectFile(const std::string& path, const ProjectState& state);  // atomic

// Check everything they can without building the model and throw FileError "source: reason".
ProjectState decodeProject(const std::string& bytes, const std::string& sourceName);
ProjectState readProjectFile(const std::string& path);

// Builds a new Session for the state on `backend` and restores weights, optimizer state, RNG and
// step into it. Throws FileError "source: reason" when the weights or optimizer state do not fit
// the spec's model; nothing outside the returned session is touched.
std::unique_ptr<Session> restoreSession(const ProjectState& state, BackendSelection backend,
                                        const std::string& sourceName);

}  // namespace rl::ui
