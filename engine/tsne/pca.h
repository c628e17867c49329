#pragma once
// Principal component analysis of a point set, for PCA embeddings and t-SNE's initialisation.
// Legend: N points, D dimensions, C components (C <= D).
#include <cstddef>
#include <vector>

#include "tsne/tsne.h"

namespace rl::tsne {

struct PcaResult {
  std::vector<float> projection;  // [N, C] centred data projected on the components
  std::vector<float> components;  // [C, D] orthonormal directions, by decreasing variance
  std::vector<double> variances;  // [C] variance along each component (eigenvalues / (N - 1))
};

// Each component's sign is fixed so that its largest-magnitude coordinate is positive, so the
// result does not depend on the eigen solver's arbitrary signs. Throws std::invalid_argument
// when C is 0 or exceeds D, or N < 2.
PcaResult pca(const MatrixView& x, size_t components);

// t-SNE's initialisation: the first two principal components scaled so that the first has
// standard deviation 1e-4 (as scikit-learn and openTSNE do). [N, 2].
std::vector<float> pcaInitialisation(const MatrixView& x);

}  // namespace rl::tsne
