// End to end: the `sgdspectra` binary against a child `sgdspectra-server` on 127.0.0.1 (port 0),
// checked through what a user sees: stdout, stderr and the exit code.
//
// Synchronisation is by the protocol only (a command returns when its RPC or stream is done; a
// test reads the CLI's stdout to know a stream has started); there are no sleeps.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_server.h"
#include "cli_process.h"
#include "client/exit_codes.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {
namespace {

using ::sgdspectra::testing::ChildServer;
using ::sgdspectra::testing::CliProcess;
using ::sgdspectra::testing::CliResult;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kCliBinary[] = SGDSPECTRA_CLI_BINARY;
constexpr char kServerBinary[] = SGDSPECTRA_SERVER_BINARY;

// d = 40, k = 3, lambda = 50, t to 2: 80 SGD steps of size 1/40, a snapshot every 20 steps.
const std::vector<std::string> kTinyJob = {"--d",     "40", "--k",    "3", "--lambda",      "50",
                                           "--t-end", "2",  "--seed", "5", "--every-steps", "20"};
constexpr int kTinyDim = 40;
constexpr int kTinyClasses = 3;

// XOR, d = 40, K = 4, lambda = 1000, t to 2: 80 steps, a snapshot every 40 steps.
const std::vector<std::string> kTinyXorJob = {
    "--task",  "xor", "--d",           "40", "--hidden", "4", "--lambda", "1000",
    "--t-end", "2",   "--every-steps", "40", "--seed",   "5"};

// Long enough never to finish during a test (the server is stopped at the end).
const std::vector<std::string> kEndlessJob = {
    "--d", "40", "--k", "3", "--steps", "9000000000", "--every-steps", "1000000000"};

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

v1::JobEvent ParseEvent(const std::string& line) {
  v1::JobEvent event;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &event);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
  return event;
}

std::vector<v1::JobEvent> ParseEvents(const std::string& jsonl) {
  std::vector<v1::JobEvent> events;
  for (const std::string& line : Lines(jsonl)) events.push_back(ParseEvent(line));
  return events;
}

// The terminal state in a jsonl stream's last event; JOB_STATE_UNSPECIFIED if there is none.
v1::JobState FinalState(const std::string& jsonl) {
  const std::vector<v1::JobEvent> events = ParseEvents(jsonl);
  if (events.empty() || !events.back().has_finished()) return v1::JOB_STATE_UNSPECIFIED;
  return events.back().finished().state();
}

std::string Describe(const CliResult& result) {
  return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out +
         "--- stderr\n" + result.err;
}

class CliEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = sgdspectra::testing::MakeTempDir();
    server_ = ChildServer::Start(kServerBinary, data_dir_);
    ASSERT_NE(server_, nullptr) << "could not start " << kServerBinary;
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Signal(SIGTERM);
      server_->Wait();
    }
    std::filesystem::remove_all(data_dir_);
  }

  // `sgdspectra --server <child> args...`
  CliResult Cli(const std::vector<std::string>& args) {
    return sgdspectra::testing::RunCli(kCliBinary, Concat({"--server", server_->address()}, args));
  }

  std::unique_ptr<CliProcess> StartCli(const std::vector<std::string>& args) {
    return CliProcess::Start(kCliBinary, Concat({"--server", server_->address()}, args));
  }

  // Runs the tiny job to its end; returns its events (jsonl).
  std::vector<v1::JobEvent> RunTinyJob() {
    const CliResult result = Cli(Concat({"run", "--output", "jsonl"}, kTinyJob));
    EXPECT_EQ(result.exit_code, kExitOk) << Describe(result);
    return ParseEvents(result.out);
  }

  std::string data_dir_;
  std::unique_ptr<ChildServer> server_;
};

