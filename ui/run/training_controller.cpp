#include "run/training_controller.h"

#include <QThread>
#include <QTimer>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

#include "backend/factory.h"
#include "run/history_point.h"
#include "run/input_map.h"
#include "run/metatypes.h"
#include "run/metric_history.h"
#include "run/project_file.h"
#include "run/snapshot_store.h"
#include "run/step_pacer.h"
#include "run/token_routing_probe.h"
#include "spec/spec_names.h"
#include "train/run_record.h"
#include "train/weight_transfer.h"

namespace rl::ui {

namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

// Play runs steps in batches of at most this much work, so queued commands wait at most this long.
constexpr auto kBatchBudget = std::chrono::milliseconds(10);
constexpr double kPublishInterval = 0.033;  // seconds: at most ~30 snapshots a second
constexpr double kViewsInterval = 0.25;     // seconds: probe and input map refresh while playing
// While playing, building snapshots (copying a history of thousands of points) and refreshing the
// probe and input map may each take at most this share of the time; on a slow or busy machine
// they happen less often rather than slow training down.
constexpr double kPublishShare = 0.05;
// Held-out evaluation runs every kMinEvalEvery steps, or more rarely when it would otherwise cost
// more than kEvalShare of the training time (large held-out splits, slow backends).
constexpr int kMinEvalEvery = 25;
constexpr double kEvalShare = 0.05;
constexpr int kInputMapResolution = 64;

double seconds(Clock::time_point since) { return Seconds(Clock::now() - since).count(); }

// Exponential moving average, seeded by the first sample.
void average(double& avg, double sample) { avg = avg > 0 ? 0.9 * avg + 0.1 * sample : sample; }

std::string describeNonFinite(const StepMetrics& m) {
  auto what = [](double v) { return std::isnan(v) ? std::string("NaN") : std::string(v > 0 ? "+inf" : "-inf"); };
  std::string s = "diverged at step " + std::to_string(m.step) + ": ";
  if (!std::isfinite(m.loss))
    s += "loss is " + what(m.loss);
  else
    s += "gradient norm is " + what(m.gradNorm);
  return s + " — lower the learning rate and apply, or rewind to an earlier step";
}

std::vector<int> expertsPerLayer(const BuiltModel& model) {
  std::vector<int> e;
  for (const auto& L : model.moeLayers) e.push_back(L.experts);
  return e;
}

}  // namespace

struct TrainingController::Impl {
  explicit Impl(TrainingController* owner, QString backend) : q(owner), backendText(std::move(backend)) {}

  TrainingController* q;
  QString backendText;
  QTimer* timer = nullptr;
  QThread* timerThread = nullptr;  // the thread whose end stops the timer

  // The run.
  std::unique_ptr<Session> session;
  std::shared_ptr<const Spec> spec;  // the session's spec, shared with the snapshots taken from it
  InputMapExtent extent;
  MetricHistory history;
  SnapshotStore snapshots;
  std::vector<ComparisonRun> comparisons;
  std::vector<CollapseDetector> detectors;  // one per MoE layer, fed every step
  int runNumber = 1;
  bool diverged = false;
  std::string message;

  // Latest values and when they were computed.
  StepMetrics latest;
  EvalMetrics latestEval;
  Probe probe;
  InputMap inputMap;
  std::optional<TokenRouting> tokenRouting;  // Transformer models: from the probe
  int evalStep = -1, viewsStep = -1;
  Clock::time_point viewsAt{};

  // Play.
  bool playing = false;
  long stepsToGo = -1;  // stepN: steps left; -1 while playing without end
  std::atomic<bool> pauseRequested{false};
  int speed = 0;
  StepPacer pacer;
  RateMeter rate;
  Clock::time_point lastPublish{};
  double publishSeconds = 0, viewsSeconds = 0;  // measured costs

  // Costs, for the eval schedule and exported timing.
  double stepSeconds = 0, evalSeconds = 0, trainingSeconds = 0;
  long timedSteps = 0;
  int evalEvery = kMinEvalEvery;

  mutable std::mutex mutex;
  RunSnapshotPtr published;

  // --- building ---------------------------------------------------------------------------------
  std::unique_ptr<Session> build(const Spec& s) const {
    return std::make_unique<Session>(s, createBackend(parseBackendChoice(backendText.toStdString())));
  }

