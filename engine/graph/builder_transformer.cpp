#include "graph/builder_transformer.h"

#include "graph/builder_base.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "ops/activation_backward.h"
#include "ops/attention.h"
#include "ops/combine.h"
#include "ops/dispatch.h"
#include "ops/fill.h"
#include "ops/globals.h"
#include "ops/jitter.h"
#include "ops/layer_norm.h"
#include "ops/linear.h"
#include "ops/losses.h"
#include "ops/mean_pool.h"
#include "ops/optimizer.h"
#include "ops/positional_embedding.h"
#include "ops/residual_add.h"
#include "ops/route_assign.h"
#include "ops/route_fused.h"
#include "ops/route_gate.h"
#include "ops/route_gate_backward.h"
#include "ops/router_stats.h"
#include "ops/token_embedding.h"
#include "ops/token_route_expert_choice.h"
#include "ops/token_route_hash.h"
#include "ops/token_route_soft_moe.h"
#include "ops/token_route_stats.h"
#include "ops/token_route_task.h"
#include "spec/spec_names.h"

namespace rl {

int tokenK(const TokenRouterSpec& r, int experts) {
  switch (r.type) {
    case TokenRouterType::TokenChoice: return r.k;
    case TokenRouterType::Hash:
    case TokenRouterType::Task: return 1;
    default: return experts;  // dense; expert choice and Soft MoE report k = E tables
  }
}

int tokenCapacity(const TokenRouterSpec& r, int experts, int n, int sequences) {
  switch (r.type) {
    case TokenRouterType::Dense: return n;
    case TokenRouterType::SoftMoe: return r.slotsPerExpert * sequences;
    case TokenRouterType::ExpertChoice:
      return static_cast<int>(expertChoiceCapacity(r.capacityFactor, uint32_t(n), uint32_t(experts)));
    default: break;
  }
  if (r.capacityFactor <= 0) return n;
  const int c = static_cast<int>(std::ceil(r.capacityFactor * n * tokenK(r, experts) / experts));
  return std::clamp(c, 1, n);
}

namespace {

constexpr float kLayerNormEps = 1e-5f;  // PyTorch's nn.LayerNorm default

uint32_t u(int v) { return static_cast<uint32_t>(v); }

std::string layerPath(size_t l) { return "model.transformer.layers[" + std::to_string(l) + "]"; }

// The MLP routing ops' gate type for a token router with a gate (token_choice, dense).
RouterType gateType(const TokenRouterSpec& r) {
  return r.type == TokenRouterType::Dense ? RouterType::Dense : RouterType::TopK;
}

struct LayerNormTensors { TensorId weight, bias; };
struct BlockParams {
  LayerNormTensors ln1, ln2;
  TensorId inW, inB, outW, outB;      // attention projections
  TensorId router = 0;                // [E, D] (Soft MoE: [E S, D]); none for hash and task
  TensorId fc1W, fc1B, fc2W, fc2B;    // grouped experts: [E,W,D], [E,W], [E,D,W], [E,D]
};

class TransformerBuilder : BuilderBase {
 public:
  TransformerBuilder(const Spec& spec, const ModelShape& shape)
      : BuilderBase(spec, shape), t_(spec.model.transformer), D_(t_.dModel), T_(t_.sequenceLength) {}

  BuiltModel build(int evalBatch) {
    checkBuildable();
    m_.shape = shape_;
    declareParams();
    declareOptimizerState();
    m_.globals = prog().add(kGlobalsTensor, {4}, Role::Input);
    m_.gradNorm = prog().add("grad_norm", {1}, Role::Output);
    emitPhase("train", spec_.train.batchSize, true, m_.train);
    emitPhase("eval", evalBatch, false, m_.eval);
    return std::move(m_);
  }

