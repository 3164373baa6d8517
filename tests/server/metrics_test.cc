// The Prometheus metrics (server/metrics.h): the ServerMetrics methods against the text they
// produce, the store's counting against a real SQLite failure, and a server scraped over HTTP
// whose numbers are checked against what its own API says about the jobs it ran.
#include "server/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_server.h"
#include "server/job_store.h"
#include "server/server_options.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using server::ActiveStream;
using server::ServerMetrics;
using server::StreamKind;
using Values = std::map<std::string, double>;

// "name{labels} value" lines of the text exposition format, by "name{labels}" as printed.
Values ParseExposition(const std::string& text) {
  Values values;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    values[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return values;
}

// The value of one series; fails the test when the series is missing.
double Get(const Values& values, const std::string& series) {
  auto it = values.find(series);
  EXPECT_NE(it, values.end()) << "no series " << series;
  return it == values.end() ? std::nan("") : it->second;
}

// GET /metrics from 127.0.0.1:port with a plain socket (HTTP/1.0, the server closes the
// connection after the answer); the body, or "" after an error (reported to the test).
std::string HttpGetMetrics(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    ADD_FAILURE() << "cannot connect to the metrics port " << port;
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response.substr(0, 200);
  return body == std::string::npos ? "" : response.substr(body + 4);
}

Values Scrape(int port) { return ParseExposition(HttpGetMetrics(port)); }

// Scrapes until `ready` holds (a stream's end reaches the server a moment after the client
// sees it) or kWaitLimit passes; returns the last scrape.
Values ScrapeUntil(int port, const std::function<bool(const Values&)>& ready) {
  const auto give_up = std::chrono::steady_clock::now() + kWaitLimit;
  Values values = Scrape(port);
  while (!ready(values) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    values = Scrape(port);
  }
  return values;
}

// True when the scrape has the series with this value (false for a failed scrape).
bool Has(const Values& values, const std::string& series, double value) {
  auto it = values.find(series);
  return it != values.end() && it->second == value;
}

std::string Jobs(const std::string& state) { return "sgdspectra_jobs{state=\"" + state + "\"}"; }
std::string Streams(const std::string& kind) {
  return "sgdspectra_active_streams{kind=\"" + kind + "\"}";
}

TEST(ServerMetricsTest, EveryMetricStartsAtZeroAndEachMethodMovesOnlyItsOwn) {
  ServerMetrics metrics;
  Values values = ParseExposition(metrics.TextExposition());
  for (const char* state : {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}) {
    EXPECT_EQ(Get(values, Jobs(state)), 0) << state;
  }
  for (const char* kind : {"watch", "run", "sample"}) EXPECT_EQ(Get(values, Streams(kind)), 0);
  for (const char* series : {"sgdspectra_queue_depth", "sgdspectra_snapshot_seconds_count",
                             "sgdspectra_solve_seconds_count", "sgdspectra_events_written_total",
                             "sgdspectra_auth_failures_total", "sgdspectra_store_errors_total"}) {
    EXPECT_EQ(Get(values, series), 0) << series;
  }

  metrics.JobStateChanged(v1::JOB_STATE_UNSPECIFIED, v1::QUEUED);
  metrics.JobStateChanged(v1::JOB_STATE_UNSPECIFIED, v1::QUEUED);
  metrics.JobStateChanged(v1::QUEUED, v1::RUNNING);
  metrics.SetQueueDepth(1);
  Snapshot snapshot;
  snapshot.analysis_seconds = 0.3;
  snapshot.spectra.resize(2);
  snapshot.spectra[0].solver.seconds = 0.002;
  snapshot.spectra[1].solver.seconds = 7;
  metrics.ObserveSnapshot(snapshot);
  metrics.AddEventsWritten(3);
  metrics.RecordAuthFailure();
  metrics.RecordStoreError();
  metrics.RecordStoreError();
  values = ParseExposition(metrics.TextExposition());
  EXPECT_EQ(Get(values, Jobs("QUEUED")), 1);
  EXPECT_EQ(Get(values, Jobs("RUNNING")), 1);
  EXPECT_EQ(Get(values, Jobs("SUCCEEDED")), 0);
  EXPECT_EQ(Get(values, "sgdspectra_queue_depth"), 1);
  EXPECT_EQ(Get(values, "sgdspectra_snapshot_seconds_count"), 1);
  EXPECT_DOUBLE_EQ(Get(values, "sgdspectra_snapshot_seconds_sum"), 0.3);
  EXPECT_EQ(Get(values, "sgdspectra_snapshot_seconds_bucket{le=\"0.25\"}"), 0);
  EXPECT_EQ(Get(values, "sgdspectra_snapshot_seconds_bucket{le=\"0.5\"}"), 1);
  EXPECT_EQ(Get(values, "sgdspectra_solve_seconds_count"), 2);
  EXPECT_EQ(Get(values, "sgdspectra_solve_seconds_bucket{le=\"0.0025\"}"), 1);
  EXPECT_EQ(Get(values, "sgdspectra_solve_seconds_bucket{le=\"5\"}"), 1);
  EXPECT_EQ(Get(values, "sgdspectra_solve_seconds_bucket{le=\"10\"}"), 2);
  EXPECT_EQ(Get(values, "sgdspectra_events_written_total"), 3);
  EXPECT_EQ(Get(values, "sgdspectra_auth_failures_total"), 1);
  EXPECT_EQ(Get(values, "sgdspectra_store_errors_total"), 2);
}

TEST(ServerMetricsTest, AnActiveStreamCountsUntilItsLastOwnerGoes) {
  ServerMetrics metrics;
  auto watch = [&] { return Get(ParseExposition(metrics.TextExposition()), Streams("watch")); };
  {
    ActiveStream first(&metrics, StreamKind::kWatch);
    EXPECT_EQ(watch(), 1);
    ActiveStream moved = std::move(first);
    EXPECT_EQ(watch(), 1);
    ActiveStream second(&metrics, StreamKind::kWatch);
    EXPECT_EQ(watch(), 2);
    second = ActiveStream();  // released by assignment
    EXPECT_EQ(watch(), 1);
    ActiveStream uncounted(nullptr, StreamKind::kWatch);
  }
  EXPECT_EQ(watch(), 0);
}

TEST(ServerMetricsTest, ListenRejectsAMalformedAddressAndReportsABusyPort) {
  ServerMetrics metrics;
  for (const char* bad : {"", "9090", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:80s",
                          "::1:9090", "[]:9090"}) {
    const Status status = metrics.Listen(bad);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(status.message().rfind("--metrics-listen: ", 0), 0u) << status.message();
  }
  EXPECT_EQ(metrics.port(), 0);
  ASSERT_TRUE(metrics.Listen("127.0.0.1:0").ok());
  ASSERT_GT(metrics.port(), 0);
  ServerMetrics second;
  const Status busy = second.Listen("127.0.0.1:" + std::to_string(metrics.port()));
  EXPECT_EQ(busy.code(), StatusCode::kUnavailable) << busy.message();
  EXPECT_NE(ParseExposition(HttpGetMetrics(metrics.port())).count("sgdspectra_queue_depth"), 0u);
}

// The store counts what it commits and what fails: an events table dropped behind its back
// (by a second connection) makes the next append fail.
TEST(ServerMetricsTest, TheStoreCountsCommittedEventsAndFailedWrites) {
  const std::string dir = TestDataDir();
  std::unique_ptr<server::JobStore> store;
  ASSERT_TRUE(server::JobStore::Open(dir, &store).ok());
  ServerMetrics metrics;
  store->set_metrics(&metrics);
  v1::Job job;
  job.set_job_id("j-00000000-0000000001");
  job.set_state(v1::QUEUED);
  v1::JobEvent accepted;
  accepted.set_job_id(job.job_id());
  accepted.set_seq(1);
  accepted.mutable_accepted();
  ASSERT_TRUE(store->InsertJob(job, accepted).ok());
  v1::JobEvent progress = accepted;
  progress.set_seq(2);
  progress.mutable_progress()->set_steps_done(10);
  ASSERT_TRUE(store->AppendEvent(progress).ok());
  Values values = ParseExposition(metrics.TextExposition());
  EXPECT_EQ(Get(values, "sgdspectra_events_written_total"), 2);
  EXPECT_EQ(Get(values, "sgdspectra_store_errors_total"), 0);

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/sgdspectra.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "DROP TABLE events;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  progress.set_seq(3);
  EXPECT_FALSE(store->AppendEvent(progress).ok());
  values = ParseExposition(metrics.TextExposition());
  EXPECT_EQ(Get(values, "sgdspectra_events_written_total"), 2);
  EXPECT_EQ(Get(values, "sgdspectra_store_errors_total"), 1);
}

// Opens a stream, waits for its first event, and holds it open until destroyed.
template <typename Message>
struct OpenStream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<Message>> reader;
  Message first;
  ~OpenStream() {
    context.TryCancel();
    Message ignored;
    while (reader != nullptr && reader->Read(&ignored)) {
    }
    if (reader != nullptr) reader->Finish();
  }
};

