#include "graph/builder.h"

#include "graph/builder_base.h"
#include "graph/builder_transformer.h"

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "ops/combine.h"
#include "ops/competitive_loss.h"
#include "ops/dispatch.h"
#include "ops/fill.h"
#include "ops/globals.h"
#include "ops/jitter.h"
#include "ops/linear.h"
#include "ops/linear_loss.h"
#include "ops/losses.h"
#include "ops/optimizer.h"
#include "ops/route_assign.h"
#include "ops/route_fused.h"
#include "ops/route_gate.h"
#include "ops/route_gate_backward.h"
#include "ops/router_stats.h"
#include "spec/spec_names.h"

namespace rl {

int effectiveK(const RouterSpec& r, int experts) {
  if (r.type == RouterType::Dense) return experts;
  if (r.type == RouterType::Switch) return 1;
  return r.k;
}

int expertCapacity(const RouterSpec& r, int experts, int n) {
  if (r.type == RouterType::Dense || r.capacityFactor <= 0) return n;
  int k = effectiveK(r, experts);
  int c = static_cast<int>(std::ceil(r.capacityFactor * n * k / experts));
  return std::clamp(c, 1, n);
}

namespace {

uint32_t u(int v) { return static_cast<uint32_t>(v); }
uint32_t actCode(Activation a) { return static_cast<uint32_t>(a); }

// Parameter tensors of one layer, by role.
struct DenseParams { TensorId w, b; };
struct ExpertLayerParams { TensorId w, b; int in, out; };
struct MoeParams {
  TensorId router, noise = 0;
  bool noisy = false;
  std::vector<ExpertLayerParams> layers;
};

class Builder : BuilderBase {
 public:
  Builder(const Spec& spec, const ModelShape& shape) : BuilderBase(spec, shape) {}

  BuiltModel build(int evalBatch) {
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
  std::string layerPath(size_t i) const { return "model.layers[" + std::to_string(i) + "]"; }

  // --- parameters -------------------------------------------------------------------------
  TensorId param(const std::string& name, std::vector<uint32_t> shape, int fanIn, int groups = 0) {
    TensorId id = prog().add(name, std::move(shape), Role::Param);
    m_.params.push_back({name, id, fanIn, groups});
    return id;
  }

  void declareParams() {
    int width = shape_.inputDim;
    int denseIndex = 0, moeIndex = 0;
    const auto& layers = spec_.model.layers;
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerSpec& L = layers[i];
      bool last = i + 1 == layers.size();
      if (L.type == LayerType::Dense) {
        std::string p = "dense." + std::to_string(denseIndex++) + ".";
        DenseParams d{param(p + "weight", {u(L.units), u(width)}, width),
                      param(p + "bias", {u(L.units)}, width)};
        dense_[i] = d;
        width = L.units;
      } else {
        if (L.experts < 1 || L.expertWidths.empty())
          throw std::invalid_argument(layerPath(i) + ": an MoE layer needs experts and expert_widths");
        int j = moeIndex++;
        std::string p = "moe." + std::to_string(j) + ".";
        MoeParams mp;
        mp.router = param(p + "router.weight", {u(L.experts), u(width)}, width);
        if (L.router.type == RouterType::NoisyTopK) {
          mp.noisy = true;
          mp.noise = param(p + "router.noise.weight", {u(L.experts), u(width)}, width);
        }
        int in = width;
        for (size_t l = 0; l < L.expertWidths.size(); ++l) {
          int out = L.expertWidths[l];
          std::string fc = p + "experts.fc" + std::to_string(l + 1) + ".";
          ExpertLayerParams e{param(fc + "weight", {u(L.experts), u(out), u(in)}, in, L.experts),
                              param(fc + "bias", {u(L.experts), u(out)}, in, L.experts), in, out};
          mp.layers.push_back(e);
          in = out;
        }
        moe_[i] = mp;
        width = in;
        MoeLayerInfo info;
        info.layer = static_cast<int>(i);
        info.experts = L.experts;
        info.k = effectiveK(L.router, L.experts);
        m_.moeLayers.push_back(info);
      }
      if (last && !spec_.model.head && width != shape_.outputDim)
        throw std::invalid_argument(layerPath(i) + ": the last layer's width (" + std::to_string(width) +
                                    ") must equal the output size (" + std::to_string(shape_.outputDim) +
                                    ") when model.head is false");
    }
    if (spec_.model.head) {
      head_ = {param("head.weight", {u(shape_.outputDim), u(width)}, width),
               param("head.bias", {u(shape_.outputDim)}, width)};
    }
    declareGradients();
  }