 private:
  void checkBuildable() const {
    if (shape_.inputDim != T_)
      throw std::invalid_argument("model.transformer.sequence_length: " + std::to_string(T_) +
                                  " differs from the data's sequence length (" + std::to_string(shape_.inputDim) + ")");
    if (t_.heads < 1 || D_ % t_.heads != 0 || (D_ / t_.heads) % 4 != 0)
      throw std::invalid_argument("model.transformer.heads: d_model / heads (" + std::to_string(D_) + " / " +
                                  std::to_string(t_.heads) + ") must be a whole multiple of 4 (the attention op "
                                  "reads heads as 4-float texels)");
    if (t_.layers.empty()) throw std::invalid_argument("model.transformer.layers: needs at least one layer");
    for (size_t l = 0; l < t_.layers.size(); ++l) {
      const TokenRouterType type = t_.layers[l].router.type;
      // Also refused by spec validation; kept here for programs built without it.
      if (t_.task == SequenceTask::NextToken && (type == TokenRouterType::ExpertChoice || type == TokenRouterType::SoftMoe))
        throw std::invalid_argument(layerPath(l) + ".router.type: " + toName(type) +
                                    " is not causal (a token's output depends on later tokens), so it cannot "
                                    "predict the next token");
      const TokenRouterSpec& r = t_.layers[l].router;
      if (t_.task == SequenceTask::NextToken && type == TokenRouterType::TokenChoice && r.k >= 2 && r.capacityFactor > 0)
        throw std::invalid_argument(layerPath(l) + ".router.capacity_factor: top-" + std::to_string(r.k) +
                                    " token choice with a capacity limit is not causal (a later token's first "
                                    "choice can drop an earlier token's second), so it cannot predict the next token");
      if (t_.layers[l].experts > int(TokenRouteStats::kThreads))
        throw std::invalid_argument(layerPath(l) + ".experts: at most " + std::to_string(TokenRouteStats::kThreads));
    }
  }

  // --- parameters -------------------------------------------------------------------------
  TensorId param(const std::string& name, std::vector<uint32_t> shape, int fanIn, ParamInit init,
                 int groups = 0) {
    TensorId id = prog().add(name, std::move(shape), Role::Param);
    ParamInfo info{name, id, fanIn, groups};
    info.init = init;
    m_.params.push_back(info);
    return id;
  }
  LayerNormTensors layerNormParams(const std::string& p) {
    return {param(p + ".weight", {u(D_)}, D_, ParamInit::Ones), param(p + ".bias", {u(D_)}, D_, ParamInit::Zeros)};
  }

  void declareParams() {
    const int V = t_.vocabulary;
    tokEmb_ = param("tok_emb.weight", {u(V), u(D_)}, D_, ParamInit::Normal);
    posEmb_ = param("pos_emb.weight", {u(T_), u(D_)}, D_, ParamInit::Normal);
    for (size_t l = 0; l < t_.layers.size(); ++l) {
      const TransformerLayerSpec& L = t_.layers[l];
      const std::string p = "layers." + std::to_string(l) + ".";
      const int E = L.experts, W = L.expertWidth;
      BlockParams b;
      b.ln1 = layerNormParams(p + "ln1");
      b.inW = param(p + "attn.in_proj.weight", {u(3 * D_), u(D_)}, D_, ParamInit::Uniform);
      b.inB = param(p + "attn.in_proj.bias", {u(3 * D_)}, D_, ParamInit::Uniform);
      b.outW = param(p + "attn.out_proj.weight", {u(D_), u(D_)}, D_, ParamInit::Uniform);
      b.outB = param(p + "attn.out_proj.bias", {u(D_)}, D_, ParamInit::Uniform);
      b.ln2 = layerNormParams(p + "ln2");
      // Soft MoE: one router row per slot column j = e S + s (the paper's Phi, transposed).
      const int routerRows = L.router.type == TokenRouterType::SoftMoe ? E * L.router.slotsPerExpert : E;
      if (isLearnedRouter(L.router.type))
        b.router = param(p + "moe.router.weight", {u(routerRows), u(D_)}, D_, ParamInit::Uniform);
      b.fc1W = param(p + "moe.experts.fc1.weight", {u(E), u(W), u(D_)}, D_, ParamInit::Uniform, E);
      b.fc1B = param(p + "moe.experts.fc1.bias", {u(E), u(W)}, D_, ParamInit::Uniform, E);
      b.fc2W = param(p + "moe.experts.fc2.weight", {u(E), u(D_), u(W)}, W, ParamInit::Uniform, E);
      b.fc2B = param(p + "moe.experts.fc2.bias", {u(E), u(D_)}, W, ParamInit::Uniform, E);
      blocks_.push_back(b);
      MoeLayerInfo info;
      info.layer = static_cast<int>(l);
      info.router = toName(L.router.type);
      info.experts = E;
      info.k = tokenK(L.router, E);
      m_.moeLayers.push_back(info);
    }
    lnF_ = layerNormParams("ln_f");
    headW_ = param("head.weight", {u(shape_.outputDim), u(D_)}, D_, ParamInit::Uniform);
    headB_ = param("head.bias", {u(shape_.outputDim)}, D_, ParamInit::Uniform);

    declareGradients();
  }