// A server with a metrics listener on 127.0.0.1:0 and one worker.
std::unique_ptr<InProcessServer> StartWithMetrics(const std::string& data_dir) {
  server::ServerOptions options;
  options.data_dir = data_dir;
  options.workers = 1;
  options.metrics_listen = "127.0.0.1:0";
  return std::make_unique<InProcessServer>(options);
}

grpc::Status Cancel(v1::SgdSpectra::Stub* stub, const std::string& job_id) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  v1::Job job;
  return stub->CancelJob(&context, request, &job);
}

// The snapshot and solve observations a job's events imply.
struct Timings {
  int snapshots = 0;
  int solves = 0;
  double analysis_seconds = 0;
};
void AddTimings(v1::SgdSpectra::Stub* stub, const std::string& job_id, Timings* timings) {
  for (const v1::JobEvent& event : WatchAll(stub, job_id, 0).events) {
    if (!event.has_snapshot()) continue;
    ++timings->snapshots;
    timings->solves += event.snapshot().spectra_size();
    timings->analysis_seconds += event.snapshot().analysis_seconds();
  }
}

TEST(ServerMetricsTest, JobStatesQueueEventsAndTimingsFollowTheJobs) {
  auto server = StartWithMetrics(TestDataDir());
  ASSERT_TRUE(server->ok());
  const int port = server->server()->metrics_port();
  ASSERT_GT(port, 0);
  v1::SgdSpectra::Stub* stub = server->stub();
  Values values = Scrape(port);
  EXPECT_EQ(Get(values, Jobs("QUEUED")) + Get(values, Jobs("SUCCEEDED")), 0);

  // One job runs (the only worker is busy), the next waits.
  v1::Job long_job, tiny_job;
  ASSERT_TRUE(Submit(stub, LongSpec(), &long_job).ok());
  ReadUntilRunning(stub, long_job.job_id());
  ASSERT_TRUE(Submit(stub, TinySpec(), &tiny_job).ok());
  values = Scrape(port);
  EXPECT_EQ(Get(values, Jobs("RUNNING")), 1);
  EXPECT_EQ(Get(values, Jobs("QUEUED")), 1);
  EXPECT_EQ(Get(values, "sgdspectra_queue_depth"), 1);

  ASSERT_TRUE(Cancel(stub, long_job.job_id()).ok());
  const v1::Job tiny_done = WaitTerminal(stub, tiny_job.job_id());
  ASSERT_EQ(tiny_done.state(), v1::SUCCEEDED);
  const v1::Job long_done = WaitTerminal(stub, long_job.job_id());
  ASSERT_EQ(long_done.state(), v1::CANCELLED);
  values = Scrape(port);
  EXPECT_EQ(Get(values, Jobs("QUEUED")), 0);
  EXPECT_EQ(Get(values, Jobs("RUNNING")), 0);
  EXPECT_EQ(Get(values, Jobs("SUCCEEDED")), 1);
  EXPECT_EQ(Get(values, Jobs("CANCELLED")), 1);
  EXPECT_EQ(Get(values, "sgdspectra_queue_depth"), 0);
  // Every event either job has is one the store committed, and no more.
  EXPECT_EQ(Get(values, "sgdspectra_events_written_total"),
            tiny_done.last_seq() + long_done.last_seq());
  // The histograms hold each snapshot's analysis time and each block's solve time.
  Timings timings;
  AddTimings(stub, long_job.job_id(), &timings);
  AddTimings(stub, tiny_job.job_id(), &timings);
  EXPECT_GE(timings.snapshots, 5);  // the tiny job's 4, the long job's t = 0 and first one
  EXPECT_EQ(Get(values, "sgdspectra_snapshot_seconds_count"), timings.snapshots);
  EXPECT_NEAR(Get(values, "sgdspectra_snapshot_seconds_sum"), timings.analysis_seconds,
              1e-6 * timings.analysis_seconds + 1e-9);
  EXPECT_EQ(Get(values, "sgdspectra_solve_seconds_count"), timings.solves);
  EXPECT_EQ(Get(values, "sgdspectra_store_errors_total"), 0);

  // A restarted server counts the jobs it recovers; it wrote no event of theirs.
  const std::string data_dir = server->data_dir();
  server.reset();
  server = StartWithMetrics(data_dir);
  ASSERT_TRUE(server->ok());
  values = Scrape(server->server()->metrics_port());
  EXPECT_EQ(Get(values, Jobs("SUCCEEDED")), 1);
  EXPECT_EQ(Get(values, Jobs("CANCELLED")), 1);
  EXPECT_EQ(Get(values, Jobs("RUNNING")), 0);
  EXPECT_EQ(Get(values, "sgdspectra_events_written_total"), 0);
}

