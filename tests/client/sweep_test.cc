// Unit tests of the sweep's pieces (no server): seed lists, field names, the grid, the
// statistics and the tables, the retry policy, and how --server targets are parsed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/server_target.h"
#include "client/spec_names.h"
#include "client/sweep/sweep_plan.h"
#include "client/sweep/sweep_results.h"
#include "client/sweep/sweep_runner.h"

namespace sgdspectra::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::JobSpec KgmmSpec() {
  v1::JobSpec spec;
  spec.mutable_kgmm();
  return spec;
}

v1::JobSpec XorSpec() {
  v1::JobSpec spec;
  spec.mutable_xor_task();
  return spec;
}

TEST(SeedListTest, RangesAreHalfOpenAndListsMayMixWithRanges) {
  std::vector<std::uint64_t> seeds;
  std::string error;
  ASSERT_TRUE(ParseSeedList("0:128", &seeds, &error)) << error;
  ASSERT_EQ(seeds.size(), 128u);
  EXPECT_EQ(seeds.front(), 0u);
  EXPECT_EQ(seeds.back(), 127u);
  ASSERT_TRUE(ParseSeedList("1,5,9", &seeds, &error)) << error;
  EXPECT_THAT(seeds, ElementsAre(1, 5, 9));
  ASSERT_TRUE(ParseSeedList("0:2,10", &seeds, &error)) << error;
  EXPECT_THAT(seeds, ElementsAre(0, 1, 10));
  ASSERT_TRUE(ParseSeedList("18446744073709551615", &seeds, &error)) << error;
}

TEST(SeedListTest, BadListsAreRefusedNamingTheFlag) {
  for (const std::string bad : {"", "5:5", "7:3", "a", "1:", ":4", "-1", "1,,2", "0:200000"}) {
    std::vector<std::uint64_t> seeds;
    std::string error;
    EXPECT_FALSE(ParseSeedList(bad, &seeds, &error)) << bad;
    EXPECT_THAT(error, HasSubstr("--seeds")) << bad;
  }
}

TEST(SpecFieldTest, AliasesResolveToTheBaseSpecsTask) {
  std::string path;
  std::string error;
  ASSERT_TRUE(ResolveSpecFieldPath(KgmmSpec(), "lambda", &path, &error)) << error;
  EXPECT_EQ(path, "kgmm.snr");
  ASSERT_TRUE(ResolveSpecFieldPath(XorSpec(), "lambda", &path, &error)) << error;
  EXPECT_EQ(path, "xor_task.snr");
  ASSERT_TRUE(ResolveSpecFieldPath(XorSpec(), "alpha", &path, &error)) << error;
  EXPECT_EQ(path, "xor_task.ridge");
  ASSERT_TRUE(ResolveSpecFieldPath(KgmmSpec(), "c-delta", &path, &error)) << error;
  EXPECT_EQ(path, "sgd.c_delta");
  // Dotted paths in proto or JSON spelling.
  ASSERT_TRUE(ResolveSpecFieldPath(KgmmSpec(), "sgd.cDelta", &path, &error)) << error;
  EXPECT_EQ(path, "sgd.c_delta");
  ASSERT_TRUE(ResolveSpecFieldPath(KgmmSpec(), "analysis.outlierMethod", &path, &error));
  EXPECT_EQ(path, "analysis.outlier_method");
}

TEST(SpecFieldTest, UnusableNamesAreRefusedWithTheReason) {
  const struct {
    v1::JobSpec spec;
    std::string name;
    std::string reason;
  } cases[] = {
      {KgmmSpec(), "seed", "--seeds"},
      {KgmmSpec(), "hidden", "another task"},
      {XorSpec(), "kgmm.snr", "another task"},
      {KgmmSpec(), "kgmm.class_probs", "is a list"},
      {KgmmSpec(), "sgd", "is a message"},
      {KgmmSpec(), "sgd.nope", "no field 'nope'"},
      {KgmmSpec(), "kgmm.snr.x", "has no fields"},
  };
  for (const auto& c : cases) {
    std::string path;
    std::string error;
    EXPECT_FALSE(ResolveSpecFieldPath(c.spec, c.name, &path, &error)) << c.name;
    EXPECT_THAT(error, HasSubstr(c.name)) << c.name;
    EXPECT_THAT(error, HasSubstr(c.reason)) << c.name;
  }
}

