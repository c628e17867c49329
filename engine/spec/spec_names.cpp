#include "spec/spec_names.h"

namespace rl {

namespace {

// Names are listed in enum order, so the enum value is the index.
template <class Enum>
std::optional<Enum> fromName(const std::vector<std::string>& names, const std::string& s) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<Enum>(i);
  return std::nullopt;
}

template <class Enum>
std::string nameOf(const std::vector<std::string>& names, Enum e) {
  const auto i = static_cast<size_t>(e);
  return i < names.size() ? names[i] : "invalid(" + std::to_string(i) + ")";
}

}  // namespace

const std::vector<std::string>& activationNames() {
  static const std::vector<std::string> n{"none", "relu", "gelu", "tanh", "sigmoid"};
  return n;
}
const std::vector<std::string>& routerTypeNames() {
  static const std::vector<std::string> n{"dense", "top_k", "noisy_top_k", "switch"};
  return n;
}
const std::vector<std::string>& lossNames() {
  static const std::vector<std::string> n{"cross_entropy", "mse", "cooperative", "competitive"};
  return n;
}
const std::vector<std::string>& optimizerNames() {
  static const std::vector<std::string> n{"adam", "sgd"};
  return n;
}
const std::vector<std::string>& layerTypeNames() {
  static const std::vector<std::string> n{"dense", "moe"};
  return n;
}
const std::vector<std::string>& dataKindNames() {
  static const std::vector<std::string> n{"circle", "xor", "gaussians", "spiral",
                                          "spiral4", "regression_local", "vowels", "csv"};
  return n;
}

const std::vector<std::string>& modelKindNames() {
  static const std::vector<std::string> n{"mlp", "transformer"};
  return n;
}
const std::vector<std::string>& tokenRouterTypeNames() {
  static const std::vector<std::string> n{"token_choice", "expert_choice", "soft_moe", "hash", "task", "dense"};
  return n;
}
const std::vector<std::string>& sequenceTaskNames() {
  static const std::vector<std::string> n{"sequence_classification", "next_token"};
  return n;
}
const std::vector<std::string>& tokenDataKindNames() {
  static const std::vector<std::string> n{"multi_task", "multi_language"};
  return n;
}
bool isTokenDataKind(const std::string& kind) {
  for (const auto& k : tokenDataKindNames())
    if (k == kind) return true;
  return false;
}

std::string toName(Activation a) { return nameOf(activationNames(), a); }
std::string toName(RouterType r) { return nameOf(routerTypeNames(), r); }
std::string toName(LossType l) { return nameOf(lossNames(), l); }
std::string toName(OptimizerType o) { return nameOf(optimizerNames(), o); }
std::string toName(LayerType t) { return nameOf(layerTypeNames(), t); }
std::string toName(ModelKind k) { return nameOf(modelKindNames(), k); }
std::string toName(TokenRouterType r) { return nameOf(tokenRouterTypeNames(), r); }
std::string toName(SequenceTask t) { return nameOf(sequenceTaskNames(), t); }

std::optional<Activation> activationFromName(const std::string& s) { return fromName<Activation>(activationNames(), s); }
std::optional<RouterType> routerTypeFromName(const std::string& s) { return fromName<RouterType>(routerTypeNames(), s); }
std::optional<LossType> lossFromName(const std::string& s) { return fromName<LossType>(lossNames(), s); }
std::optional<OptimizerType> optimizerFromName(const std::string& s) {
  return fromName<OptimizerType>(optimizerNames(), s);
}
std::optional<LayerType> layerTypeFromName(const std::string& s) { return fromName<LayerType>(layerTypeNames(), s); }
std::optional<ModelKind> modelKindFromName(const std::string& s) { return fromName<ModelKind>(modelKindNames(), s); }
std::optional<TokenRouterType> tokenRouterTypeFromName(const std::string& s) {
  return fromName<TokenRouterType>(tokenRouterTypeNames(), s);
}
std::optional<SequenceTask> sequenceTaskFromName(const std::string& s) {
  return fromName<SequenceTask>(sequenceTaskNames(), s);
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

}  // namespace rl