TEST_F(CliEndToEndTest, RunJsonlStreamsSeq1ToNEndingSucceeded) {
  const std::vector<v1::JobEvent> events = RunTinyJob();
  ASSERT_GE(events.size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), static_cast<std::int64_t>(i + 1)) << "no gap, no duplicate";
    EXPECT_EQ(events[i].job_id(), events[0].job_id());
  }
  ASSERT_TRUE(events.front().has_accepted());
  const v1::Accepted& accepted = events.front().accepted();
  EXPECT_EQ(accepted.resolved_spec().kgmm().dim(), kTinyDim);
  EXPECT_EQ(accepted.resolved_spec().schedule().kind(), v1::Schedule::EVERY_STEPS);

  int snapshots = 0;
  for (const v1::JobEvent& event : events) snapshots += event.has_snapshot() ? 1 : 0;
  EXPECT_EQ(snapshots, accepted.snapshot_steps_size());

  ASSERT_TRUE(events.back().has_finished());
  const v1::Finished& finished = events.back().finished();
  EXPECT_EQ(finished.state(), v1::SUCCEEDED);
  ASSERT_TRUE(finished.has_rank());
  EXPECT_EQ(finished.rank().expected_rank(), kTinyClasses);
}

TEST_F(CliEndToEndTest, RunCsvHasOneRowPerSnapshotAndSpectrum) {
  // The same spec and seed give the same snapshots: count (snapshot, spectrum) pairs in jsonl.
  size_t expected_rows = 0;
  for (const v1::JobEvent& event : RunTinyJob()) {
    if (event.has_snapshot()) expected_rows += event.snapshot().spectra_size();
  }
  ASSERT_GT(expected_rows, 0u);

  const CliResult result = Cli(Concat({"run", "--output", "csv"}, kTinyJob));
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], StartsWith("job_id,seq,snapshot,step,time,matrix,block,block_index,"));
  EXPECT_EQ(lines.size() - 1, expected_rows);
}

TEST_F(CliEndToEndTest, RunTableEndsWithTheRankLine) {
  const CliResult result = Cli(Concat({"run"}, kTinyJob));
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr(" accepted: k-GMM d=40 k=3 lambda=50"));
  EXPECT_THAT(result.out, HasSubstr("snapshot 0  step 0  t 0.000"));
  EXPECT_THAT(result.out, HasSubstr("H c2"));
  EXPECT_THAT(result.out, HasSubstr("finished: SUCCEEDED"));
  EXPECT_THAT(Lines(result.out).back(), StartsWith("classifier rank "));
  EXPECT_THAT(Lines(result.out).back(), HasSubstr("(expected 3, "));
}

TEST_F(CliEndToEndTest, XorRunTableShowsEveryLayerAndTheCoveredClusters) {
  const CliResult result = Cli(Concat({"run"}, kTinyXorJob));
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr(" accepted: XOR d=40 K=4 lambda=1000"));
  for (const std::string label : {"  H n0 ", "  G n3 ", "  H L1 ", "  H L2 ", "  G L2 ",
                                  "  H full ", "\n  v   ", "\n  W.mu "}) {
    EXPECT_THAT(result.out, HasSubstr(label));
  }
  EXPECT_THAT(result.out, HasSubstr("finished: SUCCEEDED"));
  EXPECT_THAT(result.out, HasSubstr("  H second-layer outliers ["));
  const std::string rank_line = Lines(result.out).back();
  EXPECT_THAT(rank_line, StartsWith("classifier rank "));
  EXPECT_THAT(rank_line, HasSubstr("(expected 4, "));
  EXPECT_THAT(rank_line, ::testing::ContainsRegex("covered clusters: .* \\([0-4] of 4\\)$"));

  // --layer layer2: only the second-layer rows.
  const CliResult layer2 = Cli(Concat({"run", "--layer", "layer2"}, kTinyXorJob));
  ASSERT_EQ(layer2.exit_code, kExitOk) << Describe(layer2);
  EXPECT_THAT(layer2.out, HasSubstr("  H L2 "));
  EXPECT_THAT(layer2.out, ::testing::Not(HasSubstr("  H n0 ")));
  EXPECT_THAT(layer2.out, ::testing::Not(HasSubstr("  H full ")));
  EXPECT_THAT(Lines(layer2.out).back(), HasSubstr("covered clusters: "));
}

