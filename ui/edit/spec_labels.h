#pragma once
// What the editor (and undo texts) call the spec's enums and data kinds.
#include <QString>
#include <string>

#include "spec/spec.h"

namespace rl::ui {

QString routerLabel(RouterType type);      // "Switch top-1"
QString lossLabel(LossType loss);          // "Cross-entropy"
QString optimizerLabel(OptimizerType opt); // "SGD + momentum"
QString activationLabel(Activation act);   // "ReLU"
QString dataKindLabel(const std::string& kind);  // "Spiral (4 arms)"
QString tokenRouterLabel(TokenRouterType type);  // "Token choice (top-k)"
QString sequenceTaskLabel(SequenceTask task);    // "Classify the sequence"

// Numbers as a person would type them: up to 4 significant digits, no trailing zeros.
QString shortNumber(double value);

// Regression data (one real-valued target) rules out the cross-entropy loss.
bool isRegressionData(const DataSpec& data);

}  // namespace rl::ui