TEST(SpecFieldTest, ValuesAreParsedByTheFieldsType) {
  v1::JobSpec spec = KgmmSpec();
  std::string error;
  ASSERT_TRUE(SetSpecField("kgmm.snr", "100", &spec, &error)) << error;
  EXPECT_EQ(spec.kgmm().snr(), 100.0);
  ASSERT_TRUE(SetSpecField("kgmm.num_classes", "7", &spec, &error)) << error;
  EXPECT_EQ(spec.kgmm().num_classes(), 7);
  // An explicit 0 on an optional field keeps its presence: beta = 0 is K5, not the default.
  ASSERT_TRUE(SetSpecField("kgmm.ridge", "0", &spec, &error)) << error;
  EXPECT_TRUE(spec.kgmm().has_ridge());
  EXPECT_EQ(spec.kgmm().ridge(), 0.0);
  ASSERT_TRUE(SetSpecField("analysis.outlier_method", "marchenko-pastur", &spec, &error));
  EXPECT_EQ(spec.analysis().outlier_method(), v1::MARCHENKO_PASTUR);
  ASSERT_TRUE(SetSpecField("analysis.g_matrix", "false", &spec, &error)) << error;
  EXPECT_TRUE(spec.analysis().has_g_matrix());
  EXPECT_FALSE(spec.analysis().g_matrix());

  for (const auto& [path, value] :
       std::vector<std::pair<std::string, std::string>>{{"kgmm.num_classes", "3.5"},
                                                        {"kgmm.num_classes", "4000000000"},
                                                        {"kgmm.snr", "1e999"},
                                                        {"kgmm.snr", "twenty"},
                                                        {"kgmm.snr", " 20"},
                                                        {"analysis.g_matrix", "yes"},
                                                        {"analysis.outlier_method", "median"},
                                                        {"sgd.steps", "12x"}}) {
    EXPECT_FALSE(SetSpecField(path, value, &spec, &error)) << path << "=" << value;
    EXPECT_THAT(error, HasSubstr(path)) << value;
  }
}

TEST(SweepPlanTest, TheGridIsAxesTimesSeedsWithSeedsInnermost) {
  const v1::JobSpec base = KgmmSpec();
  std::vector<SweepAxis> axes(2);
  std::string error;
  ASSERT_TRUE(ParseSweepAxis(base, "lambda=20,100", &axes[0], &error)) << error;
  ASSERT_TRUE(ParseSweepAxis(base, "d=100,200", &axes[1], &error)) << error;
  std::vector<SweepJob> jobs;
  ASSERT_TRUE(BuildSweepPlan(base, {7, 8, 9}, axes, &jobs, &error)) << error;
  ASSERT_EQ(jobs.size(), 12u);
  const struct {
    double snr;
    std::int64_t dim;
  } settings[] = {{20, 100}, {20, 200}, {100, 100}, {100, 200}};
  for (int i = 0; i < 12; ++i) {
    const SweepJob& job = jobs[i];
    const auto& setting = settings[i / 3];
    EXPECT_EQ(job.index, i);
    EXPECT_EQ(job.seed, 7u + i % 3);
    EXPECT_EQ(job.spec.seed(), job.seed);
    EXPECT_EQ(job.spec.kgmm().snr(), setting.snr);
    EXPECT_EQ(job.spec.kgmm().dim(), setting.dim);
    std::ostringstream group;
    group << "kgmm.snr=" << setting.snr << " kgmm.dim=" << setting.dim;
    EXPECT_EQ(job.group, group.str());
    EXPECT_THAT(job.spec.name(), HasSubstr("#" + std::to_string(i)));
  }
}

