#include "tsne/tsne.h"

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "tsne/affinities.h"
#include "tsne/cpu_tsne.h"
#include "tsne/pca.h"
#include "tsne/schedule.h"
#include "tsne/tsne_ops.h"
#include "tsne/vulkan_tsne.h"
#include "tsne/worker_pool.h"

namespace rl::tsne {

const char* methodName(Method m) {
  switch (m) {
    case Method::Cpu: return "cpu";
    case Method::Vulkan: return "vulkan";
    case Method::Pca: return "pca";
  }
  return "?";
}

TsneOptions TsneOptions::warmStart(TsneOptions base, int iterations) {
  base.iterations = iterations;
  base.exaggerationIterations = 0;
  base.momentum = base.finalMomentum;
  return base;
}

std::vector<std::string> validate(const MatrixView& x, const TsneOptions& o, const std::vector<float>& init) {
  std::vector<std::string> problems;
  auto num = [](double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  const size_t n = x.rows;
  if (!x.data && n * x.cols > 0) problems.push_back("input: no data pointer");
  if (x.cols == 0) problems.push_back("input: points have 0 dimensions");
  if (o.method == Method::Pca) {
    if (n < 2) problems.push_back("input: PCA needs at least 2 points, got " + std::to_string(n));
    if (x.cols < 2 && x.cols > 0) problems.push_back("input: PCA to 2-D needs at least 2 dimensions, got " + std::to_string(x.cols));
  } else {
    // Below 1 the neighbour count 3 * perplexity rounds to nothing useful (and 1 already puts all
    // of a point's weight on its nearest neighbour).
    if (!(o.perplexity >= 1) || !std::isfinite(o.perplexity))
      problems.push_back("perplexity: must be at least 1, got " + num(o.perplexity));
    else if (double(n) < 3 * o.perplexity + 1)
      problems.push_back("input: " + std::to_string(n) + " points are too few for perplexity " + num(o.perplexity) +
                         " (t-SNE needs N >= 3 * perplexity + 1 = " + num(std::floor(3 * o.perplexity) + 1) +
                         "; lower the perplexity)");
    if (o.method == Method::Vulkan && n >= kTsneMaxPoints)  // before the affinities are spent on it
      problems.push_back("input: t-SNE on Vulkan takes at most " + std::to_string(kTsneMaxPoints - 1) + " points, got " +
                         std::to_string(n) + " (use the CPU method)");
    if (o.iterations < 0) problems.push_back("iterations: must be >= 0, got " + std::to_string(o.iterations));
    if (o.exaggerationIterations < 0)
      problems.push_back("exaggerationIterations: must be >= 0, got " + std::to_string(o.exaggerationIterations));
    if (!(o.earlyExaggeration > 0)) problems.push_back("earlyExaggeration: must be positive, got " + num(o.earlyExaggeration));
    if (!std::isfinite(o.learningRate)) problems.push_back("learningRate: must be finite");
    if (!(o.theta >= 0 && o.theta <= 1)) problems.push_back("theta: must be in [0, 1], got " + num(o.theta));
    if (!(o.momentum >= 0 && o.momentum < 1) || !(o.finalMomentum >= 0 && o.finalMomentum < 1))
      problems.push_back("momentum: must be in [0, 1), got " + num(o.momentum) + " and " + num(o.finalMomentum));
    if (!init.empty() && init.size() != 2 * n)
      problems.push_back("init: warm start needs an [N, 2] embedding of " + std::to_string(2 * n) + " values, got " +
                         std::to_string(init.size()));
    for (size_t i = 0; i < init.size(); ++i)
      if (!std::isfinite(init[i])) {
        problems.push_back("init: value " + std::to_string(i) + " (point " + std::to_string(i / 2) + ") is not finite");
        break;
      }
  }
  if (x.data)
    for (size_t i = 0; i < n * x.cols; ++i)
      if (!std::isfinite(x.data[i])) {
        problems.push_back("input: point " + std::to_string(i / x.cols) + ", dimension " + std::to_string(i % x.cols) +
                           " is not finite (" + num(x.data[i]) + ")");
        break;
      }
  return problems;
}

TsneResult embed(const MatrixView& x, const TsneOptions& options, const std::vector<float>& init,
                 const ProgressFn& progress, const std::atomic<bool>* cancel) {
  auto problems = validate(x, options, init);
  if (!problems.empty()) {
    std::string msg = std::string("t-SNE (") + methodName(options.method) + "): ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw std::invalid_argument(msg);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  if (options.method == Method::Pca) {
    TsneResult r;
    r.embedding = pca(x, 2).projection;
    r.device = "cpu (pca)";
    r.seconds = seconds();
    if (progress) progress({0, 0, 0});
    return r;
  }

  WorkerPool pool(options.threads);
  const SparseAffinities p = affinities(x, options.perplexity, pool);
  const double affinitySeconds = seconds();
  std::vector<float> y = init.empty() ? pcaInitialisation(x) : init;
  const Schedule schedule = scheduleFor(options, x.rows);

  TsneResult r;
  if (options.method == Method::Vulkan) {
    r = runVulkanIterations(p, std::move(y), schedule, options.reportEvery, progress, cancel, options.vulkanDevice,
                            options.theta);
  } else {
    r = runCpuIterations(p, std::move(y), schedule, options.reportEvery, progress, cancel, pool);
    r.device = "cpu (" + std::to_string(pool.threads()) + " threads)";
  }
  r.affinitySeconds = affinitySeconds;
  r.seconds = seconds();
  return r;
}

}  // namespace rl::tsne
