#include "spec/spec_json.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/file_error.h"

namespace rl {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Reads one JSON object: fields are taken by name, and finish() rejects whatever was not taken.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path, const std::string& source) : j_(j), path_(std::move(path)), source_(source) {
    if (!j_.is_object()) fail(path_.empty() ? "the spec" : path_, "expected an object, got " + typeOf(j_));
  }

  [[noreturn]] void fail(const std::string& path, const std::string& reason) const {
    throw SpecError(source_ + ": " + path + ": " + reason);
  }
  std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& source() const { return source_; }

  const json* take(const std::string& key) {
    taken_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  void integer(const std::string& key, int& out) {
    if (const json* v = take(key)) out = toInt(*v, at(key));
  }
  void number(const std::string& key, double& out) {
    if (const json* v = take(key)) {
      if (!v->is_number()) fail(at(key), "expected a number, got " + typeOf(*v));
      out = v->get<double>();
    }
  }
  void seed(const std::string& key, uint64_t& out) {
    if (const json* v = take(key)) {
      if (!v->is_number_unsigned()) fail(at(key), "expected a whole number >= 0, got " + v->dump());
      out = v->get<uint64_t>();
    }
  }
  void boolean(const std::string& key, bool& out) {
    if (const json* v = take(key)) {
      if (!v->is_boolean()) fail(at(key), "expected true or false, got " + typeOf(*v));
      out = v->get<bool>();
    }
  }
  void text(const std::string& key, std::string& out) {
    if (const json* v = take(key)) {
      if (!v->is_string()) fail(at(key), "expected a string, got " + typeOf(*v));
      out = v->get<std::string>();
    }
  }
  template <class Enum, class FromName>
  void choice(const std::string& key, Enum& out, FromName fromName, const std::vector<std::string>& names) {
    std::string s;
    text(key, s);
    if (!j_.contains(key)) return;
    auto e = fromName(s);
    if (!e) fail(at(key), "unknown value '" + s + "' (one of: " + joinNames(names) + ")");
    out = *e;
  }
  void integers(const std::string& key, std::vector<int>& out) {
    if (const json* v = take(key)) {
      if (!v->is_array()) fail(at(key), "expected an array of whole numbers, got " + typeOf(*v));
      out.clear();
      for (size_t i = 0; i < v->size(); ++i) out.push_back(toInt((*v)[i], at(key) + "[" + std::to_string(i) + "]"));
    }
  }

  // Keys present but never taken are typos (or fields of another layer type: otherFields).
  void finish(const std::map<std::string, std::string>& otherFields = {}) const {
    for (const auto& [key, value] : j_.items()) {
      if (taken_.count(key)) continue;
      auto other = otherFields.find(key);
      if (other != otherFields.end()) fail(at(key), other->second);
      std::string hint;
      for (const auto& known : taken_)
        if (editDistance(key, known) <= 2) hint = "; did you mean '" + known + "'?";
      std::vector<std::string> known(taken_.begin(), taken_.end());
      fail(at(key), "unknown key (known here: " + joinNames(known) + ")" + hint);
    }
  }

  static std::string typeOf(const json& v) {
    if (v.is_number_integer()) return "the whole number " + v.dump();
    if (v.is_number()) return "the number " + v.dump();
    if (v.is_string()) return "the string " + v.dump();
    return std::string(v.type_name());
  }

 private:
  int toInt(const json& v, const std::string& path) const {
    if (!v.is_number_integer()) fail(path, "expected a whole number, got " + typeOf(v));
    if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t(std::numeric_limits<int>::max())
                               : (v.get<int64_t>() < std::numeric_limits<int>::min() ||
                                  v.get<int64_t>() > std::numeric_limits<int>::max()))
      fail(path, v.dump() + " is out of range");
    return v.get<int>();
  }

  const json& j_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> taken_;
};

RouterSpec readRouter(const json& j, const std::string& path, const std::string& source) {
  RouterSpec r;
  ObjectReader o(j, path, source);
  o.choice("type", r.type, routerTypeFromName, routerTypeNames());
  o.integer("k", r.k);
  o.number("capacity_factor", r.capacityFactor);
  o.number("jitter", r.jitter);
  o.number("temperature", r.temperature);
  o.number("aux_loss_coef", r.auxLossCoef);
  o.number("z_loss_coef", r.zLossCoef);
  o.finish();
  return r;
}