  // --- gradient bookkeeping -------------------------------------------------------------------
  // The rule (BuilderBase::gradTarget): an activation's gradient is written by the first op of the
  // reverse walk that produces it and accumulated by later ones (fan-out).
  // For a tensor that feeds only one op, whose backward writes its gradient.
  TensorId writtenGrad(TensorId t, const char* op) {
    auto [g, acc] = gradTarget(t);
    if (acc) throw std::logic_error(std::string(op) + " backward: gradient of '" + prog().info(t).name +
                                    "' already written (the tensor fans out)");
    return g;
  }

  // --- building blocks ------------------------------------------------------------------------
  // gather (the first expert layer): x holds the tokens and row m of group g reads token
  // rowMask[g M + m] / k (the dispatch folded into the layer); dX is then written as the gradient of
  // `gatherGrad`, the slot-layout tensor [groups * rows, in] that the dispatch backward sums.
  // yFeedsOneLinear (an expert fc1, whose y only fc2 reads): fc2's backward may fold this layer's
  // activation derivative into its dX (LinearBackward's InputGradActivation), so the gradient it
  // writes for y is already d/dz and this layer's ActivationBackward dispatch is skipped.
  TensorId linear(const std::string& name, TensorId x, TensorId w, TensorId b, bool hasBias, int groups, int rows,
                  int in, int out, Activation a, TensorId rowMask = kNoRowMask, bool emitForward = true,
                  RowGather gather = {}, TensorId gatherGrad = kNoRowMask, bool yFeedsOneLinear = false) {
    TensorId y = act(name + ".y", {u(groups), u(rows), u(out)});
    TensorId z = a == Activation::None ? y : act(name + ".z", {u(groups), u(rows), u(out)});
    if (yFeedsOneLinear && a != Activation::None) activated_[y] = {a, z};
    const LinearParams p{u(groups), u(rows), u(in), u(out), static_cast<uint32_t>(a), 0,
                         hasBias ? 1u : 0u, rowMask != kNoRowMask ? 1u : 0u};
    if (emitForward) emit(std::make_unique<LinearForward>(prog(), x, w, b, z, y, p, rowMask, gather));
    const TensorId xGrad = gather.k ? gatherGrad : x;  // the tensor dX is the gradient of
    onBackward([=, this] {
      const TensorId dy = gradOf(y);
      // dZ = dY (.) act'(Z) once, in place (dY feeds only this layer), so the two linear backward
      // ops run without an activation instead of each recomputing act' per tile (see
      // activation_backward.h). Their z operand is then unused.
      // (Skipped when the next layer's backward already wrote d/dz: preActivationGrad_.)
      LinearParams q = p;
      if (a != Activation::None) {
        if (!preActivationGrad_.count(y))
          emit(std::make_unique<ActivationBackward>(
              prog(), dy, z, dy, ActivationBackwardParams{u(groups * rows * out), static_cast<uint32_t>(a)}));
        q.act = static_cast<uint32_t>(Activation::None);
      }
      const TensorId dw = paramGrad_.at(w), db = paramGrad_.at(hasBias ? b : w);
      auto [dx, acc] = gradTarget(xGrad);
      q.accumulate = acc;
      if (LinearBackward::fits(q)) {  // params and input in one dispatch
        InputGradActivation dxAct;
        const auto folded = activated_.find(xGrad);
        if (!acc && folded != activated_.end()) {
          dxAct = {folded->second.first, folded->second.second};
          preActivationGrad_.insert(xGrad);
        }
        emit(std::make_unique<LinearBackward>(prog(), dy, dy, x, w, dx, dw, db, q, rowMask, GradWrite::Accumulate,
                                              gather, dxAct));
        return;
      }
      emit(std::make_unique<LinearBackwardParams>(prog(), dy, dy, x, dw, db, q, rowMask, GradWrite::Accumulate,
                                                  gather));
      emit(std::make_unique<LinearBackwardInput>(prog(), dy, dy, w, dx, q, rowMask));
    });
    return y;
  }