  void adopt(std::unique_ptr<Session> s) {
    session = std::move(s);
    spec = std::make_shared<const Spec>(session->spec());
    extent = inputExtent(session->data());
    evalStep = viewsStep = -1;
    tokenRouting.reset();  // it describes the previous model's layers
    stepSeconds = evalSeconds = 0;
    evalEvery = kMinEvalEvery;
  }

  void freshDetectors() { detectors.assign(session->model().moeLayers.size(), CollapseDetector()); }

  void takeSnapshot() { snapshots.add({session->snapshot(), spec, detectors}); }

  // The latest step metrics as the history recorded them (after a rewind or an open).
  void latestFromHistory() {
    latest = history.points().empty() ? StepMetrics{} : stepMetricsFrom(history.points().back());
    latest.step = session->stepCount();
  }

  // --- stepping ---------------------------------------------------------------------------------
  // One training step and its bookkeeping. False when the run diverged (and has been paused).
  bool runStep() {
    const auto t0 = Clock::now();
    StepMetrics m = session->step();
    const double dt = seconds(t0);
    average(stepSeconds, dt);
    trainingSeconds += dt;
    ++timedSteps;
    latest = m;
    if (!m.finite) {
      diverge(m);
      return false;
    }
    for (size_t l = 0; l < detectors.size() && l < m.moe.size(); ++l) detectors[l].add(m.step, m.moe[l].load);
    history.add(historyPointFrom(m));
    if (m.step - evalStep >= evalEvery) evaluate();
    if (snapshots.due(m.step)) takeSnapshot();
    return true;
  }

  void evaluate() {
    const auto t0 = Clock::now();
    latestEval = session->evaluate();
    average(evalSeconds, seconds(t0));
    evalStep = session->stepCount();
    // A point keeps its first evaluation: after an edit the rebuilt model is evaluated at the same
    // step, but the point belongs to the model that took the step.
    if (HistoryPoint* p = history.latest(); p && p->step == evalStep && !hasEvaluation(*p))
      attachEvaluation(*p, latestEval);
    if (stepSeconds > 0)
      evalEvery = std::max(kMinEvalEvery, static_cast<int>(std::ceil(evalSeconds / (kEvalShare * stepSeconds))));
  }

  void refreshViews() {
    const auto t0 = Clock::now();
    probe = session->probe();
    inputMap = computeInputMap(*session, extent, kInputMapResolution);
    tokenRouting.reset();
    if (session->transformer()) {
      try {
        tokenRouting = tokenRoutingFromProbe(probe, session->tokens().test.tokenNames);
      } catch (const std::exception& e) {
        message = std::string("token routing: ") + e.what();  // the view shows its own note meanwhile
      }
    }
    viewsStep = session->stepCount();
    viewsAt = Clock::now();
    average(viewsSeconds, seconds(t0));
  }

  bool publishDue() const {
    return seconds(lastPublish) >= std::max(kPublishInterval, publishSeconds / kPublishShare);
  }
  bool viewsDue() const { return seconds(viewsAt) >= std::max(kViewsInterval, viewsSeconds / kPublishShare); }

  void diverge(const StepMetrics& m) {
    diverged = true;
    message = describeNonFinite(m);
    stop();
    publish();  // before the signal, so its slots find the paused, diverged run in latest()
    emit q->diverged(QString::fromStdString(message));
  }

  // --- play -------------------------------------------------------------------------------------
  void start(long steps) {
    if (diverged) {
      publish();
      emit q->diverged(QString::fromStdString(message));
      return;
    }
    stopTimerWithThread();
    playing = true;
    stepsToGo = steps;
    pacer.start(steps < 0 ? speed : 0, Clock::now());
    rate.clear();
    rate.record(Clock::now(), session->stepCount());
    timer->start(0);
  }

  // If the owner ends our thread while playing, the timer must stop on this thread before its
  // event dispatcher goes (stopping it later from another thread is not allowed).
  void stopTimerWithThread() {
    if (timerThread == QThread::currentThread()) return;
    timerThread = QThread::currentThread();
    QObject::connect(timerThread, &QThread::finished, timer, &QTimer::stop, Qt::DirectConnection);
  }

  void stop() {
    playing = false;
    stepsToGo = -1;
    timer->stop();
    rate.clear();
  }

