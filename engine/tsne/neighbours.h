#pragma once
// Exact k nearest neighbours by blocked Eigen distance products (squared Euclidean), split over
// the worker pool by row blocks. Legend: N points, D dimensions, K neighbours per point.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tsne/tsne.h"
#include "tsne/worker_pool.h"

namespace rl::tsne {

struct Neighbours {
  size_t n = 0, k = 0;
  std::vector<uint32_t> index;  // [N, K] nearest first, never the point itself
  std::vector<float> dist2;     // [N, K] squared distances, ascending (recomputed exactly, not from the product)
};

// Ties are broken by the lower index. Requires 1 <= k < N.
Neighbours nearestNeighbours(const MatrixView& x, size_t k, WorkerPool& pool);

// Calls rowFn(i, d2) for every point i with d2 = its squared distances to all N points (d2[i]
// included, ~0), computed block by block (GEMM); rows are visited once each, by the pool's threads.
// d2 may be slightly negative or inexact from cancellation: rank with it, do not report it.
template <class RowFn>
void forEachDistanceRow(const MatrixView& x, WorkerPool& pool, RowFn&& rowFn);

}  // namespace rl::tsne

#include "tsne/neighbours_impl.h"
