// spec_fuzz_replay: runs one fuzz target (spec_fuzz_target.h) over every file of the given
// directories, so that the committed seed corpus and the regression inputs run as a normal
// test with any compiler (no libFuzzer needed).
//
//   spec_fuzz_replay json|request DIR...
//
// A broken invariant aborts inside the target (the test fails, naming the file it was
// reading). Exit 0 after every file ran; 2 for bad arguments, a missing directory or
// directories with no file at all (a replay that runs nothing proves nothing).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "spec_fuzz_target.h"

namespace {

using Target = int (*)(const uint8_t*, size_t);

// Every regular file under dir (recursively, sorted for a stable order); false if dir is not
// a directory.
bool FilesUnder(const std::filesystem::path& dir, std::vector<std::filesystem::path>* files) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) return false;
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    // README / .gitkeep describe a folder; they are not inputs.
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name != "README.md" && name[0] != '.') {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  files->insert(files->end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s json|request DIR...\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1];
  Target target = nullptr;
  if (kind == "json") target = sgdspectra::fuzz::FuzzJobSpecJson;
  if (kind == "request") target = sgdspectra::fuzz::FuzzSubmitJobRequest;
  if (target == nullptr) {
    std::fprintf(stderr, "unknown target '%s' (json or request)\n", kind.c_str());
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (int i = 2; i < argc; ++i) {
    if (!FilesUnder(argv[i], &files)) {
      std::fprintf(stderr, "not a directory: %s\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "no input files under the given directories\n");
    return 2;
  }
  for (const std::filesystem::path& file : files) {
    std::fprintf(stderr, "%s\n", file.c_str());  // the last name printed is the culprit
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%zu inputs of target %s: every invariant held\n", files.size(), kind.c_str());
  return 0;
}