// WatchJob, RunJob and StreamTestSample streams each count while open, and stop counting once
// the call is over (a moment after the client sees it end: the scrape is retried).
TEST(ServerMetricsTest, OpenStreamsAreCountedByKindWhileOpen) {
  auto server = StartWithMetrics(TestDataDir());
  ASSERT_TRUE(server->ok());
  const int port = server->server()->metrics_port();
  v1::SgdSpectra::Stub* stub = server->stub();
  v1::Job tiny_job;
  ASSERT_TRUE(Submit(stub, TinySpec(), &tiny_job).ok());
  ASSERT_EQ(WaitTerminal(stub, tiny_job.job_id()).state(), v1::SUCCEEDED);
  Values values = ScrapeUntil(port, [](const Values& v) { return Has(v, Streams("watch"), 0); });
  EXPECT_EQ(Get(values, Streams("watch")), 0);
  v1::JobSpec wide_spec = TinySpec();
  wide_spec.mutable_analysis()->set_test_ratio(100);  // M = 4000 rows of d = 40: 1.3 MB
  v1::Job wide_job;
  ASSERT_TRUE(Submit(stub, wide_spec, &wide_job).ok());
  ASSERT_EQ(WaitTerminal(stub, wide_job.job_id()).state(), v1::SUCCEEDED);
  grpc::ChannelArguments narrow;
  narrow.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto narrow_stub = v1::SgdSpectra::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server->server()->port()),
                                grpc::InsecureChannelCredentials(), narrow));
  {
    OpenStream<v1::JobEvent> run;
    v1::SubmitJobRequest request;
    *request.mutable_spec() = LongSpec();
    run.reader = stub->RunJob(&run.context, request);
    ASSERT_TRUE(run.reader->Read(&run.first));
    OpenStream<v1::JobEvent> watch;
    v1::WatchJobRequest watch_request;
    watch_request.set_job_id(run.first.job_id());
    watch.reader = stub->WatchJob(&watch.context, watch_request);
    ASSERT_TRUE(watch.reader->Read(&watch.first));
    // A sample far larger than HTTP/2's 64 KiB window, read by a client whose window cannot
    // grow (no BDP probing), one row per chunk: the server stays blocked in the stream, which
    // stays open while the scrape below runs. (A small sample is sent whole before the client
    // reads its first chunk, and the stream may be over by the scrape.)
    OpenStream<v1::TestSampleChunk> sample;
    v1::StreamTestSampleRequest sample_request;
    sample_request.set_job_id(wide_job.job_id());
    sample_request.set_rows_per_chunk(1);
    sample.reader = narrow_stub->StreamTestSample(&sample.context, sample_request);
    ASSERT_TRUE(sample.reader->Read(&sample.first));
    values = Scrape(port);
    EXPECT_EQ(Get(values, Streams("run")), 1);
    EXPECT_EQ(Get(values, Streams("watch")), 1);
    EXPECT_EQ(Get(values, Streams("sample")), 1);
    ASSERT_TRUE(Cancel(stub, run.first.job_id()).ok());
  }
  values = ScrapeUntil(port, [](const Values& v) {
    return Has(v, Streams("run"), 0) && Has(v, Streams("watch"), 0) && Has(v, Streams("sample"), 0);
  });
  EXPECT_EQ(Get(values, Streams("run")), 0);
  EXPECT_EQ(Get(values, Streams("watch")), 0);
  EXPECT_EQ(Get(values, Streams("sample")), 0);
}

