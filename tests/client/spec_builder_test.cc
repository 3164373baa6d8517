// JobSpec from command-line flags and/or a proto3 JSON file (client/spec_builder.h).
#include "client/spec_builder.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace sgdspectra::client {
namespace {

using ::testing::HasSubstr;

// Parses `args` (without the program name) with the spec options, as `sgdspectra run` does.
SpecFlags ParseFlags(std::vector<std::string> args) {
  CLI::App app;
  SpecFlags flags;
  AddSpecOptions(&app, &flags);
  std::vector<const char*> argv = {"run"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return flags;
}

std::string WriteTempFile(const std::string& contents) {
  char path[] = "/tmp/sgdspectra-spec-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << contents;
  return path;
}

TEST(SpecBuilderTest, FlagsSetTheirFields) {
  const SpecFlags flags = ParseFlags({"--task",
                                      "kgmm",
                                      "--d",
                                      "400",
                                      "--k",
                                      "4",
                                      "--lambda",
                                      "100",
                                      "--beta",
                                      "0.1",
                                      "--c-delta",
                                      "1",
                                      "--t-end",
                                      "20",
                                      "--steps",
                                      "1234",
                                      "--test-ratio",
                                      "2",
                                      "--seed",
                                      "7",
                                      "--name",
                                      "k1 run",
                                      "--schedule",
                                      "log",
                                      "--num-points",
                                      "9",
                                      "--top-r",
                                      "12",
                                      "--outlier-method",
                                      "mp",
                                      "--threads",
                                      "2",
                                      "--class-probs",
                                      "0.1,0.2,0.3,0.4",
                                      "--g-matrix",
                                      "false"});
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(flags, &spec).ok());

  ASSERT_TRUE(spec.has_kgmm());
  EXPECT_EQ(spec.kgmm().dim(), 400);
  EXPECT_EQ(spec.kgmm().num_classes(), 4);
  EXPECT_EQ(spec.kgmm().snr(), 100.0);
  ASSERT_TRUE(spec.kgmm().has_ridge());
  EXPECT_EQ(spec.kgmm().ridge(), 0.1);
  EXPECT_THAT(spec.kgmm().class_probs(), ::testing::ElementsAre(0.1, 0.2, 0.3, 0.4));
  EXPECT_EQ(spec.sgd().c_delta(), 1.0);
  ASSERT_TRUE(spec.sgd().has_t_end());
  EXPECT_EQ(spec.sgd().t_end(), 20.0);
  EXPECT_EQ(spec.sgd().steps(), 1234);
  EXPECT_EQ(spec.analysis().test_ratio(), 2.0);
  EXPECT_EQ(spec.seed(), 7u);
  EXPECT_EQ(spec.name(), "k1 run");
  EXPECT_EQ(spec.schedule().kind(), v1::Schedule::LOG_SPACED_TIME);
  EXPECT_EQ(spec.schedule().num_points(), 9);
  EXPECT_EQ(spec.analysis().top_r(), 12);
  EXPECT_EQ(spec.analysis().outlier_method(), v1::MARCHENKO_PASTUR);
  EXPECT_EQ(spec.analysis().threads(), 2);
  ASSERT_TRUE(spec.analysis().has_g_matrix());
  EXPECT_FALSE(spec.analysis().g_matrix());
  // Flags not given leave explicit-presence fields unset (the server's default applies).
  EXPECT_FALSE(spec.analysis().has_class_blocks());
  EXPECT_FALSE(spec.analysis().has_outlier_margin());
}

TEST(SpecBuilderTest, RepeatedFlagTakesTheLastValue) {
  v1::JobSpec spec;
  ASSERT_TRUE(
      BuildJobSpec(ParseFlags({"--d", "400", "--k", "4", "--lambda", "20", "--d", "40"}), &spec)
          .ok());
  EXPECT_EQ(spec.kgmm().dim(), 40);
  EXPECT_EQ(spec.kgmm().num_classes(), 4);
  EXPECT_EQ(spec.kgmm().snr(), 20.0);
}

TEST(SpecBuilderTest, NoFlagsGiveTheDefaultKgmmJob) {
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({}), &spec).ok());
  v1::JobSpec expected;
  expected.mutable_kgmm();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(spec, expected))
      << spec.DebugString();
}

