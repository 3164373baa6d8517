#include "client/plot/png_export.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

extern char** environ;

namespace sgdspectra::client::plot {

using google::protobuf::util::Status;
using google::protobuf::util::StatusCode;

std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr || program.empty()) return "";
  const std::string directories = path;
  size_t start = 0;
  while (start <= directories.size()) {
    size_t end = directories.find(':', start);
    if (end == std::string::npos) end = directories.size();
    // An empty entry means the current directory (POSIX).
    const std::string directory =
        end == start ? std::string(".") : directories.substr(start, end - start);
    const std::string candidate = directory + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

Status ConvertSvgToPng(const std::string& rsvg_convert, const std::string& svg_path,
                       const std::string& png_path) {
  std::vector<std::string> arguments = {rsvg_convert, "--format", "png",
                                        "--output",   png_path,   svg_path};
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawn_error =
      posix_spawn(&pid, rsvg_convert.c_str(), nullptr, nullptr, argv.data(), environ);
  if (spawn_error != 0) {
    return Status(StatusCode::kUnavailable,
                  "cannot run " + rsvg_convert + ": " + std::strerror(spawn_error));
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) {
      return Status(StatusCode::kInternal,
                    "waiting for " + rsvg_convert + ": " + std::strerror(errno));
    }
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return Status();
  const std::string how = WIFEXITED(wait_status)
                              ? "exited with status " + std::to_string(WEXITSTATUS(wait_status))
                              : "was killed by signal " + std::to_string(WTERMSIG(wait_status));
  return Status(StatusCode::kInternal,
                rsvg_convert + " " + how + " converting " + svg_path + " to " + png_path);
}

}  // namespace sgdspectra::client::plot
