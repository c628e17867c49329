#pragma once
// Session: owns a built model on a backend, the data stream and the RNG. step() trains one batch
// and returns small metrics read back from the device; probe()/evaluate() run the eval phase.
// snapshot()/restore() make runs rewindable: the same seed and steps give the same metrics on
// the same backend, and a restored run continues identically.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/factory.h"
#include "data/dataset.h"
#include "data/token_dataset.h"
#include "data/token_sampler.h"
#include "graph/builder.h"
#include "io/safetensors.h"
#include "spec/spec.h"

namespace rl {

struct MoeMetrics {
  std::vector<float> load;        // fraction of routing choices per expert (before capacity drops)
  std::vector<float> importance;  // mean gate probability per expert
  float auxLoss = 0, zLoss = 0, routerEntropy = 0, dropped = 0;
};

struct StepMetrics {
  int step = 0;
  double loss = 0;      // task loss + every aux and z loss
  double taskLoss = 0;
  double accuracy = 0;  // on the batch; NaN for regression
  double gradNorm = 0;
  std::vector<MoeMetrics> moe;
  bool finite = true;   // false when the loss or gradient norm is NaN/Inf
};

struct EvalMetrics {
  double loss = 0;      // task loss on the held-out split
  double accuracy = 0;  // NaN for regression
  int rows = 0;         // Transformer: scored targets (sequences, or scored next-token positions)
  std::vector<MoeMetrics> moe;  // over the first evaluation batch
  // Per MoE layer: [class][expert] expected routing counts (each row spreads 1 over its chosen
  // experts by gate-weight share): the contingency table for mutual information. Transformer: the
  // rows are tokens and the "class" is the token's task (multi_task) or language (multi_language).
  std::vector<std::vector<std::vector<double>>> classExpertCounts;
};

// Routing of a fixed probe batch (the first rows of the held-out split). Transformer: the first
// eval batch of held-out sequences; the rows are their tokens (row s T + t), labels the tokens'
// task or language, and prediction is [sequences, classes] or, for next_token, [rows, V] logits.
struct ProbeLayer {
  int experts = 0, k = 0;
  std::vector<float> probs;  // [rows, experts]
  std::vector<int32_t> idx;  // [rows, k]
  std::vector<float> wt;     // [rows, k]
  std::vector<int32_t> slot; // [rows, k], -1 = dropped
};
struct Probe {
  int rows = 0;
  std::vector<float> x;         // [rows, inputDim]
  std::vector<int32_t> labels;  // [rows]
  std::vector<float> prediction;  // [rows, outputDim]
  std::vector<ProbeLayer> layers;
  // Transformer only:
  int sequences = 0, length = 0;
  std::vector<int32_t> ids;       // [rows] token ids
};

struct Snapshot {
  int step = 0;
  std::vector<uint32_t> params, optState;
  std::string batchRng;
  int optimizerBase = 0;  // the step the optimizer state last started from (continueStepsFrom)
};

struct HiddenStates;     // train/hidden_states.h
enum class HiddenSide;   // train/hidden_states.h

class Session {
 public:
  Session(Spec spec, BackendSelection backend);
  ~Session();

  const Spec& spec() const { return spec_; }
  const BuiltModel& model() const { return model_; }
  const DataSplit& data() const { return data_; }  // MLP models (empty for a Transformer)
  bool transformer() const { return spec_.model.kind == ModelKind::Transformer; }
  const TokenSplit& tokens() const { return tokens_; }  // Transformer models (empty otherwise)
  const Backend& backend() const { return *backend_; }
  const std::string& backendReason() const { return backendReason_; }
  int stepCount() const { return step_; }

  StepMetrics step();
  EvalMetrics evaluate();
  Probe probe();
  // Runs the eval phase over arbitrary rows (any count), returning the same fields as a probe.
  // MLP models only (a Transformer reads token ids: probeSequences).
  Probe predict(const std::vector<float>& x, const std::vector<int32_t>& labels);
  // The representations of the first min(maxRows, held-out size) held-out rows at MoE layer
  // `moeLayer` (input or output side), with every layer's routing of them (session_hidden.cpp).
  // Transformer: the rows are the tokens of the first whole held-out sequences (at most maxRows).
  HiddenStates hiddenStates(int moeLayer, int maxRows, HiddenSide side);

  // Transformer: the eval phase over sequences `rows` of the held-out split (any count).
  Probe probeSequences(const std::vector<uint32_t>& rows);
  // Transformer: the eval phase over arbitrary sequences: ids [S, T] (each id in [0, V)), group [S]
  // (task or language ids, read by task routing). Probe labels are left empty.
  Probe predictSequences(const std::vector<int32_t>& ids, const std::vector<int32_t>& group);

  Snapshot snapshot() const;
  void restore(const Snapshot& s);

  void setLearningRate(double lr) { spec_.train.learningRate = lr; }

  // After a rebuild (e.g. an edited spec): the step counter continues from `step` so a run's
  // history stays monotonic, while the optimizer's own count (Adam's bias correction) restarts
  // here, because the rebuilt session's optimizer state is fresh.
  void continueStepsFrom(int step);

  // PyTorch-style tensors, one per expert (moe.0.experts.3.fc1.weight), row-major [out, in].
  std::vector<NamedTensor> exportWeights() const;
  // Throws std::runtime_error naming the tensor on a missing, extra or mis-shaped tensor.
  void importWeights(const std::vector<NamedTensor>& tensors);

 private:
  void initialiseWeights();
  void loadTokenData();
  StepMetrics stepTokens();
  EvalMetrics evaluateTokens();
  HiddenStates tokenHiddenStates(int moeLayer, int maxRows, HiddenSide side);
  void writeTokenBatch(const PhaseTensors& pt, const TokenBatch& b);
  void writeGlobals(bool train);
  void writeBatch(const PhaseTensors& pt, const Dataset& d, const std::vector<uint32_t>& rows);
  MoeMetrics readMoe(const MoeTensors& t) const;
  float readScalar(TensorId t, int index) const;

  Spec spec_;
  DataSplit data_;
  BuiltModel model_;
  std::unique_ptr<Backend> backend_;
  std::string backendReason_;
  std::mt19937_64 batchRng_;
  TokenSplit tokens_;
  TokenBatchSampler tokenSampler_{0};  // Transformer batches (seeded like batchRng_)
  int step_ = 0;
  int optimizerBase_ = 0;  // globals.step = step_ - optimizerBase_
};

}  // namespace rl
