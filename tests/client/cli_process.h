// CliProcess: runs the `sgdspectra` binary as a child process for end-to-end tests, with its
// stdout and stderr captured through pipes.
//
// Both pipes are drained together (poll), so a child that writes a lot to one of them never
// blocks on the other. ReadStdoutLine() lets a test act on what the child has printed (e.g. send
// Ctrl-C once the stream has started) without sleeping.
//
// Ownership: the CliProcess owns the child; the destructor SIGKILLs and reaps it if still
// running. Thread-safety: use from one thread.
#ifndef SGDSPECTRA_TESTS_CLIENT_CLI_PROCESS_H_
#define SGDSPECTRA_TESTS_CLIENT_CLI_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sgdspectra::testing {

struct CliResult {
  int exit_code = -1;  // exit status, or 128 + signal if a signal ended it
  std::string out;     // everything on stdout not returned by ReadStdoutLine()
  std::string err;
};

class CliProcess {
 public:
  // Starts `binary args...`; `extra_env` entries ("NAME=value") are added to the environment.
  // Aborts the test program if fork fails.
  static std::unique_ptr<CliProcess> Start(const std::string& binary,
                                           const std::vector<std::string>& args,
                                           const std::vector<std::string>& extra_env = {});
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  ~CliProcess();

  // The next complete stdout line (without '\n'); nullopt if stdout closed first or nothing
  // came within the safety bound (a hang, reported as a failure rather than a stuck test).
  std::optional<std::string> ReadStdoutLine();

  void Signal(int signal);

  // Drains both pipes to their end and reaps the child.
  CliResult Wait();

  pid_t pid() const { return pid_; }

 private:
  CliProcess(pid_t pid, int out_fd, int err_fd) : pid_(pid), out_fd_(out_fd), err_fd_(err_fd) {}
  // Waits up to timeout_ms for output and appends it; false once both pipes are closed.
  bool Pump(int timeout_ms);

  pid_t pid_;
  int out_fd_;
  int err_fd_;
  std::string out_;
  std::string err_;
  bool reaped_ = false;
  int exit_code_ = -1;
};

// Runs `binary args...` to completion.
CliResult RunCli(const std::string& binary, const std::vector<std::string>& args,
                 const std::vector<std::string>& extra_env = {});

}  // namespace sgdspectra::testing

#endif  // SGDSPECTRA_TESTS_CLIENT_CLI_PROCESS_H_
