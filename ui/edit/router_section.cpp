#include "edit/router_section.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>

#include "edit/form_widgets.h"
#include "edit/spec_labels.h"

namespace rl::ui {

RouterSection::RouterSection(QWidget* parent) : SpecSection("Router", parent) {
  type_ = makeCombo("routerType");
  for (RouterType t : {RouterType::Dense, RouterType::TopK, RouterType::NoisyTopK, RouterType::Switch})
    type_->addItem(routerLabel(t), static_cast<int>(t));
  addRow("Type", type_,
         "Dense blends every expert; top-k keeps the k most probable; noisy top-k adds learned noise before "
         "choosing; Switch sends each input to one expert.");
  k_ = makeSpin("k", 1, 64, 1);
  addRow("k", k_, "How many experts each input is sent to (top-k and noisy top-k only).");
  capacity_ = makeDoubleSpin("capacityFactor", 0.0, 16.0, 0.25, 2);
  capacity_->setSpecialValueText("unlimited");
  addRow("Capacity", capacity_,
         "Capacity factor: each expert takes at most factor × k × batch / experts inputs and drops the rest "
         "(0 = unlimited).");
  jitter_ = makeDoubleSpin("jitter", 0.0, 0.99, 0.01, 3);
  addRow("Jitter", jitter_, "Multiplies the router's input by noise in [1 − j, 1 + j] while training, so near-ties go either way.");
  temperature_ = makeDoubleSpin("temperature", 0.01, 100.0, 0.1, 2);
  addRow("Temperature", temperature_, "Divides the router logits: above 1 flattens the gate, below 1 sharpens it.");
  aux_ = makeDoubleSpin("auxLossCoef", 0.0, 10.0, 0.01, 4);
  addRow("Aux loss", aux_, "Weight of the Switch load-balancing loss, which pushes every expert towards an equal share of inputs.");
  z_ = makeDoubleSpin("zLossCoef", 0.0, 10.0, 0.001, 4);
  addRow("z-loss", z_, "Weight of the router z-loss, which keeps router logits small so the gate stays trainable.");

  connect(type_, &QComboBox::currentIndexChanged, this, [this] {
    // Switch routing is top-1 by definition: setting k with it saves an edit that can only be 1.
    if (type() == RouterType::Switch) setQuietly(k_, 1);
    updateEnabled();
    emit edited(SpecField::Router, EditPhase::Standalone);
  });
  commitOnChange(k_, SpecField::K);
  commitOnChange(capacity_, SpecField::CapacityFactor);
  commitOnChange(jitter_, SpecField::Jitter);
  commitOnChange(temperature_, SpecField::Temperature);
  commitOnChange(aux_, SpecField::AuxLossCoef);
  commitOnChange(z_, SpecField::ZLossCoef);
}

RouterType RouterSection::type() const { return static_cast<RouterType>(type_->currentData().toInt()); }

void RouterSection::showSpec(const Spec& spec, int layer) {
  haveLayer_ = layer >= 0 && layer < int(spec.model.layers.size());
  if (haveLayer_) {
    const RouterSpec& r = spec.model.layers[layer].router;
    selectQuietly(type_, static_cast<int>(r.type));
    setQuietly(k_, r.k);
    setQuietly(capacity_, r.capacityFactor);
    setQuietly(jitter_, r.jitter);
    setQuietly(temperature_, r.temperature);
    setQuietly(aux_, r.auxLossCoef);
    setQuietly(z_, r.zLossCoef);
  }
  updateEnabled();
}

void RouterSection::writeTo(Spec& spec, int layer, std::vector<std::string>&) const {
  if (layer < 0 || layer >= int(spec.model.layers.size())) return;
  RouterSpec& r = spec.model.layers[layer].router;
  r.type = type();
  r.k = r.type == RouterType::Switch ? 1 : k_->value();  // the only k Switch accepts
  r.capacityFactor = capacity_->value();
  r.jitter = jitter_->value();
  r.temperature = temperature_->value();
  r.auxLossCoef = aux_->value();
  r.zLossCoef = z_->value();
}

QWidget* RouterSection::fieldForKey(const std::string& key) const {
  if (key == "type") return type_;
  if (key == "k") return k_;
  if (key == "capacity_factor") return capacity_;
  if (key == "jitter") return jitter_;
  if (key == "temperature") return temperature_;
  if (key == "aux_loss_coef") return aux_;
  if (key == "z_loss_coef") return z_;
  return nullptr;
}

void RouterSection::updateEnabled() {
  for (QWidget* field : {static_cast<QWidget*>(type_), static_cast<QWidget*>(jitter_),
                         static_cast<QWidget*>(temperature_), static_cast<QWidget*>(aux_), static_cast<QWidget*>(z_)})
    field->setEnabled(haveLayer_);
  // k only means something when the router chooses k experts; dense uses all, Switch one. Dense
  // routing never drops inputs, so it has no capacity either.
  const RouterType t = type();
  k_->setEnabled(haveLayer_ && (t == RouterType::TopK || t == RouterType::NoisyTopK));
  capacity_->setEnabled(haveLayer_ && t != RouterType::Dense);
}

}  // namespace rl::ui
