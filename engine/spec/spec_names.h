#pragma once
// The JSON spellings (snake_case) of the spec's enums and data kinds, shared by the JSON reader,
// the writer, validation messages and the front ends' pickers.
#include <optional>
#include <string>
#include <vector>

#include "spec/spec.h"

namespace rl {

std::string toName(Activation a);
std::string toName(RouterType r);
std::string toName(LossType l);
std::string toName(OptimizerType o);
std::string toName(LayerType t);
std::string toName(ModelKind k);
std::string toName(TokenRouterType r);
std::string toName(SequenceTask t);

// std::nullopt for an unknown spelling; the *Names() lists give the accepted ones in order.
std::optional<Activation> activationFromName(const std::string& s);
std::optional<RouterType> routerTypeFromName(const std::string& s);
std::optional<LossType> lossFromName(const std::string& s);
std::optional<OptimizerType> optimizerFromName(const std::string& s);
std::optional<LayerType> layerTypeFromName(const std::string& s);
std::optional<ModelKind> modelKindFromName(const std::string& s);
std::optional<TokenRouterType> tokenRouterTypeFromName(const std::string& s);
std::optional<SequenceTask> sequenceTaskFromName(const std::string& s);

const std::vector<std::string>& activationNames();
const std::vector<std::string>& routerTypeNames();
const std::vector<std::string>& lossNames();
const std::vector<std::string>& optimizerNames();
const std::vector<std::string>& layerTypeNames();
const std::vector<std::string>& modelKindNames();        // mlp, transformer
const std::vector<std::string>& tokenRouterTypeNames();  // token_choice, expert_choice, soft_moe, hash, task, dense
const std::vector<std::string>& sequenceTaskNames();     // sequence_classification, next_token
// circle, xor, gaussians, spiral, spiral4, regression_local, vowels, csv (engine/data makes them).
const std::vector<std::string>& dataKindNames();
// multi_task, multi_language: the token streams Transformer models read (engine/data/token_dataset.h).
const std::vector<std::string>& tokenDataKindNames();
bool isTokenDataKind(const std::string& kind);

// "a, b, c" — for messages listing the accepted values.
std::string joinNames(const std::vector<std::string>& names);

}  // namespace rl
