#pragma once
// Trustworthiness (Venna & Kaski 2001) of an embedding, exact, as scikit-learn's
// sklearn.manifold.trustworthiness:
//   T(k) = 1 - 2 / (N k (2N - 3k - 1)) * sum_i sum_{j in U_k(i)} (r(i, j) - k)
// where U_k(i) are i's k nearest neighbours in the embedding that are not among its k nearest in
// the input, and r(i, j) is j's rank (1 = nearest) among i's input-space neighbours.
// Ties rank the lower index first. Legend: N points, D input dims, E embedding dims.
#include "tsne/tsne.h"

namespace rl::tsne {

// O(N^2 (D + E)) by blocked distance rows on `threads` threads (0 = all cores). Throws
// std::invalid_argument unless X and Y have the same N and 1 <= k < N / 2.
double trustworthiness(const MatrixView& x, const MatrixView& y, int k = 10, unsigned threads = 0);

}  // namespace rl::tsne
