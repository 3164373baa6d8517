// InterruptWatcher: turns Ctrl-C (SIGINT) or SIGTERM during a streaming call into
// grpc::ClientContext::TryCancel(), so that the blocked Read() returns and `run` / `watch` can
// detach (or cancel the job) cleanly instead of dying mid-line.
//
// The signal handler only sets a flag and writes one byte to a self-pipe, both async-signal-safe;
// a watcher thread waits on the pipe and does the real work outside the handler. The handler is
// installed with SA_RESETHAND, so a second Ctrl-C gets the default action and ends the process
// at once if detaching itself hangs.
//
// Ownership: `context` (or what `on_interrupt` touches) is borrowed and must outlive the watcher.
// The signal dispositions are process-wide, so at most one InterruptWatcher may exist at a time;
// the destructor restores the previous dispositions. Thread-safety: construct and destroy on one
// thread; interrupted() may be called from any thread.
#ifndef SGDSPECTRA_CLIENT_INTERRUPT_WATCHER_H_
#define SGDSPECTRA_CLIENT_INTERRUPT_WATCHER_H_

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <functional>
#include <thread>

namespace sgdspectra::client {

class InterruptWatcher {
 public:
  explicit InterruptWatcher(grpc::ClientContext* context);
  // Calls `on_interrupt` on the watcher's thread (not in the handler) at each SIGINT/SIGTERM;
  // it must be thread-safe and not block (e.g. cancel calls, set a flag).
  explicit InterruptWatcher(std::function<void()> on_interrupt);
  ~InterruptWatcher();

  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  // True once SIGINT or SIGTERM arrived while this watcher was active.
  bool interrupted() const;

 private:
  void WaitForSignal();

  const std::function<void()> on_interrupt_;
  int pipe_read_fd_ = -1;
  int pipe_write_fd_ = -1;
  struct sigaction previous_sigint_ {};
  struct sigaction previous_sigterm_ {};
  std::thread watcher_thread_;
};

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_INTERRUPT_WATCHER_H_
