#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra {

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunTasks() {
  // Called with mutex_ held; releases it while running each task.
  std::unique_lock<std::mutex> lock(mutex_, std::adopt_lock);
  while (next_index_ < end_index_) {
    const long i = next_index_++;
    const auto* fn = fn_;
    lock.unlock();
    (*fn)(i);
    lock.lock();
  }
  lock.release();
}

void ThreadPool::WorkerLoop() {
  long seen_generation = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
    if (stopping_) return;
    seen_generation = generation_;
    ++active_workers_;
    lock.release();
    RunTasks();
    lock = std::unique_lock<std::mutex>(mutex_, std::adopt_lock);
    if (--active_workers_ == 0) work_done_.notify_all();
  }
}

void ThreadPool::ParallelFor(long n, const std::function<void(long)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (long i = 0; i < n; ++i) fn(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  fn_ = &fn;
  next_index_ = 0;
  end_index_ = n;
  ++generation_;
  work_ready_.notify_all();
  lock.release();
  RunTasks();
  lock = std::unique_lock<std::mutex>(mutex_, std::adopt_lock);
  // Tasks are all claimed; wait for workers still running theirs. A worker that wakes late
  // finds no tasks and leaves without touching fn_.
  work_done_.wait(lock, [&] { return active_workers_ == 0; });
  fn_ = nullptr;
}

}  // namespace sgdspectra
