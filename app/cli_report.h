#pragma once
// The human-readable end-of-run report of `routelab-cli train` (summary.json has the same facts).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace rl {

inline std::string loadBar(double share, int width) {
  const int filled = static_cast<int>(std::lround(std::clamp(share, 0.0, 1.0) * width));
  std::string bar;
  for (int i = 0; i < width; ++i) bar += i < filled ? "\u2588" : "\u00b7";
  return bar;
}

inline void printRunReport(const nlohmann::json& s, const std::string& outDir) {
  auto num = [](const nlohmann::json& v, double scale = 1.0) { return v.is_number() ? v.get<double>() * scale : NAN; };
  std::printf("%s: %d steps, %.3f ms/step on %s (%s)\n", s["name"].get<std::string>().c_str(), s["steps"].get<int>(),
              num(s["ms_per_step"]), s["backend"].get<std::string>().c_str(), s["device"].get<std::string>().c_str());
  if (s["status"] != "completed") std::printf("STOPPED: %s\n", s["status"].get<std::string>().c_str());
  if (s["test_accuracy"].is_number())
    std::printf("held-out: accuracy %.2f%%, loss %.4f (%d rows)\n", num(s["test_accuracy"], 100), num(s["test_loss"]),
                s["test_rows"].get<int>());
  else
    std::printf("held-out: loss %.4f (%d rows)\n", num(s["test_loss"]), s["test_rows"].get<int>());
  int l = 1;  // numbered from 1, as the desktop app numbers them (summary.json and CSV columns count from 0)
  for (const auto& L : s["moe_layers"]) {
    // A dense gate weights every expert, so its share of choices is uniform by construction:
    // show the mean gate probability there instead.
    const bool dense = L["router"] == "dense";
    std::printf("MoE layer %d (%s, k=%d): %s per expert at the last step\n", l++,
                L["router"].get<std::string>().c_str(), L["k"].get<int>(),
                dense ? "mean gate probability" : "share of routing choices");
    const auto& load = dense ? L["mean_gate_probability"] : L["load"];
    double most = 1e-12;  // bars are scaled to the busiest expert
    for (const auto& v : load) most = std::max(most, v.get<double>());
    for (size_t e = 0; e < load.size(); ++e)
      std::printf("  expert %2zu %s %5.1f%%\n", e, loadBar(load[e].get<double>() / most, 24).c_str(),
                  100 * load[e].get<double>());
    // A Transformer's routing table counts tokens by their task or language, not by class.
    std::printf("  normalised load entropy %.2f, dropped %.1f%%, normalised MI(%s; expert) %.2f\n",
                num(L["normalised_load_entropy"]), num(L["dropped_fraction"], 100),
                s.value("routing_label", std::string("class")).c_str(), num(L["normalised_mutual_information"]));
    const auto& c = L["collapse"];
    std::printf("  collapse: %s — %s\n", c["collapsed"].get<bool>() ? "YES" : "no", c["reason"].get<std::string>().c_str());
  }
  std::printf("outputs: %s/{config.json, weights.safetensors, metrics.csv, summary.json}\n", outDir.c_str());
}

}  // namespace rl
