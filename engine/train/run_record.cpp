#include "train/run_record.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/run_log.h"
#include "io/safetensors.h"
#include "spec/spec_json.h"
#include "spec/spec_names.h"

namespace rl {

RunRecord::RunRecord(int moeLayers) : detectors_(moeLayers) {}

void RunRecord::add(const StepMetrics& m) {
  for (size_t l = 0; l < detectors_.size() && l < m.moe.size(); ++l) detectors_[l].add(m.step, m.moe[l].load);
  steps_.push_back(m);
}

std::vector<std::string> RunRecord::csvHeader() const {
  std::vector<std::string> h{"step", "loss", "task_loss", "accuracy", "grad_norm"};
  if (steps_.empty()) return h;
  for (size_t l = 0; l < steps_.front().moe.size(); ++l) {
    const std::string p = "moe" + std::to_string(l) + "_";
    for (const char* c : {"load_entropy", "load_cv", "max_share", "router_entropy", "dropped", "aux_loss", "z_loss"})
      h.push_back(p + c);
    for (size_t e = 0; e < steps_.front().moe[l].load.size(); ++e) h.push_back(p + "load_" + std::to_string(e));
    for (size_t e = 0; e < steps_.front().moe[l].importance.size(); ++e)
      h.push_back(p + "gate_" + std::to_string(e));
  }
  return h;
}

std::vector<std::vector<double>> RunRecord::csvRows() const {
  std::vector<std::vector<double>> rows;
  for (const StepMetrics& m : steps_) {
    std::vector<double> r{double(m.step), m.loss, m.taskLoss, m.accuracy, m.gradNorm};
    for (const MoeMetrics& x : m.moe) {
      r.insert(r.end(), {normalisedLoadEntropy(x.load), coefficientOfVariation(x.load), maxShare(x.load),
                         x.routerEntropy, x.dropped, x.auxLoss, x.zLoss});
      r.insert(r.end(), x.load.begin(), x.load.end());
      r.insert(r.end(), x.importance.begin(), x.importance.end());
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

namespace {
// JSON has no NaN: missing values (e.g. accuracy of a regression) become null.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

std::string writeRunOutputs(const std::string& dir, Session& session, const RunRecord& record,
                            const RunTiming& timing, const std::string& stopReason) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create the output directory: " + ec.message());
  const fs::path out(dir);

  const std::string specJson = specToJson(session.spec());
  writeFileAtomic((out / "config.json").string(), specJson);
  writeSafetensors((out / "weights.safetensors").string(), session.exportWeights(),
                   {{"format", "routelab/1"}, {"spec", specJson}});
  writeCsvFile((out / "metrics.csv").string(), record.csvHeader(), record.csvRows());

  EvalMetrics eval = session.evaluate();
  nlohmann::ordered_json s;
  s["name"] = session.spec().name;
  s["status"] = stopReason;
  s["steps"] = session.stepCount();
  const StepMetrics* last = record.steps().empty() ? nullptr : &record.steps().back();
  s["final_loss"] = num(last ? last->loss : NAN);
  s["final_batch_accuracy"] = num(last ? last->accuracy : NAN);
  s["test_loss"] = num(eval.loss);
  s["test_accuracy"] = num(eval.accuracy);
  s["test_rows"] = eval.rows;
  nlohmann::ordered_json layers = nlohmann::json::array();
  for (size_t l = 0; l < session.model().moeLayers.size(); ++l) {
    nlohmann::ordered_json L;
    const MoeMetrics* m = last ? &last->moe.at(l) : nullptr;
    L["experts"] = session.model().moeLayers[l].experts;
    L["router"] = session.model().moeLayers[l].router;
    L["k"] = session.model().moeLayers[l].k;
    L["capacity"] = session.model().moeLayers[l].capacity;
    L["load"] = m ? m->load : std::vector<float>{};
    L["mean_gate_probability"] = m ? m->importance : std::vector<float>{};
    L["test_load_top1"] = nlohmann::json::array();
    std::vector<double> perExpert(session.model().moeLayers[l].experts, 0.0);
    double total = 0;
    for (const auto& row : eval.classExpertCounts.at(l))
      for (size_t e = 0; e < row.size(); ++e) perExpert[e] += row[e], total += row[e];
    for (double& v : perExpert) v = total > 0 ? v / total : 0;
    L["test_load_top1"] = perExpert;
    L["normalised_load_entropy"] = num(m ? normalisedLoadEntropy(m->load) : NAN);
    L["dropped_fraction"] = num(m ? m->dropped : NAN);
    L["mutual_information_class_expert"] = num(mutualInformation(eval.classExpertCounts.at(l)));
    L["normalised_mutual_information"] = num(normalisedMutualInformation(eval.classExpertCounts.at(l)));
    CollapseVerdict v = record.verdict(static_cast<int>(l));
    L["collapse"] = {{"collapsed", v.collapsed}, {"began_at_step", v.beganAtStep},
                     {"dead_experts", v.deadExperts}, {"reason", v.reason}};
    layers.push_back(L);
  }
  // What the rows of the routing table (and the mutual information) count experts by.
  if (session.transformer()) s["routing_label"] = session.spec().data.kind == "multi_task" ? "task" : "language";
  s["moe_layers"] = layers;
  s["ms_per_step"] = timing.msPerStep;
  s["seconds"] = timing.seconds;
  s["backend"] = session.backend().name();
  s["device"] = session.backend().device();
  s["backend_reason"] = session.backendReason();
  const std::string text = s.dump(2);
  writeFileAtomic((out / "summary.json").string(), text + "\n");
  return text;
}

}  // namespace rl
