#pragma once
// The CPU t-SNE iterations: sparse attraction over P (threads by rows), FFT-interpolated repulsion
// (grid_repulsion.h), gains and momentum (schedule.h). Legend: N points, E entries of P.
#include <atomic>
#include <vector>

#include "tsne/affinities.h"
#include "tsne/schedule.h"
#include "tsne/tsne.h"
#include "tsne/worker_pool.h"

namespace rl::tsne {

// Runs the schedule from y ([N, 2]). Fills embedding, iterations, cancelled, kl of the result.
TsneResult runCpuIterations(const SparseAffinities& p, std::vector<float> y, const Schedule& schedule, int reportEvery,
                            const ProgressFn& progress, const std::atomic<bool>* cancel, WorkerPool& pool);

// sum_ij p_ij log p_ij (the constant part of KL(P || Q)).
double affinityEntropyTerm(const SparseAffinities& p);

}  // namespace rl::tsne
