#include "train/weight_transfer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

namespace rl {

namespace {

// The parts of an expert tensor name "moe.<layer>.experts.<expert>.<rest>".
struct ExpertName {
  int layer = 0, expert = 0;
  std::string rest;
};

std::optional<int> parseIndex(const std::string& text) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoi(text);
}

// Splits "moe.3.rest" into 3 and "rest".
std::optional<std::pair<int, std::string>> moeLayerOf(const std::string& name) {
  if (name.rfind("moe.", 0) != 0) return std::nullopt;
  const size_t dot = name.find('.', 4);
  if (dot == std::string::npos) return std::nullopt;
  auto layer = parseIndex(name.substr(4, dot - 4));
  if (!layer) return std::nullopt;
  return std::make_pair(*layer, name.substr(dot + 1));
}

std::optional<ExpertName> parseExpertName(const std::string& name) {
  auto moe = moeLayerOf(name);
  const std::string key = "experts.";
  if (!moe || moe->second.rfind(key, 0) != 0) return std::nullopt;
  const std::string tail = moe->second.substr(key.size());
  const size_t dot = tail.find('.');
  if (dot == std::string::npos) return std::nullopt;
  auto expert = parseIndex(tail.substr(0, dot));
  if (!expert) return std::nullopt;
  return ExpertName{moe->first, *expert, tail.substr(dot + 1)};
}

// Router tensors hold one row per expert: the gate weight and noisy top-k's noise weight.
std::optional<int> routerLayerOf(const std::string& name) {
  auto moe = moeLayerOf(name);
  if (!moe || (moe->second != "router.weight" && moe->second != "router.noise.weight")) return std::nullopt;
  return moe->first;
}

// Expert counts per MoE layer, read from the router weights' first dimension.
std::map<int, int> expertCounts(const std::vector<NamedTensor>& tensors) {
  std::map<int, int> counts;
  for (const auto& t : tensors) {
    auto moe = moeLayerOf(t.name);
    if (moe && moe->second == "router.weight" && t.shape.size() == 2) counts[moe->first] = static_cast<int>(t.shape[0]);
  }
  return counts;
}

class ExpertSources {
 public:
  ExpertSources(const ExpertMapping& mapping, std::map<int, int> oldCounts, const std::map<int, int>& newCounts)
      : mapping_(mapping), oldCounts_(std::move(oldCounts)) {
    for (size_t j = 0; j < mapping.sourceOf.size(); ++j) {
      const auto& m = mapping.sourceOf[j];
      if (m.empty()) continue;
      const std::string layer = "moe." + std::to_string(j);
      auto n = newCounts.find(static_cast<int>(j));
      if (n == newCounts.end()) throw std::invalid_argument("expert mapping: the new model has no layer " + layer);
      if (static_cast<int>(m.size()) != n->second)
        throw std::invalid_argument("expert mapping for " + layer + ": " + std::to_string(m.size()) +
                                    " entries for " + std::to_string(n->second) + " experts");
      for (int src : m)
        if (src < -1 || src >= oldExperts(static_cast<int>(j)))
          throw std::invalid_argument("expert mapping for " + layer + ": the old weights have no expert " +
                                      std::to_string(src));
    }
  }

  // The old expert that new expert `e` of MoE layer `layer` continues, or -1.
  int of(int layer, int e) const {
    if (layer < static_cast<int>(mapping_.sourceOf.size()) && !mapping_.sourceOf[layer].empty())
      return mapping_.sourceOf[layer].at(e);
    return e < oldExperts(layer) ? e : -1;
  }

 private:
  int oldExperts(int layer) const {
    auto it = oldCounts_.find(layer);
    return it == oldCounts_.end() ? 0 : it->second;
  }
  const ExpertMapping& mapping_;
  std::map<int, int> oldCounts_;
};

enum class Carried { Whole, Partly, Nothing };

// Copies the rows of the surviving experts of a router tensor when its input width is unchanged.
Carried carryRouterRows(const NamedTensor& old, NamedTensor& target, int layer, const ExpertSources& sources) {
  if (old.shape.size() != 2 || target.shape.size() != 2 || old.shape[1] != target.shape[1]) return Carried::Nothing;
  const size_t width = static_cast<size_t>(target.shape[1]);
  const int rows = static_cast<int>(target.shape[0]);
  int copied = 0;
  bool identity = old.shape[0] == target.shape[0];
  for (int e = 0; e < rows; ++e) {
    const int src = sources.of(layer, e);
    identity = identity && src == e;
    if (src < 0 || src >= old.shape[0]) continue;
    std::copy_n(old.data.begin() + static_cast<long>(src * width), width, target.data.begin() + static_cast<long>(e * width));
    ++copied;
  }
  if (copied == 0) return Carried::Nothing;
  return identity ? Carried::Whole : Carried::Partly;
}

}  // namespace

WeightTransferReport transferWeights(const std::vector<NamedTensor>& oldWeights, Session& target,
                                     const ExpertMapping& mapping) {
  std::map<std::string, const NamedTensor*> oldByName;
  for (const auto& t : oldWeights) oldByName[t.name] = &t;
  std::vector<NamedTensor> weights = target.exportWeights();  // the fresh initialisation
  const ExpertSources sources(mapping, expertCounts(oldWeights), expertCounts(weights));

  WeightTransferReport report;
  std::set<std::string> used;
  auto lookup = [&](const std::string& name) -> const NamedTensor* {
    auto it = oldByName.find(name);
    return it == oldByName.end() ? nullptr : it->second;
  };
  for (NamedTensor& t : weights) {
    Carried carried = Carried::Nothing;
    std::string from = t.name;
    if (auto router = routerLayerOf(t.name)) {
      if (const NamedTensor* old = lookup(t.name)) carried = carryRouterRows(*old, t, *router, sources);
    } else {
      if (auto expert = parseExpertName(t.name)) {
        const int src = sources.of(expert->layer, expert->expert);
        from = src < 0 ? std::string()
                       : "moe." + std::to_string(expert->layer) + ".experts." + std::to_string(src) + "." + expert->rest;
      }
      const NamedTensor* old = from.empty() ? nullptr : lookup(from);
      if (old && old->shape == t.shape) {
        t.data = old->data;
        carried = Carried::Whole;
      }
    }
    switch (carried) {
      case Carried::Whole: report.kept.push_back(t.name); used.insert(from); break;
      case Carried::Partly: report.partial.push_back(t.name); used.insert(from); break;
      case Carried::Nothing: report.fresh.push_back(t.name); break;
    }
  }
  for (const auto& t : oldWeights)
    if (!used.count(t.name)) report.dropped.push_back(t.name);
  target.importWeights(weights);
  return report;
}

std::string describe(const WeightTransferReport& report) {
  auto list = [](const char* what, const std::vector<std::string>& names, size_t show) {
    std::string s = std::string(what) + " " + std::to_string(names.size());
    for (size_t i = 0; i < names.size() && i < show; ++i) s += (i ? ", " : " (") + names[i];
    if (!names.empty() && show > 0) s += names.size() > show ? ", …)" : ")";
    return s;
  };
  return list("kept", report.kept, 0) + ", " + list("router rows kept", report.partial, 2) + ", " +
         list("fresh", report.fresh, 3) + ", " + list("dropped", report.dropped, 3);
}

}  // namespace rl
