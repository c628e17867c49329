#pragma once
// The three ops of one Vulkan t-SNE iteration (shaders/tsne_blocks.comp, tsne_forces.comp,
// tsne_update.comp), recorded once per run and resubmitted; each has a plain CPU twin (runCpu) for
// parity tests.
//
// Legend: N points, Np = N rounded up to kTsnePadMultiple, E entries of the sparse P (CSR).
// A fixed three-level tree over the points in `order`, a nested spatial order (spatial_order.h,
// sizes 512 / 64 / 16, refreshed by the host every few iterations): C = ceil(N / 512) chunks of
// 512 points, B = ceil(N / 64) blocks of 64, L = ceil(N / 16) leaves of 16, each a run of the order
// (compact; only the last of each size partial). Its M nodes are stored depth first: chunk c at
// kTsneChunkNodes c, then each of its blocks followed by the block's leaves (tsneChunkNode, tsneBlockNode,
// tsneLeafNode). The structure depends on N only and follows from a node's index (tsneNode: first
// point in the order, skip = the node after its subtree, leaf or not).
//   blocks:  sortedY[k] = y[order[k]] (k < N; pads up to B * 64 at kTsnePadCoordinate, far enough
//            to add nothing in float), per node: (centroid c, radius = max distance from it,
//            count n), second moments M = sum_j (y_j - c)(y_j - c)^T as (Mxx, Mxy, Myy, 0)
//   forces:  repulsion per target block t (one workgroup: its 64 points in the order), a
//            Barnes-Hut walk of the tree: a node s is
//              far if theta > 0 and theta * sqrt(1 + gap^2) > r_s, gap = max(0, |c_t - c_s| - r_t)
//                (sqrt(1 + |r|^2) is the expansion's radius of convergence, the distance to the
//                kernel's complex poles, so nodes much smaller than 1 are far even when they
//                overlap, as all are in the first iterations from the PCA initialisation; t's
//                radius makes the test hold for each of t's points): its sums by their Taylor
//                expansion about its centroid to second order (the first vanishes); with
//                r = y_i - c, q = 1 / (1 + |r|^2):
//                  sum_j q_ij         ~ n q - q^2 tr M + 4 q^3 r.Mr
//                  sum_j q_ij^2 (y_i - y_j) ~ n q^2 r + 12 q^4 (r.Mr) r - 2 q^3 (tr M r + 2 M r)
//              else a leaf: near, each of its points exactly (i itself included: q = 1, removed after)
//              else its children are visited.
//            The walk depends only on t, so it is the same for the whole workgroup: it first writes
//            lists[t] (far nodes ascending from the front, the first points of near leaves
//            descending from the back), then sums over the far list, then the near list ascending.
//            repulsion_i = sum_j q_ij^2 (y_i - y_j),  z_i = sum_{j != i} q_ij   (theta = 0: exact)
//            Attraction per point in `attractOrder` (the same slots: workgroup w takes its 64
//            entries; a static order that gives the rows taken together similar lengths):
//            attraction_i = sum_e p_e q_ij (y_i - y_j) (e over row i of P, j = col[e]),
//            kl_i = sum_e p_e log(1 + d_ij^2) only in the iteration state.klIteration (else 0: the
//            logarithm is a large part of the attraction's cost and KL is only wanted for reports);
//            forces[i] = (attraction_i, repulsion_i), sums[i] = (z_i, kl_i)
//   update (one workgroup, fixed-order reduction):  Z = sum_i z_i, then for every i < N
//            g = exaggeration(t) attraction_i - repulsion_i / Z;  gains (schedule.h);
//            update = momentum(t) update - lr gains g;  y += update;  state = (t + 1, Z, sum_i kl_i)
// The iteration counter t lives in the state tensor, so the recorded commands never change.
// P is packed for texel loads (packAffinities): two entries per rgba32f texel (col as a float,
// exact below 2^24; p), each row padded to whole texels with (col = i, p = 0), which adds nothing.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "ops/op.h"