  // --- parameter gradients ------------------------------------------------------------------
  // Parameter gradients need no zeroing dispatch: the first op of the reverse walk that writes one
  // overwrites it (GradWrite::Overwrite), later ones add. dw and db are always claimed together.
  GradWrite claimParamGrads(TensorId dw, TensorId db) {
    const bool first = writtenParamGrads_.insert(dw).second;
    if (db != dw && writtenParamGrads_.insert(db).second != first)
      throw std::logic_error("parameter gradients: a weight and its bias first written by different ops");
    return first ? GradWrite::Overwrite : GradWrite::Accumulate;
  }
  // After the tape: gradients of parameters no op wrote (none in the models built here) are zeroed,
  // so the norm and the optimizer never read stale values.
  void zeroUnwrittenParamGrads() {
    for (const ParamInfo& p : m_.params) {
      const TensorId g = paramGrad_.at(p.id);
      if (!writtenParamGrads_.count(g)) emit(std::make_unique<Fill>(prog(), bind(prog(), g), 0.0f, prog().info(g).name));
    }
  }
  bool hasGrad(TensorId t) const { return grad_.count(t) != 0; }
  bool needsGrad(TensorId t) const { return needsGrad_.count(t) != 0; }

  // --- layers -------------------------------------------------------------------------------
  // rowMask: the expert layers pass slotAssign, so only occupied slots (a prefix per expert) are
  // computed; their empty rows are never read (dispatch, combine and the losses follow slot indices).
  // emitForward false: a fused op computes y (the router chain), only the backward is taped here.
  // gather (the first expert layer): x holds the tokens and each slot row reads its token's row
  // (the dispatch folded into the layer); dX is then the gradient of `gatherGrad`, the slot-layout
  // tensor [groups * rows, in] that the dispatch backward sums into the tokens.
  // gradIsPreActivation: the gradient written for y is already d/dz (the combine backward folds the
  // activation in), so the backward ops run without the activation.
  TensorId linear(const std::string& name, TensorId x, TensorId w, TensorId b, bool hasBias, int groups,
                  int rows, int in, int out, Activation a, TensorId rowMask = kNoRowMask,
                  bool emitForward = true, RowGather gather = {}, TensorId gatherGrad = kNoRowMask,
                  bool gradIsPreActivation = false) {
    TensorId y = act(name + ".y", {u(groups), u(rows), u(out)});
    TensorId z = LinearForward::zMayAliasY(a) ? y : act(name + ".z", {u(groups), u(rows), u(out)});
    const uint32_t masked = rowMask != kNoRowMask ? 1u : 0u;
    LinearParams p{u(groups), u(rows), u(in), u(out), actCode(a), 0, hasBias ? 1u : 0u, masked};
    if (emitForward) emit(std::make_unique<LinearForward>(prog(), x, w, b, z, y, p, rowMask, gather));
    const TensorId xGrad = gather.k ? gatherGrad : x;  // the tensor dX is the gradient of
    LinearParams pb = p;  // the backward ops' parameters
    if (gradIsPreActivation) pb.act = actCode(Activation::None);
    if (training_) {
      needsGrad_.insert(y);
      tape_.push_back([=, this] {
        TensorId dy = gradOf(y);
        const TensorId dw = paramGrad_.at(w), db = hasBias ? paramGrad_.at(b) : dw;
        const GradWrite mode = claimParamGrads(dw, db);
        if (xGrad == kNoRowMask || !needsGrad(xGrad)) {
          emit(std::make_unique<LinearBackwardParams>(prog(), dy, z, x, dw, db, pb, rowMask, mode, gather));
          return;
        }
        auto [dx, acc] = gradTarget(xGrad);
        LinearParams q = pb;
        q.accumulate = acc;
        if (LinearBackward::fits(q)) {  // both in one dispatch
          emit(std::make_unique<LinearBackward>(prog(), dy, z, x, w, dx, dw, db, q, rowMask, mode, gather));
          return;
        }
        emit(std::make_unique<LinearBackwardParams>(prog(), dy, z, x, dw, db, pb, rowMask, mode, gather));
        emit(std::make_unique<LinearBackwardInput>(prog(), dy, z, w, dx, q, rowMask));
      });
    }
    return y;
  }

