// The CLI writes only regular files, atomically (client/file_output.h).
#include "client/file_output.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sgdspectra::client {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class FileOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sgdspectra-file-output-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FileOutputTest, CreatesAndReplacesRegularFilesLeavingNoTemporary) {
  const std::string path = dir_ + "/result.json";
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(path, "first\n", &error)) << error;
  EXPECT_EQ(ReadAll(path), "first\n");
  ASSERT_TRUE(WriteFileAtomically(path, "second\n", &error)) << error;
  EXPECT_EQ(ReadAll(path), "second\n");
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(FileOutputTest, RefusesEverythingThatIsNotARegularFileAndLeavesItAlone) {
  const std::string fifo = dir_ + "/fifo";  // stands in for a device such as /dev/full
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string directory = dir_ + "/folder";
  std::filesystem::create_directory(directory);
  const std::string target = dir_ + "/target";
  std::ofstream(target) << "kept\n";
  const std::string link = dir_ + "/link";
  std::filesystem::create_symlink(target, link);

  for (const std::string& path : {fifo, directory, link}) {
    std::string error;
    EXPECT_FALSE(WriteFileAtomically(path, "x", &error)) << path;
    EXPECT_EQ(error.rfind(path + ": not a regular file", 0), 0u) << error;
  }
  struct stat status;
  ASSERT_EQ(lstat(fifo.c_str(), &status), 0);
  EXPECT_TRUE(S_ISFIFO(status.st_mode));
  ASSERT_EQ(lstat(link.c_str(), &status), 0);
  EXPECT_TRUE(S_ISLNK(status.st_mode));
  EXPECT_EQ(ReadAll(target), "kept\n");
}

}  // namespace
}  // namespace sgdspectra::client