  TensorId layerNorm(const std::string& name, TensorId x, const LayerNormTensors& w, int rows) {
    TensorId y = act(name + ".y", {u(rows), u(D_)});
    TensorId mean = act(name + ".mean", {u(rows)});
    TensorId rstd = act(name + ".rstd", {u(rows)});
    const LayerNormParams p{u(rows), u(D_), kLayerNormEps};
    emit(std::make_unique<LayerNormForward>(prog(), x, w.weight, w.bias, y, mean, rstd, p));
    onBackward([=, this] {
      // x is on the residual stream: its gradient already holds the skip path's share, so the
      // layer norm's share is added to it (the fan-out rule; accumulate = 1).
      auto [dx, acc] = gradTarget(x);
      LayerNormParams q = p;
      q.accumulate = acc;
      emit(std::make_unique<LayerNormBackward>(prog(), x, w.weight, mean, rstd, gradOf(y), dx,
                                               paramGrad_.at(w.weight), paramGrad_.at(w.bias), q));
    });
    return y;
  }

  // y = a + b on the residual stream. Backward: dy is both inputs' gradient, so both share dy's
  // tensor instead of copying it. That is safe because of the walk order: the branch b was
  // computed from a, so in the reverse walk every op that reads db runs before the first op that
  // adds into da (the branch's input layer norm, the earliest op of the branch).
  TensorId residual(const std::string& name, TensorId a, TensorId b, int rows) {
    TensorId y = act(name, {u(rows), u(D_)});
    emit(std::make_unique<ResidualAdd>(prog(), a, b, y, ResidualAddParams{u(rows * D_)}));
    onBackward([=, this] {
      if (grad_.count(a) || grad_.count(b)) throw std::logic_error("residual backward: input gradient already exists");
      grad_[a] = grad_[b] = gradOf(y);
    });
    return y;
  }

  TensorId attention(size_t l, TensorId x, int B) {
    const BlockParams& w = blocks_[l];
    const int N = B * T_;
    const std::string p = "layers." + std::to_string(l) + ".attn";
    TensorId h = layerNorm("layers." + std::to_string(l) + ".ln1", x, w.ln1, N);
    TensorId qkv = linear(p + ".in_proj", h, w.inW, w.inB, true, 1, N, D_, 3 * D_, Activation::None);
    TensorId o = act(p + ".o", {u(N), u(D_)});
    TensorId probs = act(p + ".probs", {u(B), u(t_.heads), u(T_), u(T_)});
    TensorId lse = act(p + ".lse", {u(B), u(t_.heads), u(T_), 4});
    const AttentionParams ap{u(B), u(T_), u(t_.heads), u(D_ / t_.heads), t_.causal ? 1u : 0u, 0.f};
    emit(std::make_unique<AttentionForward>(prog(), qkv, o, probs, lse, ap));
    onBackward([=, this] {
      emit(std::make_unique<AttentionBackward>(prog(), qkv, o, probs, lse, gradOf(o), writtenGrad(qkv, "attention"),
                                               ap));
    });
    TensorId a = linear(p + ".out_proj", o, w.outW, w.outB, true, 1, N, D_, D_, Activation::None);
    return residual("layers." + std::to_string(l) + ".attn_residual", x, a, N);
  }

  // The MoE feed-forward block over the N = B T token rows. Every router fills the layer's
  // MoeTensors (the tables and metrics the Session reads; see token_route_stats.h for the routers
  // without a gate).
  TensorId moeFeedForward(size_t l, TensorId x, int B, MoeTensors& mt) {
    const TransformerLayerSpec& L = t_.layers[l];
    const TokenRouterSpec& r = L.router;
    const int N = B * T_, E = L.experts, k = tokenK(r, E), C = tokenCapacity(r, E, N, B);
    MoeLayerInfo& info = m_.moeLayers[l];
    (training_ ? info.capacity : info.evalCapacity) = C;
    const std::string p = "layers." + std::to_string(l) + ".moe";

    TensorId h = layerNorm("layers." + std::to_string(l) + ".ln2", x, blocks_[l].ln2, N);
    mt.input = h;
    mt.probs = act(p + ".probs", {u(N), u(E)});
    mt.idx = act(p + ".idx", {u(N), u(k)}, DType::I32);
    mt.wt = act(p + ".wt", {u(N), u(k)});
    mt.slot = act(p + ".slot", {u(N), u(k)}, DType::I32);
    mt.load = act(p + ".load", {u(E)});
    mt.importance = act(p + ".importance", {u(E)});
    mt.scalars = act(p + ".stats", {4});
    TensorId y = 0;
    switch (r.type) {
      case TokenRouterType::TokenChoice:
      case TokenRouterType::Dense: y = experts(l, h, N, gateRoute(l, h, N, C, mt), mt); break;
      case TokenRouterType::Hash:
      case TokenRouterType::Task: y = experts(l, h, N, fixedRoute(l, B, C, mt), mt); break;
      case TokenRouterType::ExpertChoice: y = experts(l, h, N, expertChoiceRoute(l, h, N, C, mt), mt); break;
      case TokenRouterType::SoftMoe: y = softMoe(l, h, B, mt); break;
    }
    return residual("layers." + std::to_string(l) + ".moe_residual", x, y, N);
  }