TEST(SpecBuilderTest, EveryStepsImpliesTheEveryStepsSchedule) {
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--every-steps", "25"}), &spec).ok());
  EXPECT_EQ(spec.schedule().kind(), v1::Schedule::EVERY_STEPS);
  EXPECT_EQ(spec.schedule().every_steps(), 25);
}

TEST(SpecBuilderTest, LongAliasesAndProtoEnumNamesAreAccepted) {
  v1::JobSpec spec;
  ASSERT_TRUE(
      BuildJobSpec(ParseFlags({"--dim", "50", "--num-classes", "3", "--snr", "5", "--schedule",
                               "EVERY_STEPS", "--outlier-method", "largest-gap"}),
                   &spec)
          .ok());
  EXPECT_EQ(spec.kgmm().dim(), 50);
  EXPECT_EQ(spec.kgmm().num_classes(), 3);
  EXPECT_EQ(spec.kgmm().snr(), 5.0);
  EXPECT_EQ(spec.schedule().kind(), v1::Schedule::EVERY_STEPS);
  EXPECT_EQ(spec.analysis().outlier_method(), v1::LARGEST_GAP);
}

TEST(SpecBuilderTest, OutOfBoundValuesAreLeftToTheServer) {
  // Bounds are the server's to check (it names the field); the client passes values through.
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--d", "1", "--lambda", "-1"}), &spec).ok());
  EXPECT_EQ(spec.kgmm().dim(), 1);
  EXPECT_EQ(spec.kgmm().snr(), -1.0);
}

TEST(SpecBuilderTest, SolverTargetFlagsReachTheSpec) {
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--solve-target", "top-r", "--certify-below", "3",
                                       "--null-tol", "1e-6", "--random-stream-version", "1"}),
                           &spec)
                  .ok());
  EXPECT_EQ(spec.analysis().solve_target(), v1::TOP_R);
  EXPECT_EQ(spec.analysis().certify_below(), 3);
  EXPECT_EQ(spec.analysis().null_tol(), 1e-6);
  EXPECT_EQ(spec.random_stream_version(), 1);
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--solve-target", "OUTLIERS"}), &spec).ok());
  EXPECT_EQ(spec.analysis().solve_target(), v1::OUTLIERS);
}

TEST(SpecBuilderTest, MisspeltEnumValueIsAUsageError) {
  EXPECT_THROW(ParseFlags({"--solve-target", "top"}), CLI::ValidationError);
  EXPECT_THROW(ParseFlags({"--schedule", "sometimes"}), CLI::ValidationError);
  EXPECT_THROW(ParseFlags({"--outlier-method", "guess"}), CLI::ValidationError);
  EXPECT_THROW(ParseFlags({"--task", "xorr"}), CLI::ValidationError);
  EXPECT_THROW(ParseFlags({"--d", "four"}), CLI::ParseError);
}

TEST(SpecBuilderTest, XorFlagsSetTheXorTask) {
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--task", "xor", "--d", "250", "--hidden", "4", "--lambda",
                                       "1000", "--alpha", "0.05", "--second-layer-margin", "2.5",
                                       "--decoy-draws", "8", "--t-end", "80"}),
                           &spec)
                  .ok());
  ASSERT_TRUE(spec.has_xor_task());
  EXPECT_FALSE(spec.has_kgmm());
  EXPECT_EQ(spec.xor_task().dim(), 250);
  EXPECT_EQ(spec.xor_task().hidden(), 4);
  EXPECT_EQ(spec.xor_task().snr(), 1000.0);
  ASSERT_TRUE(spec.xor_task().has_ridge());
  EXPECT_EQ(spec.xor_task().ridge(), 0.05);
  ASSERT_TRUE(spec.xor_task().has_second_layer_margin());
  EXPECT_EQ(spec.xor_task().second_layer_margin(), 2.5);
  EXPECT_EQ(spec.xor_task().decoy_draws(), 8);
  EXPECT_EQ(spec.sgd().t_end(), 80.0);
}

