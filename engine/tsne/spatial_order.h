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

// Nested blocks: split at multiples of sizes[0], then each of those runs again at multiples of
// sizes[1], and so on (each size must divide the one before), so runs of every size are compact
// and only the last run of each size is partial. Throws std::invalid_argument on bad sizes.
std::vector<uint32_t> spatialOrder(const float* y, size_t n, const std::vector<size_t>& sizes);

}  // namespace rl::tsne
