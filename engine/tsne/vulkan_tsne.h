#pragma once
// The Vulkan t-SNE iterations (affinities and initialisation come from the CPU): see tsne_ops.h.
#include <atomic>
#include <string>
#include <vector>

#include "tsne/affinities.h"
#include "tsne/schedule.h"
#include "tsne/tsne.h"

namespace rl::tsne {

// Runs the schedule from y ([N, 2]) on the Vulkan device chosen by `deviceHint`, with the
// repulsion's far-field criterion `theta` (tsne_ops.h; 0 = exact). Throws
// std::runtime_error when no usable device exists. Fills embedding, iterations, cancelled, kl, device.
TsneResult runVulkanIterations(const SparseAffinities& p, std::vector<float> y, const Schedule& schedule,
                               int reportEvery, const ProgressFn& progress, const std::atomic<bool>* cancel,
                               const std::string& deviceHint, double theta);

}  // namespace rl::tsne
