#pragma once
// t-SNE repulsion by interpolation on an equispaced grid with the kernel sums done as FFT
// convolutions (FIt-SNE, Linderman et al. 2019), with centred cubic Lagrange interpolation: each
// point spreads its charges to the 4 x 4 grid nodes around it and reads its potentials back from them.
//
// Legend: N points; G grid nodes per side (a power of two), spacing h; M = 2G (FFT size).
// With K(r) = 1 / (1 + r^2)^2 and the four charges (1, y1, y2, |y|^2) per point, the potentials
// phi_c(i) = sum_j K(|y_i - y_j|) charge_c(j) give
//   repulsion_i = sum_j q_ij^2 (y_i - y_j) = y_i phi_1 - (phi_2, phi_3)
//   Z = sum_{i != j} q_ij = sum_i [(1 + |y_i|^2) phi_1 - 2 y_i . (phi_2, phi_3) + phi_4] - N
// (q_ij = 1 / (1 + |y_i - y_j|^2), since K (1 + r^2) = q). Coordinates are taken relative to the
// grid centre to keep the cancellation small.
#include <cstddef>
#include <memory>
#include <vector>

#include "tsne/fft.h"
#include "tsne/worker_pool.h"

namespace rl::tsne {

struct GridRepulsionOptions {
  // Grid spacing h at most this (embedding units) while G <= maxNodes. Measured on 10 blobs in 64-d
  // (N = 2,000 and 5,000): 0.7 keeps trustworthiness and KL of 0.5 (within 0.001 and 1%) at half
  // the cost; force errors are ~1.5% (h = 0.42) to ~6% (h = 0.6) RMS against the exact sum.
  double maxSpacing = 0.7;
  size_t minNodes = 32;     // G at least
  size_t maxNodes = 256;    // G at most (beyond: h grows instead)
};

class GridRepulsion {
 public:
  explicit GridRepulsion(WorkerPool& pool, GridRepulsionOptions options = {});
  ~GridRepulsion();

  // y [N, 2] (double). Writes repulsion [N, 2] (not divided by Z) and returns Z.
  double compute(const double* y, size_t n, double* repulsion);

  size_t nodes() const { return nodes_; }      // G of the last call
  double spacing() const { return spacing_; }  // h of the last call

 private:
  void chooseGrid(double span);
  void kernelSpectrum();

  WorkerPool& pool_;
  GridRepulsionOptions options_;
  size_t nodes_ = 0;
  double spacing_ = 0;
  size_t kernelNodes_ = 0;
  double kernelSpacing_ = -1;
  std::unique_ptr<Fft2d> fft_;
  std::vector<float> kernel_;                   // [M * stride] real spectrum (transposed, bit-reversed)
  std::vector<float> gridRe_[2], gridIm_[2];    // two complex grids: (1 + i y1), (y2 + i |y|^2)
  std::vector<std::vector<float>> spread_;      // per extra thread: [4, G, G] partial charges
  std::vector<float> weights_;                   // [N, 8]: x then y interpolation weights
  std::vector<uint32_t> cell_;                   // [N]: first stencil node (x in low 16 bits, y high)
};

}  // namespace rl::tsne
