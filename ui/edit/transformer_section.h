#pragma once
// The "Transformer" section, shown instead of Model and Router when model.kind is transformer:
// the shape of the model (vocabulary, sequence length, d_model, heads, causal attention, task,
// number of layers) and, for the layer picked in its layer list, the MoE feed-forward block
// (experts, expert width) and its token router. Vocabulary and sequence length are written to
// both model.transformer and data (the token stream must match the model).
#include "edit/spec_section.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace rl::ui {

class TransformerSection : public SpecSection {
  Q_OBJECT
 public:
  explicit TransformerSection(QWidget* parent = nullptr);

  // layer is ignored: the section keeps its own selected Transformer layer (currentLayer).
  void showSpec(const Spec& spec, int layer) override;
  void writeTo(Spec& spec, int layer, std::vector<std::string>& problems) const override;
  QWidget* fieldForKey(const std::string& key) const override;

  // The model.transformer.layers index the expert and router fields edit. selectLayer emits
  // layerSelected; the editor then shows the spec again (pending invalid values are dropped).
  int currentLayer() const { return layer_; }
  void selectLayer(int layer);

 signals:
  void layerSelected(int layer);

 private:
  TokenRouterType routerType() const;
  void updateEnabled();
  void listLayers(int count);

  QSpinBox* vocabulary_;
  QSpinBox* sequenceLength_;
  QSpinBox* dModel_;
  QSpinBox* heads_;
  QCheckBox* causal_;
  QComboBox* task_;
  QSpinBox* layers_;
  QComboBox* layerBox_;
  QSpinBox* experts_;
  QSpinBox* expertWidth_;
  QComboBox* router_;
  QSpinBox* k_;
  QDoubleSpinBox* capacity_;
  QSpinBox* slots_;
  QDoubleSpinBox* jitter_;
  QDoubleSpinBox* temperature_;
  QDoubleSpinBox* aux_;
  QDoubleSpinBox* z_;

  int layer_ = 0;
  int layerCount_ = 0;  // layers of the spec on show
};

}  // namespace rl::ui
