#include "child_server.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

namespace sgdspectra::testing {
namespace {

constexpr auto kStartupDeadline = std::chrono::seconds(30);
constexpr auto kPollInterval = std::chrono::milliseconds(10);

// Reads a port number from path; 0 if the file is missing or not yet complete. The server
// writes the file by rename, so a file that exists holds the whole number.
int ReadPortFile(const std::string& path) {
  std::ifstream in(path);
  int port = 0;
  if (!(in >> port)) return 0;
  return port;
}

}  // namespace

std::string MakeTempDir() {
  char pattern[] = "/tmp/sgdspectra-test-XXXXXX";
  const char* dir = mkdtemp(pattern);
  if (dir == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return dir;
}

std::unique_ptr<ChildServer> ChildServer::Start(const std::string& binary,
                                                const std::string& data_dir,
                                                const std::vector<std::string>& extra_args,
                                                int port) {
  const std::string port_dir = MakeTempDir();
  const std::string port_file = port_dir + "/port";
  std::vector<std::string> args = {binary,        "--listen", "127.0.0.1:" + std::to_string(port),
                                   "--port-file", port_file,  "--data-dir",
                                   data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return nullptr;
  }
  if (pid == 0) {
    // The child must not inherit a blocked signal mask from the test (e.g. a gRPC thread).
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "execv %s: %s\n", binary.c_str(), std::strerror(errno));
    _exit(127);
  }

  std::unique_ptr<ChildServer> child(new ChildServer(pid, 0, port_dir));
  const auto deadline = std::chrono::steady_clock::now() + kStartupDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    const int port = ReadPortFile(port_file);
    if (port > 0) {
      child->port_ = port;
      return child;
    }
    if (child->WaitFor(0) >= 0) {
      std::fprintf(stderr, "server %s exited during startup with status %d\n", binary.c_str(),
                   child->exit_status_);
      return nullptr;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  std::fprintf(stderr, "server %s did not write %s within the startup deadline\n", binary.c_str(),
               port_file.c_str());
  return nullptr;  // the destructor kills the child
}

ChildServer::~ChildServer() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    Wait();
  }
  std::error_code ignored;
  std::filesystem::remove_all(port_dir_, ignored);
}

std::string ChildServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void ChildServer::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

int ChildServer::DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int ChildServer::Wait() {
  if (reaped_) return exit_status_;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  reaped_ = true;
  exit_status_ = DecodeWaitStatus(status);
  return exit_status_;
}

int ChildServer::WaitFor(int timeout_ms) {
  if (reaped_) return exit_status_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_status_ = DecodeWaitStatus(status);
      return exit_status_;
    }
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace sgdspectra::testing
