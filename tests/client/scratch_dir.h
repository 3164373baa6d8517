// ScratchDir: a fresh directory under $TMPDIR (or /tmp) for one test, removed with everything
// in it when the object goes out of scope.
#ifndef SGDSPECTRA_TESTS_CLIENT_SCRATCH_DIR_H_
#define SGDSPECTRA_TESTS_CLIENT_SCRATCH_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sgdspectra::testing {

class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/sgdspectra-test-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }  // "" if it could not be made
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  // Writes `text` to path()/name, making parent directories; returns the full path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::filesystem::path file = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }

 private:
  std::string path_;
};

}  // namespace sgdspectra::testing

#endif  // SGDSPECTRA_TESTS_CLIENT_SCRATCH_DIR_H_
