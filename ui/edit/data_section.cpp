#include "edit/data_section.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QHBoxLayout>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QToolButton>
#include <algorithm>
#include <climits>

#include "edit/form_widgets.h"
#include "edit/spec_labels.h"
#include "io/csv_table.h"
#include "spec/spec_names.h"

namespace rl::ui {

namespace {

constexpr const char* kCsv = "csv";

std::vector<std::string> csvColumns(const std::string& path) {
  try {
    return readCsvText(path).header;
  } catch (const std::exception&) {
    return {};  // the editor's validation names the problem with the file
  }
}

QString guessLabelColumn(const std::vector<std::string>& columns) {
  for (const char* name : {"label", "class", "target", "y"})
    for (const auto& c : columns)
      if (QString::fromStdString(c).compare(name, Qt::CaseInsensitive) == 0) return QString::fromStdString(c);
  return columns.empty() ? QString() : QString::fromStdString(columns.back());
}

}  // namespace

DataSection::DataSection(QWidget* parent) : SpecSection("Data", parent) {
  kind_ = makeCombo("dataKind");
  for (const auto& kind : dataKindNames())
    if (kind != kCsv) kind_->addItem(dataKindLabel(kind), QString::fromStdString(kind));
  csvButton_ = new QToolButton;
  csvButton_->setObjectName("csvButton");
  csvButton_->setText("CSV…");
  csvButton_->setToolTip("Train on your own data: a CSV file with a header row and a label column.");
  auto* kindRow = new QWidget;
  auto* kindLayout = new QHBoxLayout(kindRow);
  kindLayout->setContentsMargins(0, 0, 0, 0);
  kindLayout->setSpacing(4);
  kindLayout->addWidget(kind_, 1);
  kindLayout->addWidget(csvButton_);
  addRow("Dataset", kindRow,
         "The task the experts divide between them; 2-D kinds also show the router's partition of the plane.");
  if (auto* label = qobject_cast<QLabel*>(form()->labelForField(kindRow))) label->setBuddy(kind_);

  labelColumn_ = makeCombo("labelColumn");
  addRow("Label column", labelColumn_, "The CSV column holding the class id or name (or the regression target).");
  regression_ = new QCheckBox("Real-valued target (regression)");
  regression_->setObjectName("csvRegression");
  addRow("", regression_, "Treat the label column as a number to predict rather than a class.");

  noise_ = makeDoubleSpin("noise", 0.0, 5.0, 0.05, 3);
  addRow("Noise", noise_,
         "How much the classes overlap (jitter or spread, see docs/spec.md); overlap makes routing by region harder.");
  samples_ = makeSpin("samples", 10, 1'000'000, 500);
  samples_->setGroupSeparatorShown(true);
  addRow("Samples", samples_, "Rows generated before 20% are held out for evaluation.");
  groups_ = makeSpin("tokenGroups", 1, 64, 1);
  addRow("Tasks", groups_,
         "multi_task: how many rules (copy, reverse, sort, count, increment) the sequences follow; "
         "multi_language: how many languages (own sub-vocabularies) they are written in.");
  seed_ = makeSpin("dataSeed", 0, INT_MAX, 1);
  addRow("Data seed", seed_, "Which random draw of the rows; the same seed gives the same data everywhere.");

  connect(kind_, &QComboBox::currentIndexChanged, this, [this] {
    updateEnabled();
    emit edited(SpecField::DataKind, EditPhase::Standalone);
  });
  connect(csvButton_, &QToolButton::clicked, this, &DataSection::chooseCsvFile);
  commitOnChange(labelColumn_, SpecField::LabelColumn);
  connect(regression_, &QCheckBox::toggled, this, [this] { emit edited(SpecField::CsvRegression, EditPhase::Standalone); });
  commitOnChange(noise_, SpecField::Noise);
  commitOnChange(samples_, SpecField::Samples);
  commitOnChange(seed_, SpecField::DataSeed);
  commitOnChange(groups_, SpecField::TokenGroups);
  updateEnabled();
}

bool DataSection::tokenKind() const { return isTokenDataKind(kind_->currentData().toString().toStdString()); }

void DataSection::offerKindsFor(ModelKind model) {
  if (model == offeredFor_ && kind_->count() > 0) return;
  offeredFor_ = model;
  const QSignalBlocker block(kind_);
  kind_->clear();
  const auto& kinds = model == ModelKind::Transformer ? tokenDataKindNames() : dataKindNames();
  for (const auto& kind : kinds)
    if (kind != kCsv) kind_->addItem(dataKindLabel(kind), QString::fromStdString(kind));
  if (model == ModelKind::Mlp && !csvPath_.empty()) {
    const std::string path = csvPath_;
    csvPath_.clear();
    setCsvPath(path);
  }
}

void DataSection::setCsvPath(const std::string& path) {
  csvPath_ = path;
  const QSignalBlocker blockKind(kind_);
  const QSignalBlocker blockColumns(labelColumn_);
  int csvIndex = kind_->findData(QString(kCsv));
  if (path.empty()) {
    if (csvIndex >= 0) kind_->removeItem(csvIndex);
    labelColumn_->clear();
    return;
  }
  const QString label = "CSV: " + QFileInfo(QString::fromStdString(path)).fileName();
  if (csvIndex < 0) {
    kind_->addItem(label, QString(kCsv));
    csvIndex = kind_->count() - 1;
  }
  kind_->setItemText(csvIndex, label);
  kind_->setItemData(csvIndex, QString::fromStdString(path), Qt::ToolTipRole);
  labelColumn_->clear();
  for (const auto& column : csvColumns(path)) labelColumn_->addItem(QString::fromStdString(column));
}

void DataSection::showSpec(const Spec& spec, int) {
  const DataSpec& d = spec.data;
  offerKindsFor(spec.model.kind);
  if (!d.csvPath.empty() && d.csvPath != csvPath_) setCsvPath(d.csvPath);
  {
    const QSignalBlocker block(kind_);
    kind_->setCurrentIndex(kind_->findData(QString::fromStdString(d.kind)));
  }
  {
    const QSignalBlocker block(labelColumn_);
    if (!d.labelColumn.empty() && labelColumn_->findText(QString::fromStdString(d.labelColumn)) < 0)
      labelColumn_->addItem(QString::fromStdString(d.labelColumn));  // a column the file no longer has
    labelColumn_->setCurrentText(QString::fromStdString(d.labelColumn));
  }
  {
    const QSignalBlocker block(regression_);
    regression_->setChecked(d.regression);
  }
  setQuietly(noise_, d.noise);
  setQuietly(samples_, d.samples);
  setQuietly(seed_, static_cast<int>(std::min<uint64_t>(d.seed, INT_MAX)));
  setQuietly(groups_, d.kind == "multi_language" ? d.languages : d.tasks);
  updateEnabled();
}

void DataSection::writeTo(Spec& spec, int, std::vector<std::string>&) const {
  DataSpec& d = spec.data;
  d.kind = kind_->currentData().toString().toStdString();
  const bool csv = d.kind == kCsv;
  d.csvPath = csv ? csvPath_ : std::string();
  d.labelColumn = csv ? labelColumn_->currentText().toStdString() : std::string();
  d.regression = csv && regression_->isChecked();
  d.noise = noise_->value();
  d.samples = samples_->value();
  if (d.kind == "multi_task") d.tasks = groups_->value();
  if (d.kind == "multi_language") d.languages = groups_->value();
  // The box holds at most INT_MAX: keep a larger seed from a file unless the box was edited.
  if (static_cast<uint64_t>(seed_->value()) != std::min<uint64_t>(d.seed, INT_MAX)) d.seed = seed_->value();
}

QWidget* DataSection::fieldForKey(const std::string& key) const {
  if (key == "kind" || key == "csv_path") return kind_;
  if (key == "label_column") return labelColumn_;
  if (key == "regression") return regression_;
  if (key == "noise") return noise_;
  if (key == "samples") return samples_;
  if (key == "seed") return seed_;
  if (key == "tasks" || key == "languages") return groups_;
  return nullptr;
}

void DataSection::useCsvFile(const QString& path) {
  setCsvPath(path.toStdString());
  {
    const QSignalBlocker block(labelColumn_);
    labelColumn_->setCurrentText(guessLabelColumn(csvColumns(csvPath_)));
  }
  const QSignalBlocker block(kind_);
  kind_->setCurrentIndex(kind_->findData(QString(kCsv)));
  updateEnabled();
  emit edited(SpecField::CsvFile, EditPhase::Standalone);
}

void DataSection::chooseCsvFile() {
  const QString start = csvPath_.empty() ? QString() : QFileInfo(QString::fromStdString(csvPath_)).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, "Train on a CSV file", start, "CSV files (*.csv);;All files (*)");
  if (!path.isEmpty()) useCsvFile(path);
}

void DataSection::updateEnabled() {
  const bool csv = kind_->currentData().toString() == kCsv;
  setRowVisible(labelColumn_, csv);
  setRowVisible(regression_, csv);
  // A CSV file brings its own rows: noise and sample count do not apply.
  noise_->setEnabled(!csv);
  samples_->setEnabled(!csv);
  // Token streams: a Transformer reads no CSV file; the group count names what it counts.
  const bool tokens = tokenKind();
  csvButton_->setVisible(offeredFor_ == ModelKind::Mlp);
  setRowVisible(groups_, tokens);
  if (auto* label = qobject_cast<QLabel*>(form()->labelForField(groups_)))
    label->setText(kind_->currentData().toString() == "multi_language" ? "Languages" : "Tasks");
  noise_->setToolTip(tokens ? "multi_task: the share of targets corrupted; multi_language: how often a sequence "
                              "switches language."
                            : "How much the classes overlap (jitter or spread, see docs/spec.md); overlap makes "
                              "routing by region harder.");
  samples_->setToolTip(tokens ? "Sequences generated before 20% are held out for evaluation."
                              : "Rows generated before 20% are held out for evaluation.");
}

}  // namespace rl::ui