  // The router's input: h, or h with multiplicative jitter while training.
  TensorId routerInput(size_t l, TensorId h, int N) {
    const TokenRouterSpec& r = t_.layers[l].router;
    if (!training_ || r.jitter <= 0) return h;
    const std::string p = "layers." + std::to_string(l) + ".moe";
    TensorId rin = act(p + ".router_in", {u(N), u(D_)});
    const JitterParams jp{u(N * D_), static_cast<float>(r.jitter), 100 + u(int(l)), 0};
    emit(std::make_unique<JitterForward>(prog(), h, m_.globals, rin, jp));
    onBackward([=, this] {
      auto [dh, acc] = gradTarget(h);
      JitterParams q = jp;
      q.accumulate = acc;
      emit(std::make_unique<JitterBackward>(prog(), gradOf(rin), m_.globals, dh, q));
    });
    return rin;
  }

  // Token choice and dense: the MLP MoE layer's gate, capacity assignment and statistics.
  TensorId gateRoute(size_t l, TensorId h, int N, int C, const MoeTensors& mt) {
    const TokenRouterSpec& r = t_.layers[l].router;
    const BlockParams& w = blocks_[l];
    const int E = t_.layers[l].experts, k = tokenK(r, E);
    const std::string p = "layers." + std::to_string(l) + ".moe";
    const uint32_t noiseStream = 200 + u(int(l));
    TensorId rin = routerInput(l, h, N);
    // One dispatch for the router chain when the batch is small enough (see route_fused.h).
    const bool fuseChain = RouteFused::fits(u(N), u(E), u(k), 0);
    const bool fuseLogits = fuseChain && RouteFused::fits(u(N), u(E), u(k), u(D_));
    TensorId logits = linear(p + ".router", rin, w.router, w.router, false, 1, N, D_, E, Activation::None,
                             kNoRowMask, !fuseLogits);
    TensorId gateLogits = act(p + ".gate_logits", {u(N), u(E)});
    TensorId slotAssign = act(p + ".slot_assign", {u(E * C)}, DType::I32);
    const uint32_t type = static_cast<uint32_t>(gateType(r));
    const float temperature = static_cast<float>(r.temperature);
    const float auxCoef = static_cast<float>(r.auxLossCoef), zCoef = static_cast<float>(r.zLossCoef);
    if (fuseChain) {
      const RouteFusedParams fp{u(N), u(E), u(k), type, temperature, noiseStream, u(C), auxCoef, zCoef,
                                fuseLogits ? u(D_) : 0u};
      emit(std::make_unique<RouteFused>(prog(), rin, w.router, logits, logits, m_.globals, mt.probs, gateLogits,
                                        mt.idx, mt.wt, mt.slot, slotAssign, mt.load, mt.importance, mt.scalars, fp));
    } else {
      emit(std::make_unique<RouteGate>(prog(), logits, logits, m_.globals, mt.probs, gateLogits, mt.idx, mt.wt,
                                       GateParams{u(N), u(E), u(k), type, temperature, noiseStream}));
      emit(std::make_unique<RouteAssign>(prog(), mt.idx, mt.slot, slotAssign, AssignParams{u(N), u(E), u(k), u(C)}));
      emit(std::make_unique<RouterStats>(prog(), mt.probs, gateLogits, mt.idx, mt.slot, mt.load, mt.importance,
                                         mt.scalars, StatsParams{u(N), u(E), u(k), auxCoef, zCoef}));
    }
    // Runs after the combine backward has written d(wt), before the router linear's backward.
    onBackward([=, this] {
      const GateBwdParams gb{u(N), u(E), u(k), type, temperature, noiseStream, auxCoef, zCoef};
      const TensorId dlogits = writtenGrad(logits, "router gate");
      emit(std::make_unique<RouteGateBackward>(prog(), gradOf(mt.wt), mt.probs, gateLogits, mt.idx, mt.wt, logits,
                                               m_.globals, mt.load, dlogits, dlogits, gb));
    });
    return slotAssign;
  }