namespace rl::tsne {

constexpr uint32_t kTsnePadMultiple = 8;
constexpr float kTsnePadCoordinate = 1e18f;
constexpr uint32_t kTsneUpdateLocal = 256;  // power of two (tree reduction)
constexpr uint32_t kTsneBlock = 64;         // points per block (= forces workgroup size x tile)
constexpr uint32_t kTsneChunk = 512;        // points per chunk (8 blocks)
constexpr uint32_t kTsneLeaf = 16;          // points per leaf
constexpr uint32_t kTsneBlockLeaves = kTsneBlock / kTsneLeaf;
constexpr uint32_t kTsneBlockNodes = 1 + kTsneBlockLeaves;            // nodes of a full block's subtree
constexpr uint32_t kTsneChunkNodes = 1 + 8 * kTsneBlockNodes;         // nodes of a full chunk's subtree

inline uint32_t tsneBlocks(uint32_t n) { return (n + kTsneBlock - 1) / kTsneBlock; }
inline uint32_t tsneChunks(uint32_t n) { return (n + kTsneChunk - 1) / kTsneChunk; }
inline uint32_t tsneLeaves(uint32_t n) { return (n + kTsneLeaf - 1) / kTsneLeaf; }
// Node indices of the depth-first layout (the same formulas in tsne_blocks.comp, tsne_forces.comp).
inline uint32_t tsneChunkNode(uint32_t c) { return kTsneChunkNodes * c; }
inline uint32_t tsneBlockNode(uint32_t b) { return kTsneChunkNodes * (b / 8) + 1 + kTsneBlockNodes * (b % 8); }
inline uint32_t tsneLeafNode(uint32_t u) {
  return tsneBlockNode(u / kTsneBlockLeaves) + 1 + u % kTsneBlockLeaves;
}
inline uint32_t tsneNodes(uint32_t n) { return n == 0 ? 0 : tsneLeafNode(tsneLeaves(n) - 1) + 1; }
// The nested sizes of the spatial order (spatial_order.h) the tree expects.
inline std::vector<size_t> tsneOrderSizes() { return {kTsneChunk, kTsneBlock, kTsneLeaf}; }
struct TsneNode {
  uint32_t first;  // first point in the order
  uint32_t skip;   // the node after this one's subtree (M after the last)
  bool leaf;
};
// Node s of the M nodes (the same arithmetic in tsne_forces.comp's walk).
inline TsneNode tsneNode(uint32_t s, uint32_t nodes) {
  const uint32_t c = s / kTsneChunkNodes, o = s % kTsneChunkNodes;
  if (o == 0) return {c * kTsneChunk, std::min(s + kTsneChunkNodes, nodes), false};
  const uint32_t b = (o - 1) / kTsneBlockNodes, l = (o - 1) % kTsneBlockNodes;  // block in the chunk, leaf in it + 1
  if (l == 0) return {c * kTsneChunk + b * kTsneBlock, std::min(s + kTsneBlockNodes, nodes), false};
  return {c * kTsneChunk + b * kTsneBlock + (l - 1) * kTsneLeaf, s + 1, true};
}
// A static attraction order [B * 64] (entries >= N are 0 and unused): the rows sorted by length
// (longest first, ties by index), rank m of each 64 to invocation (m % lanes), step m / lanes, so
// the rows an invocation group runs in lockstep have similar lengths. lanes = 64 / tile.
std::vector<uint32_t> tsneAttractionOrder(const std::vector<uint32_t>& rowStart, uint32_t tile);
// An upper bound on the loop iterations one invocation of tsne_forces runs (lavapipe silently ends
// an invocation's loops after 65535 in all, see ops/loop_budgeted_op.h): the walk and the far and
// near loops together at most 2 M + 2, plus its `tile` rows of P in the attraction order (texels,
// and one masked iteration for each of the two row loops).
uint64_t tsneForcesLoopIterations(uint32_t n, const std::vector<uint32_t>& rowTexels,
                                  const std::vector<uint32_t>& attractOrder, uint32_t tile);

// Mirrors the push-constant block of shaders/tsne_blocks.comp.
struct TsneBlocksParams {
  uint32_t n;
  uint32_t leaves;  // L
  uint32_t blocks;  // B
  uint32_t chunks;  // C
};
static_assert(sizeof(TsneBlocksParams) == 16);

// Mirrors the push-constant block of shaders/tsne_forces.comp.
struct TsneForcesParams {
  uint32_t n;       // real points
  uint32_t blocks;  // B
  float theta;      // far-field opening criterion; 0 = exact
  uint32_t nodes;   // M
};
static_assert(sizeof(TsneForcesParams) == 16);

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

// P in the forces op's layout: rowTexels [N + 1] (texel offsets), texels [T, 4] (col, p, col, p).
struct PackedAffinities {
  std::vector<uint32_t> rowTexels;
  std::vector<float> texels;
};
// The forces op's interaction lists take B * M ~ N^2 / 448 words: 38 MB at this size (columns
// stored as floats would stay exact up to 2^24).
constexpr uint32_t kTsneMaxPoints = 1u << 16;
// Throws std::invalid_argument if N >= kTsneMaxPoints or the CSR arrays disagree.
PackedAffinities packAffinities(const std::vector<uint32_t>& rowStart, const std::vector<uint32_t>& col,
                                const std::vector<float>& value);
// Texels packAffinities will produce (for sizing the tensor).
uint32_t packedTexels(const std::vector<uint32_t>& rowStart);

constexpr uint32_t kTsneNoKl = 0xffffffffu;  // state.klIteration: no iteration computes KL

// Tensors of a t-SNE Program (all F32 except order and rowTexels).
struct TsneTensors {
  TensorId y;         // [Np, 2]
  TensorId order;     // [B * 64] u32: nested spatial order (entries >= N unused)
  TensorId attractOrder;  // [B * 64] u32: static attraction order (tsneAttractionOrder)
  TensorId sortedY;   // [B * 64, 2] y in that order, pads at kTsnePadCoordinate
  TensorId nodes;     // [M, 8] (centroid x, y, radius, count, Mxx, Mxy, Myy, 0)
  TensorId rowTexels;  // [N + 1] u32 (PackedAffinities)
  TensorId pTexels;    // [T, 4] (PackedAffinities)
  TensorId lists;     // [B, M] u32 scratch of the forces op (interaction lists per target block)
  TensorId forces;    // [N, 4]
  TensorId sums;      // [N, 2]
  TensorId gains;     // [N, 2]
  TensorId update;    // [N, 2]
  TensorId state;     // [4]: iteration (u32 bits), Z, sum kl, klIteration (u32 bits; kTsneNoKl = none)
};

// Adds the tensors for N points and T texels of packed P to `program`.
TsneTensors addTsneTensors(Program& program, uint32_t n, uint32_t texels);
// Writes the static inputs: attraction order, packed P.
void writeTsneStatics(Backend& backend, const Program& program, const TsneTensors& t, uint32_t n,
                      const std::vector<uint32_t>& rowStart, const PackedAffinities& packed, uint32_t tile);

class TsneBlocksOp final : public Op {
 public:
  TsneBlocksOp(const Program& program, const TsneTensors& t, uint32_t n);
  std::string name() const override { return "tsne_blocks"; }
  std::string shader() const override { return "tsne_blocks"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {ceilDiv(p_.leaves + p_.blocks + p_.chunks, localSize()), 1, 1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TsneTensors t_;
  TsneBlocksParams p_;
  std::vector<Binding> bindings_;
};

class TsneForcesOp final : public Op {
 public:
  // One workgroup per block. tile: points per invocation (spec constant 1; workgroup size 64 / tile):
  // 8 for CPU implementations (each texel load serves 16 pairs), 1 for GPUs (one invocation per point).
  TsneForcesOp(const Program& program, const TsneTensors& t, uint32_t n, float theta, uint32_t tile);
  std::string name() const override { return "tsne_forces"; }
  std::string shader() const override { return "tsne_forces"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  std::vector<uint32_t> specConstants() const override { return {tile_}; }
  uint32_t localSize() const override { return kTsneBlock / tile_; }
  std::vector<bool> texelBindings() const override { return {true, true, true, true}; }
  Grid grid() const override { return {p_.blocks, 1, 1}; }
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
