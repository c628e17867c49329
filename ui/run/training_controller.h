#pragma once
// TrainingController: a QObject living on its own QThread that owns the Session. Commands arrive
// as queued slot calls; results leave as immutable RunSnapshots (published at most ~30 times a
// second while playing, and after every command). The UI never touches the Session.
#include <QObject>
#include <QString>
#include <memory>

#include "run/run_snapshot.h"
#include "spec/spec.h"
#include "train/hidden_states.h"

namespace rl::ui {

using HiddenStatesPtr = std::shared_ptr<const rl::HiddenStates>;

class TrainingController : public QObject {
  Q_OBJECT
 public:
  // backend: "auto", "vulkan" or "cpu" (as routelab-cli --backend).
  explicit TrainingController(QString backend = "auto", QObject* parent = nullptr);
  ~TrainingController() override;

  // Thread-safe: the latest published snapshot (never null after the first reset()).
  RunSnapshotPtr latest() const;

 public slots:
  // Builds a fresh session from spec (weights initialised from its seed); history cleared.
  void reset(const rl::Spec& spec);
  // Rebuilds the session from an edited spec, keeping every weight whose name and shape still
  // fit (adding an expert keeps the others); optimizer state restarts; history continues.
  void applySpec(const rl::Spec& spec);
  void play();
  // Takes effect within one step. Thread-safe: also callable directly from the UI thread (it
  // sets an atomic flag the play loop checks between steps).
  void pause();
  void stepOnce();       // exactly one step, then a snapshot
  void stepN(int n);     // n steps, then a snapshot
  void setSpeed(int stepsPerSecond);  // 0 = as fast as possible
  void rewindTo(int step);  // restore the snapshot at that step; later history is dropped
  void forkAt(int step);    // keep the current run as a comparison, continue from that snapshot
  void clearComparisons();
  // Project files (spec, weights, optimizer state, metric history), written atomically.
  void saveProject(const QString& path);
  void openProject(const QString& path);  // on error nothing changes and error() is emitted
  // Writes config.json, weights.safetensors, metrics.csv and summary.json into dir, exactly as
  // routelab-cli train does (rl::writeRunOutputs).
  void exportRun(const QString& dir);
  // Reads the current model's hidden states of the first maxRows held-out rows at a MoE layer
  // (Session::hiddenStates; side: 0 input, 1 output) and emits hiddenStatesReady, or
  // hiddenStatesFailed with the reason. The run itself is not affected.
  void requestHiddenStates(int moeLayer, int side, int maxRows);

 signals:
  void published(rl::ui::RunSnapshotPtr snapshot);
  void error(QString message);   // bad input, failed build, I/O; the run is unchanged
  void diverged(QString message);  // NaN/Inf: the run paused
  void projectSaved(QString path);
  void projectOpened(QString path);
  void runExported(QString dir);
  void hiddenStatesReady(rl::ui::HiddenStatesPtr states);
  void hiddenStatesFailed(QString message);

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace rl::ui

Q_DECLARE_METATYPE(rl::ui::RunSnapshotPtr)
Q_DECLARE_METATYPE(rl::Spec)
Q_DECLARE_METATYPE(rl::ui::HiddenStatesPtr)
