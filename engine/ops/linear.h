#pragma once
// Grouped linear layer with a fused activation: G independent [M,I] x [O,I]^T products, one per
// expert (G = 1 for a plain layer). Weights are row-major [out, in] like PyTorch's nn.Linear.
//
// Legend: G groups (experts), M rows per group, I inputs, O outputs.
//   forward:         Z[G,M,O] = X[G,M,I] . W[G,O,I]^T + b[G,O];  Y = act(Z)
//   backward input:  dZ = dY (.) act'(Z);  dX[G,M,I] (= or +=) dZ . W
//   backward params: dW[G,O,I] += dZ^T . X;  db[G,O] += sum over rows of dZ
//                    (or =, GradWrite::Overwrite: the step's first writer of a parameter gradient,
//                    so the gradient range needs no zeroing dispatch)
// dZ is recomputed from Z in both backward ops instead of being stored.
// Row mask (maskRows = 1, for the expert layers): an int32 tensor mask[G*M] (RouteAssign's
// slotAssign) whose non-negative entries form a prefix of each group's M entries. Only the first
// fill[g] rows (fill[g] = length of that prefix, found by binary search) take part: forward and
// backward input do not write the other rows, backward params do not sum them. Nothing downstream
// reads an empty slot, and the expert layers of top-k routing are mostly empty (fill ~ N k / E).
// Shaders: linear_forward, linear_backward_input, linear_backward_params (4x4 register tiles, any
// shape), and their *_vec4 variants when I % 4 == 0 and O % 4 == 0 (operands read as rgba32f
// texel buffers, 4 floats per load: ~4-9x faster on lavapipe, where buffer loads are per-lane loops).
// When only O % 4 == 0 (inputs like 2-D points), forward and backward params run *_out4 variants:
// X and W as floats, the output-side tensors (b, Z, Y; dY, Z, db) a vec4 at a time (~2x faster).
// Also here: LinearBackward (both backward ops in one dispatch, linear_backward_vec4), RowGather
// (an expert layer reading its tokens through the slot table instead of a dispatched copy), and
// Z == Y for ReLU (stored once). Specialisation constants of the linear shaders: 1 = act,
// 2 = GradWrite (backward params) or separate Z (forward), 3 = LinearBackward's params workgroups,
// 4 = the gather's k.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"
#include "spec/spec.h"  // rl::Activation

