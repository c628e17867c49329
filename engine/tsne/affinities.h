#pragma once
// t-SNE input affinities: conditional Gaussians over each point's K = 3 * perplexity exact nearest
// neighbours with the bandwidth found by binary search on the entropy, then symmetrised,
// P = (P_cond + P_cond^T) / (2N), stored sparse (CSR, columns ascending per row). Sums to 1.
// Legend: N points, K neighbours per point, E stored entries (K*N <= E <= 2*K*N).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tsne/neighbours.h"
#include "tsne/tsne.h"
#include "tsne/worker_pool.h"

namespace rl::tsne {

struct SparseAffinities {
  size_t n = 0;
  std::vector<uint32_t> rowStart;  // [N + 1]
  std::vector<uint32_t> col;       // [E]
  std::vector<float> value;        // [E]
  size_t entries() const { return col.size(); }
};

// Conditional P_{j|i} over each point's neighbours ([N, K], rows sum to 1): the Gaussian whose
// perplexity (2^entropy in bits, exp of the entropy in nats) matches `perplexity` to 1e-5 in
// entropy, within 100 bisection steps (as scikit-learn's _binary_search_perplexity).
std::vector<float> conditionalAffinities(const Neighbours& nb, double perplexity, WorkerPool& pool);

// Symmetrised joint P from conditional rows over `nb`.
SparseAffinities symmetrise(const Neighbours& nb, const std::vector<float>& conditional);

// All of it: neighbours (K = min(N - 1, floor(3 * perplexity))), conditional rows, symmetrisation.
SparseAffinities affinities(const MatrixView& x, double perplexity, WorkerPool& pool);

}  // namespace rl::tsne
