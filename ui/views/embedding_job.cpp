#include "views/embedding_job.h"

#include <QMetaObject>
#include <QPointer>
#include <exception>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace rl::ui {

EmbeddingJob::EmbeddingJob(QObject* parent) : QObject(parent) {}

EmbeddingJob::~EmbeddingJob() {
  if (!thread_) return;
  cancel_->store(true);
  thread_->wait();
  delete thread_;
}

bool EmbeddingJob::start(HiddenStatesPtr states, tsne::TsneOptions options, std::vector<float> init) {
  if (thread_ || !states) return false;
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  auto cancel = cancel_;
  QPointer<EmbeddingJob> self(this);
  // The worker owns copies of everything it reads; it reports through queued calls that are
  // dropped if the job is gone by then.
  thread_ = QThread::create([self, states, options, init = std::move(init), cancel] {
#ifdef __linux__
    // QThread priorities do not apply to Linux's normal scheduling class; a nice value does (per
    // thread, inherited by the t-SNE's own worker threads), so training keeps the CPU it needs.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
    auto out = std::make_shared<EmbeddingResult>();
    out->states = states;
    out->method = options.method;
    out->perplexity = options.perplexity;
    out->warmStart = !init.empty();
    try {
      const tsne::MatrixView x{states->x.data(), static_cast<size_t>(states->rows), static_cast<size_t>(states->dim)};
      auto report = [self](const tsne::TsneProgress& p) {
        QMetaObject::invokeMethod(
            self.data(), [self, p] { if (self) emit self->progress(p.iteration, p.iterations); }, Qt::QueuedConnection);
      };
      out->result = tsne::embed(x, options, init, report, cancel.get());
    } catch (const std::exception& e) {
      out->error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(self.data(), [self, out] { if (self) self->deliver(out); }, Qt::QueuedConnection);
  });
  thread_->setObjectName("routelab-embedding");
  thread_->start(QThread::LowPriority);
  return true;
}

void EmbeddingJob::cancel() {
  if (cancel_) cancel_->store(true);
}

void EmbeddingJob::deliver(std::shared_ptr<EmbeddingResult> result) {
  if (thread_) {
    thread_->wait();  // it has finished its work: this returns at once
    delete thread_;
    thread_ = nullptr;
  }
  emit finished(*result);
}

}  // namespace rl::ui