TEST(SpecBuilderTest, SharedFlagsFollowTheTask) {
  // --d, --lambda and --ridge set kgmm.* for k-GMM and xor_task.* for XOR.
  v1::JobSpec kgmm;
  ASSERT_TRUE(
      BuildJobSpec(ParseFlags({"--d", "60", "--lambda", "30", "--ridge", "0.2"}), &kgmm).ok());
  ASSERT_TRUE(kgmm.has_kgmm());
  EXPECT_EQ(kgmm.kgmm().dim(), 60);
  EXPECT_EQ(kgmm.kgmm().snr(), 30.0);
  EXPECT_EQ(kgmm.kgmm().ridge(), 0.2);

  v1::JobSpec xor_spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--task", "XOR", "--dim", "60", "--snr", "30", "--ridge",
                                       "0.2", "--K", "6"}),
                           &xor_spec)
                  .ok());
  ASSERT_TRUE(xor_spec.has_xor_task());
  EXPECT_EQ(xor_spec.xor_task().dim(), 60);
  EXPECT_EQ(xor_spec.xor_task().snr(), 30.0);
  EXPECT_EQ(xor_spec.xor_task().ridge(), 0.2);
  EXPECT_EQ(xor_spec.xor_task().hidden(), 6);

  // Without --task an XOR-only flag chooses XOR; --task alone gives the task's defaults.
  v1::JobSpec inferred;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--hidden", "2", "--d", "40"}), &inferred).ok());
  ASSERT_TRUE(inferred.has_xor_task());
  EXPECT_EQ(inferred.xor_task().dim(), 40);
  v1::JobSpec bare;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--task", "xor"}), &bare).ok());
  v1::JobSpec expected;
  expected.mutable_xor_task();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(bare, expected))
      << bare.DebugString();
}

TEST(SpecBuilderTest, LastRidgeFlagWinsWhateverItsName) {
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--beta", "0.1", "--ridge", "0.3"}), &spec).ok());
  EXPECT_EQ(spec.kgmm().ridge(), 0.3);
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--ridge", "0.3", "--beta", "0.1"}), &spec).ok());
  EXPECT_EQ(spec.kgmm().ridge(), 0.1);
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--alpha", "0.05", "--ridge", "0.07"}), &spec).ok());
  EXPECT_EQ(spec.xor_task().ridge(), 0.07);
}

TEST(SpecBuilderTest, FlagOfTheOtherTaskIsAnErrorNamingIt) {
  const struct {
    std::vector<std::string> args;
    std::string flag;
  } cases[] = {
      {{"--task", "xor", "--k", "3"}, "--k"},
      {{"--task", "xor", "--num-classes", "3"}, "--k"},
      {{"--task", "xor", "--class-probs", "0.5,0.5"}, "--class-probs"},
      {{"--task", "xor", "--beta", "0.1"}, "--beta"},
      {{"--task", "kgmm", "--hidden", "4"}, "--hidden"},
      {{"--task", "kgmm", "--alpha", "0.1"}, "--alpha"},
      {{"--task", "kgmm", "--second-layer-margin", "3"}, "--second-layer-margin"},
      {{"--task", "kgmm", "--decoy-draws", "4"}, "--decoy-draws"},
      // Without --task an XOR-only flag chooses XOR, so a k-GMM-only flag is the odd one.
      {{"--k", "3", "--hidden", "4"}, "--k"},
      {{"--alpha", "0.1", "--k", "3", "--task", "kgmm"}, "--alpha"},
  };
  for (const auto& c : cases) {
    v1::JobSpec spec;
    const Status status = BuildJobSpec(ParseFlags(c.args), &spec);
    ASSERT_FALSE(status.ok()) << ::testing::PrintToString(c.args);
    EXPECT_EQ(status.code(), google::protobuf::util::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), ::testing::StartsWith(c.flag + ": only"))
        << status.message();
  }
}