  void tick() {
    if (!playing) return;
    const auto begin = Clock::now();
    long allowed = std::min<long>(pacer.allowed(begin), stepsToGo < 0 ? 1L << 40 : stepsToGo);
    long ran = 0;
    bool ok = true;
    while (ran < allowed && !pauseRequested.load() && (ran == 0 || Clock::now() - begin < kBatchBudget)) {
      ok = runStep();
      ++ran;
      if (!ok) break;
    }
    pacer.took(ran);
    rate.record(Clock::now(), session->stepCount());
    if (stepsToGo > 0) stepsToGo -= ran;
    if (!ok) return;  // diverge() stopped and published
    if (pauseRequested.load() || stepsToGo == 0) {
      stop();
      publish();
      return;
    }
    if (publishDue()) publish();
    timer->start(pacer.msUntilNext(Clock::now()));
  }

  // --- publishing -------------------------------------------------------------------------------
  void publish() {
    const int step = session->stepCount();
    if (!playing) {
      // Step mode: everything is current for the step on screen.
      if (evalStep != step && !diverged) evaluate();
      if (viewsStep != step && !diverged) refreshViews();
    } else if (viewsDue()) {
      refreshViews();
    }
    const auto t0 = Clock::now();
    auto s = std::make_shared<RunSnapshot>();
    s->spec = *spec;
    s->backendName = session->backend().name();
    s->deviceName = session->backend().device();
    s->backendReason = session->backendReason();
    s->step = step;
    s->playing = playing;
    s->stepsPerSecond = playing ? rate.stepsPerSecond() : 0;
    s->message = message;
    s->diverged = diverged;
    s->history = history.points();
    s->comparisons = comparisons;
    s->snapshotSteps = snapshots.steps();
    s->latest = latest;
    s->latestEval = latestEval;
    s->probe = probe;
    s->inputMap = inputMap;
    s->tokenRouting = tokenRouting;
    for (const auto& d : detectors) s->collapse.push_back(d.verdict());
    for (const MoeLayerInfo& L : session->model().moeLayers) {
      // Without a capacity limit the engine sizes its slots to the batch; the UI shows "unlimited".
      if (spec->model.kind == ModelKind::Transformer) {
        // The views know the MLP router types; a Transformer's token-choice router is top-k.
        const TokenRouterSpec& router = spec->model.transformer.layers.at(L.layer).router;
        const bool dense = router.type == TokenRouterType::Dense;
        const bool limited = router.capacityFactor > 0 && !dense;
        s->layers.push_back(
            {dense ? RouterType::Dense : RouterType::TopK, L.experts, L.k, limited ? L.capacity : 0, toName(router.type)});
        continue;
      }
      const RouterSpec& router = spec->model.layers.at(L.layer).router;
      const bool limited = router.capacityFactor > 0 && router.type != RouterType::Dense;
      s->layers.push_back({router.type, L.experts, L.k, limited ? L.capacity : 0});
    }
    if (session->transformer()) {
      // Classification over sequences (or next-token ids); held-out routing is counted per token
      // by its task or language.
      const TokenDataset& tokens = session->tokens().train;
      s->classes = tokens.classes;
      const bool tasks = !tokens.taskNames.empty();
      s->groupKind = tasks ? "task" : "language";
      s->groupNames = tasks ? tokens.taskNames : tokens.languageNames;
    } else {
      const Dataset& train = session->data().train;
      s->classes = train.regression ? 0 : train.classes;
    }

    RunSnapshotPtr ptr = std::move(s);
    {
      std::lock_guard<std::mutex> lock(mutex);
      published = ptr;
    }
    emit q->published(ptr);
    lastPublish = Clock::now();
    average(publishSeconds, seconds(t0));
  }

  // --- rewind / fork ----------------------------------------------------------------------------
  // Continues from a stored snapshot: rebuilds the model when the snapshot belongs to another
  // spec, drops later history. Throws (nothing changed) when the rebuild fails.
  void restoreFrom(const StoredSnapshot& stored) {
    if (stored.spec != spec) {
      auto rebuilt = build(*stored.spec);
      rebuilt->restore(stored.state);
      const auto keepSpec = stored.spec;
      adopt(std::move(rebuilt));
      spec = keepSpec;  // the snapshots taken under it stay recognisable
    } else {
      session->restore(stored.state);
    }
    detectors = stored.detectors;
    const int step = stored.state.step;
    history.truncateAfter(step);
    snapshots.truncateAfter(step);
    diverged = false;
    evalStep = viewsStep = -1;
    latestFromHistory();
  }

  const StoredSnapshot* snapshotFor(int step) {
    const StoredSnapshot* s = snapshots.atOrBefore(step);
    if (!s) emit q->error(QString("No snapshot at or before step %1 to go back to.").arg(step));
    return s;
  }
};

