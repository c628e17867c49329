#include "run/history_json.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace rl::ui {

using nlohmann::json;

namespace {

constexpr size_t kPointFields = 8, kLayerFields = 10;

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json pointToJson(const HistoryPoint& p) {
  json layers = json::array();
  for (const auto& L : p.layers)
    layers.push_back(json::array({L.load, L.importance, num(L.routerEntropy), num(L.dropped), num(L.auxLoss),
                                  num(L.zLoss), num(L.loadEntropy), num(L.cv), num(L.maxShare),
                                  num(L.mutualInformation)}));
  return json::array({p.step, num(p.loss), num(p.taskLoss), num(p.accuracy), num(p.gradNorm), num(p.evalLoss),
                      num(p.evalAccuracy), layers});
}

std::runtime_error bad(const std::string& path, const std::string& what) { return std::runtime_error(path + ": " + what); }

const json& arrayOf(const json& v, const std::string& path, size_t size) {
  if (!v.is_array()) throw bad(path, "expected an array");
  if (size && v.size() != size) throw bad(path, "expected " + std::to_string(size) + " entries, found " + std::to_string(v.size()));
  return v;
}

double number(const json& v, const std::string& path) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number()) throw bad(path, "expected a number or null");
  return v.get<double>();
}

std::vector<float> floats(const json& v, const std::string& path) {
  arrayOf(v, path, 0);
  std::vector<float> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (!v[i].is_number()) throw bad(at, "expected a number");
    out.push_back(v[i].get<float>());
  }
  return out;
}

HistoryPoint pointFromJson(const json& v, const std::string& path) {
  arrayOf(v, path, kPointFields);
  auto at = [&](size_t i) { return path + "[" + std::to_string(i) + "]"; };
  HistoryPoint p;
  if (!v[0].is_number_integer() || v[0].get<long long>() < 0 || v[0].get<long long>() > std::numeric_limits<int>::max())
    throw bad(at(0), "expected a step number");
  p.step = v[0].get<int>();
  p.loss = number(v[1], at(1));
  p.taskLoss = number(v[2], at(2));
  p.accuracy = number(v[3], at(3));
  p.gradNorm = number(v[4], at(4));
  p.evalLoss = number(v[5], at(5));
  p.evalAccuracy = number(v[6], at(6));
  const json& layers = arrayOf(v[7], at(7), 0);
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string lp = at(7) + "[" + std::to_string(l) + "]";
    const json& L = arrayOf(layers[l], lp, kLayerFields);
    auto f = [&](size_t i) { return lp + "[" + std::to_string(i) + "]"; };
    HistoryPoint::Layer out;
    out.load = floats(L[0], f(0));
    out.importance = floats(L[1], f(1));
    if (out.importance.size() != out.load.size()) throw bad(lp, "load and importance differ in length");
    out.routerEntropy = number(L[2], f(2));
    out.dropped = number(L[3], f(3));
    out.auxLoss = number(L[4], f(4));
    out.zLoss = number(L[5], f(5));
    out.loadEntropy = number(L[6], f(6));
    out.cv = number(L[7], f(7));
    out.maxShare = number(L[8], f(8));
    out.mutualInformation = number(L[9], f(9));
    p.layers.push_back(std::move(out));
  }
  return p;
}

std::vector<HistoryPoint> historyFrom(const json& v, const std::string& path) {
  arrayOf(v, path, 0);
  std::vector<HistoryPoint> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    out.push_back(pointFromJson(v[i], at));
    if (i > 0 && out[i].step <= out[i - 1].step) throw bad(at, "steps must increase");
  }
  return out;
}

json parse(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw bad(what, std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace

std::string historyToJson(const std::vector<HistoryPoint>& history) {
  json a = json::array();
  for (const auto& p : history) a.push_back(pointToJson(p));
  return a.dump();
}

std::string comparisonsToJson(const std::vector<ComparisonRun>& runs) {
  json a = json::array();
  for (const auto& r : runs) {
    json h = json::array();
    for (const auto& p : r.history) h.push_back(pointToJson(p));
    a.push_back({{"label", r.label}, {"history", h}});
  }
  return a.dump();
}

std::vector<HistoryPoint> historyFromJson(const std::string& text) { return historyFrom(parse(text, "history"), "history"); }

std::vector<ComparisonRun> comparisonsFromJson(const std::string& text) {
  const json v = parse(text, "comparisons");
  arrayOf(v, "comparisons", 0);
  std::vector<ComparisonRun> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = "comparisons[" + std::to_string(i) + "]";
    if (!v[i].is_object() || !v[i].contains("label") || !v[i]["label"].is_string() || !v[i].contains("history"))
      throw bad(at, "expected {\"label\": text, \"history\": [...]}");
    out.push_back({v[i]["label"].get<std::string>(), historyFrom(v[i]["history"], at + ".history")});
  }
  return out;
}

}  // namespace rl::ui