TEST_F(CliEndToEndTest, XorRunCsvNamesEveryBlockKind) {
  const CliResult result = Cli(Concat({"run", "--output", "csv"}, kTinyXorJob));
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_GT(lines.size(), 1u);
  // job_id,seq,snapshot,step,time,matrix,block,...: `block` is the 7th column.
  std::set<std::string> blocks;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields;
    std::istringstream row(lines[i]);
    for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
    ASSERT_GT(fields.size(), 6u) << lines[i];
    blocks.insert(fields[6]);
  }
  EXPECT_EQ(blocks, (std::set<std::string>{"neuron", "layer1", "layer2", "full"}));

  const CliResult neurons =
      Cli(Concat({"run", "--output", "csv", "--layer", "neuron"}, kTinyXorJob));
  ASSERT_EQ(neurons.exit_code, kExitOk) << Describe(neurons);
  const std::vector<std::string> neuron_lines = Lines(neurons.out);
  ASSERT_GT(neuron_lines.size(), 1u);
  for (size_t i = 1; i < neuron_lines.size(); ++i) {
    EXPECT_THAT(neuron_lines[i], HasSubstr(",neuron,")) << neuron_lines[i];
  }
}

TEST_F(CliEndToEndTest, SpecFileWithFlagOverrides) {
  const std::string path = data_dir_ + "/spec.json";
  std::ofstream(path) << R"({"name": "from file", "seed": "9",
      "kgmm": {"dim": "400", "numClasses": 3, "snr": 50},
      "sgd": {"tEnd": 2}, "schedule": {"kind": "EVERY_STEPS", "everySteps": "40"}})";
  const CliResult result =
      Cli({"run", "--spec", path, "--d", "40", "--every-steps", "20", "--output", "jsonl"});
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  const std::vector<v1::JobEvent> events = ParseEvents(result.out);
  ASSERT_FALSE(events.empty());
  const v1::JobSpec& spec = events.front().accepted().resolved_spec();
  EXPECT_EQ(spec.name(), "from file");
  EXPECT_EQ(spec.seed(), 9u);
  EXPECT_EQ(spec.kgmm().dim(), 40);
  EXPECT_EQ(spec.schedule().every_steps(), 20);
}

// Each invalid field: exit code 4 and "error: INVALID_ARGUMENT: <field>..." on stderr.
struct InvalidField {
  std::vector<std::string> flags;
  std::string field;
};

// Names the parameter in test output and ctest names.
void PrintTo(const InvalidField& invalid, std::ostream* out) { *out << invalid.field; }

class CliInvalidFieldTest : public CliEndToEndTest,
                            public ::testing::WithParamInterface<InvalidField> {};

TEST_P(CliInvalidFieldTest, RunAndSubmitExitWithInvalidArgumentNamingTheField) {
  for (const std::string command : {"run", "submit"}) {
    const CliResult result = Cli(Concat(Concat({command}, kTinyJob), GetParam().flags));
    EXPECT_EQ(result.exit_code, kExitRpcError) << command << ": " << Describe(result);
    EXPECT_THAT(result.err, StartsWith("error: INVALID_ARGUMENT: " + GetParam().field)) << command;
    EXPECT_EQ(result.out, "") << command;
  }
}

INSTANTIATE_TEST_SUITE_P(Fields, CliInvalidFieldTest,
                         ::testing::Values(InvalidField{{"--d", "1"}, "kgmm.dim"},
                                           InvalidField{{"--lambda", "-1"}, "kgmm.snr"},
                                           InvalidField{{"--k", "1"}, "kgmm.num_classes"},
                                           InvalidField{{"--beta", "-0.5"}, "kgmm.ridge"},
                                           InvalidField{{"--c-delta", "-1"}, "sgd.c_delta"},
                                           InvalidField{{"--test-ratio", "0.01"},
                                                        "analysis.test_ratio"},
                                           InvalidField{{"--top-r", "40"}, "analysis.top_r"},
                                           InvalidField{{"--threads", "300"}, "analysis.threads"}),
                         [](const ::testing::TestParamInfo<InvalidField>& info) {
                           std::string name = info.param.field;
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

TEST_F(CliEndToEndTest, SubmitThenWatchAfterSeqGetsTheRestExactlyOnce) {
  const CliResult submitted = Cli(Concat({"submit"}, kTinyJob));
  ASSERT_EQ(submitted.exit_code, kExitOk) << Describe(submitted);
  const std::vector<std::string> submit_lines = Lines(submitted.out);
  ASSERT_EQ(submit_lines.size(), 1u) << "submit prints only the job id";
  const std::string job_id = submit_lines[0];

  const CliResult full = Cli({"watch", job_id, "--output", "jsonl"});
  ASSERT_EQ(full.exit_code, kExitOk) << Describe(full);
  const std::vector<std::string> all_lines = Lines(full.out);
  ASSERT_GE(all_lines.size(), 3u);

  const CliResult rest = Cli({"watch", job_id, "--after-seq", "2", "--output", "jsonl"});
  ASSERT_EQ(rest.exit_code, kExitOk) << Describe(rest);
  const std::vector<v1::JobEvent> events = ParseEvents(rest.out);
  ASSERT_EQ(events.size(), all_lines.size() - 2);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), static_cast<std::int64_t>(i + 3));
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(events[i], ParseEvent(all_lines[i + 2])))
        << "a replayed event differs from the first delivery: seq " << events[i].seq();
  }
  EXPECT_EQ(FinalState(rest.out), v1::SUCCEEDED);
}

