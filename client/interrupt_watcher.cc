#include "client/interrupt_watcher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <utility>

namespace sgdspectra::client {
namespace {

// Written by the handler, read by the watcher thread and interrupted(). Only lock-free types
// may be touched from a handler.
volatile std::sig_atomic_t g_interrupted = 0;
volatile std::sig_atomic_t g_pipe_write_fd = -1;

constexpr char kInterruptByte = 'i';
constexpr char kStopByte = 's';

extern "C" void OnInterruptSignal(int /*signal*/) {
  const int saved_errno = errno;
  g_interrupted = 1;
  const int fd = g_pipe_write_fd;
  if (fd >= 0) {
    // Non-blocking: if the pipe were full, the watcher already has a byte to wake up on.
    [[maybe_unused]] const ssize_t written = write(fd, &kInterruptByte, 1);
  }
  errno = saved_errno;
}

}  // namespace

InterruptWatcher::InterruptWatcher(grpc::ClientContext* context)
    : InterruptWatcher([context] { context->TryCancel(); }) {}

InterruptWatcher::InterruptWatcher(std::function<void()> on_interrupt)
    : on_interrupt_(std::move(on_interrupt)) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    // Without a pipe Ctrl-C keeps its default action (the process ends; the job goes on).
    return;
  }
  pipe_read_fd_ = fds[0];
  pipe_write_fd_ = fds[1];
  fcntl(pipe_write_fd_, F_SETFL, O_NONBLOCK);
  g_interrupted = 0;
  g_pipe_write_fd = pipe_write_fd_;

  watcher_thread_ = std::thread([this] { WaitForSignal(); });

  struct sigaction action {};
  action.sa_handler = OnInterruptSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &action, &previous_sigint_);
  sigaction(SIGTERM, &action, &previous_sigterm_);
}

InterruptWatcher::~InterruptWatcher() {
  if (pipe_write_fd_ < 0) return;
  sigaction(SIGINT, &previous_sigint_, nullptr);
  sigaction(SIGTERM, &previous_sigterm_, nullptr);
  g_pipe_write_fd = -1;
  // The pipe holds at most one other byte, so this write has room and fails only by EINTR.
  while (write(pipe_write_fd_, &kStopByte, 1) < 0 && errno == EINTR) {
  }
  watcher_thread_.join();
  close(pipe_read_fd_);
  close(pipe_write_fd_);
}

bool InterruptWatcher::interrupted() const { return g_interrupted != 0; }

void InterruptWatcher::WaitForSignal() {
  while (true) {
    char byte = 0;
    const ssize_t n = read(pipe_read_fd_, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == kStopByte) return;
    // E.g. ends the call: the main thread's Read() returns false and Finish() gives CANCELLED.
    on_interrupt_();
  }
}

}  // namespace sgdspectra::client
