#pragma once
// A spatial order of 2-D points for the Vulkan repulsion (tsne_ops.h): recursive median splits
// along the wider side of the bounding box, at multiples of the block size, so that every
// consecutive run of `block` points in the order is a compact group (all full except the last).
// Legend: N points, [N, 2] row-major positions.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rl::tsne {

// A permutation of 0..N-1. Deterministic (ties by index). Throws std::invalid_argument if block is 0.
std::vector<uint32_t> spatialOrder(const float* y, size_t n, size_t block);

}  // namespace rl::tsne
