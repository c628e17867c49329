#pragma once
// The two ops of one Vulkan t-SNE iteration (shaders/tsne_forces.comp, shaders/tsne_update.comp),
// recorded once per run and resubmitted; each has a plain CPU twin (runCpu) for parity tests.
//
// Legend: N points, Np = N rounded up to kTsnePadMultiple (pad points sit at kTsnePadCoordinate,
// far enough that they add nothing in float), E entries of the sparse P (CSR).
//   forces (exact, tiled):  for i < N, over all j < Np (i included: self adds q = 1, removed after)
//     attraction_i = sum_e p_e q_ij (y_i - y_j)        (e over row i of P, j = col[e])
//     repulsion_i  = sum_j q_ij^2 (y_i - y_j),  z_i = sum_{j != i} q_ij,  kl_i = sum_e p_e log(1 + d_ij^2)
//     forces[i] = (attraction_i, repulsion_i), sums[i] = (z_i, kl_i)
//   update (one workgroup, fixed-order reduction):  Z = sum_i z_i, then for every i < N
//     g = exaggeration(t) attraction_i - repulsion_i / Z;  gains (schedule.h);
//     update = momentum(t) update - lr gains g;  y += update;  state = (t + 1, Z, sum_i kl_i)
// The iteration counter t lives in the state tensor, so the recorded commands never change.
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.h"

namespace rl::tsne {

constexpr uint32_t kTsnePadMultiple = 8;
constexpr float kTsnePadCoordinate = 1e18f;
constexpr uint32_t kTsneUpdateLocal = 256;  // power of two (tree reduction)

// Mirrors the push-constant block of shaders/tsne_forces.comp.
struct TsneForcesParams {
  uint32_t n;       // real points
  uint32_t texels;  // Np / 2: y read as rgba32f texels of two points
};
static_assert(sizeof(TsneForcesParams) == 8);

// Mirrors the push-constant block of shaders/tsne_update.comp.
struct TsneUpdateParams {
  uint32_t n;
  uint32_t exaggerationIterations;
  float exaggeration;
  float momentum;
  float finalMomentum;
  float learningRate;
};
static_assert(sizeof(TsneUpdateParams) == 24);

// Tensors of a t-SNE Program (all F32 except rowStart and col).
struct TsneTensors {
  TensorId y;         // [Np, 2]
  TensorId rowStart;  // [N + 1] u32
  TensorId col;       // [E] u32
  TensorId pval;      // [E]
  TensorId forces;    // [N, 4]
  TensorId sums;      // [N, 2]
  TensorId gains;     // [N, 2]
  TensorId update;    // [N, 2]
  TensorId state;     // [4]: iteration (u32 bits), Z, sum kl, unused
};

// Adds the tensors for N points and E entries to `program`.
TsneTensors addTsneTensors(Program& program, uint32_t n, uint32_t entries);

class TsneForcesOp final : public Op {
 public:
  // tile: points per invocation (spec constant 1): 8 for CPU implementations (amortises each texel
  // load over 16 pairs), 1 for GPUs (one invocation per point).
  TsneForcesOp(const Program& program, const TsneTensors& t, uint32_t n, uint32_t tile);
  std::string name() const override { return "tsne_forces"; }
  std::string shader() const override { return "tsne_forces"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  std::vector<uint32_t> specConstants() const override { return {tile_}; }
  std::vector<bool> texelBindings() const override { return {true}; }
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  TsneTensors t_;
  TsneForcesParams p_;
  uint32_t tile_;
  std::vector<Binding> bindings_;
};

class TsneUpdateOp final : public Op {
 public:
  TsneUpdateOp(const Program& program, const TsneTensors& t, const TsneUpdateParams& p);
  std::string name() const override { return "tsne_update"; }
  std::string shader() const override { return "tsne_update"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kTsneUpdateLocal; }
  Grid grid() const override { return {1, 1, 1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TsneTensors t_;
  TsneUpdateParams p_;
  std::vector<Binding> bindings_;
};

}  // namespace rl::tsne
