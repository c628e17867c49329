#include "edit/transformer_section.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSignalBlocker>
#include <QSpinBox>
#include <algorithm>

#include "edit/form_widgets.h"
#include "edit/spec_labels.h"
#include "spec/validation_problems.h"

namespace rl::ui {

TransformerSection::TransformerSection(QWidget* parent) : SpecSection("Transformer", parent) {
  vocabulary_ = makeSpin("vocabulary", 2, 65536, 1);
  addRow("Vocabulary", vocabulary_, "How many distinct tokens there are (the token stream is generated with this many).");
  sequenceLength_ = makeSpin("sequenceLength", 1, 1024, 1);
  addRow("Sequence length", sequenceLength_, "Tokens per sequence; each position has a learned embedding.");
  dModel_ = makeSpin("dModel", 4, validation::kMaxWidth, 4);
  addRow("d_model", dModel_, "The width of every token's vector between the blocks.");
  heads_ = makeSpin("heads", 1, 64, 1);
  addRow("Heads", heads_, "Attention heads; d_model / heads must be a multiple of 4.");
  causal_ = new QCheckBox("Causal attention");
  causal_->setObjectName("causal");
  addRow("", causal_, "Each token sees only earlier positions (required to predict the next token).");
  task_ = makeCombo("sequenceTask");
  for (SequenceTask t : {SequenceTask::Classification, SequenceTask::NextToken})
    task_->addItem(sequenceTaskLabel(t), static_cast<int>(t));
  addRow("Objective", task_, "Classify the whole (mean-pooled) sequence, or predict the next token at every position.");
  layers_ = makeSpin("transformerLayers", 1, validation::kMaxLayers, 1);
  addRow("Layers", layers_, "Transformer blocks, each attention followed by a Mixture-of-Experts feed-forward block; a new layer copies the last one.");

  layerBox_ = makeCombo("transformerLayer");
  addRow("Edit layer", layerBox_, "Which layer the expert and router fields below edit.");
  experts_ = makeSpin("tfExperts", 1, validation::kMaxExperts, 1);
  addRow("Experts", experts_, "Experts in this layer's feed-forward block; adding one keeps the others' trained weights.");
  expertWidth_ = makeSpin("expertWidth", 1, validation::kMaxWidth, 8);
  addRow("Expert width", expertWidth_, "Each expert is an MLP d_model → width → d_model.");
  router_ = makeCombo("tokenRouter");
  for (TokenRouterType t : {TokenRouterType::TokenChoice, TokenRouterType::ExpertChoice, TokenRouterType::SoftMoe,
                            TokenRouterType::Hash, TokenRouterType::Task, TokenRouterType::Dense})
    router_->addItem(tokenRouterLabel(t), static_cast<int>(t));
  addRow("Router", router_,
         "Token choice: each token picks its k experts; expert choice: each expert picks its tokens; Soft MoE: "
         "experts read weighted mixtures of tokens; hash and task: fixed assignment by token id or task; dense: all experts.");
  k_ = makeSpin("tfK", 1, validation::kMaxExperts, 1);
  addRow("k", k_, "Experts per token (token choice only).");
  capacity_ = makeDoubleSpin("tfCapacityFactor", 0.0, 16.0, 0.25, 2);
  capacity_->setSpecialValueText("unlimited");
  addRow("Capacity", capacity_,
         "Token choice: each expert takes at most factor × tokens × k / experts (0 = unlimited); expert choice: "
         "each expert takes factor × tokens / experts tokens.");
  slots_ = makeSpin("slotsPerExpert", 1, 64, 1);
  addRow("Slots", slots_, "Soft MoE: weighted token mixtures each expert processes.");
  jitter_ = makeDoubleSpin("tfJitter", 0.0, 0.99, 0.01, 3);
  addRow("Jitter", jitter_, "Learned routers: multiplies the router's input by noise in [1 − j, 1 + j] while training.");
  temperature_ = makeDoubleSpin("tfTemperature", 0.01, 100.0, 0.1, 2);
  addRow("Temperature", temperature_, "Learned routers: divides the router logits (above 1 flattens the gate).");
  aux_ = makeDoubleSpin("tfAuxLossCoef", 0.0, 10.0, 0.01, 4);
  addRow("Aux loss", aux_, "Token choice and dense: weight of the load-balancing loss.");
  z_ = makeDoubleSpin("tfZLossCoef", 0.0, 10.0, 0.001, 4);
  addRow("z-loss", z_, "Token choice and dense: weight of the router z-loss, which keeps router logits small.");

  commitOnChange(vocabulary_, SpecField::Vocabulary);
  commitOnChange(sequenceLength_, SpecField::SequenceLength);
  commitOnChange(dModel_, SpecField::DModel);
  commitOnChange(heads_, SpecField::Heads);
  connect(causal_, &QCheckBox::toggled, this, [this] { emit edited(SpecField::Causal, EditPhase::Standalone); });
  connect(task_, &QComboBox::currentIndexChanged, this, [this] {
    // Predicting the next token needs causal attention and, for top-k token choice, no capacity
    // limit (a later token could drop an earlier token's second choice): switching all of them
    // saves an edit that fails.
    if (static_cast<SequenceTask>(task_->currentData().toInt()) == SequenceTask::NextToken) {
      const QSignalBlocker block(causal_);
      causal_->setChecked(true);
      if (routerType() == TokenRouterType::TokenChoice && k_->value() >= 2) setQuietly(capacity_, 0.0);
    }
    emit edited(SpecField::SequenceTaskKind, EditPhase::Standalone);
  });
  commitOnChange(layers_, SpecField::TransformerLayers);
  connect(layerBox_, &QComboBox::currentIndexChanged, this, [this] {
    if (layerBox_->currentIndex() >= 0) selectLayer(layerBox_->currentIndex());
  });
  commitOnChange(experts_, SpecField::Experts);
  commitOnChange(expertWidth_, SpecField::ExpertWidth);
  connect(router_, &QComboBox::currentIndexChanged, this, [this] {
    // Zero what the new type cannot take (docs/spec.md), so the switch itself is a valid edit:
    // fixed routers have no noise, and only gated routers (token choice, dense) have aux/z losses.
    const TokenRouterType t = routerType();
    if (!isLearnedRouter(t)) setQuietly(jitter_, 0.0);
    if (!isGatedRouter(t))
      for (QDoubleSpinBox* box : {aux_, z_}) setQuietly(box, 0.0);
    updateEnabled();
    emit edited(SpecField::TokenRouter, EditPhase::Standalone);
  });
  commitOnChange(k_, SpecField::K);
  commitOnChange(capacity_, SpecField::CapacityFactor);
  commitOnChange(slots_, SpecField::SlotsPerExpert);
  commitOnChange(jitter_, SpecField::Jitter);
  commitOnChange(temperature_, SpecField::Temperature);
  commitOnChange(aux_, SpecField::AuxLossCoef);
  commitOnChange(z_, SpecField::ZLossCoef);
}

TokenRouterType TransformerSection::routerType() const {
  return static_cast<TokenRouterType>(router_->currentData().toInt());
}

void TransformerSection::selectLayer(int layer) {
  if (layer < 0 || layer >= layerCount_ || layer == layer_) return;
  layer_ = layer;
  emit layerSelected(layer_);  // the editor shows the spec again, now with this layer's fields
}

void TransformerSection::listLayers(int count) {
  const QSignalBlocker block(layerBox_);
  if (layerBox_->count() != count) {
    layerBox_->clear();
    for (int i = 0; i < count; ++i) layerBox_->addItem(QString("Layer %1 of %2").arg(i + 1).arg(count));
  }
  layerBox_->setCurrentIndex(layer_);
  setRowVisible(layerBox_, count > 1);
}

void TransformerSection::showSpec(const Spec& spec, int) {
  const TransformerSpec& t = spec.model.transformer;
  const int count = static_cast<int>(t.layers.size());
  layerCount_ = count;
  layer_ = std::clamp(layer_, 0, std::max(0, count - 1));
  setQuietly(vocabulary_, t.vocabulary);
  setQuietly(sequenceLength_, t.sequenceLength);
  setQuietly(dModel_, t.dModel);
  setQuietly(heads_, t.heads);
  {
    const QSignalBlocker block(causal_);
    causal_->setChecked(t.causal);
  }
  selectQuietly(task_, static_cast<int>(t.task));
  setQuietly(layers_, std::max(1, count));
  listLayers(count);
  if (count > 0) {
    const TransformerLayerSpec& L = t.layers[layer_];
    setQuietly(experts_, L.experts);
    setQuietly(expertWidth_, L.expertWidth);
    selectQuietly(router_, static_cast<int>(L.router.type));
    setQuietly(k_, L.router.k);
    setQuietly(capacity_, L.router.capacityFactor);
    setQuietly(slots_, L.router.slotsPerExpert);
    setQuietly(jitter_, L.router.jitter);
    setQuietly(temperature_, L.router.temperature);
    setQuietly(aux_, L.router.auxLossCoef);
    setQuietly(z_, L.router.zLossCoef);
  }
  updateEnabled();
}

void TransformerSection::writeTo(Spec& spec, int, std::vector<std::string>&) const {
  if (spec.model.kind != ModelKind::Transformer) return;
  TransformerSpec& t = spec.model.transformer;
  t.vocabulary = spec.data.vocabulary = vocabulary_->value();
  t.sequenceLength = spec.data.sequenceLength = sequenceLength_->value();
  t.dModel = dModel_->value();
  t.heads = heads_->value();
  t.causal = causal_->isChecked();
  // The spec written over is the applied one: switching it to next_token lifts, below, every
  // top-k token-choice layer's capacity limit (docs/spec.md), so the switch is one valid edit.
  const SequenceTask task = static_cast<SequenceTask>(task_->currentData().toInt());
  const bool toNextToken = task == SequenceTask::NextToken && t.task != SequenceTask::NextToken;
  t.task = task;
  if (!t.layers.empty() && layer_ < static_cast<int>(t.layers.size())) {
    TransformerLayerSpec& L = t.layers[layer_];
    L.experts = experts_->value();
    L.expertWidth = expertWidth_->value();
    TokenRouterSpec& r = L.router;
    r.type = routerType();
    r.k = k_->value();
    r.capacityFactor = capacity_->value();
    r.slotsPerExpert = slots_->value();
    r.jitter = jitter_->value();
    r.temperature = temperature_->value();
    r.auxLossCoef = aux_->value();
    r.zLossCoef = z_->value();
  }
  // More layers copy the last one (its experts and router); fewer drop the last ones.
  const size_t count = static_cast<size_t>(layers_->value());
  const TransformerLayerSpec last = t.layers.empty() ? TransformerLayerSpec{} : t.layers.back();
  t.layers.resize(count, last);
  if (toNextToken)
    for (TransformerLayerSpec& L : t.layers)
      if (L.router.type == TokenRouterType::TokenChoice && L.router.k >= 2) L.router.capacityFactor = 0;
}

QWidget* TransformerSection::fieldForKey(const std::string& key) const {
  if (key == "vocabulary") return vocabulary_;
  if (key == "sequence_length") return sequenceLength_;
  if (key == "d_model") return dModel_;
  if (key == "heads") return heads_;
  if (key == "causal") return causal_;
  if (key == "task") return task_;
  if (key == "layers") return layers_;
  if (key == "experts") return experts_;
  if (key == "expert_width") return expertWidth_;
  if (key == "type") return router_;
  if (key == "k") return k_;
  if (key == "capacity_factor") return capacity_;
  if (key == "slots_per_expert") return slots_;
  if (key == "jitter") return jitter_;
  if (key == "temperature") return temperature_;
  if (key == "aux_loss_coef") return aux_;
  if (key == "z_loss_coef") return z_;
  return nullptr;
}

void TransformerSection::updateEnabled() {
  // Each router type reads only some fields (docs/spec.md); the others are greyed out.
  const TokenRouterType t = routerType();
  const bool learned = isLearnedRouter(t), gated = isGatedRouter(t);
  k_->setEnabled(t == TokenRouterType::TokenChoice);
  capacity_->setEnabled(t != TokenRouterType::Dense && t != TokenRouterType::SoftMoe);
  slots_->setEnabled(t == TokenRouterType::SoftMoe);
  jitter_->setEnabled(learned);
  temperature_->setEnabled(learned);
  aux_->setEnabled(gated);
  z_->setEnabled(gated);
}

}  // namespace rl::ui