TEST_F(CliEndToEndTest, SubmitJsonlPrintsTheJob) {
  const CliResult result = Cli(Concat({"submit", "--output", "jsonl"}, kTinyJob));
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  v1::Job job;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(Lines(result.out).at(0), &job).ok());
  EXPECT_FALSE(job.job_id().empty());
  EXPECT_EQ(job.resolved_spec().kgmm().num_classes(), kTinyClasses);
}

TEST_F(CliEndToEndTest, CancelOfAFinishedJobIsFailedPrecondition) {
  const std::string job_id = RunTinyJob().at(0).job_id();
  const CliResult result = Cli({"cancel", job_id});
  EXPECT_NE(result.exit_code, kExitOk);
  EXPECT_EQ(result.exit_code, kExitRpcError) << Describe(result);
  EXPECT_THAT(result.err, StartsWith("error: FAILED_PRECONDITION: "));
}

TEST_F(CliEndToEndTest, UnknownJobIsNotFound) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"get", "no-such-job"},
                                             {"watch", "no-such-job"},
                                             {"cancel", "no-such-job"},
                                             {"result", "no-such-job"}}) {
    const CliResult result = Cli(args);
    EXPECT_EQ(result.exit_code, kExitRpcError) << args[0] << ": " << Describe(result);
    EXPECT_THAT(result.err, StartsWith("error: NOT_FOUND: ")) << args[0];
  }
}

TEST_F(CliEndToEndTest, GetAndListShowFinishedJobs) {
  std::vector<std::string> job_ids;
  for (int i = 0; i < 3; ++i) job_ids.push_back(RunTinyJob().at(0).job_id());

  const CliResult got = Cli({"get", job_ids[1], "--output", "jsonl"});
  ASSERT_EQ(got.exit_code, kExitOk) << Describe(got);
  v1::Job job;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(Lines(got.out).at(0), &job).ok());
  EXPECT_EQ(job.job_id(), job_ids[1]);
  EXPECT_EQ(job.state(), v1::SUCCEEDED);

  const CliResult table = Cli({"get", job_ids[1]});
  ASSERT_EQ(table.exit_code, kExitOk) << Describe(table);
  EXPECT_THAT(table.out, HasSubstr("state:         SUCCEEDED"));

  // One job per page: --all must follow the page tokens to see all three.
  const CliResult listed =
      Cli({"list", "--all", "--page-size", "1", "--state", "succeeded", "--output", "jsonl"});
  ASSERT_EQ(listed.exit_code, kExitOk) << Describe(listed);
  std::vector<std::string> listed_ids;
  for (const std::string& line : Lines(listed.out)) {
    v1::Job listed_job;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &listed_job).ok()) << line;
    listed_ids.push_back(listed_job.job_id());
  }
  EXPECT_THAT(listed_ids, ::testing::UnorderedElementsAreArray(job_ids));

  const CliResult first_page = Cli({"list", "--page-size", "1"});
  ASSERT_EQ(first_page.exit_code, kExitOk) << Describe(first_page);
  EXPECT_EQ(Lines(first_page.out).size(), 2u) << "header and one job";
  EXPECT_THAT(first_page.err, HasSubstr("more jobs: add --all"));

  const CliResult none = Cli({"list", "--state", "RUNNING", "--output", "csv"});
  ASSERT_EQ(none.exit_code, kExitOk) << Describe(none);
  EXPECT_EQ(Lines(none.out).size(), 1u) << "only the csv header";
}

