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
  int inputDim = 2;      // Transformer: tokens per sequence (T)
  int outputDim = 4;     // Transformer: classes (sequence classification) or the vocabulary (next token)
  bool classify = true;  // labels are class ids; accuracy is argmax
};

// How Session::initialiseWeights fills a parameter.
enum class ParamInit : uint8_t {
  Uniform,  // U(-1/sqrt(fanIn), 1/sqrt(fanIn)), PyTorch's nn.Linear default
  Normal,   // N(0, 1), PyTorch's nn.Embedding default
  Ones,     // layer-norm gain
  Zeros,    // layer-norm bias
};

// One parameter as the engine stores it. Expert weights are stored grouped ([E, out, in]) and
// exported one tensor per expert with PyTorch-style names (see docs/weights.md).
struct ParamInfo {
  std::string name;  // e.g. "moe.0.experts.fc1.weight", "moe.0.router.weight", "head.bias"
  TensorId id = 0;
  int fanIn = 1;         // for initialisation
  int groups = 0;        // > 0: grouped expert parameter, exported as moe.L.experts.<e>.<rest>
  ParamInit init = ParamInit::Uniform;
};

// The per-phase tensors of one MoE layer that metrics and views read.
struct MoeTensors {
  TensorId input = 0;  // [rows, width]: what the layer routes (its router's input, before jitter)
  TensorId probs, idx, wt, slot, load, importance, scalars;  // scalars: aux, z, entropy, dropped
};

struct PhaseTensors {
  int batch = 0;
  TensorId x, labels, target;  // inputs the host writes
  // Transformer inputs instead of x/target: ids I32 [batch * T]; group I32 [batch] (the task or
  // language of each sequence); labels I32 [batch] (classification) or [batch * T] (next token,
  // -1 = not scored).
  TensorId ids = 0, group = 0;
  TensorId prediction;         // [batch, outputDim]: logits (cross-entropy) or outputs
  TensorId lossOut;            // [2]: mean task loss, correct count
  TensorId competitiveOut = 0; // [1]: the task loss instead of lossOut[0] when the loss is competitive
  std::vector<MoeTensors> moe;
};

struct MoeLayerInfo {
  int layer = 0;     // index in spec.model.layers (Transformer: in spec.model.transformer.layers)
  std::string router;  // the router type's spec name (top_k, token_choice, ...)
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
// A Transformer (spec.model.kind) is built by buildTransformer (builder_transformer.h); there
// shape.inputDim is the sequence length and evalBatch counts sequences.
BuiltModel buildModel(const Spec& spec, const ModelShape& shape, int evalBatch);

// Capacity per expert for a batch: ceil(cf * n * k / E) clamped to [1, n]; no limit when cf <= 0.
int expertCapacity(const RouterSpec& router, int experts, int n);

// Effective k: all experts for dense routing, 1 for Switch.
int effectiveK(const RouterSpec& router, int experts);

}  // namespace rl
