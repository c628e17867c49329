#pragma once
// The built-in presets (resources/presets/*.json, embedded at build time).
#include <string>
#include <vector>

#include "spec/spec.h"

namespace rl {

constexpr const char* kDefaultPreset = "spiral-moe";

std::vector<std::string> presetNames();         // sorted, default first
Spec loadPreset(const std::string& name);       // throws std::invalid_argument listing the names
std::string oneLine(const std::string& text, size_t maxChars);  // first sentence, clipped

}  // namespace rl
