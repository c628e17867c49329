#include "edit/spec_labels.h"

namespace rl::ui {

QString routerLabel(RouterType type) {
  switch (type) {
    case RouterType::Dense: return "Dense softmax";
    case RouterType::TopK: return "Top-k";
    case RouterType::NoisyTopK: return "Noisy top-k";
    case RouterType::Switch: return "Switch top-1";
  }
  return "?";
}

QString lossLabel(LossType loss) {
  switch (loss) {
    case LossType::CrossEntropy: return "Cross-entropy";
    case LossType::Mse: return "MSE";
    case LossType::Cooperative: return "Cooperative";
    case LossType::Competitive: return "Competitive";
  }
  return "?";
}

QString optimizerLabel(OptimizerType opt) {
  return opt == OptimizerType::Adam ? "Adam" : "SGD + momentum";
}

QString activationLabel(Activation act) {
  switch (act) {
    case Activation::None: return "None";
    case Activation::Relu: return "ReLU";
    case Activation::Gelu: return "GELU";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "Sigmoid";
  }
  return "?";
}

QString dataKindLabel(const std::string& kind) {
  if (kind == "circle") return "Circle";
  if (kind == "xor") return "XOR";
  if (kind == "gaussians") return "Two Gaussians";
  if (kind == "spiral") return "Spiral (2 arms)";
  if (kind == "spiral4") return "Spiral (4 arms)";
  if (kind == "regression_local") return "Local regression";
  if (kind == "vowels") return "Vowels (formants)";
  if (kind == "csv") return "CSV file";
  if (kind == "multi_task") return "Multi-task tokens";
  if (kind == "multi_language") return "Multi-language tokens";
  return QString::fromStdString(kind);
}

QString tokenRouterLabel(TokenRouterType type) {
  switch (type) {
    case TokenRouterType::TokenChoice: return "Token choice (top-k)";
    case TokenRouterType::ExpertChoice: return "Expert choice";
    case TokenRouterType::SoftMoe: return "Soft MoE";
    case TokenRouterType::Hash: return "Hash (fixed)";
    case TokenRouterType::Task: return "Task (fixed)";
    case TokenRouterType::Dense: return "Dense (all experts)";
  }
  return "?";
}

QString sequenceTaskLabel(SequenceTask task) {
  return task == SequenceTask::Classification ? "Classify the sequence" : "Predict the next token";
}

QString shortNumber(double value) { return QString::number(value, 'g', 4); }

bool isRegressionData(const DataSpec& data) {
  return data.kind == "regression_local" || (data.kind == "csv" && data.regression);
}

}  // namespace rl::ui