TEST(SweepPlanTest, RepeatedAxesAndOversizedGridsAreRefused) {
  const v1::JobSpec base = KgmmSpec();
  std::vector<SweepAxis> axes(2);
  std::string error;
  ASSERT_TRUE(ParseSweepAxis(base, "lambda=20", &axes[0], &error));
  ASSERT_TRUE(ParseSweepAxis(base, "kgmm.snr=100", &axes[1], &error));
  std::vector<SweepJob> jobs;
  EXPECT_FALSE(BuildSweepPlan(base, {1}, axes, &jobs, &error));
  EXPECT_THAT(error, HasSubstr("kgmm.snr is given twice"));

  SweepAxis many;
  std::string values;
  for (int i = 1; i <= 1000; ++i) values += (i > 1 ? "," : "") + std::to_string(i);
  ASSERT_TRUE(ParseSweepAxis(base, "lambda=" + values, &many, &error)) << error;
  std::vector<std::uint64_t> seeds(200);
  EXPECT_FALSE(BuildSweepPlan(base, seeds, {many}, &jobs, &error));
  EXPECT_THAT(error, HasSubstr("more than 100000 jobs"));

  SweepAxis empty_value;
  EXPECT_FALSE(ParseSweepAxis(base, "lambda=20,,100", &empty_value, &error));
  EXPECT_FALSE(ParseSweepAxis(base, "lambda", &empty_value, &error));
}

// The Wilson interval's ends are the two roots p of (phat - p)^2 = z^2 p (1 - p) / n: checked
// through that defining equation, not the closed form the code uses.
TEST(WilsonIntervalTest, EndsSolveTheScoreEquation) {
  const double z = 1.959963984540054;
  for (const auto& [successes, trials] :
       std::vector<std::pair<int, int>>{{16, 128}, {3, 32}, {1, 10}, {50, 100}, {127, 128}}) {
    double low = 0;
    double high = 0;
    WilsonInterval(successes, trials, z, &low, &high);
    const double phat = static_cast<double>(successes) / trials;
    for (const double p : {low, high}) {
      EXPECT_NEAR((phat - p) * (phat - p), z * z * p * (1 - p) / trials, 1e-14)
          << successes << "/" << trials;
    }
    EXPECT_LT(low, phat);
    EXPECT_GT(high, phat);
  }
  double low = 1;
  double high = 0;
  WilsonInterval(0, 10, z, &low, &high);
  EXPECT_EQ(low, 0.0);
  EXPECT_NEAR(high, z * z / (10 + z * z), 1e-15);  // the nonzero root at phat = 0
  WilsonInterval(0, 0, z, &low, &high);
  EXPECT_EQ(low, 0.0);
  EXPECT_EQ(high, 1.0);
}

JobOutcome Finished(double accuracy, int outlier_rank, int expected_rank) {
  JobOutcome outcome;
  outcome.finished = true;
  outcome.attempts = 1;
  outcome.job_id = "j-1";
  outcome.endpoint = "127.0.0.1:1";
  outcome.final_event.set_state(v1::SUCCEEDED);
  outcome.final_event.set_final_test_accuracy(accuracy);
  v1::XorTask* task = outcome.accepted.mutable_resolved_spec()->mutable_xor_task();
  task->set_dim(250);
  task->set_hidden(4);
  task->set_snr(1000);
  task->set_ridge(0.1);
  outcome.accepted.set_steps_total(20000);
  v1::ClassifierRank* rank = outcome.final_event.mutable_rank();
  rank->set_outlier_rank(outlier_rank);
  rank->set_expected_rank(expected_rank);
  rank->set_rank_deficient(outlier_rank < expected_rank);
  return outcome;
}