TEST(SpecBuilderTest, XorSpecFileChoosesTheTaskForTheSharedFlags) {
  const std::string path = WriteTempFile(R"({
    "seed": "4", "xorTask": {"dim": "250", "hidden": 4, "snr": 1000, "ridge": 0.1}})");
  v1::JobSpec spec;
  ASSERT_TRUE(
      BuildJobSpec(ParseFlags({"--spec", path, "--d", "40", "--lambda", "500"}), &spec).ok());
  ASSERT_TRUE(spec.has_xor_task());
  EXPECT_EQ(spec.xor_task().dim(), 40);
  EXPECT_EQ(spec.xor_task().snr(), 500.0);
  EXPECT_EQ(spec.xor_task().hidden(), 4);
  EXPECT_EQ(spec.xor_task().ridge(), 0.1);
  EXPECT_EQ(spec.seed(), 4u);

  // A k-GMM-only flag on an XOR file names the flag and the file.
  const Status wrong = BuildJobSpec(ParseFlags({"--spec", path, "--k", "3"}), &spec);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("--k: only valid with --task kgmm"));
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("--spec file"));

  // --task replaces the file's task.
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--spec", path, "--task", "kgmm", "--k", "3"}), &spec).ok());
  ASSERT_TRUE(spec.has_kgmm());
  EXPECT_EQ(spec.kgmm().num_classes(), 3);
  std::remove(path.c_str());
}

TEST(SpecBuilderTest, JsonInBothFieldNameStylesParses) {
  v1::JobSpec camel;
  ASSERT_TRUE(
      ParseSpecJson(R"({"kgmm": {"dim": "40", "numClasses": 3}, "sgd": {"tEnd": 2}})", &camel)
          .ok());
  v1::JobSpec snake;
  ASSERT_TRUE(
      ParseSpecJson(R"({"kgmm": {"dim": 40, "num_classes": 3}, "sgd": {"t_end": 2}})", &snake)
          .ok());
  EXPECT_EQ(camel.kgmm().dim(), 40);
  EXPECT_EQ(camel.kgmm().num_classes(), 3);
  EXPECT_EQ(camel.sgd().t_end(), 2.0);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(camel, snake));
}

TEST(SpecBuilderTest, UnknownJsonFieldIsAnErrorNamingIt) {
  v1::JobSpec spec;
  const Status top_level = ParseSpecJson(R"({"kgmm": {"dim": 40}, "nmae": "x"})", &spec);
  EXPECT_FALSE(top_level.ok());
  EXPECT_THAT(std::string(top_level.message()), HasSubstr("nmae"));

  const Status nested = ParseSpecJson(R"({"kgmm": {"dimension": 40}})", &spec);
  EXPECT_FALSE(nested.ok());
  EXPECT_THAT(std::string(nested.message()), HasSubstr("dimension"));
}

TEST(SpecBuilderTest, MalformedJsonIsAnError) {
  v1::JobSpec spec;
  EXPECT_FALSE(ParseSpecJson(R"({"kgmm": {"dim": 40)", &spec).ok());
  EXPECT_FALSE(ParseSpecJson(R"({"kgmm": {"dim": "forty"}})", &spec).ok());
}