// The real binary: --metrics-listen with port 0 and --metrics-port-file.
TEST(ServerMetricsTest, TheBinaryWritesItsMetricsPortFile) {
  const std::string data_dir = TestDataDir();
  const std::string port_file = data_dir + "/metrics.port";
  auto child = ::sgdspectra::testing::ChildServer::Start(
      SGDSPECTRA_SERVER_BINARY, data_dir,
      {"--metrics-listen", "127.0.0.1:0", "--metrics-port-file", port_file});
  ASSERT_NE(child, nullptr);
  std::ifstream in(port_file);
  int port = 0;
  ASSERT_TRUE(in >> port) << "no port in " << port_file;
  ASSERT_GT(port, 0);
  const Values values = Scrape(port);
  EXPECT_EQ(Get(values, Jobs("QUEUED")), 0);
  EXPECT_EQ(Get(values, "sgdspectra_events_written_total"), 0);
}

TEST(ServerMetricsTest, AMetricsPortFileWithoutAListenerIsAFlagError) {
  server::ServerOptions options;
  std::vector<std::string> args = {"sgdspectra-server", "--data-dir", "/tmp/x",
                                   "--metrics-port-file", "/tmp/x/port"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  const auto exit_code =
      server::ParseServerOptions(static_cast<int>(argv.size()), argv.data(), &options);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_NE(*exit_code, 0);
}

}  // namespace
}  // namespace sgdspectra::server_test