  // Hash (by token id, salt = layer index) and task (by the sequence's group id): k = 1, fixed,
  // then the token-choice capacity assignment. Nothing to learn, so no backward.
  TensorId fixedRoute(size_t l, int B, int C, const MoeTensors& mt) {
    const int N = B * T_, E = t_.layers[l].experts;
    const std::string p = "layers." + std::to_string(l) + ".moe";
    if (t_.layers[l].router.type == TokenRouterType::Hash)
      emit(std::make_unique<TokenRouteHash>(prog(), phaseIds_, mt.idx, mt.wt, HashRouteParams{u(N), u(E), u(int(l))}));
    else
      emit(std::make_unique<TokenRouteTask>(prog(), phaseGroup_, mt.idx, mt.wt, TaskRouteParams{u(N), u(E), u(T_)}));
    TensorId slotAssign = act(p + ".slot_assign", {u(E * C)}, DType::I32);
    emit(std::make_unique<RouteAssign>(prog(), mt.idx, mt.slot, slotAssign, AssignParams{u(N), u(E), 1u, u(C)}));
    emit(std::make_unique<TokenRouteStats>(prog(), mt.probs, mt.probs, mt.idx, mt.slot, mt.wt, mt.load, mt.importance,
                                           mt.scalars, TokenRouteStatsParams{u(N), u(E), 1u, uint32_t(TokenRouteStatsMode::Fixed)}));
    return slotAssign;
  }

  // Expert choice: every expert takes its C best-scoring tokens; the tables are token choice's with k = E.
  TensorId expertChoiceRoute(size_t l, TensorId h, int N, int C, const MoeTensors& mt) {
    const TokenRouterSpec& r = t_.layers[l].router;
    const int E = t_.layers[l].experts;
    const std::string p = "layers." + std::to_string(l) + ".moe";
    TensorId rin = routerInput(l, h, N);
    TensorId logits = linear(p + ".router", rin, blocks_[l].router, blocks_[l].router, false, 1, N, D_, E,
                             Activation::None);
    TensorId slotAssign = act(p + ".slot_assign", {u(E * C)}, DType::I32);
    TensorId count = act(p + ".taken_by", {u(N)}, DType::I32);
    const ExpertChoiceParams ep{u(N), u(E), u(C), static_cast<float>(r.temperature)};
    emit(std::make_unique<ExpertChoiceForward>(prog(), logits, mt.probs, slotAssign, mt.slot, mt.wt, count, ep));
    emit(std::make_unique<TokenRouteStats>(prog(), mt.probs, mt.probs, mt.idx, mt.slot, mt.wt, mt.load, mt.importance,
                                           mt.scalars,
                                           TokenRouteStatsParams{u(N), u(E), 1u, uint32_t(TokenRouteStatsMode::ExpertChoice)}));
    // Runs after the combine backward has written d(wt), before the router linear's backward.
    onBackward([=, this] {
      emit(std::make_unique<ExpertChoiceBackward>(prog(), gradOf(mt.wt), mt.probs, mt.slot,
                                                  writtenGrad(logits, "expert choice"), ep));
    });
    return slotAssign;
  }