TEST_F(CliEndToEndTest, ResultOutWritesWeightsAndMeans) {
  const std::string job_id = RunTinyJob().at(0).job_id();
  const std::string path = data_dir_ + "/result.json";
  const CliResult result =
      Cli({"result", job_id, "--output", "json", "--include-test-sample", "--out", path});
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("weights 3 x 40"));

  std::ifstream file(path);
  std::stringstream json;
  json << file.rdbuf();
  v1::JobResult job_result;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.str(), &job_result).ok());
  EXPECT_EQ(job_result.job().job_id(), job_id);
  EXPECT_EQ(job_result.weights().rows(), kTinyClasses);
  EXPECT_EQ(job_result.weights().cols(), kTinyDim);
  EXPECT_EQ(job_result.weights().values_size(), kTinyClasses * kTinyDim);
  EXPECT_EQ(job_result.means().rows(), kTinyClasses);
  EXPECT_EQ(job_result.means().values_size(), kTinyClasses * kTinyDim);
  EXPECT_EQ(job_result.test_inputs().cols(), kTinyDim);
  EXPECT_EQ(job_result.test_inputs().rows(), job_result.test_labels_size());
  EXPECT_EQ(job_result.finished().state(), v1::SUCCEEDED);

  // Without --out the JSON goes to stdout.
  const CliResult to_stdout = Cli({"result", job_id});
  ASSERT_EQ(to_stdout.exit_code, kExitOk) << Describe(to_stdout);
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(to_stdout.out, &job_result).ok());
  EXPECT_EQ(job_result.weights().values_size(), kTinyClasses * kTinyDim);
}

TEST_F(CliEndToEndTest, HealthIsServingAndTheEnvironmentNamesTheServer) {
  const CliResult live = Cli({"health"});
  EXPECT_EQ(live.exit_code, kExitOk) << Describe(live);
  EXPECT_EQ(live.out, "SERVING\n");

  const CliResult from_env = sgdspectra::testing::RunCli(
      kCliBinary, {"health"}, {"SGDSPECTRA_SERVER=" + server_->address()});
  EXPECT_EQ(from_env.exit_code, kExitOk) << Describe(from_env);
}

TEST_F(CliEndToEndTest, HealthOfAStoppedServerFails) {
  const std::string address = server_->address();
  server_->Signal(SIGTERM);
  ASSERT_EQ(server_->Wait(), 0);
  server_.reset();
  const CliResult result = sgdspectra::testing::RunCli(kCliBinary, {"--server", address, "health"});
  EXPECT_NE(result.exit_code, kExitOk);
  EXPECT_EQ(result.exit_code, kExitRpcError) << Describe(result);
  EXPECT_THAT(result.err, StartsWith("error: UNAVAILABLE: "));
}

TEST_F(CliEndToEndTest, CtrlCOnRunDetachesAndTheJobGoesOn) {
  auto run = StartCli(Concat({"run", "--output", "jsonl"}, kEndlessJob));
  const std::optional<std::string> first = run->ReadStdoutLine();
  ASSERT_TRUE(first.has_value()) << Describe(run->Wait());
  const std::string job_id = ParseEvent(*first).job_id();
  ASSERT_FALSE(job_id.empty());

  run->Signal(SIGINT);
  const CliResult detached = run->Wait();
  EXPECT_EQ(detached.exit_code, kExitDetached) << Describe(detached);
  EXPECT_THAT(detached.err, HasSubstr("detached from job " + job_id));
  EXPECT_THAT(detached.err, HasSubstr("watch " + job_id + " --after-seq "));

  // Still alive on the server: cancellable (not FAILED_PRECONDITION), then watch sees the end.
  const CliResult cancelled = Cli({"cancel", job_id});
  ASSERT_EQ(cancelled.exit_code, kExitOk) << Describe(cancelled);
  const CliResult watched = Cli({"watch", job_id, "--output", "jsonl"});
  EXPECT_EQ(watched.exit_code, kExitJobCancelled) << Describe(watched);
  EXPECT_EQ(FinalState(watched.out), v1::CANCELLED);
}