TrainingController::TrainingController(QString backend, QObject* parent)
    : QObject(parent), d_(std::make_unique<Impl>(this, std::move(backend))) {
  registerMetaTypes();
  d_->timer = new QTimer(this);  // a child, so it moves to the controller's thread with it
  d_->timer->setSingleShot(true);
  connect(d_->timer, &QTimer::timeout, this, [this] { d_->tick(); });
}

TrainingController::~TrainingController() = default;

RunSnapshotPtr TrainingController::latest() const {
  std::lock_guard<std::mutex> lock(d_->mutex);
  return d_->published;
}

void TrainingController::reset(const rl::Spec& spec) {
  std::unique_ptr<Session> fresh;
  try {
    fresh = d_->build(spec);
  } catch (const std::exception& e) {
    emit error(QString("Cannot build the model: %1").arg(e.what()));
    return;
  }
  d_->stop();
  d_->adopt(std::move(fresh));
  d_->history.clear();
  d_->comparisons.clear();
  d_->snapshots.clear();
  d_->freshDetectors();
  d_->runNumber = 1;
  d_->diverged = false;
  d_->message = "new run: " + (spec.name.empty() ? std::string("custom spec") : spec.name);
  d_->latest = StepMetrics{};
  d_->trainingSeconds = 0;
  d_->timedSteps = 0;
  d_->takeSnapshot();
  d_->publish();
}

void TrainingController::applySpec(const rl::Spec& spec) {
  if (!d_->session) return reset(spec);
  try {
    auto rebuilt = d_->build(spec);
    // A diverged run's weights are not finite: carry over the last snapshot's instead.
    if (d_->diverged && d_->snapshots.newest()) d_->restoreFrom(*d_->snapshots.newest());
    const WeightTransferReport report = transferWeights(d_->session->exportWeights(), *rebuilt);
    rebuilt->continueStepsFrom(d_->session->stepCount());
    const auto oldExperts = expertsPerLayer(d_->session->model());
    d_->adopt(std::move(rebuilt));
    // A layer whose expert count changed starts its collapse detection afresh.
    const auto newExperts = expertsPerLayer(d_->session->model());
    d_->detectors.resize(newExperts.size());
    // ... and has no per-expert metrics until its first step (the old ones describe other experts).
    d_->latest.moe.resize(newExperts.size());
    for (size_t l = 0; l < newExperts.size(); ++l)
      if (l >= oldExperts.size() || oldExperts[l] != newExperts[l]) {
        d_->detectors[l] = CollapseDetector();
        d_->latest.moe[l] = MoeMetrics{};
      }
    d_->diverged = false;
    d_->message = "applied at step " + std::to_string(d_->session->stepCount()) + ": " + describe(report) +
                  "; optimizer restarted";
    d_->takeSnapshot();
  } catch (const std::exception& e) {
    emit error(QString("Cannot apply the edit: %1").arg(e.what()));
    return;
  }
  d_->publish();
}

void TrainingController::play() {
  if (!d_->session) return;
  if (d_->playing && d_->stepsToGo < 0) return;
  d_->start(-1);
  d_->publish();
}

void TrainingController::pause() {
  if (QThread::currentThread() != thread()) {
    // From the UI thread: stop the play loop before its next step, then finish on our thread.
    d_->pauseRequested = true;
    QMetaObject::invokeMethod(this, &TrainingController::pause, Qt::QueuedConnection);
    return;
  }
  d_->pauseRequested = false;
  if (!d_->session) return;
  d_->stop();
  d_->publish();
}

void TrainingController::stepOnce() { stepN(1); }

void TrainingController::stepN(int n) {
  if (!d_->session || n <= 0) return;
  d_->stop();
  if (d_->diverged) return d_->start(n);  // re-emits diverged
  if (n == 1) {
    if (d_->runStep()) d_->publish();  // else diverge() published
    return;
  }
  d_->start(n);  // in batches, so Pause and other commands still get through
}

void TrainingController::setSpeed(int stepsPerSecond) {
  d_->speed = std::max(0, stepsPerSecond);
  if (d_->playing && d_->stepsToGo < 0) d_->pacer.start(d_->speed, Clock::now());
}

void TrainingController::rewindTo(int step) {
  if (!d_->session) return;
  const StoredSnapshot* s = d_->snapshotFor(step);
  if (!s) return;
  try {
    const int at = s->state.step;
    d_->restoreFrom(*s);
    d_->message = "rewound to step " + std::to_string(at);
  } catch (const std::exception& e) {
    emit error(QString("Cannot rewind: %1").arg(e.what()));
    return;
  }
  d_->publish();
}

