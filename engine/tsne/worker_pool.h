#pragma once
// A tiny persistent thread pool for t-SNE's per-iteration loops: run(tasks, fn) calls fn(task) for
// task = 0..tasks-1 on the calling thread plus the workers and returns when all are done. Threads
// are kept between calls because an iteration has several parallel regions and thread creation
// (~50 us) would cost more than the work of a small one.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rl::tsne {

class WorkerPool {
 public:
  // threads = total threads including the caller; 0 = hardware concurrency (at least 1).
  explicit WorkerPool(unsigned threads = 0);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned threads() const { return static_cast<unsigned>(workers_.size()) + 1; }
  // Tasks are handed out in index order; each task runs exactly once. Exceptions from fn are
  // rethrown on the caller (the first one).
  void run(size_t tasks, const std::function<void(size_t)>& fn);
  // [begin, end) split into threads() contiguous chunks: fn(chunk, begin, end).
  void forRange(size_t count, const std::function<void(unsigned chunk, size_t begin, size_t end)>& fn);

 private:
  void workerLoop();
  void drain();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t tasks_ = 0, next_ = 0, finished_ = 0;
  unsigned long generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace rl::tsne