TEST_F(CliEndToEndTest, CtrlCOnWatchWithCancelOnExitCancelsTheJob) {
  const CliResult submitted = Cli(Concat({"submit"}, kEndlessJob));
  ASSERT_EQ(submitted.exit_code, kExitOk) << Describe(submitted);
  const std::string job_id = Lines(submitted.out).at(0);

  auto watch = StartCli({"watch", job_id, "--cancel-on-exit", "--output", "jsonl"});
  ASSERT_TRUE(watch->ReadStdoutLine().has_value()) << Describe(watch->Wait());
  watch->Signal(SIGINT);
  const CliResult result = watch->Wait();
  EXPECT_EQ(result.exit_code, kExitJobCancelled) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("cancel requested for job " + job_id));

  const CliResult after = Cli({"watch", job_id, "--output", "jsonl"});
  EXPECT_EQ(after.exit_code, kExitJobCancelled) << Describe(after);
  EXPECT_EQ(FinalState(after.out), v1::CANCELLED);
}

TEST_F(CliEndToEndTest, ARunTheServerDrainsExitsSevenAndSaysWhy) {
  auto run = StartCli(Concat({"run", "--output", "jsonl"}, kEndlessJob));
  ASSERT_TRUE(run->ReadStdoutLine().has_value()) << Describe(run->Wait());
  server_->Signal(SIGTERM);
  const CliResult result = run->Wait();
  EXPECT_EQ(server_->Wait(), 0);
  server_.reset();  // already stopped
  EXPECT_EQ(result.exit_code, kExitEndedByServer) << Describe(result);
  EXPECT_EQ(FinalState(result.out), v1::CANCELLED);
  EXPECT_THAT(result.err, HasSubstr("(SERVER_SHUTDOWN)"));
  EXPECT_THAT(result.err, HasSubstr("submitting the same spec again is safe"));
}

// Usage errors need no server: exit 2, nothing sent.
TEST(CliUsageTest, BadFlagsAndSpecFilesAreUsageErrors) {
  const std::string closed = "127.0.0.1:1";
  CliResult result =
      sgdspectra::testing::RunCli(kCliBinary, {"--server", closed, "run", "--d", "x"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);

  result = sgdspectra::testing::RunCli(kCliBinary, {"frobnicate"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);

  const std::string dir = sgdspectra::testing::MakeTempDir();
  const std::string path = dir + "/bad.json";
  std::ofstream(path) << R"({"kgmm": {"dim": "40", "numClases": 3}})";
  result = sgdspectra::testing::RunCli(kCliBinary, {"--server", closed, "run", "--spec", path});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, StartsWith("error: " + path + ": "));
  EXPECT_THAT(result.err, HasSubstr("numClases"));
  std::filesystem::remove_all(dir);

  // A flag of the other task, or a --layer the task does not have: named, nothing sent.
  result = sgdspectra::testing::RunCli(
      kCliBinary, {"--server", closed, "run", "--task", "kgmm", "--hidden", "4"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, StartsWith("error: --hidden: only valid with --task xor"));
  result = sgdspectra::testing::RunCli(kCliBinary,
                                       {"--server", closed, "run", "--task", "xor", "--k", "3"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, StartsWith("error: --k: only valid with --task kgmm"));
  result = sgdspectra::testing::RunCli(
      kCliBinary, {"--server", closed, "run", "--task", "xor", "--layer", "class"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, StartsWith("error: --layer class: "));
  EXPECT_THAT(result.err, HasSubstr("neuron|layer1|layer2|full|all"));
  result =
      sgdspectra::testing::RunCli(kCliBinary, {"--server", closed, "run", "--layer", "neuron"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("class|full|all"));
  result =
      sgdspectra::testing::RunCli(kCliBinary, {"--server", closed, "run", "--layer", "layer3"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);

  result = sgdspectra::testing::RunCli(kCliBinary, {"--help"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_THAT(result.out, HasSubstr("Exit codes:"));
}

}  // namespace
}  // namespace sgdspectra::client
