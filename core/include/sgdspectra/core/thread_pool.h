// ThreadPool: a fixed set of worker threads that run index ranges of a parallel loop.
//
// Determinism: ParallelFor(n, fn) calls fn(i) exactly once for every i in [0, n); which thread
// runs which i is unspecified. Callers keep results bit-identical across thread counts by
// making every fn(i) write only its own output and by reducing partial results in index order.
//
// Ownership: the pool owns its threads and joins them in the destructor. Thread-safety:
// ParallelFor may be called from one thread at a time per pool (it is not reentrant).
#ifndef SGDSPECTRA_CORE_THREAD_POOL_H_
#define SGDSPECTRA_CORE_THREAD_POOL_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sgdspectra {

class ThreadPool {
 public:
  // num_threads >= 1 counts the calling thread: a pool of 1 runs everything inline.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(i) for i in [0, n) and returns when all calls have finished.
  void ParallelFor(long n, const std::function<void(long)>& fn);

 private:
  void WorkerLoop();
  void RunTasks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(long)>* fn_ = nullptr;
  long next_index_ = 0;
  long end_index_ = 0;
  long active_workers_ = 0;
  long generation_ = 0;
  bool stopping_ = false;
};

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_THREAD_POOL_H_