TEST(SweepResultsTest, StatisticsAndTablesCountSuccessesPerGroupAndOutlierRank) {
  const v1::JobSpec base = XorSpec();
  SweepAxis axis;
  std::string error;
  ASSERT_TRUE(ParseSweepAxis(base, "lambda=1000,500", &axis, &error)) << error;
  std::vector<SweepJob> jobs;
  ASSERT_TRUE(BuildSweepPlan(base, {0, 1, 2}, {axis}, &jobs, &error)) << error;
  std::vector<JobOutcome> outcomes = {Finished(1.0, 4, 4),   Finished(0.75, 3, 4),
                                      Finished(0.995, 4, 4), Finished(0.5, 2, 4),
                                      Finished(0.9, 4, 4),   JobOutcome()};
  outcomes[5].error = "no replica reachable";

  const std::vector<GroupStatistics> groups = ComputeGroupStatistics(jobs, outcomes, 0.99);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].group, "xor_task.snr=1000");
  EXPECT_EQ(groups[0].finished, 3);
  EXPECT_EQ(groups[0].successes, 2);
  EXPECT_DOUBLE_EQ(groups[0].mean_accuracy, (1.0 + 0.75 + 0.995) / 3);
  EXPECT_DOUBLE_EQ(groups[0].rank_deficient_fraction, 1.0 / 3);
  EXPECT_EQ(groups[0].joint[4][1], 2);
  EXPECT_EQ(groups[0].joint[3][0], 1);
  EXPECT_EQ(groups[1].jobs, 3);
  EXPECT_EQ(groups[1].finished, 2);  // the unfinished job counts in no fraction
  EXPECT_EQ(groups[1].successes, 0);
  EXPECT_EQ(groups[1].joint[4][0], 1);  // 4 outliers but accuracy 0.9: a failure
  EXPECT_EQ(groups[1].joint[2][0], 1);

  const std::string dir = std::filesystem::temp_directory_path() / "sgdspectra_sweep_tables";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(WriteSweepTables(dir, {axis}, jobs, outcomes, 0.99, &error)) << error;
  std::ifstream summary(dir + "/summary.csv");
  std::string header;
  std::getline(summary, header);
  EXPECT_EQ(header,
            "index,group,seed,xor_task.snr,task,dim,num_classes_or_hidden,snr,ridge,sgd_steps,"
            "job_id,server,attempts,state,final_test_accuracy,"
            "final_test_loss,outlier_rank,weight_rank,expected_rank,rank_deficient,num_covered,"
            "covered_clusters,success,events_file");
  std::string line;
  std::getline(summary, line);
  EXPECT_EQ(line,
            "0,xor_task.snr=1000,0,1000,xor,250,4,1000,0.1,20000,j-1,127.0.0.1:1,1,SUCCEEDED,1,0,"
            "4,0,4,0,,,1,"
            "jobs/0000.events.jsonl");
  for (int i = 0; i < 5; ++i) std::getline(summary, line);
  EXPECT_EQ(line, "5,xor_task.snr=500,2,500,,,,,,,,,0,NOT_FINISHED,,,,,,,,,0,");
  std::ifstream aggregates(dir + "/aggregates.csv");
  std::getline(aggregates, line);
  std::getline(aggregates, line);
  EXPECT_THAT(line, ::testing::StartsWith("xor_task.snr=1000,3,3,2,0.666666"));
  std::filesystem::remove_all(dir);
}

TEST(ServerTargetTest, AListBecomesOneRoundRobinTargetOverEveryAddress) {
  ServerTarget target;
  std::string error;
  ASSERT_TRUE(ParseServerTarget("127.0.0.1:5001,127.0.0.1:5002", &target, &error)) << error;
  EXPECT_EQ(target.channel_target, "ipv4:127.0.0.1:5001,127.0.0.1:5002");
  EXPECT_THAT(target.endpoints, ElementsAre("127.0.0.1:5001", "127.0.0.1:5002"));
  ASSERT_TRUE(ParseServerTarget("ipv4:127.0.0.1:5001,127.0.0.1:5001", &target, &error));
  EXPECT_THAT(target.endpoints, ElementsAre("127.0.0.1:5001"));  // duplicates removed
  ASSERT_TRUE(ParseServerTarget("[::1]:5001,[::1]:5002", &target, &error)) << error;
  EXPECT_EQ(target.channel_target, "ipv6:[::1]:5001,[::1]:5002");
}

TEST(ServerTargetTest, ANameIsResolvedForLookupsButLeftToGrpcForTheChannel) {
  ServerTarget target;
  std::string error;
  ASSERT_TRUE(ParseServerTarget("dns:///localhost:5003", &target, &error)) << error;
  EXPECT_EQ(target.channel_target, "dns:///localhost:5003");
  EXPECT_THAT(target.endpoints, ::testing::Contains("127.0.0.1:5003"));
  ASSERT_TRUE(ParseServerTarget("127.0.0.1:5004", &target, &error)) << error;
  EXPECT_THAT(target.endpoints, ElementsAre("127.0.0.1:5004"));
  EXPECT_FALSE(target.several_endpoints());
  ASSERT_TRUE(ParseServerTarget("unix:/tmp/sgdspectra.sock", &target, &error)) << error;
  EXPECT_THAT(target.endpoints, ElementsAre("unix:/tmp/sgdspectra.sock"));
}

