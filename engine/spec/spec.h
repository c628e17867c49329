#pragma once
// Plain structs describing what to build (model), what to learn from (data) and how (train).
// JSON form and validation: spec_json.h. Documented in docs/spec.md.
#include <cstdint>
#include <string>
#include <vector>

namespace rl {

enum class Activation { None, Relu, Gelu, Tanh, Sigmoid };
enum class RouterType { Dense, TopK, NoisyTopK, Switch };  // Switch = top-1, weight = p (not renormalised)
enum class LossType { CrossEntropy, Mse, Cooperative, Competitive };
enum class OptimizerType { Adam, Sgd };
enum class LayerType { Dense, Moe };
// What a Transformer is trained to predict from a token sequence (engine/data/token_dataset.h).
enum class SequenceTask { Classification, NextToken };
enum class ModelKind { Mlp, Transformer };
// How a Transformer layer's MoE feed-forward block assigns tokens to experts (docs/spec.md).
enum class TokenRouterType { TokenChoice, ExpertChoice, SoftMoe, Hash, Task, Dense };

struct RouterSpec {
  RouterType type = RouterType::TopK;
  int k = 2;                      // experts per input (Dense: all, Switch: 1)
  double capacityFactor = 0.0;    // <= 0: no capacity limit; else capacity = ceil(cf * N * k / E)
  double jitter = 0.0;            // Switch-style multiplicative input noise U(1-j, 1+j), training only
  double temperature = 1.0;       // softmax(logits / T)
  double auxLossCoef = 0.0;       // Switch load-balancing loss coefficient (alpha)
  double zLossCoef = 0.0;         // router z-loss coefficient
};

struct LayerSpec {
  LayerType type = LayerType::Moe;
  // Dense layer
  int units = 0;
  Activation activation = Activation::Relu;  // Dense layer activation, and every expert layer's
  // MoE layer: experts are MLPs in -> widths[0] -> ... -> widths.back()
  int experts = 0;
  std::vector<int> expertWidths;
  RouterSpec router;
};

// Learned routers have router weights (all but hash and task); gated ones (token choice, dense)
// also have the load-balancing and z-losses. Validation, the builder and the editor agree on this.
inline bool isLearnedRouter(TokenRouterType t) { return t != TokenRouterType::Hash && t != TokenRouterType::Task; }
inline bool isGatedRouter(TokenRouterType t) { return t == TokenRouterType::TokenChoice || t == TokenRouterType::Dense; }

// The router of one Transformer layer. Each type reads only some fields (docs/spec.md).
struct TokenRouterSpec {
  TokenRouterType type = TokenRouterType::TokenChoice;
  int k = 2;                      // token_choice: experts per token
  // token_choice: capacity C = ceil(cf * N * k / E) of the N tokens' choices, <= 0: no limit;
  // expert_choice: each expert takes ceil(cf * N / E) tokens (cf = mean experts per token).
  double capacityFactor = 1.25;
  int slotsPerExpert = 1;         // soft_moe: slots (weighted token mixtures) per expert
  double jitter = 0.0;            // learned routers: multiplicative input noise U(1-j, 1+j), training only
  double temperature = 1.0;       // learned routers: softmax(logits / T)
  double auxLossCoef = 0.0;       // token_choice, dense: load-balancing loss coefficient
  double zLossCoef = 0.0;         // learned routers: router z-loss coefficient
  bool operator==(const TokenRouterSpec&) const = default;
};

// One Transformer block: attention, then a feed-forward block of experts, each an MLP
// d_model -> expert_width -> d_model (a dense FFN is one expert with dense routing).
struct TransformerLayerSpec {
  int experts = 8;
  int expertWidth = 128;
  TokenRouterSpec router;
  bool operator==(const TransformerLayerSpec&) const = default;
};

struct TransformerSpec {
  int vocabulary = 64;
  int sequenceLength = 32;        // learned positions 0 .. sequenceLength-1
  int dModel = 64;
  int heads = 4;                  // must divide dModel
  bool causal = false;            // attention sees only earlier positions (required for next_token)
  Activation activation = Activation::Gelu;  // inside every expert
  SequenceTask task = SequenceTask::Classification;  // mean-pooled class, or next token per position
  std::vector<TransformerLayerSpec> layers;
  bool operator==(const TransformerSpec&) const = default;
};

struct ModelSpec {
  std::vector<LayerSpec> layers;
  // Output head: a shared linear layer to the output size. Without a head the last layer's width
  // must equal the output size and its last linear map has no activation.
  bool head = true;
  LossType loss = LossType::CrossEntropy;
  // mlp: the layers above. transformer: `transformer`; layers stay empty, the head is the output
  // projection and the loss is cross-entropy.
  ModelKind kind = ModelKind::Mlp;
  TransformerSpec transformer;
};

struct DataSpec {
  // circle, xor, gaussians, spiral, spiral4, regression_local, vowels, csv; token streams
  // (transformer models only): multi_task, multi_language
  std::string kind = "spiral4";
  int samples = 4000;           // total before the held-out split
  double noise = 0.1;
  double testFraction = 0.2;
  uint64_t seed = 1;
  std::string csvPath;          // kind == csv
  std::string labelColumn;      // kind == csv: name of the label column (class id, or target for regression)
  bool regression = false;      // kind == csv: label is a real-valued target
  // Token streams (multi_task, multi_language; docs/token-data.md): samples = sequences.
  int vocabulary = 64;
  int sequenceLength = 32;
  int tasks = 5;                // multi_task: the first N rules of copy, reverse, sort, count, increment
  int languages = 4;            // multi_language
};

struct TrainSpec {
  OptimizerType optimizer = OptimizerType::Adam;
  double learningRate = 1e-2;
  double momentum = 0.9;        // SGD
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // Adam
  int batchSize = 256;
  int steps = 2000;             // default number of steps for `train`
  uint64_t seed = 1;            // weights, batches, noise
};

struct Spec {
  std::string format = "routelab/1";
  std::string name;
  std::string description;      // one paragraph: what to look for
  ModelSpec model;
  DataSpec data;
  TrainSpec train;
};

}  // namespace rl
