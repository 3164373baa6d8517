#include "cli_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace sgdspectra::testing {
namespace {

// Upper bound on waiting for a child's output: far beyond any tiny test job, so it only turns
// a hang into a failure; it never orders events.
constexpr auto kHangBound = std::chrono::seconds(300);

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Appends what `*fd` has to `*sink`; closes it and sets it to -1 at end of file.
void Drain(int* fd, std::string* sink) {
  char buffer[65536];
  while (true) {
    const ssize_t n = read(*fd, buffer, sizeof(buffer));
    if (n > 0) {
      sink->append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close(*fd);  // end of file, or an error we cannot recover from
    *fd = -1;
    return;
  }
}

}  // namespace

std::unique_ptr<CliProcess> CliProcess::Start(const std::string& binary,
                                              const std::vector<std::string>& args,
                                              const std::vector<std::string>& extra_env) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    std::abort();
  }
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) env_strings.emplace_back(*entry);
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::abort();
  }
  if (pid == 0) {
    // Default dispositions and an empty mask, whatever the test process (or gRPC) had.
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execve(binary.c_str(), argv.data(), envp.data());
    std::fprintf(stderr, "execve %s: %s\n", binary.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<CliProcess>(new CliProcess(pid, out_pipe[0], err_pipe[0]));
}

CliProcess::~CliProcess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool CliProcess::Pump(int timeout_ms) {
  pollfd fds[2];
  nfds_t count = 0;
  if (out_fd_ >= 0) fds[count++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[count++] = {err_fd_, POLLIN, 0};
  if (count == 0) return false;
  const int ready = poll(fds, count, timeout_ms);
  if (ready < 0 && errno != EINTR) return false;
  if (ready <= 0) return true;
  // Drain whatever is readable (or at end of file) on either pipe.
  if (out_fd_ >= 0) Drain(&out_fd_, &out_);
  if (err_fd_ >= 0) Drain(&err_fd_, &err_);
  return out_fd_ >= 0 || err_fd_ >= 0;
}

std::optional<std::string> CliProcess::ReadStdoutLine() {
  const auto deadline = std::chrono::steady_clock::now() + kHangBound;
  while (true) {
    const size_t newline = out_.find('\n');
    if (newline != std::string::npos) {
      std::string line = out_.substr(0, newline);
      out_.erase(0, newline + 1);
      return line;
    }
    if (out_fd_ < 0 || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    Pump(1000);
  }
}

void CliProcess::Signal(int signal) {
  if (!reaped_) kill(pid_, signal);
}

CliResult CliProcess::Wait() {
  const auto deadline = std::chrono::steady_clock::now() + kHangBound;
  while (Pump(1000)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "sgdspectra (pid %d) still running after the hang bound; killing it\n",
                   static_cast<int>(pid_));
      kill(pid_, SIGKILL);
      break;
    }
  }
  if (!reaped_) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) break;
    }
    reaped_ = true;
    exit_code_ = DecodeWaitStatus(status);
  }
  return CliResult{exit_code_, out_, err_};
}

CliResult RunCli(const std::string& binary, const std::vector<std::string>& args,
                 const std::vector<std::string>& extra_env) {
  return CliProcess::Start(binary, args, extra_env)->Wait();
}

}  // namespace sgdspectra::testing
