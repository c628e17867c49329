#include "edit/training_section.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>
#include <algorithm>
#include <climits>
#include <cmath>

#include "edit/form_widgets.h"
#include "edit/log_rate_edit.h"
#include "edit/spec_labels.h"

namespace rl::ui {

TrainingSection::TrainingSection(QWidget* parent) : SpecSection("Training", parent) {
  optimizer_ = makeCombo("optimizer");
  for (OptimizerType o : {OptimizerType::Adam, OptimizerType::Sgd}) optimizer_->addItem(optimizerLabel(o), static_cast<int>(o));
  addRow("Optimizer", optimizer_, "How gradients move the weights; Adam adapts each weight's step size, SGD uses one rate for all.");
  rate_ = new LogRateEdit("learningRate", 1e-5, 1.0);
  addRow("Learning rate", rate_,
         "Step size of every update (log scale); too high and the router can lock onto a few experts early.");
  momentum_ = makeDoubleSpin("momentum", 0.0, 0.999, 0.05, 3);
  addRow("Momentum", momentum_, "SGD only: the share of the previous update carried into the next one.");
  batch_ = makeSpin("batchSize", 1, 65536, 32);
  addRow("Batch size", batch_, "Rows per step; with a capacity limit, each expert's capacity grows with the batch.");
  seed_ = makeSpin("seed", 0, INT_MAX, 1);
  addRow("Seed", seed_, "Initial weights, batch order and router noise; the same seed replays the same run.");

  connect(optimizer_, &QComboBox::currentIndexChanged, this, [this] {
    updateEnabled();
    emit edited(SpecField::Optimizer, EditPhase::Standalone);
  });
  connect(rate_, &LogRateEdit::valueEdited, this, [this](double, bool dragging) {
    emit edited(SpecField::LearningRate, dragging ? EditPhase::Drag : EditPhase::Commit);
  });
  connect(rate_, &LogRateEdit::dragStarted, this, &SpecSection::gestureBoundary);
  connect(rate_, &LogRateEdit::dragFinished, this, &SpecSection::gestureBoundary);
  commitOnChange(momentum_, SpecField::Momentum);
  commitOnChange(batch_, SpecField::BatchSize);
  commitOnChange(seed_, SpecField::Seed);
}

void TrainingSection::showSpec(const Spec& spec, int) {
  const TrainSpec& t = spec.train;
  selectQuietly(optimizer_, static_cast<int>(t.optimizer));
  rate_->setValueQuietly(t.learningRate);
  setQuietly(momentum_, t.momentum);
  setQuietly(batch_, t.batchSize);
  setQuietly(seed_, static_cast<int>(std::min<uint64_t>(t.seed, INT_MAX)));
  updateEnabled();
}

void TrainingSection::writeTo(Spec& spec, int, std::vector<std::string>&) const {
  TrainSpec& t = spec.train;
  t.optimizer = static_cast<OptimizerType>(optimizer_->currentData().toInt());
  // The spin box rounds to its range; keep the spec's exact rate unless the field was edited.
  const double shown = std::clamp(t.learningRate, 1e-5, 1.0);
  if (std::abs(rate_->value() - shown) > 1e-9 * shown) t.learningRate = rate_->value();
  t.momentum = momentum_->value();
  t.batchSize = batch_->value();
  if (static_cast<uint64_t>(seed_->value()) != std::min<uint64_t>(t.seed, INT_MAX)) t.seed = seed_->value();
}

QWidget* TrainingSection::fieldForKey(const std::string& key) const {
  if (key == "optimizer") return optimizer_;
  if (key == "learning_rate") return rate_;
  if (key == "momentum") return momentum_;
  if (key == "batch_size") return batch_;
  if (key == "seed") return seed_;
  return nullptr;
}

void TrainingSection::updateEnabled() {
  momentum_->setEnabled(optimizer_->currentData().toInt() == static_cast<int>(OptimizerType::Sgd));
}

}  // namespace rl::ui
