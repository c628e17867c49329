#pragma once
// Builds a Program from a Spec: parameters (contiguous), gradients (same layout), optimizer state,
// then two phases over the shared parameters:
//   "train": forward on a training batch, backward from a static tape, optimizer, gradient norm;
//   "eval":  forward only, on an evaluation batch (no noise: globals.train = 0 there).
#include <string>
#include <vector>

#include "graph/program.h"
#include "spec/spec.h"

namespace rl {

struct ModelShape {
  int inputDim = 2;
  int outputDim = 4;
  bool classify = true;  // labels are class ids; accuracy is argmax
};

// One parameter as the engine stores it. Expert weights are stored grouped ([E, out, in]) and
// exported one tensor per expert with PyTorch-style names (see docs/weights.md).
struct ParamInfo {
  std::string name;  // e.g. "moe.0.experts.fc1.weight", "moe.0.router.weight", "head.bias"
  TensorId id = 0;
  int fanIn = 1;         // for initialisation
  int groups = 0;        // > 0: grouped expert parameter, exported as moe.L.experts.<e>.<rest>
};

// The per-phase tensors of one MoE layer that metrics and views read.
struct MoeTensors {
  TensorId probs, idx, wt, slot, load, importance, scalars;  // scalars: aux, z, entropy, dropped
};

struct PhaseTensors {
  int batch = 0;
  TensorId x, labels, target;  // inputs the host writes
  TensorId prediction;         // [batch, outputDim]: logits (cross-entropy) or outputs
  TensorId lossOut;            // [2]: mean task loss, correct count
  TensorId competitiveOut = 0; // [1]: the task loss instead of lossOut[0] when the loss is competitive
  std::vector<MoeTensors> moe;
};

struct MoeLayerInfo {
  int layer = 0;     // index in spec.model.layers
  int experts = 0;
  int k = 0;
  int capacity = 0;  // per expert at the training batch
  int evalCapacity = 0;
};

struct BuiltModel {
  Program program;
  ModelShape shape;
  std::vector<ParamInfo> params;
  std::vector<MoeLayerInfo> moeLayers;
  PhaseTensors train, eval;
  TensorId globals = 0;
  TensorId gradNorm = 0;
  uint64_t optStateBegin = 0, optStateWords = 0;  // every optimizer state tensor, contiguous
};

// Throws std::invalid_argument naming the spec path when shapes cannot fit together.
BuiltModel buildModel(const Spec& spec, const ModelShape& shape, int evalBatch);

// Capacity per expert for a batch: ceil(cf * n * k / E) clamped to [1, n]; no limit when cf <= 0.
int expertCapacity(const RouterSpec& router, int experts, int n);

// Effective k: all experts for dense routing, 1 for Switch.
int effectiveK(const RouterSpec& router, int experts);

}  // namespace rl
