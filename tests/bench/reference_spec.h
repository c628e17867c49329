#pragma once
// The larger reference of the benchmarks (issue 2): batches of 1024 rows of d=64 (8 gaussian
// clusters) through 8 experts 64->128->64 (GELU), top-2 routing, capacity factor 1.25, a head to 8
// classes. bench_train times it; bench_step and bench_stream take it as the preset "reference-64".
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "spec/presets.h"

namespace rlbench {

inline constexpr const char* kReferencePreset = "reference-64";

inline std::string referenceCsv() {
  // 8 gaussian clusters in 64-d: enough structure for routing to matter.
  auto path = std::filesystem::temp_directory_path() / "routelab_bench_ref64.csv";
  std::mt19937_64 g(7);
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<std::vector<float>> centres(8, std::vector<float>(64));
  for (auto& c : centres)
    for (auto& v : c) v = 2.f * n(g);
  std::ofstream f(path);
  for (int d = 0; d < 64; ++d) f << "f" << d << ",";
  f << "label\n";
  for (int r = 0; r < 8192; ++r) {
    int c = r % 8;
    for (int d = 0; d < 64; ++d) f << centres[c][d] + n(g) << ",";
    f << c << "\n";
  }
  return path.string();
}

inline rl::Spec referenceSpec() {
  rl::Spec s = rl::loadPreset(rl::kDefaultPreset);
  s.name = "reference-64";
  s.data = rl::DataSpec{};
  s.data.kind = "csv";
  s.data.csvPath = referenceCsv();
  s.data.labelColumn = "label";
  s.data.testFraction = 0.125;
  rl::LayerSpec& L = s.model.layers.at(0);
  L.experts = 8;
  L.expertWidths = {128, 64};
  L.activation = rl::Activation::Gelu;
  L.router.type = rl::RouterType::TopK;
  L.router.k = 2;
  L.router.capacityFactor = 1.25;
  s.train.batchSize = 1024;
  s.train.learningRate = 1e-3;
  return s;
}

// A built-in preset by name, or the reference.
inline rl::Spec benchSpec(const std::string& name) {
  return name == kReferencePreset ? referenceSpec() : rl::loadPreset(name);
}

}  // namespace rlbench
