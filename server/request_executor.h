// RequestExecutor: a few threads for the parts of RPCs that may block (SQLite writes with
// fsync, regenerating a test sample), so that gRPC's callback threads never do.
//
// Tasks run in FIFO order on any of the threads. Shutdown() runs every task already posted,
// then joins; tasks posted after Shutdown() run inline on the caller so that no reactor is
// left without its Finish.
//
// Ownership: owns its threads. Thread-safety: Post and Shutdown are thread-safe.
#ifndef SGDSPECTRA_SERVER_REQUEST_EXECUTOR_H_
#define SGDSPECTRA_SERVER_REQUEST_EXECUTOR_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sgdspectra::server {

class RequestExecutor {
 public:
  explicit RequestExecutor(int num_threads);
  ~RequestExecutor();  // Shutdown()
  RequestExecutor(const RequestExecutor&) = delete;
  RequestExecutor& operator=(const RequestExecutor&) = delete;

  void Post(std::function<void()> task);
  void Shutdown();

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable task_ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_REQUEST_EXECUTOR_H_
