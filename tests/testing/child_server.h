// ChildServer: runs a server binary as a child process for end-to-end tests.
//
// Start() launches `<binary> --listen 127.0.0.1:<port, default 0> --port-file <tmp> --data-dir
// <data_dir> <extra_args...>` and waits (bounded, by polling the port file) until the server has
// written the port it bound. The child's stderr goes to the test's stderr so its logs show up in
// test output.
//
// Ownership: the ChildServer owns the process and its port-file directory; the destructor
// SIGKILLs and reaps the process if it is still running and removes that directory (not the
// data directory, which belongs to the caller). Thread-safety: use one ChildServer from one thread
// at a time.
#ifndef SGDSPECTRA_TESTS_TESTING_CHILD_SERVER_H_
#define SGDSPECTRA_TESTS_TESTING_CHILD_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sgdspectra::testing {

class ChildServer {
 public:
  // Returns nullptr (after printing why to stderr) if the child could not be started or did
  // not write its port file within the startup deadline (30 s). `port` 0 lets the server pick
  // a free port; a fixed port lets a test restart a server where its clients expect it.
  static std::unique_ptr<ChildServer> Start(const std::string& binary, const std::string& data_dir,
                                            const std::vector<std::string>& extra_args = {},
                                            int port = 0);

  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;
  ~ChildServer();

  std::string address() const;  // "127.0.0.1:PORT"
  pid_t pid() const { return pid_; }
  int port() const { return port_; }

  // Sends sig to the child (no-op once it has been reaped).
  void Signal(int sig);
  // Blocks until the child exits; returns its exit status, or 128 + signal if a signal killed
  // it. Calling it again returns the same value.
  int Wait();
  // Like Wait() but gives up after timeout_ms; returns -1 if the child is still running.
  int WaitFor(int timeout_ms);

 private:
  ChildServer(pid_t pid, int port, std::string port_dir)
      : pid_(pid), port_(port), port_dir_(std::move(port_dir)) {}
  static int DecodeWaitStatus(int status);

  pid_t pid_;
  int port_;
  std::string port_dir_;  // holds the port file; removed by the destructor
  bool reaped_ = false;
  int exit_status_ = -1;
};

// A fresh, empty directory under /tmp (mkdtemp). The caller may delete it.
std::string MakeTempDir();

}  // namespace sgdspectra::testing

#endif  // SGDSPECTRA_TESTS_TESTING_CHILD_SERVER_H_