  // The experts over the slots a token-level router filled: dispatch, the grouped expert MLPs
  // (row mask = slotAssign), combine with the gate weights. k and C as the router's tables.
  TensorId experts(size_t l, TensorId h, int N, TensorId slotAssign, const MoeTensors& mt) {
    const TransformerLayerSpec& L = t_.layers[l];
    const BlockParams& w = blocks_[l];
    const int E = L.experts, W = L.expertWidth, k = tokenK(L.router, E), C = tokenCapacity(L.router, E, N);
    const std::string p = "layers." + std::to_string(l) + ".moe";
    // The dispatch into expert slots is folded into fc1 (a row gather through slotAssign): no slot
    // copy of the tokens. fc1's input gradient is still in slot layout (xe, a gradient-only
    // tensor), summed into the tokens by the dispatch backward.
    TensorId xe = kNoRowMask;
    if (training_) {
      xe = act(p + ".xe", {u(E * C), u(D_)});
      const DispatchParams dp{u(N), u(D_), u(E * C), u(k), 0};
      onBackward([=, this] {
        auto [dh, acc] = gradTarget(h);
        DispatchParams q = dp;
        q.accumulate = acc;
        emit(std::make_unique<DispatchBackward>(prog(), gradOf(xe), mt.slot, dh, q));
      });
    }
    TensorId hidden = linear(p + ".experts.fc1", h, w.fc1W, w.fc1B, true, E, C, D_, W, t_.activation, slotAssign,
                             true, RowGather{u(k), u(N)}, xe, true);
    TensorId oe = linear(p + ".experts.fc2", hidden, w.fc2W, w.fc2B, true, E, C, W, D_, Activation::None, slotAssign);
    TensorId y = act(p + ".y", {u(N), u(D_)});
    const CombineParams cp{u(N), u(D_), u(k), u(E * C)};
    emit(std::make_unique<CombineForward>(prog(), oe, mt.slot, mt.wt, y, cp));
    onBackward([=, this] {
      // Hash and task routing write a d(wt) nobody reads (their weights are fixed).
      emit(std::make_unique<CombineBackward>(prog(), gradOf(y), oe, mt.slot, slotAssign, mt.wt,
                                             writtenGrad(oe, "combine"), writtenGrad(mt.wt, "combine"), cp));
    });
    return y;
  }

  // Soft MoE: every expert's S slots per sequence take softmax-weighted mixtures of the sequence's
  // tokens, and every token takes a softmax-weighted mixture of the slot outputs (token_route_soft_moe.h).
  TensorId softMoe(size_t l, TensorId h, int B, const MoeTensors& mt) {
    const TransformerLayerSpec& L = t_.layers[l];
    const BlockParams& w = blocks_[l];
    const int N = B * T_, E = L.experts, W = L.expertWidth, S = L.router.slotsPerExpert, J = E * S, M = B * S;
    const std::string p = "layers." + std::to_string(l) + ".moe";
    TensorId rin = routerInput(l, h, N);
    TensorId logits = linear(p + ".router", rin, w.router, w.router, false, 1, N, D_, J, Activation::None);
    TensorId dispatchW = act(p + ".dispatch_w", {u(N), u(J)});
    TensorId combineW = act(p + ".combine_w", {u(N), u(J)});
    TensorId xs = act(p + ".xs", {u(E * M), u(D_)});
    const SoftMoeParams sp{u(B), u(T_), u(E), u(S), u(D_), static_cast<float>(L.router.temperature), 0u, 1u};
    emit(std::make_unique<SoftMoeDispatchForward>(prog(), logits, h, dispatchW, combineW, xs, sp));
    emit(std::make_unique<TokenRouteStats>(prog(), mt.probs, combineW, mt.idx, mt.slot, mt.wt, mt.load, mt.importance,
                                           mt.scalars, TokenRouteStatsParams{u(N), u(E), u(S), uint32_t(TokenRouteStatsMode::Soft)}));
    // Runs after the expert linears' backward has written d(xs); adds to the combine's d(logits).
    onBackward([=, this] {
      auto [dh, acc] = gradTarget(h);
      SoftMoeParams q = sp;
      q.accumulateDx = acc;
      q.accumulateDlogits = 1;
      emit(std::make_unique<SoftMoeDispatchBackward>(prog(), gradOf(xs), h, xs, dispatchW, dh, gradOf(logits), q));
    });
    TensorId hidden = linear(p + ".experts.fc1", xs, w.fc1W, w.fc1B, true, E, M, D_, W, t_.activation, kNoRowMask,
                             true, {}, kNoRowMask, true);
    TensorId ys = linear(p + ".experts.fc2", hidden, w.fc2W, w.fc2B, true, E, M, W, D_, Activation::None);
    TensorId y = act(p + ".y", {u(N), u(D_)});
    emit(std::make_unique<SoftMoeCombineForward>(prog(), ys, combineW, y, sp));
    onBackward([=, this] {
      emit(std::make_unique<SoftMoeCombineBackward>(prog(), gradOf(y), ys, y, combineW, writtenGrad(ys, "soft combine"),
                                                    writtenGrad(logits, "soft combine"), sp));
    });
    return y;
  }

