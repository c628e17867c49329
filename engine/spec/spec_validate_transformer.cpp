// The Transformer half of validateSpec: model.kind transformer and the token stream fields of data.
#include <string>

#include "data/token_dataset.h"
#include "spec/spec_names.h"
#include "spec/validation_problems.h"

namespace rl::validation {

namespace {

constexpr int kMaxVocabulary = 65536;
constexpr int kMaxSequence = 1024;

void checkTokenRouter(Problems& p, const std::string& at, const TokenRouterSpec& r, int experts) {
  const bool learned = isLearnedRouter(r.type);
  if (r.type == TokenRouterType::TokenChoice && experts >= 1) p.intRange(at + ".k", r.k, 1, experts);
  if (r.type == TokenRouterType::ExpertChoice) p.positive(at + ".capacity_factor", r.capacityFactor);
  if (r.type == TokenRouterType::SoftMoe) p.intRange(at + ".slots_per_expert", r.slotsPerExpert, 1, 64);
  p.unitInterval(at + ".jitter", r.jitter);
  p.positive(at + ".temperature", r.temperature);
  p.nonNegative(at + ".aux_loss_coef", r.auxLossCoef);
  p.nonNegative(at + ".z_loss_coef", r.zLossCoef);
  if (!learned && (r.auxLossCoef > 0 || r.zLossCoef > 0 || r.jitter > 0))
    p.add(at + ".type", toName(r.type) + " routing is fixed: jitter, aux_loss_coef and z_loss_coef must be 0");
  // Expert choice balances load by construction and Soft MoE drops nothing: neither has a
  // load-balancing loss, and their ops compute no router z-loss (token_route_expert_choice.h,
  // token_route_soft_moe.h), so a coefficient would silently do nothing.
  const bool gated = isGatedRouter(r.type);
  if (learned && !gated && r.auxLossCoef > 0)
    p.add(at + ".aux_loss_coef", toName(r.type) + " routing has no load-balancing loss: must be 0");
  if (learned && !gated && r.zLossCoef > 0)
    p.add(at + ".z_loss_coef", toName(r.type) + " routing has no router z-loss: must be 0");
}

}  // namespace

void checkTransformerModel(Problems& p, const Spec& spec) {
  const TransformerSpec& t = spec.model.transformer;
  p.intRange("model.transformer.vocabulary", t.vocabulary, 2, kMaxVocabulary);
  p.intRange("model.transformer.sequence_length", t.sequenceLength, 1, kMaxSequence);
  p.intRange("model.transformer.d_model", t.dModel, 1, kMaxWidth);
  p.intRange("model.transformer.heads", t.heads, 1, 64);
  if (t.heads >= 1 && t.dModel >= 1 && t.dModel % t.heads != 0)
    p.add("model.transformer.heads", std::to_string(t.heads) + " does not divide d_model (" + std::to_string(t.dModel) + ")");
  if (t.task == SequenceTask::NextToken && !t.causal)
    p.add("model.transformer.causal", "must be true for next_token (a bidirectional model would see the answer)");
  if (t.layers.empty()) p.add("model.transformer.layers", "needs at least one layer");
  if (t.layers.size() > size_t(kMaxLayers))
    p.add("model.transformer.layers", "at most " + std::to_string(kMaxLayers) + " layers (got " + std::to_string(t.layers.size()) + ")");
  for (size_t i = 0; i < t.layers.size(); ++i) {
    const TransformerLayerSpec& L = t.layers[i];
    const std::string at = "model.transformer.layers[" + std::to_string(i) + "]";
    p.intRange(at + ".experts", L.experts, 1, kMaxExperts);
    p.intRange(at + ".expert_width", L.expertWidth, 1, kMaxWidth);
    checkTokenRouter(p, at + ".router", L.router, L.experts);
    // Both choose among all tokens of a sequence at once, so a token's output depends on later
    // tokens (see token_route_expert_choice.h, token_route_soft_moe.h): next-token prediction would leak.
    if (t.task == SequenceTask::NextToken &&
        (L.router.type == TokenRouterType::ExpertChoice || L.router.type == TokenRouterType::SoftMoe))
      p.add(at + ".router.type", toName(L.router.type) + " is not causal (a token's output depends on later tokens "
                                 "of its sequence), so it cannot be used with next_token");
    // Token choice fills the experts with every token's first choice (later tokens of the same
    // sequence included) before any second choice (ops/route_assign.h): under next_token a later
    // token could decide whether an earlier token's second choice is dropped. One choice per token,
    // or no capacity limit, keeps the model causal.
    if (t.task == SequenceTask::NextToken && L.router.type == TokenRouterType::TokenChoice && L.router.k >= 2 &&
        L.router.capacityFactor > 0)
      p.add(at + ".router.capacity_factor",
            "must be 0 (no limit) for top-" + std::to_string(L.router.k) +
                " token choice with next_token: the batch's first choices, later tokens of the same sequence "
                "included, fill the experts before any second choice, so a later token could decide whether an "
                "earlier token's second choice is dropped (or use k = 1)");
    if (L.router.type == TokenRouterType::Task && spec.data.kind == "multi_task" && L.experts < spec.data.tasks)
      p.add(at + ".experts", "task routing needs one expert per task (" + std::to_string(spec.data.tasks) + " tasks, " +
                                 std::to_string(L.experts) + " experts)");
    if (L.router.type == TokenRouterType::Task && spec.data.kind == "multi_language" && L.experts < spec.data.languages)
      p.add(at + ".experts", "task routing needs one expert per language (" + std::to_string(spec.data.languages) +
                                 " languages, " + std::to_string(L.experts) + " experts)");
  }
  if (!spec.model.layers.empty()) p.add("model.layers", "must be empty for a transformer (its layers are model.transformer.layers)");
  if (spec.model.loss != LossType::CrossEntropy)
    p.add("model.loss", "a transformer is trained with cross_entropy (got " + toName(spec.model.loss) + ")");
  if (!spec.model.head) p.add("model.head", "a transformer needs its output head (true)");
  if (isTokenDataKind(spec.data.kind)) {
    if (spec.data.vocabulary != t.vocabulary)
      p.add("model.transformer.vocabulary", std::to_string(t.vocabulary) + " differs from data.vocabulary (" +
                                                std::to_string(spec.data.vocabulary) + ")");
    if (spec.data.sequenceLength != t.sequenceLength)
      p.add("model.transformer.sequence_length", std::to_string(t.sequenceLength) + " differs from data.sequence_length (" +
                                                     std::to_string(spec.data.sequenceLength) + ")");
  }
}

void checkTokenData(Problems& p, const DataSpec& d) {
  if (!isTokenDataKind(d.kind)) return;
  TokenDataOptions o;
  o.kind = d.kind == "multi_task" ? TokenStreamKind::MultiTask : TokenStreamKind::MultiLanguage;
  o.sequences = d.samples;
  o.vocabulary = d.vocabulary;
  o.length = d.sequenceLength;
  o.groups = d.kind == "multi_task" ? d.tasks : d.languages;
  o.noise = d.noise;
  o.testFraction = d.testFraction;
  for (const TokenOptionProblem& problem : tokenOptionProblems(o)) p.add("data." + problem.key, problem.reason);
}

}  // namespace rl::validation
