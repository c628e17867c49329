#include "edit/model_section.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QSpinBox>

#include "edit/form_widgets.h"
#include "edit/spec_labels.h"

namespace rl::ui {

namespace {

bool perExpertLoss(LossType loss) { return loss == LossType::Cooperative || loss == LossType::Competitive; }

}  // namespace

bool parseWidths(const QString& text, std::vector<int>& widths, std::string& reason) {
  widths.clear();
  const QStringList parts = text.split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts);
  for (const QString& part : parts) {
    bool ok = false;
    const int w = part.toInt(&ok);
    if (!ok) {
      reason = QString("'%1' is not a whole number (write widths like 32, 32)").arg(part).toStdString();
      return false;
    }
    widths.push_back(w);
  }
  return true;
}

QString formatWidths(const std::vector<int>& widths) {
  QStringList parts;
  for (int w : widths) parts << QString::number(w);
  return parts.join(", ");
}

ModelSection::ModelSection(QWidget* parent) : SpecSection("Model", parent) {
  layer_ = makeCombo("moeLayer");
  addRow("Layer", layer_, "Which MoE layer the expert and router fields below edit.");

  experts_ = makeSpin("experts", 1, 64, 1);
  addRow("Experts", experts_,
         "How many experts the router chooses between; adding one keeps the trained weights of the others.");
  widths_ = new QLineEdit;
  widths_->setObjectName("expertWidths");
  widths_->setPlaceholderText("e.g. 32, 32");
  addRow("Widths", widths_,
         "Each expert is an MLP with these layer widths (input → 32 → 32); wider experts can each cover more of the input.");
  activation_ = makeCombo("activation");
  for (Activation a : {Activation::Relu, Activation::Gelu, Activation::Tanh, Activation::Sigmoid, Activation::None})
    activation_->addItem(activationLabel(a), static_cast<int>(a));
  addRow("Activation", activation_, "The nonlinearity after every linear map inside each expert.");
  loss_ = makeCombo("loss");
  addRow("Loss", loss_,
         "Cross-entropy/MSE judge the blended output; cooperative judges the blend of experts, competitive "
         "each expert alone (which pushes the router to pick one expert per region).");
  head_ = new QCheckBox("Shared output head");
  head_->setObjectName("head");
  addRow("", head_,
         "A linear layer shared by all experts maps their blend to the output; cooperative and competitive "
         "losses need it off (the experts' own outputs are the prediction).");

  connect(layer_, &QComboBox::currentIndexChanged, this, [this] { emit layerSelected(layer_->currentData().toInt()); });
  commitOnChange(experts_, SpecField::Experts);
  connect(widths_, &QLineEdit::textEdited, this, [this] { emit edited(SpecField::ExpertWidths, EditPhase::Preview); });
  // Applied when typing is done: "3" on the way to "32" must not rebuild the experts.
  connect(widths_, &QLineEdit::editingFinished, this, [this] { emit edited(SpecField::ExpertWidths, EditPhase::Standalone); });
  commitOnChange(activation_, SpecField::Activation);
  connect(loss_, &QComboBox::currentIndexChanged, this, [this] {
    // Both per-expert losses require the head off; switching it off with them saves a second edit.
    if (perExpertLoss(static_cast<LossType>(loss_->currentData().toInt()))) {
      const QSignalBlocker block(head_);
      head_->setChecked(false);
    }
    emit edited(SpecField::Loss, EditPhase::Standalone);
  });
  connect(head_, &QCheckBox::toggled, this, [this] { emit edited(SpecField::Head, EditPhase::Standalone); });
}

void ModelSection::offerLossesFor(const DataSpec& data) {
  const bool regression = isRegressionData(data);
  const int current = loss_->currentData().isValid() ? loss_->currentData().toInt() : -1;
  const QSignalBlocker block(loss_);
  loss_->clear();
  for (LossType l : {LossType::CrossEntropy, LossType::Mse, LossType::Cooperative, LossType::Competitive})
    if (!(regression && l == LossType::CrossEntropy)) loss_->addItem(lossLabel(l), static_cast<int>(l));
  if (!selectQuietly(loss_, current)) selectQuietly(loss_, static_cast<int>(LossType::Mse));
}

void ModelSection::listMoeLayers(const Spec& spec, int layer) {
  const QSignalBlocker block(layer_);
  layer_->clear();
  const auto& layers = spec.model.layers;
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].type == LayerType::Moe)
      layer_->addItem(QString("Layer %1 of %2 (MoE)").arg(i + 1).arg(layers.size()), static_cast<int>(i));
  selectQuietly(layer_, layer);
  setRowVisible(layer_, layer_->count() > 1);
}

void ModelSection::showSpec(const Spec& spec, int layer) {
  listMoeLayers(spec, layer);
  offerLossesFor(spec.data);
  selectQuietly(loss_, static_cast<int>(spec.model.loss));
  {
    const QSignalBlocker block(head_);
    head_->setChecked(spec.model.head);
  }
  const bool haveLayer = layer >= 0 && layer < int(spec.model.layers.size());
  for (QWidget* field : {static_cast<QWidget*>(experts_), static_cast<QWidget*>(widths_), static_cast<QWidget*>(activation_)})
    field->setEnabled(haveLayer);
  if (!haveLayer) return;
  const LayerSpec& L = spec.model.layers[layer];
  setQuietly(experts_, L.experts);
  // Leave text that already says this (with the user's spacing and cursor) alone.
  std::vector<int> shown;
  std::string reason;
  if (!parseWidths(widths_->text(), shown, reason) || shown != L.expertWidths) {
    const QSignalBlocker block(widths_);
    widths_->setText(formatWidths(L.expertWidths));
  }
  selectQuietly(activation_, static_cast<int>(L.activation));
}

void ModelSection::writeTo(Spec& spec, int layer, std::vector<std::string>& problems) const {
  spec.model.loss = static_cast<LossType>(loss_->currentData().toInt());
  spec.model.head = head_->isChecked();
  if (layer < 0 || layer >= int(spec.model.layers.size())) return;
  LayerSpec& L = spec.model.layers[layer];
  L.experts = experts_->value();
  std::vector<int> widths;
  std::string reason;
  if (parseWidths(widths_->text(), widths, reason))
    L.expertWidths = widths;
  else
    problems.push_back("model.layers[" + std::to_string(layer) + "].expert_widths: " + reason);
  L.activation = static_cast<Activation>(activation_->currentData().toInt());
}

QWidget* ModelSection::fieldForKey(const std::string& key) const {
  if (key == "experts") return experts_;
  if (key == "expert_widths") return widths_;
  if (key == "activation") return activation_;
  if (key == "loss") return loss_;
  if (key == "head") return head_;
  return nullptr;
}

}  // namespace rl::ui