  TensorId moeLayer(size_t i, int j, TensorId h, int width, int n, bool outputLayer, MoeTensors& mt,
                    TensorId& expertOut) {
    const LayerSpec& L = spec_.model.layers[i];
    const MoeParams& mp = moe_.at(i);
    const int E = L.experts, k = effectiveK(L.router, E), C = expertCapacity(L.router, E, n);
    MoeLayerInfo& info = m_.moeLayers[j];
    (training_ ? info.capacity : info.evalCapacity) = C;
    const std::string p = "moe." + std::to_string(j);
    const uint32_t jitterStream = 100 + j, noiseStream = 200 + j;
    mt.input = h;

    TensorId rin = h;
    if (training_ && L.router.jitter > 0) {
      rin = act(p + ".router_in", {u(n), u(width)});
      JitterParams jp{u(n * width), static_cast<float>(L.router.jitter), jitterStream, 0};
      emit(std::make_unique<JitterForward>(prog(), h, m_.globals, rin, jp));
      if (needsGrad(h)) {
        needsGrad_.insert(rin);
        tape_.push_back([=, this] {
          auto [dh, acc] = gradTarget(h);
          JitterParams q = jp;
          q.accumulate = acc;
          emit(std::make_unique<JitterBackward>(prog(), gradOf(rin), m_.globals, dh, q));
        });
      }
    }
    // Small batches run the router chain as one dispatch (RouteFused), with the router linear
    // inside it unless a noise linear needs the same input.
    const bool fuseChain = RouteFused::fits(u(n), u(E), u(k), 0);
    const bool fuseLogits = fuseChain && !mp.noisy && RouteFused::fits(u(n), u(E), u(k), u(width));
    TensorId logits = linear(p + ".router", rin, mp.router, mp.router, false, 1, n, width, E, Activation::None,
                             kNoRowMask, !fuseLogits);
    TensorId noiseLogits = logits;
    if (mp.noisy)
      noiseLogits = linear(p + ".router_noise", rin, mp.noise, mp.noise, false, 1, n, width, E, Activation::None);

    mt.probs = act(p + ".probs", {u(n), u(E)});
    TensorId hl = act(p + ".gate_logits", {u(n), u(E)});
    mt.idx = act(p + ".idx", {u(n), u(k)}, DType::I32);
    mt.wt = act(p + ".wt", {u(n), u(k)});
    mt.slot = act(p + ".slot", {u(n), u(k)}, DType::I32);
    TensorId slotAssign = act(p + ".slot_assign", {u(E * C)}, DType::I32);
    mt.load = act(p + ".load", {u(E)});
    mt.importance = act(p + ".importance", {u(E)});
    mt.scalars = act(p + ".stats", {4});
    const uint32_t routerType = static_cast<uint32_t>(L.router.type);
    const float temperature = static_cast<float>(L.router.temperature);
    const float auxCoef = static_cast<float>(L.router.auxLossCoef), zCoef = static_cast<float>(L.router.zLossCoef);
    if (fuseChain) {
      RouteFusedParams fp{u(n), u(E), u(k), routerType, temperature, noiseStream, u(C), auxCoef, zCoef,
                          fuseLogits ? u(width) : 0u};
      emit(std::make_unique<RouteFused>(prog(), rin, mp.router, logits, noiseLogits, m_.globals, mt.probs, hl,
                                        mt.idx, mt.wt, mt.slot, slotAssign, mt.load, mt.importance, mt.scalars, fp));
    } else {
      GateParams gp{u(n), u(E), u(k), routerType, temperature, noiseStream};
      emit(std::make_unique<RouteGate>(prog(), logits, noiseLogits, m_.globals, mt.probs, hl, mt.idx, mt.wt, gp));
      emit(std::make_unique<RouteAssign>(prog(), mt.idx, mt.slot, slotAssign, AssignParams{u(n), u(E), u(k), u(C)}));
      StatsParams sp{u(n), u(E), u(k), auxCoef, zCoef};
      emit(std::make_unique<RouterStats>(prog(), mt.probs, hl, mt.idx, mt.slot, mt.load, mt.importance,
                                         mt.scalars, sp));
    }
    // Tape entries run in reverse: this one runs after the dispatch backward, before the router linears'.
    if (training_)
      tape_.push_back([=, this] {
        auto [dlogits, accL] = gradTarget(logits);
        TensorId dnoise = mp.noisy ? gradTarget(noiseLogits).first : dlogits;
        if (accL || !hasGrad(mt.wt)) throw std::logic_error("router backward: gradients out of order");
        GateBwdParams gb{u(n), u(E), u(k), static_cast<uint32_t>(L.router.type),
                         static_cast<float>(L.router.temperature), noiseStream,
                         static_cast<float>(L.router.auxLossCoef), static_cast<float>(L.router.zLossCoef)};
        emit(std::make_unique<RouteGateBackward>(prog(), gradOf(mt.wt), mt.probs, hl, mt.idx, mt.wt, noiseLogits,
                                                 m_.globals, mt.load, dlogits, dnoise, gb));
      });

    // The dispatch into expert slots is folded into the first expert linear (a row gather through
    // slotAssign): no slot copy of the tokens. Its input gradient is still in slot layout (xe, a
    // gradient-only tensor), summed into the tokens by the dispatch backward.
    TensorId xe = kNoRowMask;
    if (training_ && needsGrad(h)) {
      xe = act(p + ".xe", {u(E * C), u(width)});
      needsGrad_.insert(xe);  // so the first expert linear writes d(xe) for the dispatch backward
      tape_.push_back([=, this] {
        auto [dh, acc] = gradTarget(h);
        DispatchParams dp{u(n), u(width), u(E * C), u(k)};
        dp.accumulate = acc;
        emit(std::make_unique<DispatchBackward>(prog(), gradOf(xe), mt.slot, dh, dp));
      });
    }
    TensorId cur = h;
    // The last expert layer's activation is folded into the combine backward when its derivative is
    // a function of the output (CombineBackward::foldsActivation): that layer's backward then skips it.
    const Activation outputAct = outputLayer ? Activation::None : L.activation;
    const bool foldAct = training_ && outputAct != Activation::None && CombineBackward::foldsActivation(outputAct);
    for (size_t l = 0; l < mp.layers.size(); ++l) {
      const ExpertLayerParams& e = mp.layers[l];
      const bool lastLinear = l + 1 == mp.layers.size();
      const RowGather gather = l == 0 ? RowGather{u(k), u(n)} : RowGather{};
      cur = linear(p + ".experts.fc" + std::to_string(l + 1), cur, e.w, e.b, true, E, C, e.in, e.out,
                   lastLinear ? outputAct : L.activation, slotAssign, true, gather, xe, lastLinear && foldAct);
    }
    expertOut = cur;
    const int out = mp.layers.back().out;
    TensorId y = act(p + ".y", {u(n), u(out)});
    CombineParams cp{u(n), u(out), u(k), u(E * C)};
    if (combineIntoHead_ && i + 1 == spec_.model.layers.size())
      pendingCombine_ = CombineInput{cur, mt.slot, mt.wt, y, cp};  // LinearSoftmaxCrossEntropy computes it
    else
      emit(std::make_unique<CombineForward>(prog(), cur, mt.slot, mt.wt, y, cp));

    if (training_) {
      needsGrad_.insert(y);
      tape_.push_back([=, this] {
        if (!hasGrad(y)) return;  // the competitive loss writes the expert and gate gradients itself
        auto [doe, accE] = gradTarget(cur);
        auto [dwt, accW] = gradTarget(mt.wt);
        if (accE || accW) throw std::logic_error("combine backward: expert gradients already written");
        emit(std::make_unique<CombineBackward>(prog(), gradOf(y), cur, mt.slot, slotAssign, mt.wt, doe, dwt, cp,
                                               foldAct ? outputAct : Activation::None));
      });
    }
    return y;
  }

