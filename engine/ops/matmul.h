#pragma once
// matmul: C[M,N] (=|+=) A[M,K] · B[K,N], with A supplied pre-transposed as At[K,M]. All row-major.
// Legend: M output rows, N output columns, K reduction length.
//
// Two variants, one per device class (DESIGN.md, "Machine notes"):
//  - ImageTiled (CPU implementations such as lavapipe): At and B read as rgba32f texel buffers,
//    a 16x16 register tile per invocation, no shared memory or barriers, sizes as specialisation
//    constants. Needs M and N multiples of 16 and K even; other shapes fall back to SharedTiled.
//  - SharedTiled (real GPUs): 64x64 block per 256-invocation workgroup, 16-deep k slices staged
//    in shared memory, 4x4 outputs per invocation, any shape (bounds-checked).
// Auto keeps both and lets the backend pick with forDevice().
#include <cstdint>
#include <memory>
#include <string>

#include "ops/op.h"

namespace rl {

enum class MatmulVariant : uint8_t { Auto, ImageTiled, SharedTiled };

class Matmul final : public Op {
 public:
  struct Params {  // mirrors the push-constant block of shaders/matmul_image.comp and matmul_shared.comp
    uint32_t M, N, K;
    uint32_t accumulate;  // 1: C += A·B, 0: C = A·B
  };
  static_assert(sizeof(Params) == 16);

  static constexpr uint32_t kImageTile = 16;   // ImageTiled: outputs per invocation, per side
  static constexpr uint32_t kSharedBlock = 64; // SharedTiled: outputs per workgroup, per side

  // Throws std::invalid_argument if a tensor's size does not match its shape in Params.
  Matmul(const Program& program, TensorId at, TensorId b, TensorId c, Params params,
         MatmulVariant variant = MatmulVariant::Auto);

  // True when ImageTiled can run this shape as it is (no fallback).
  static bool imageTiledFits(const Params& p) {
    return p.M % kImageTile == 0 && p.N % kImageTile == 0 && p.K % 2 == 0 && p.M && p.N && p.K;
  }
  // The variant this op dispatches when used directly (Auto resolves per device in forDevice()).
  MatmulVariant variant() const { return variant_; }

  std::string name() const override;
  std::string shader() const override;
  std::vector<Binding> bindings() const override { return {at_, b_, c_}; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(params_); }
  std::vector<uint32_t> specConstants() const override;
  uint32_t localSize() const override;
  Grid grid() const override;
  std::vector<bool> texelBindings() const override;
  void runCpu(const ArenaView& arena) const override;
  const Op& forDevice(DeviceClass device) const override;

 private:
  Matmul(Binding at, Binding b, Binding c, Params params, MatmulVariant resolved, std::string label);

  Binding at_, b_, c_;
  Params params_;
  MatmulVariant variant_;  // never Auto once constructed: Auto resolves to SharedTiled for direct use
  std::string label_;
  std::shared_ptr<const Matmul> imageTiled_, sharedTiled_;  // set when constructed with Auto
};

}  // namespace rl