LayerSpec readLayer(const json& j, const std::string& path, const std::string& source) {
  LayerSpec L;
  ObjectReader o(j, path, source);
  o.choice("type", L.type, layerTypeFromName, layerTypeNames());
  o.choice("activation", L.activation, activationFromName, activationNames());
  if (L.type == LayerType::Dense) {
    o.integer("units", L.units);
    const std::string why = "belongs to moe layers; this layer's type is dense";
    o.finish({{"experts", why}, {"expert_widths", why}, {"router", why}});
  } else {
    o.integer("experts", L.experts);
    o.integers("expert_widths", L.expertWidths);
    if (const json* r = o.take("router")) L.router = readRouter(*r, o.at("router"), source);
    o.finish({{"units", "belongs to dense layers; this layer's type is moe (\"type\" defaults to moe)"}});
  }
  return L;
}

TokenRouterSpec readTokenRouter(const json& j, const std::string& path, const std::string& source) {
  TokenRouterSpec r;
  ObjectReader o(j, path, source);
  o.choice("type", r.type, tokenRouterTypeFromName, tokenRouterTypeNames());
  o.integer("k", r.k);
  o.number("capacity_factor", r.capacityFactor);
  o.integer("slots_per_expert", r.slotsPerExpert);
  o.number("jitter", r.jitter);
  o.number("temperature", r.temperature);
  o.number("aux_loss_coef", r.auxLossCoef);
  o.number("z_loss_coef", r.zLossCoef);
  o.finish();
  return r;
}

TransformerLayerSpec readTransformerLayer(const json& j, const std::string& path, const std::string& source) {
  TransformerLayerSpec L;
  ObjectReader o(j, path, source);
  o.integer("experts", L.experts);
  o.integer("expert_width", L.expertWidth);
  if (const json* r = o.take("router")) L.router = readTokenRouter(*r, o.at("router"), source);
  o.finish();
  return L;
}

TransformerSpec readTransformer(const json& j, const std::string& source) {
  TransformerSpec t;
  ObjectReader o(j, "model.transformer", source);
  o.integer("vocabulary", t.vocabulary);
  o.integer("sequence_length", t.sequenceLength);
  o.integer("d_model", t.dModel);
  o.integer("heads", t.heads);
  o.boolean("causal", t.causal);
  o.choice("activation", t.activation, activationFromName, activationNames());
  o.choice("task", t.task, sequenceTaskFromName, sequenceTaskNames());
  if (const json* layers = o.take("layers")) {
    if (!layers->is_array())
      o.fail("model.transformer.layers", "expected an array of layers, got " + ObjectReader::typeOf(*layers));
    for (size_t i = 0; i < layers->size(); ++i)
      t.layers.push_back(readTransformerLayer((*layers)[i], "model.transformer.layers[" + std::to_string(i) + "]", source));
  }
  o.finish();
  return t;
}

ModelSpec readModel(const json& j, const std::string& source) {
  ModelSpec m;
  ObjectReader o(j, "model", source);
  o.choice("kind", m.kind, modelKindFromName, modelKindNames());
  if (const json* t = o.take("transformer")) m.transformer = readTransformer(*t, source);
  if (const json* layers = o.take("layers")) {
    if (!layers->is_array()) o.fail("model.layers", "expected an array of layers, got " + ObjectReader::typeOf(*layers));
    for (size_t i = 0; i < layers->size(); ++i)
      m.layers.push_back(readLayer((*layers)[i], "model.layers[" + std::to_string(i) + "]", source));
  }
  o.boolean("head", m.head);
  o.choice("loss", m.loss, lossFromName, lossNames());
  o.finish();
  return m;
}

DataSpec readData(const json& j, const std::string& source) {
  DataSpec d;
  ObjectReader o(j, "data", source);
  o.text("kind", d.kind);
  o.integer("samples", d.samples);
  o.number("noise", d.noise);
  o.number("test_fraction", d.testFraction);
  o.seed("seed", d.seed);
  o.text("csv_path", d.csvPath);
  o.text("label_column", d.labelColumn);
  o.boolean("regression", d.regression);
  o.integer("vocabulary", d.vocabulary);
  o.integer("sequence_length", d.sequenceLength);
  o.integer("tasks", d.tasks);
  o.integer("languages", d.languages);
  o.finish();
  return d;
}

