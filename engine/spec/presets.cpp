#include "spec/presets.h"

#include <map>
#include <stdexcept>

#include "spec/spec_json.h"

namespace rl {

const std::map<std::string, std::string>& embeddedPresets();

std::vector<std::string> presetNames() {
  std::vector<std::string> names{kDefaultPreset};
  for (const auto& [name, text] : embeddedPresets())
    if (name != kDefaultPreset) names.push_back(name);
  return names;
}

Spec loadPreset(const std::string& name) {
  auto it = embeddedPresets().find(name);
  if (it == embeddedPresets().end()) {
    std::string known;
    for (const auto& n : presetNames()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown preset '" + name + "'; built-in presets: " + known);
  }
  return parseSpec(it->second, "preset " + name);
}

std::string oneLine(const std::string& text, size_t maxChars) {
  auto end = text.find(". ");
  std::string s = end == std::string::npos ? text : text.substr(0, end + 1);
  if (s.size() > maxChars) s = s.substr(0, maxChars - 3) + "...";
  return s;
}

}  // namespace rl