  void emitPhase(const std::string& phase, int n, bool training, PhaseTensors& pt) {
    phase_ = phase;
    training_ = training;
    grad_.clear();
    needsGrad_.clear();
    tape_.clear();
    writtenParamGrads_.clear();
    pt.batch = n;
    const int in = shape_.inputDim, outDim = shape_.outputDim;
    pt.x = prog().add(phase + ".x", {u(n), u(in)}, Role::Input);
    pt.labels = prog().add(phase + ".labels", {u(n)}, Role::Input, DType::I32);
    pt.target = prog().add(phase + ".target", {u(n), u(outDim)}, Role::Input);

    TensorId h = pt.x;
    int width = in;
    int denseIndex = 0, moeIndex = 0;
    TensorId lastExpertOut = 0;
    const auto& layers = spec_.model.layers;
    // A head under the cross-entropy runs in one dispatch with its loss (LinearSoftmaxCrossEntropy),
    // and with the last MoE layer's combine when that layer feeds it; only the head's backward is
    // taped by linear().
    const LayerSpec& lastLayer = layers.back();
    const int headWidth = lastLayer.type == LayerType::Dense ? lastLayer.units : lastLayer.expertWidths.back();
    const LinearParams headParams{1, u(n), u(headWidth), u(outDim), 0, 0, 1, 0};
    const bool fuseHeadLoss = spec_.model.head && spec_.model.loss == LossType::CrossEntropy &&
                              LinearSoftmaxCrossEntropy::fits(headParams);
    combineIntoHead_ = fuseHeadLoss && lastLayer.type == LayerType::Moe;
    pendingCombine_.reset();
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerSpec& L = layers[i];
      bool outputLayer = i + 1 == layers.size() && !spec_.model.head;
      if (L.type == LayerType::Dense) {
        const DenseParams& d = dense_.at(i);
        h = linear("dense." + std::to_string(denseIndex++), h, d.w, d.b, true, 1, n, width, L.units,
                   outputLayer ? Activation::None : L.activation);
        width = L.units;
      } else {
        MoeTensors mt;
        h = moeLayer(i, moeIndex++, h, width, n, outputLayer, mt, lastExpertOut);
        width = L.expertWidths.back();
        pt.moe.push_back(mt);
      }
    }
    const TensorId headInput = fuseHeadLoss ? h : kNoRowMask;
    if (spec_.model.head)
      h = linear("head", h, head_.w, head_.b, true, 1, n, width, outDim, Activation::None, kNoRowMask, !fuseHeadLoss);
    pt.prediction = h;
    emitLoss(pt, n, outDim, lastExpertOut, headInput, headParams);

