#pragma once
// Template part of neighbours.h: the blocked distance rows.
#include <Eigen/Core>
#include <algorithm>
#include <atomic>

namespace rl::tsne {

template <class RowFn>
void forEachDistanceRow(const MatrixView& x, WorkerPool& pool, RowFn&& rowFn) {
  using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Index n = Eigen::Index(x.rows), d = Eigen::Index(x.cols);
  Eigen::Map<const RowMatF> X(x.data, n, d);
  const Eigen::VectorXf norms = X.rowwise().squaredNorm();
  // Blocks of 128 rows: the [128, N] block stays in L2 for N up to ~4k and the GEMM is still efficient.
  const Eigen::Index block = 128;
  const size_t blocks = size_t((n + block - 1) / block);
  std::atomic<size_t> next{0};
  pool.run(pool.threads(), [&](size_t) {
    RowMatF D;
    for (size_t b; (b = next.fetch_add(1)) < blocks;) {
      const Eigen::Index r0 = Eigen::Index(b) * block, rows = std::min(block, n - r0);
      D.noalias() = -2.f * X.middleRows(r0, rows) * X.transpose();
      for (Eigen::Index r = 0; r < rows; ++r) {
        float* row = D.row(r).data();
        const float ni = norms(r0 + r);
        for (Eigen::Index j = 0; j < n; ++j) row[j] += ni + norms(j);
        rowFn(size_t(r0 + r), static_cast<const float*>(row));
      }
    }
  });
}

}  // namespace rl::tsne
