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

// std::nullopt for an unknown spelling; the *Names() lists give the accepted ones in order.
std::optional<Activation> activationFromName(const std::string& s);
std::optional<RouterType> routerTypeFromName(const std::string& s);
std::optional<LossType> lossFromName(const std::string& s);
std::optional<OptimizerType> optimizerFromName(const std::string& s);
std::optional<LayerType> layerTypeFromName(const std::string& s);

const std::vector<std::string>& activationNames();
const std::vector<std::string>& routerTypeNames();
const std::vector<std::string>& lossNames();
const std::vector<std::string>& optimizerNames();
const std::vector<std::string>& layerTypeNames();
// circle, xor, gaussians, spiral, spiral4, regression_local, vowels, csv (engine/data makes them).
const std::vector<std::string>& dataKindNames();

// "a, b, c" — for messages listing the accepted values.
std::string joinNames(const std::vector<std::string>& names);

}  // namespace rl