    if (training) {
      runTape();
      zeroUnwrittenParamGrads();
      emitOptimizerStep();
    }
  }

  // headInput != kNoRowMask: the head's forward was not emitted; the loss op computes it (headParams).
  void emitLoss(PhaseTensors& pt, int n, int outDim, TensorId lastExpertOut, TensorId headInput,
                const LinearParams& headParams) {
    const LossType loss = spec_.model.loss;
    pt.lossOut = act("loss", {2});
    const uint32_t classify = shape_.classify ? 1u : 0u;
    if (loss == LossType::CrossEntropy) {
      TensorId d = gradTarget(pt.prediction).first;
      if (headInput != kNoRowMask) {
        emit(std::make_unique<LinearSoftmaxCrossEntropy>(prog(), headInput, head_.w, head_.b, pt.prediction, pt.labels,
                                                         d, pt.lossOut, headParams,
                                                         CrossEntropyParams{u(n), u(outDim), 1.0f}, pendingCombine_));
        pendingCombine_.reset();
        return;
      }
      emit(std::make_unique<SoftmaxCrossEntropy>(prog(), pt.prediction, pt.labels, d, pt.lossOut,
                                                 CrossEntropyParams{u(n), u(outDim), 1.0f}));
      return;
    }
    if (loss == LossType::Mse || loss == LossType::Cooperative) {
      TensorId d = gradTarget(pt.prediction).first;
      emit(std::make_unique<MeanSquaredError>(prog(), pt.prediction, pt.target, pt.labels, d, pt.lossOut,
                                              MseParams{u(n), u(outDim), classify, 1.0f}));
      return;
    }
    // Competitive (Jacobs et al. 1991): the loss sees every expert's own output, not the mix.
    // The mix (the prediction) is still scored for accuracy, by an MSE op with zero gradient scale.
    const MoeTensors& mt = pt.moe.back();
    const MoeLayerInfo& info = m_.moeLayers.back();
    const int slots = info.experts * (training_ ? info.capacity : info.evalCapacity);
    TensorId scratch = act("mix_grad_unused", {u(n), u(outDim)});
    emit(std::make_unique<MeanSquaredError>(prog(), pt.prediction, pt.target, pt.labels, scratch, pt.lossOut,
                                            MseParams{u(n), u(outDim), classify, 0.0f}));
    pt.competitiveOut = act("competitive_loss", {1});
    auto [doe, accE] = gradTarget(lastExpertOut);
    auto [dwt, accW] = gradTarget(mt.wt);
    emit(std::make_unique<CompetitiveLoss>(prog(), lastExpertOut, mt.slot, mt.wt, pt.target, doe, dwt,
                                           pt.competitiveOut,
                                           CompetitiveParams{u(n), u(outDim), u(info.k), u(slots), 1.0f}));
  }

  std::map<size_t, DenseParams> dense_;
  std::map<size_t, MoeParams> moe_;
  DenseParams head_{};

  std::set<TensorId> needsGrad_;
  std::set<TensorId> writtenParamGrads_;
  bool combineIntoHead_ = false;               // this phase's last MoE combine runs in the head's loss op
  std::optional<CombineInput> pendingCombine_;  // that combine, until emitLoss emits it
};

}  // namespace

BuiltModel buildModel(const Spec& spec, const ModelShape& shape, int evalBatch) {
  if (spec.model.kind == ModelKind::Transformer) return buildTransformer(spec, shape, evalBatch);
  if (spec.model.layers.empty()) throw std::invalid_argument("model.layers: at least one layer is needed");
  if (spec.model.loss == LossType::Competitive &&
      (spec.model.head || spec.model.layers.back().type != LayerType::Moe))
    throw std::invalid_argument("model.loss: competitive needs the last layer to be MoE and model.head false");
  BuiltModel m = Builder(spec, shape).build(evalBatch);
  for (MoeLayerInfo& info : m.moeLayers) info.router = toName(spec.model.layers.at(info.layer).router.type);
  return m;
}

}  // namespace rl
