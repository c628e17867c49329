#pragma once
// Hash routing (Roller et al. 2021, "Hash Layers For Large Sparse Models"): each token goes to one
// expert fixed by its token id, with weight 1. Nothing is learned, so there is no backward op.
//
// Legend: N tokens (rows, N = B·T for B sequences of T positions), E experts.
//   ids[N]  int32 token ids (the batch's `ids`, row-major [B, T])
//   idx[N]  int32 = expertOfToken(ids[n], E, salt), or -1 when ids[n] < 0 (padding routes nowhere)
//   wt[N]   float = 1, or 0 when idx[n] = -1
// expertOfToken is MurmurHash3's 32-bit finaliser (fmix32) of (id + salt·0x9E3779B9) mod E: a fixed
// function of the id, the same on every machine and in every version (a trained model depends on it).
// `salt` lets layers hash differently (salt = layer index); salt 0 in every layer gives one shared hash.
//
// How a builder wires it (k = 1, the token-choice path takes over):
//   TokenRouteHash(ids -> idx[N,1], wt[N,1])
//   RouteAssign(idx -> slot[N,1], slotAssign[E·C])   capacity applies exactly as for token choice:
//       C = ceil(cf·N/E) (cf <= 0: C = N); tokens past an expert's C (token order) are dropped
//   DispatchForward(x, slotAssign -> xe[E·C, d]), the expert linears (row mask = slotAssign),
//   CombineForward(oe, slot, wt -> y).
//   Backward: CombineBackward gives doe (and a dwt nobody reads), the expert linears' backward,
//   DispatchBackward(dxe, slot -> dx). No router parameters, no router gradient.
//   Metrics: load[e] = #{n : idx[n] = e} / N, dropped = #{n : slot[n] = -1} / N (RouterStats reads
//   idx and slot; its probability-based outputs mean nothing here).
// Shader: token_route_hash.comp, one token per invocation (grid-stride, capped on CPU-class Vulkan).
#include <cstdint>

#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant block of shaders/token_route_hash.comp.
struct HashRouteParams {
  uint32_t N = 0, E = 0;
  uint32_t salt = 0;
};
static_assert(sizeof(HashRouteParams) == 12);

// MurmurHash3 fmix32: every input bit affects every output bit (twin in token_route_hash.comp).
inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// The expert of a token id (E >= 1), or -1 for a negative id.
inline int32_t expertOfToken(int32_t id, uint32_t E, uint32_t salt) {
  if (id < 0) return -1;
  return int32_t(fmix32(uint32_t(id) + salt * 0x9E3779B9u) % E);
}

class TokenRouteHash final : public StridedOp {
 public:
  TokenRouteHash(const Program& program, TensorId ids, TensorId idx, TensorId wt, HashRouteParams params);
  std::string shader() const override { return "token_route_hash"; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId ids_, idx_, wt_;
  HashRouteParams p_;
};

}  // namespace rl