void TrainingController::forkAt(int step) {
  if (!d_->session) return;
  const StoredSnapshot* s = d_->snapshotFor(step);
  if (!s) return;
  const int at = s->state.step;
  ComparisonRun previous{"run " + std::to_string(d_->runNumber) + ", forked at step " + std::to_string(at),
                         d_->history.points()};
  try {
    d_->restoreFrom(*s);
  } catch (const std::exception& e) {
    emit error(QString("Cannot fork: %1").arg(e.what()));
    return;
  }
  d_->comparisons.push_back(std::move(previous));
  ++d_->runNumber;
  d_->message = "run " + std::to_string(d_->runNumber) + " forked at step " + std::to_string(at);
  d_->publish();
}

void TrainingController::clearComparisons() {
  d_->comparisons.clear();
  if (d_->session) d_->publish();
}

void TrainingController::saveProject(const QString& path) {
  if (!d_->session) return;
  try {
    writeProjectFile(path.toStdString(), captureProject(*d_->session, d_->history.points(), d_->comparisons));
  } catch (const std::exception& e) {
    emit error(QString("Cannot save the project: %1").arg(e.what()));
    return;
  }
  d_->message = "saved " + path.toStdString();
  d_->publish();  // first, so a slot reacting to the signal finds the new state in latest()
  emit projectSaved(path);
}

void TrainingController::openProject(const QString& path) {
  std::unique_ptr<Session> opened;
  ProjectState state;
  try {
    // Everything is read, checked and built before the current run is touched.
    state = readProjectFile(path.toStdString());
    opened = restoreSession(state, createBackend(parseBackendChoice(d_->backendText.toStdString())),
                            path.toStdString());
  } catch (const std::exception& e) {
    emit error(QString("Cannot open the project: %1").arg(e.what()));
    return;
  }
  d_->stop();
  d_->adopt(std::move(opened));
  d_->history.assign(std::move(state.history));
  d_->comparisons = std::move(state.comparisons);
  d_->runNumber = static_cast<int>(d_->comparisons.size()) + 1;
  // Collapse detection resumes from the saved (possibly thinned) history.
  d_->freshDetectors();
  const auto experts = expertsPerLayer(d_->session->model());
  for (const HistoryPoint& p : d_->history.points())
    for (size_t l = 0; l < d_->detectors.size() && l < p.layers.size(); ++l)
      if (static_cast<int>(p.layers[l].load.size()) == experts[l]) d_->detectors[l].add(p.step, p.layers[l].load);
  d_->snapshots.clear();
  d_->takeSnapshot();
  d_->diverged = false;
  d_->trainingSeconds = 0;
  d_->timedSteps = 0;
  d_->latestFromHistory();
  d_->message = "opened " + path.toStdString();
  d_->publish();  // first, so a slot reacting to the signal finds the new state in latest()
  emit projectOpened(path);
}

void TrainingController::exportRun(const QString& dir) {
  if (!d_->session) return;
  try {
    const RunRecord record = runRecordFrom(d_->history.points(), expertsPerLayer(d_->session->model()));
    const double ms = d_->timedSteps ? 1000.0 * d_->trainingSeconds / d_->timedSteps : 0;
    const std::string status = d_->diverged ? d_->message : "stopped at step " + std::to_string(d_->session->stepCount());
    writeRunOutputs(dir.toStdString(), *d_->session, record, {ms, d_->trainingSeconds}, status);
  } catch (const std::exception& e) {
    emit error(QString("Cannot export the run: %1").arg(e.what()));
    return;
  }
  d_->message = "exported to " + dir.toStdString();
  d_->publish();  // first, so a slot reacting to the signal finds the new state in latest()
  emit runExported(dir);
}

void TrainingController::requestHiddenStates(int moeLayer, int side, int maxRows) {
  if (!d_->session) return;
  try {
    auto states = std::make_shared<rl::HiddenStates>(d_->session->hiddenStates(
        moeLayer, maxRows, static_cast<rl::HiddenSide>(std::clamp(side, 0, 2))));
    emit hiddenStatesReady(std::move(states));
  } catch (const std::exception& e) {
    emit hiddenStatesFailed(QString::fromStdString(e.what()));
  }
}

}  // namespace rl::ui