  void emitPhase(const std::string& phase, int B, bool training, PhaseTensors& pt) {
    phase_ = phase;
    training_ = training;
    grad_.clear();
    tape_.clear();
    activated_.clear();
    preActivationGrad_.clear();
    const int N = B * T_, V = t_.vocabulary;
    const bool classify = t_.task == SequenceTask::Classification;
    pt.batch = B;
    pt.ids = prog().add(phase + ".ids", {u(N)}, Role::Input, DType::I32);
    pt.group = prog().add(phase + ".group", {u(B)}, Role::Input, DType::I32);
    pt.labels = prog().add(phase + ".labels", {u(classify ? B : N)}, Role::Input, DType::I32);
    phaseIds_ = pt.ids;
    phaseGroup_ = pt.group;
    pt.x = pt.ids;          // the MLP fields name the same inputs, so nothing reads a stale id
    pt.target = pt.labels;
    if (training) emit(std::make_unique<Fill>(prog(), gradRange(), 0.0f));

    // Embeddings: x = tok_emb[ids] + pos_emb[t].
    TensorId e = act("tok_emb.y", {u(N), u(D_)});
    const TokenEmbeddingParams tp{u(N), u(V), u(D_)};
    emit(std::make_unique<TokenEmbeddingForward>(prog(), pt.ids, tokEmb_, e, tp));
    TensorId x = act("pos_emb.y", {u(N), u(D_)});
    const PositionalEmbeddingParams pp{u(N), u(T_), u(D_)};
    emit(std::make_unique<PositionalEmbeddingForward>(prog(), e, posEmb_, x, pp));
    const TensorId ids = pt.ids;
    onBackward([=, this] {
      // d(tok_emb output) = d(x): the positional add passes its gradient through unchanged.
      const TensorId dx = gradOf(x);
      emit(std::make_unique<PositionalEmbeddingBackward>(prog(), dx, paramGrad_.at(posEmb_), pp));
      emit(std::make_unique<TokenEmbeddingBackward>(prog(), ids, dx, paramGrad_.at(tokEmb_), tp));
    });

    for (size_t l = 0; l < t_.layers.size(); ++l) {
      x = attention(l, x, B);
      MoeTensors mt;
      x = moeFeedForward(l, x, B, mt);
      pt.moe.push_back(mt);
    }
    TensorId f = layerNorm("ln_f", x, lnF_, N);
    int rows = N;
    if (classify) {
      TensorId pooled = act("pool.y", {u(B), u(D_)});
      const MeanPoolParams mp{u(B), u(T_), u(D_)};
      emit(std::make_unique<MeanPoolForward>(prog(), f, pooled, mp));
      onBackward([=, this] {
        emit(std::make_unique<MeanPoolBackward>(prog(), gradOf(pooled), writtenGrad(f, "mean pool"), mp));
      });
      f = pooled;
      rows = B;
    }
    const int outDim = shape_.outputDim;
    pt.prediction = linear("head", f, headW_, headB_, true, 1, rows, D_, outDim, Activation::None);
    pt.lossOut = act("loss", {2});
    emit(std::make_unique<SoftmaxCrossEntropy>(prog(), pt.prediction, pt.labels, writtenGrad(pt.prediction, "loss"),
                                               pt.lossOut, CrossEntropyParams{u(rows), u(outDim), 1.0f}));
    if (!training) return;
    runTape();
    emitOptimizerStep();
  }

  const TransformerSpec& t_;
  const int D_, T_;
  TensorId tokEmb_ = 0, posEmb_ = 0, headW_ = 0, headB_ = 0;
  LayerNormTensors lnF_{};
  std::vector<BlockParams> blocks_;

  TensorId phaseIds_ = 0, phaseGroup_ = 0;  // this phase's token ids [N] and sequence groups [B]
  std::map<TensorId, std::pair<Activation, TensorId>> activated_;  // y of a yFeedsOneLinear layer -> (act, z)
  std::set<TensorId> preActivationGrad_;  // tensors whose gradient a LinearBackward wrote as d/dz
};

}  // namespace

BuiltModel buildTransformer(const Spec& spec, const ModelShape& shape, int evalBatch) {
  return TransformerBuilder(spec, shape).build(evalBatch);
}

}  // namespace rl