TrainSpec readTrain(const json& j, const std::string& source) {
  TrainSpec t;
  ObjectReader o(j, "train", source);
  o.choice("optimizer", t.optimizer, optimizerFromName, optimizerNames());
  o.number("learning_rate", t.learningRate);
  o.number("momentum", t.momentum);
  o.number("beta1", t.beta1);
  o.number("beta2", t.beta2);
  o.number("epsilon", t.epsilon);
  o.integer("batch_size", t.batchSize);
  o.integer("steps", t.steps);
  o.seed("seed", t.seed);
  o.finish();
  return t;
}

// 1-based line and column of a 0-based byte position.
std::string lineColumn(const std::string& text, size_t pos) {
  pos = std::min(pos, text.size());
  size_t line = 1, lineStart = 0;
  for (size_t i = 0; i < pos; ++i)
    if (text[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  return std::to_string(line) + ":" + std::to_string(pos - lineStart + 1);
}

// nlohmann's message without its "[json.exception...] parse error at line L, column C: " prefix.
std::string parseReason(const std::string& what) {
  auto col = what.find("column ");
  auto colon = col == std::string::npos ? std::string::npos : what.find(": ", col);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

// nlohmann keeps the last of duplicate keys silently; a duplicate is almost always a mistake.
// The callback tracks where the parser is, so the message can give the JSON path.
json parseRejectingDuplicates(const std::string& text, const std::string& source) {
  struct Level {
    bool array = false;
    int index = -1;                // array: index of the current element
    std::string key;               // object: the current key
    std::set<std::string> keys;    // object: keys seen so far
  };
  std::vector<Level> stack;
  auto path = [&](const std::string& leaf) {
    std::string s;
    for (size_t i = 0; i + 1 < stack.size(); ++i) {
      if (stack[i].array) {
        s += "[" + std::to_string(stack[i].index) + "]";
      } else {
        if (!s.empty()) s += '.';
        s += stack[i].key;
      }
    }
    if (!s.empty()) s += '.';
    return s + leaf;
  };
  auto enterValue = [&]() {
    if (!stack.empty() && stack.back().array) ++stack.back().index;
  };
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        enterValue();
        stack.emplace_back();
        stack.back().array = event == json::parse_event_t::array_start;
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        if (!stack.back().keys.insert(key).second)
          throw SpecError(source + ": " + path(key) + ": key appears twice in one object");
        stack.back().key = key;
        break;
      }
      case json::parse_event_t::value:
        enterValue();
        break;
    }
    return true;
  };
  try {
    return json::parse(text, cb);
  } catch (const json::parse_error& e) {
    // e.byte counts the characters read, the offending one included.
    throw SpecError(source + ":" + lineColumn(text, e.byte == 0 ? 0 : e.byte - 1) + ": invalid JSON: " +
                    parseReason(e.what()));
  }
}

}  // namespace

Spec parseSpec(const std::string& jsonText, const std::string& sourceName) {
  json j = parseRejectingDuplicates(jsonText, sourceName);
  Spec s;
  ObjectReader o(j, "", sourceName);
  const json* format = o.take("format");
  if (!format) o.fail("format", std::string("missing; a spec file starts with \"format\": \"") + kSpecFormat + "\"");
  if (!format->is_string() || format->get<std::string>() != kSpecFormat)
    o.fail("format", "unsupported format " + format->dump() + " (this version reads \"" + kSpecFormat + "\")");
  s.format = kSpecFormat;
  o.text("name", s.name);
  o.text("description", s.description);
  if (const json* m = o.take("model")) s.model = readModel(*m, sourceName);
  if (const json* d = o.take("data")) s.data = readData(*d, sourceName);
  if (const json* t = o.take("train")) s.train = readTrain(*t, sourceName);
  o.finish();
  return s;
}

Spec loadSpecFile(const std::string& path) {
  std::string text;
  try {
    text = readFileBytes(path);
  } catch (const FileError& e) {
    throw SpecError(e.what());
  }
  Spec s = parseSpec(text, path);
  namespace fs = std::filesystem;
  if (!s.data.csvPath.empty() && fs::path(s.data.csvPath).is_relative())
    s.data.csvPath = (fs::absolute(path).parent_path() / s.data.csvPath).lexically_normal().string();
  return s;
}