TEST(ServerTargetTest, MalformedTargetsAreRefused) {
  for (const std::string bad :
       {"", "127.0.0.1,127.0.0.1:2", "127.0.0.1:1,[::1]:2", "127.0.0.1:x,127.0.0.1:2"}) {
    ServerTarget target;
    std::string error;
    EXPECT_FALSE(ParseServerTarget(bad, &target, &error)) << bad;
    EXPECT_THAT(error, HasSubstr("--server")) << bad;
  }
}

CallEnd Finished(v1::FinishReason reason) {
  CallEnd end;
  end.accepted = true;
  end.finished = true;
  end.reason = reason;
  return end;
}

CallEnd Refused(grpc::StatusCode code, bool waited_too_long = false) {
  CallEnd end;
  end.code = code;
  end.waited_too_long = waited_too_long;
  return end;
}

CallEnd Broken(grpc::StatusCode code, bool waited_too_long = false) {
  CallEnd end;
  end.accepted = true;
  end.code = code;
  end.waited_too_long = waited_too_long;
  return end;
}

TEST(RetryPolicyTest, AJobTheServerEndedIsSubmittedAgainAndEveryOtherEndIsRecorded) {
  EXPECT_EQ(DecideNextStep(Finished(v1::INTERRUPTED)), NextStep::kResubmit);
  EXPECT_EQ(DecideNextStep(Finished(v1::SERVER_SHUTDOWN)), NextStep::kResubmit);
  for (v1::FinishReason reason :
       {v1::COMPLETED, v1::CANCELLED_BY_USER, v1::RUN_FAILED, v1::STORE_ERROR, v1::INTERNAL,
        v1::FINISH_REASON_UNSPECIFIED, static_cast<v1::FinishReason>(99)}) {
    EXPECT_EQ(DecideNextStep(Finished(reason)), NextStep::kRecord) << reason;
  }
  // The message is for people: only the reason counts.
  v1::Finished finished;
  finished.set_state(v1::FAILED);
  finished.set_error_message("interrupted");
  EXPECT_FALSE(WasInterruptedByServer(finished));
  finished.set_reason(v1::INTERRUPTED);
  finished.set_error_message("the replica restarted");
  EXPECT_TRUE(WasInterruptedByServer(finished));
}

TEST(RetryPolicyTest, ABrokenStreamIsWatchedAgainUntilTheJobIsLostOrItsReplicaStaysAway) {
  EXPECT_EQ(DecideNextStep(Broken(grpc::StatusCode::UNAVAILABLE)), NextStep::kRewatch);
  EXPECT_EQ(DecideNextStep(Broken(grpc::StatusCode::OK)), NextStep::kRewatch);
  EXPECT_EQ(DecideNextStep(Broken(grpc::StatusCode::NOT_FOUND)), NextStep::kResubmit);
  EXPECT_EQ(DecideNextStep(Broken(grpc::StatusCode::UNAVAILABLE, /*waited_too_long=*/true)),
            NextStep::kResubmit);
  // A terminal event seen on the last watch decides, however long it took.
  CallEnd late = Finished(v1::COMPLETED);
  late.code = grpc::StatusCode::UNAVAILABLE;
  late.waited_too_long = true;
  EXPECT_EQ(DecideNextStep(late), NextStep::kRecord);
}

TEST(RetryPolicyTest, RefusalsAreWaitedOutRetriedForAWhileOrStopTheSweep) {
  EXPECT_EQ(DecideNextStep(Refused(grpc::StatusCode::RESOURCE_EXHAUSTED, true)),
            NextStep::kWaitForRoom);
  EXPECT_EQ(DecideNextStep(Refused(grpc::StatusCode::UNAVAILABLE)), NextStep::kRetryRefused);
  EXPECT_EQ(DecideNextStep(Refused(grpc::StatusCode::DEADLINE_EXCEEDED)), NextStep::kRetryRefused);
  EXPECT_EQ(DecideNextStep(Refused(grpc::StatusCode::UNAVAILABLE, true)), NextStep::kGiveUp);
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::OUT_OF_RANGE, grpc::StatusCode::UNIMPLEMENTED,
        grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNAUTHENTICATED}) {
    EXPECT_EQ(DecideNextStep(Refused(code)), NextStep::kStopSweep) << code;
  }
}

}  // namespace
}  // namespace sgdspectra::client
