#pragma once
// EmbeddingJob: runs one t-SNE or PCA (engine/tsne) of a set of hidden states on its own thread,
// so neither the UI nor training waits for it. Progress and the result come back as signals on
// the job's (GUI) thread; cancel() stops it within a few iterations. One job at a time: start()
// while running is refused.
#include <QObject>
#include <QString>
#include <QThread>
#include <atomic>
#include <memory>
#include <vector>

#include "run/training_controller.h"
#include "tsne/tsne.h"

namespace rl::ui {

struct EmbeddingResult {
  HiddenStatesPtr states;
  tsne::TsneResult result;  // embedding [rows, 2]
  tsne::Method method = tsne::Method::Cpu;
  double perplexity = 0;  // the one used (t-SNE)
  bool warmStart = false;
  QString error;  // non-empty: the embedding failed (bad input, no Vulkan device, …)
};

class EmbeddingJob : public QObject {
  Q_OBJECT
 public:
  explicit EmbeddingJob(QObject* parent = nullptr);
  ~EmbeddingJob() override;  // cancels and waits for a running job

  // Embeds states->x ([rows, dim]). `init` ([rows, 2]) warm-starts a t-SNE; empty = fresh.
  // Returns false (nothing started) while another job runs.
  bool start(HiddenStatesPtr states, tsne::TsneOptions options, std::vector<float> init = {});
  void cancel();
  bool running() const { return thread_ != nullptr; }

 signals:
  void progress(int iteration, int iterations);
  void finished(const rl::ui::EmbeddingResult& result);

 private:
  void deliver(std::shared_ptr<EmbeddingResult> result);

  QThread* thread_ = nullptr;
  std::shared_ptr<std::atomic<bool>> cancel_;
};

}  // namespace rl::ui