namespace rl {

// Mirrors the push-constant block of shaders/linear_*.comp.
struct LinearParams {
  uint32_t groups, rows, in, out;
  uint32_t act;         // static_cast<uint32_t>(rl::Activation)
  uint32_t accumulate;  // backward input only: 1 adds into dX instead of overwriting it
  uint32_t hasBias;     // 0: the bias tensor is ignored (forward) / not written (backward params)
  uint32_t maskRows;    // 1: only each group's first fill[g] rows take part (see the row mask above)
};
static_assert(sizeof(LinearParams) == 32);

// Each invocation of the scalar shaders computes a kLinearTile x kLinearTile block of outputs;
// the vec4 forward / backward-input shaders kLinearVecRows rows x 4 columns, the vec4
// backward-params shader kLinearParamsVecTile x kLinearParamsVecTile (the shaders' TILE / ROWS
// constants must match).
constexpr uint32_t kLinearTile = 4;
constexpr uint32_t kLinearVecRows = 8;
constexpr uint32_t kLinearParamsVecTile = 8;  // vec4 backward params: 8 outputs x 8 inputs

// CPU implementations of Vulkan (lavapipe) pay per workgroup far more than per invocation, so on
// them the forward and backward-input ops cap their grid at about this many workgroups in all and
// each invocation strides over tiles (the shaders loop either way; a GPU gets one tile each).
constexpr uint32_t kCpuClassWorkgroups = 8;

// Passed as the row mask of an op whose maskRows == 0.
constexpr TensorId kNoRowMask = ~TensorId(0);

// Row gather: the dispatch of tokens into expert slots folded into an expert layer's first linear.
// With k > 0 (and the row mask = RouteAssign's slotAssign, whose entries are token * k + choice),
// row m of group g reads row mask[g*M + m] / k of x, which is then [tokens, I] instead of [G, M, I].
// Forward and backward params (also inside LinearBackward) take it; dX stays in slot layout
// [G, M, I] (the dispatch backward sums it into the tokens). Spec constant 4 of the shaders.
struct RowGather {
  uint32_t k = 0;       // 0: no gather
  uint32_t tokens = 0;  // rows of x
};

// Active rows of group g under a row mask: the end of the prefix of entries >= 0, by binary search.
// Twin of linear_rows.glsl's activeRows().
uint32_t maskedRows(const int32_t* mask, uint32_t g, uint32_t rows);

// Shared bookkeeping of the three linear ops: params, bindings, a label for messages.
class LinearOpBase : public Op {
 public:
  std::string name() const override { return label_; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  // Constant 1 = the activation, so each pipeline is compiled without activation branches.
  std::vector<uint32_t> specConstants() const override { return {p_.act}; }
  // True when the *_vec4 shaders run: I and O multiples of 4 (and nothing empty).
  bool vectorized() const;
  // True when forward and backward params run their *_out4 shaders: O a multiple of 4, I not.
  bool outputsVectorized() const;
  // On a CPU implementation: the same op with its grid capped (see kCpuClassWorkgroups).
  const Op& forDevice(DeviceClass c) const override;

 protected:
  LinearOpBase(std::string label, LinearParams p) : label_(std::move(label)), p_(p) {}
  // base_vec4, base_out4 (only for ops with that variant: withOut4) or base.
  std::string variant(const char* base, bool withOut4 = false) const {
    if (vectorized()) return std::string(base) + "_vec4";
    return withOut4 && outputsVectorized() ? std::string(base) + "_out4" : base;
  }
  // Dispatch of ceil(a / tileA) * ceil(b / tileB) tiles in x, groups in y.
  Grid tileGrid(uint32_t a, uint32_t tileA, uint32_t b, uint32_t tileB) const;
  // Checks the mask tensor (with maskRows) and returns its binding, the last one of every linear
  // shader; without maskRows the shader never reads it, so `fallback` stands in.
  Binding maskBinding(const Program& program, TensorId mask, TensorId fallback) const;
  // Rows of group g that take part: M, or the masked prefix.
  uint32_t rowsOf(const ArenaView& arena, uint32_t g) const;
  // Checks a gather against the params and x; call before bindings are made.
  void setGather(const Program& program, RowGather gather, TensorId x);
  // The first `rows` rows of x for group g as the op reads them ([rows, I], contiguous): the group's
  // own rows, or with a gather the token rows copied into a scratch buffer.
  const float* inputRows(const ArenaView& arena, TensorId x, uint32_t g, uint32_t rows) const;
  // Called last by a constructor whose shader strides over tiles: keeps a copy with a capped grid.
  template <class OpT>
  void makeCpuClassVariant(const OpT& self);

  std::string label_;
  LinearParams p_;
  std::vector<Binding> bindings_;
  TensorId mask_ = kNoRowMask;
  RowGather gather_;
  uint32_t gridCap_ = ~0u;                // workgroups in x at most
  std::shared_ptr<const Op> cpuClass_;    // this op with a capped grid, for forDevice
};

// With act None or ReLU the caller may pass z == y (one tensor): the backward ops then read Y as
// their Z, which gives the same gradient (relu'(relu(z)) = relu'(z): both are [z > 0]), and the
// forward stores once instead of twice (spec constant 2 = 0). Other activations need Z kept
// separately for the backward ops. With hasBias == 0, b may be any tensor.
class LinearForward final : public LinearOpBase {
 public:
  LinearForward(const Program& program, TensorId x, TensorId w, TensorId b, TensorId z, TensorId y,
                LinearParams p, TensorId rowMask = kNoRowMask, RowGather gather = {});
  std::string shader() const override { return variant("linear_forward", true); }
  // Constant 1 = the activation, 2 = 1 when Z is stored apart from Y; with a gather, 4 = its k.
  std::vector<uint32_t> specConstants() const override;
  // True when Z may be the same tensor as Y (see above).
  static bool zMayAliasY(Activation a) { return a == Activation::None || a == Activation::Relu; }
  std::vector<bool> texelBindings() const override;
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId x_, w_, b_, z_, y_;
};

class LinearBackwardInput final : public LinearOpBase {
 public:
  LinearBackwardInput(const Program& program, TensorId dy, TensorId z, TensorId w, TensorId dx, LinearParams p,
                      TensorId rowMask = kNoRowMask);
  std::string shader() const override { return variant("linear_backward_input"); }
  std::vector<bool> texelBindings() const override;
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, z_, w_, dx_;
};

// How backward params stores dW and db: added to (the rule for parameter gradients) or written,
// by the first op of a step that touches them. A specialisation constant of the shader (constant 2),
// not a push constant, so LinearParams stays one block for all three linear shaders.
enum class GradWrite : uint32_t { Accumulate = 0, Overwrite = 1 };

// With hasBias == 0, db is not touched (may alias dw). Groups with no active rows get zero with
// GradWrite::Overwrite and are left alone with Accumulate.
class LinearBackwardParams final : public LinearOpBase {
 public:
  LinearBackwardParams(const Program& program, TensorId dy, TensorId z, TensorId x, TensorId dw, TensorId db,
                       LinearParams p, TensorId rowMask = kNoRowMask, GradWrite mode = GradWrite::Accumulate,
                       RowGather gather = {});
  std::string shader() const override { return variant("linear_backward_params", true); }
  // Constant 1 = the activation, constant 2 = the GradWrite mode; with a gather, constant 4 = its k.
  std::vector<uint32_t> specConstants() const override;
  GradWrite mode() const { return mode_; }
  std::vector<bool> texelBindings() const override;
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, z_, x_, dw_, db_;
  GradWrite mode_;
};

// Both backward ops in one dispatch (shaders/linear_backward_vec4.comp: the first workgroups run
// the backward-params tiles, the rest the backward-input tiles), for the shapes the vec4 shaders
// take (fits()). What the builder emits when a layer needs dX: one ~25 us lavapipe dispatch less per
// layer. The CPU reference is the two ops' own runCpu (params, then input); p.accumulate applies
// to dX, `mode` to dW and db, as for the two ops.
//
// dX epilogue (InputGradActivation): when X is act(Zx), the output of an earlier layer with an
// activation, the op can hand that layer dZx instead of dX:
//   dZx[G,M,I] = (dZ . W) (.) act'(Zx)      (only with p.accumulate == 0: dZx is written)
// computed once per element in the tile's store, instead of a separate ActivationBackward dispatch
// that reads and writes every element again (the Transformer's experts: fc2's backward hands fc1
// its pre-GELU gradient). Masked rows are skipped as for dX. Shader linear_backward_vec4_act: spec
// constant 5 = the activation, binding 8 = Zx (texel buffer); without an epilogue the op runs
// linear_backward_vec4, which has no ninth binding (lavapipe pays per bound texel buffer).
struct InputGradActivation {
  Activation act = Activation::None;
  TensorId z = kNoRowMask;  // Zx [G, M, I], the earlier layer's pre-activation
};

class LinearBackward final : public LinearOpBase {
 public:
  static bool fits(const LinearParams& p);
  LinearBackward(const Program& program, TensorId dy, TensorId z, TensorId x, TensorId w, TensorId dx, TensorId dw,
                 TensorId db, LinearParams p, TensorId rowMask = kNoRowMask, GradWrite mode = GradWrite::Accumulate,
                 RowGather gather = {}, InputGradActivation dxAct = {});
  // linear_backward_vec4_act with the dX epilogue (its ninth binding, Zx), linear_backward_vec4 without.
  std::string shader() const override { return epilogue() ? "linear_backward_vec4_act" : "linear_backward_vec4"; }
  // Constant 1 = the activation, 2 = the GradWrite mode, 3 = the workgroups (in x) of the params part
  // (0 on the CPU-class grid: every invocation takes params tiles, then input tiles), 4 = the gather's k,
  // 5 = the dX epilogue's activation (the _act shader only).
  std::vector<uint32_t> specConstants() const override;
  std::vector<bool> texelBindings() const override;
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  LinearBackwardParams params_;
  LinearBackwardInput input_;
  bool epilogue() const { return dxAct_.act != Activation::None; }
  TensorId dx_;
  InputGradActivation dxAct_;
};

}  // namespace rl
