#pragma once
// t-SNE (van der Maaten & Hinton 2008) of up to ~10,000 points, with a CPU implementation
// (FFT-accelerated grid interpolation of the repulsion, as in FIt-SNE, Linderman et al. 2019) and a
// Vulkan one (repulsion by blocks of 64 spatially sorted points on the device: near blocks exact,
// far blocks by a second-order expansion about their centroid; docs/tsne.md), plus PCA to 2-D
// behind the same call.
// Runs on a worker thread: progress goes to a callback, cancellation through an atomic flag.
// No Qt here.
//
// Legend: N points, D input dimensions; embeddings are [N, 2] row-major.
// Gradient convention: dC/dy_i without the factor 4 of the paper (openTSNE's), so the automatic
// learning rate max(N/12, 200) equals scikit-learn's "auto" max(N/48, 50) applied to 4x the gradient.
#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace rl::tsne {

// Read-only [rows, cols] row-major float matrix (not owned).
struct MatrixView {
  const float* data = nullptr;
  size_t rows = 0, cols = 0;
  const float* row(size_t i) const { return data + i * cols; }
};

enum class Method {
  Cpu,     // t-SNE, FFT-interpolated repulsion on the CPU
  Vulkan,  // t-SNE, gradient descent on a Vulkan device (affinities and initialisation on the CPU)
  Pca,     // the first two principal components (no iterations)
};
const char* methodName(Method m);  // "cpu", "vulkan", "pca"

struct TsneOptions {
  Method method = Method::Cpu;
  double perplexity = 30;        // neighbours per point: k = min(N - 1, 3 * perplexity)
  int iterations = 1000;         // in all, including the early-exaggeration phase
  double learningRate = 0;       // <= 0: auto, max(N / 12, 200)
  double earlyExaggeration = 12;
  int exaggerationIterations = 250;  // momentum switches from `momentum` to `finalMomentum` here too
  double momentum = 0.5;
  double finalMomentum = 0.8;
  int reportEvery = 50;          // progress (and the KL estimate) every this many iterations; 0 = never
  unsigned threads = 0;          // CPU threads; 0 = all cores
  std::string vulkanDevice;      // Method::Vulkan: device hint (index or name), empty = default choice
  // Method::Vulkan: repulsion from a tree node (512, 64 or 16 nearby points) is expanded about the
  // node's centroid when its radius < theta * sqrt(1 + distance^2) (tsne_ops.h); 0 = every pair
  // exactly. 0.5 gives the quality of the exact sums on the benchmark (docs/tsne.md).
  double theta = 0.5;

  // Options for refreshing an embedding from the previous one (warm start): fewer iterations, no
  // early exaggeration, the final momentum from the start.
  static TsneOptions warmStart(TsneOptions base, int iterations = 250);
};

struct TsneProgress {
  int iteration = 0;   // iterations done
  int iterations = 0;  // planned
  double kl = 0;       // KL(P || Q) estimate for the current embedding (non-exaggerated P)
};
using ProgressFn = std::function<void(const TsneProgress&)>;

struct TsneResult {
  std::vector<float> embedding;  // [N, 2] row-major
  int iterations = 0;            // iterations run (0 for PCA)
  bool cancelled = false;        // stopped early by the cancel flag (the embedding is the last state)
  double kl = 0;                 // final KL estimate (t-SNE only)
  double seconds = 0;            // wall time of the whole call
  double affinitySeconds = 0;    // of which: neighbours and P
  std::string device;            // what ran the iterations, e.g. "cpu (2 threads)"
};

// Embeds X. `init`: an [N, 2] previous embedding to start from (warm start); empty = PCA
// initialisation scaled to standard deviation 1e-4 (first component). Cancellation is checked
// every few iterations. Throws std::invalid_argument with a clear message for bad input (N too
// small for the perplexity, NaN/inf values, init of the wrong size, bad options) and
// std::runtime_error when the Vulkan device cannot be used.
TsneResult embed(const MatrixView& x, const TsneOptions& options, const std::vector<float>& init = {},
                 const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

// The checks embed() makes, as a message per problem; empty when everything is fine.
std::vector<std::string> validate(const MatrixView& x, const TsneOptions& options, const std::vector<float>& init);

}  // namespace rl::tsne