TEST(SpecBuilderTest, SpecFileErrorsNameTheFile) {
  const std::string path = WriteTempFile(R"({"sgd": {"stepz": 3}})");
  v1::JobSpec spec;
  const Status status = BuildJobSpec(ParseFlags({"--spec", path}), &spec);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
  EXPECT_THAT(std::string(status.message()), HasSubstr("stepz"));
  std::remove(path.c_str());

  EXPECT_FALSE(BuildJobSpec(ParseFlags({"--spec", "/nonexistent/spec.json"}), &spec).ok());
}

TEST(SpecBuilderTest, FlagsOverrideTheFile) {
  const std::string path = WriteTempFile(R"({
    "name": "from file", "seed": "3",
    "kgmm": {"dim": "400", "numClasses": 4, "snr": 20, "ridge": 0.1},
    "sgd": {"cDelta": 1, "tEnd": 20},
    "analysis": {"testRatio": 4}
  })");
  v1::JobSpec spec;
  ASSERT_TRUE(BuildJobSpec(ParseFlags({"--spec", path, "--lambda", "100", "--d", "40", "--name",
                                       "from flags"}),
                           &spec)
                  .ok());
  std::remove(path.c_str());
  // Overridden by flags.
  EXPECT_EQ(spec.kgmm().snr(), 100.0);
  EXPECT_EQ(spec.kgmm().dim(), 40);
  EXPECT_EQ(spec.name(), "from flags");
  // Kept from the file.
  EXPECT_EQ(spec.seed(), 3u);
  EXPECT_EQ(spec.kgmm().num_classes(), 4);
  EXPECT_EQ(spec.kgmm().ridge(), 0.1);
  EXPECT_EQ(spec.sgd().c_delta(), 1.0);
  EXPECT_EQ(spec.sgd().t_end(), 20.0);
  EXPECT_EQ(spec.analysis().test_ratio(), 4.0);
}

TEST(SpecBuilderTest, ShippedK1ExampleIsTheSpecMdSetup) {
  v1::JobSpec spec;
  const Status status = ReadSpecFile(std::string(SGDSPECTRA_EXAMPLES_DIR) + "/kgmm_k1.json", &spec);
  ASSERT_TRUE(status.ok()) << status.ToString();
  // docs/SCIENCE.md, reproduction table K1: d=400, k=4, lambda=20, beta=0.1, c_delta=1, M_test=4d,
  // t=20.
  EXPECT_EQ(spec.kgmm().dim(), 400);
  EXPECT_EQ(spec.kgmm().num_classes(), 4);
  EXPECT_EQ(spec.kgmm().snr(), 20.0);
  EXPECT_EQ(spec.kgmm().ridge(), 0.1);
  EXPECT_EQ(spec.sgd().c_delta(), 1.0);
  EXPECT_EQ(spec.sgd().t_end(), 20.0);
  EXPECT_EQ(spec.analysis().test_ratio(), 4.0);
}

TEST(SpecBuilderTest, ShippedX1ExampleIsTheSpecMdSetup) {
  v1::JobSpec spec;
  const Status status = ReadSpecFile(std::string(SGDSPECTRA_EXAMPLES_DIR) + "/xor_x1.json", &spec);
  ASSERT_TRUE(status.ok()) << status.ToString();
  // docs/SCIENCE.md, reproduction table X1: d=250, K=4, lambda=1000, alpha=0.1, c_delta=1, t to 80.
  ASSERT_TRUE(spec.has_xor_task());
  EXPECT_EQ(spec.xor_task().dim(), 250);
  EXPECT_EQ(spec.xor_task().hidden(), 4);
  EXPECT_EQ(spec.xor_task().snr(), 1000.0);
  EXPECT_EQ(spec.xor_task().ridge(), 0.1);
  EXPECT_EQ(spec.sgd().c_delta(), 1.0);
  EXPECT_EQ(spec.sgd().t_end(), 80.0);
  EXPECT_EQ(spec.schedule().kind(), v1::Schedule::LOG_SPACED_TIME);
  EXPECT_EQ(spec.schedule().num_points(), 12);
}

}  // namespace
}  // namespace sgdspectra::client
