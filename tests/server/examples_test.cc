// Every job spec shipped under examples/ parses in the proto3 JSON mapping and passes the
// server's conversion and validation, so a user's `sgdspectra run --spec FILE` is accepted.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/convert.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {
namespace {

TEST(ExamplesTest, EveryShippedSpecParsesAndValidates) {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(SGDSPECTRA_EXAMPLES_DIR)) {
    if (entry.path().extension() != ".json") continue;
    if (entry.path().string().find("node_modules") != std::string::npos) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    v1::JobSpec proto;
    const auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &proto);
    ASSERT_TRUE(parsed.ok()) << entry.path() << ": " << parsed.ToString();
    ExperimentSpec spec;
    const Status converted = JobSpecFromProto(proto, 1, &spec);
    ASSERT_TRUE(converted.ok()) << entry.path() << ": " << converted.ToString();
    const Status valid = spec.Validate();
    EXPECT_TRUE(valid.ok()) << entry.path() << ": " << valid.ToString();
    ++checked;
  }
  EXPECT_GE(checked, 5);  // kgmm_k1.json and the paper suite at least
}

}  // namespace
}  // namespace sgdspectra::server
