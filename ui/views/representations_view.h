#pragma once
// RepresentationsView: the "Representations" dock. A t-SNE (or PCA) of the hidden states of a
// fixed probe set (the first held-out rows) at a chosen MoE layer, drawn by the Vulkan point-cloud
// view with its ImGui overlays (colour by chosen expert per layer or class, legend, zoom, pan,
// hover, lasso). The hidden states come from the training thread (hiddenStatesRequested → the
// controller → showHiddenStates); the embedding runs on its own thread with progress and Cancel.
// Refresh on demand (F5) or every N steps while training; a refresh of the same rows starts from
// the previous embedding (t-SNE warm start) and the points glide to their new places.
#include <QElapsedTimer>
#include <QString>
#include <QVector>
#include <QWidget>
#include <memory>
#include <vector>

#include "run/run_snapshot.h"
#include "run/training_controller.h"
#include "tsne/tsne.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QSpinBox;
class QToolButton;
class QStackedWidget;

namespace rl::ui {

class EmbeddingJob;
class PointCloudView;
struct EmbeddingResult;

class RepresentationsView : public QWidget {
  Q_OBJECT
 public:
  explicit RepresentationsView(QWidget* parent = nullptr);
  ~RepresentationsView() override;

  QString title() const { return QStringLiteral("Representations"); }
  // At display rate: follows the model's MoE layers and triggers the automatic refreshes.
  void showSnapshot(const RunSnapshot& snapshot);

  PointCloudView* cloudView() const { return view_; }
  // Step of the hidden states on screen (-1: none yet); busy while fetching or embedding.
  int shownStep() const { return shownStep_; }
  bool busy() const { return fetching_ || embedding_; }
  QString statusText() const;
  HiddenStatesPtr shownStates() const { return shown_; }

  // Representation: MoE layer and side (rl::HiddenSide: 0 input, 1 output, 2 the residual stream
  // after the block, offered for Transformers).
  int layer() const;
  int side() const;
  void setRepresentation(int layer, int side);
  void setMethod(tsne::Method method);
  tsne::Method method() const { return method_; }
  void setAutoRefresh(bool on, int everySteps);
  bool autoRefresh() const;
  void setMaxRows(int rows) { maxRows_ = rows; }
  // t-SNE iterations of a fresh embedding and of a warm-started refresh.
  void setIterations(int fresh, int warm) {
    iterations_ = fresh;
    warmIterations_ = warm;
  }

  // Writes the viewport (points and overlays) as PNG; returns "" or the reason it failed.
  QString exportPng(const QString& path);

 public slots:
  // Selects the points of these held-out rows (e.g. a token clicked in the token routing view);
  // rowsSelected follows. Without an embedding on screen the rows are passed on as they are.
  void selectRows(const QVector<int>& heldOutRows);
  void refresh();  // fetch the current hidden states and embed them (queued if busy)
  void cancel();
  void showHiddenStates(rl::ui::HiddenStatesPtr states);
  void showFailure(const QString& message);

 signals:
  // To the controller: read the hidden states (side: rl::HiddenSide as int) of at most maxRows rows.
  void hiddenStatesRequested(int layer, int side, int maxRows);
  // Held-out row indices of the points selected in the cloud (lasso, click or legend).
  void rowsSelected(const QVector<int>& heldOutRows);
  // A new embedding is on screen (its glide has started), for the hidden states of `step`.
  void embeddingShown(int step);
  // A refresh ended: shown (then embeddingShown came first), failed, or cancelled.
  void refreshEnded(bool shown);

 private:
  void buildControls();
  void startEmbedding(HiddenStatesPtr states);
  void onEmbedded(const EmbeddingResult& result);
  void updateRepresentationChoices(int layers, bool stream);
  void setStatus(const QString& text);
  void exportDialog();
  int autoPauseMs() const;
  void endRefresh(bool shown);
  void saveSettings() const;
  void restoreSettings();  // after every refresh; starts a queued one

  PointCloudView* view_ = nullptr;
  EmbeddingJob* job_ = nullptr;
  QComboBox* representation_ = nullptr;
  bool choicesHaveStream_ = false;  // the choices include each block's residual stream (Transformer)
  QToolButton* refreshButton_ = nullptr;
  QCheckBox* autoBox_ = nullptr;
  QSpinBox* everySpin_ = nullptr;
  QToolButton* optionsButton_ = nullptr;
  QStackedWidget* footer_ = nullptr;
  QLabel* status_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QToolButton* cancelButton_ = nullptr;

  tsne::Method method_ = tsne::Method::Cpu;
  double perplexity_ = 30;
  int iterations_ = 750, warmIterations_ = 250;
  int maxRows_ = 2000;

  int latestStep_ = -1;      // of the last snapshot seen
  int requestedStep_ = -1;   // the snapshot step when the last refresh was asked for
  int shownStep_ = -1;
  bool fetching_ = false, embedding_ = false, refreshQueued_ = false;
  bool dropFetched_ = false;  // Cancel while the hidden states were on their way
  HiddenStatesPtr shown_;          // the states whose embedding is on screen
  std::vector<float> shownEmbedding_;
  tsne::Method shownMethod_ = tsne::Method::Cpu;
  bool haveCloud_ = false;
  QElapsedTimer sinceEmbedded_;  // since the last embedding finished
  double lastEmbedSeconds_ = 0;
};

}  // namespace rl::ui