namespace {

ordered_json transformerToJson(const TransformerSpec& t) {
  ordered_json layers = ordered_json::array();
  for (const TransformerLayerSpec& L : t.layers) {
    const TokenRouterSpec& r = L.router;
    ordered_json router;
    router["type"] = toName(r.type);
    router["k"] = r.k;
    router["capacity_factor"] = r.capacityFactor;
    router["slots_per_expert"] = r.slotsPerExpert;
    router["jitter"] = r.jitter;
    router["temperature"] = r.temperature;
    router["aux_loss_coef"] = r.auxLossCoef;
    router["z_loss_coef"] = r.zLossCoef;
    ordered_json l;
    l["experts"] = L.experts;
    l["expert_width"] = L.expertWidth;
    l["router"] = std::move(router);
    layers.push_back(std::move(l));
  }
  ordered_json j;
  j["vocabulary"] = t.vocabulary;
  j["sequence_length"] = t.sequenceLength;
  j["d_model"] = t.dModel;
  j["heads"] = t.heads;
  j["causal"] = t.causal;
  j["activation"] = toName(t.activation);
  j["task"] = toName(t.task);
  j["layers"] = std::move(layers);
  return j;
}

}  // namespace

std::string specToJson(const Spec& s) {
  ordered_json layers = ordered_json::array();
  for (const LayerSpec& L : s.model.layers) {
    ordered_json l;
    l["type"] = toName(L.type);
    if (L.type == LayerType::Dense) {
      l["units"] = L.units;
      l["activation"] = toName(L.activation);
    } else {
      l["experts"] = L.experts;
      l["expert_widths"] = L.expertWidths;
      l["activation"] = toName(L.activation);
      const RouterSpec& r = L.router;
      l["router"] = {{"type", toName(r.type)},         {"k", r.k},
                     {"capacity_factor", r.capacityFactor}, {"jitter", r.jitter},
                     {"temperature", r.temperature},   {"aux_loss_coef", r.auxLossCoef},
                     {"z_loss_coef", r.zLossCoef}};
    }
    layers.push_back(std::move(l));
  }
  ordered_json j;
  j["format"] = s.format;
  j["name"] = s.name;
  j["description"] = s.description;
  if (s.model.kind == ModelKind::Mlp) {
    // Exactly the form written before Transformer models existed (unless a stray field is set).
    j["model"] = {{"layers", layers}, {"head", s.model.head}, {"loss", toName(s.model.loss)}};
    if (!(s.model.transformer == TransformerSpec{})) j["model"]["transformer"] = transformerToJson(s.model.transformer);
  } else {
    ordered_json model;
    model["kind"] = toName(s.model.kind);
    model["transformer"] = transformerToJson(s.model.transformer);
    if (!s.model.layers.empty()) model["layers"] = layers;
    model["head"] = s.model.head;
    model["loss"] = toName(s.model.loss);
    j["model"] = std::move(model);
  }
  const DataSpec& d = s.data;
  ordered_json data = {{"kind", d.kind},     {"samples", d.samples},
                       {"noise", d.noise},   {"test_fraction", d.testFraction},
                       {"seed", d.seed}};
  if (d.kind == "csv" || !d.csvPath.empty()) data["csv_path"] = d.csvPath;
  if (d.kind == "csv" || !d.labelColumn.empty()) data["label_column"] = d.labelColumn;
  if (d.kind == "csv" || d.regression) data["regression"] = d.regression;
  // Token stream sizes: for the token kinds, or when set to something else than the default.
  const DataSpec defaults;
  const bool tokens = isTokenDataKind(d.kind);
  if (tokens || d.vocabulary != defaults.vocabulary) data["vocabulary"] = d.vocabulary;
  if (tokens || d.sequenceLength != defaults.sequenceLength) data["sequence_length"] = d.sequenceLength;
  if (d.kind == "multi_task" || d.tasks != defaults.tasks) data["tasks"] = d.tasks;
  if (d.kind == "multi_language" || d.languages != defaults.languages) data["languages"] = d.languages;
  j["data"] = std::move(data);
  const TrainSpec& t = s.train;
  j["train"] = {{"optimizer", toName(t.optimizer)},
                {"learning_rate", t.learningRate},
                {"momentum", t.momentum},
                {"beta1", t.beta1},
                {"beta2", t.beta2},
                {"epsilon", t.epsilon},
                {"batch_size", t.batchSize},
                {"steps", t.steps},
                {"seed", t.seed}};
  return j.dump(2) + "\n";
}

}  // namespace rl
