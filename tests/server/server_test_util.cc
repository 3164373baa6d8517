#include "server_test_util.h"

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include "child_server.h"

namespace sgdspectra::server_test {

namespace {

// Removes every directory handed out by TestDataDir() at exit.
class TestDataDirs {
 public:
  ~TestDataDirs() {
    for (const std::string& dir : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
  std::string Make() {
    std::lock_guard<std::mutex> lock(mutex_);
    dirs_.push_back(::sgdspectra::testing::MakeTempDir());
    return dirs_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> dirs_;
};

}  // namespace

std::string TestDataDir() {
  static TestDataDirs dirs;  // its destructor runs at exit, after every test
  return dirs.Make();
}

std::chrono::system_clock::time_point Deadline(std::chrono::milliseconds from_now) {
  return std::chrono::system_clock::now() + from_now;
}

v1::JobSpec TinySpec(uint64_t seed) {
  v1::JobSpec spec;
  spec.set_name("tiny");
  spec.set_seed(seed);
  v1::KgmmTask* kgmm = spec.mutable_kgmm();
  kgmm->set_dim(40);
  kgmm->set_num_classes(3);
  kgmm->set_snr(50);
  spec.mutable_sgd()->set_t_end(3);
  spec.mutable_schedule()->set_kind(v1::Schedule::EVERY_STEPS);
  spec.mutable_schedule()->set_every_steps(40);
  spec.mutable_analysis()->set_test_ratio(2);
  spec.mutable_analysis()->set_top_r(4);
  spec.mutable_analysis()->set_top_r_full(8);
  spec.set_progress_every_steps(30);
  return spec;
}

v1::JobSpec TinyXorSpec(uint64_t seed) {
  v1::JobSpec spec = TinySpec(seed);
  spec.set_name("tiny-xor");
  v1::XorTask* xor_task = spec.mutable_xor_task();  // replaces kgmm in the oneof
  xor_task->set_dim(40);
  xor_task->set_hidden(4);
  return spec;
}

v1::JobSpec MediumSpec(uint64_t seed) {
  v1::JobSpec spec = TinySpec(seed);
  spec.set_name("medium");
  spec.mutable_sgd()->set_t_end(60);
  spec.mutable_schedule()->set_every_steps(200);
  spec.set_progress_every_steps(10);
  return spec;
}

v1::JobSpec LargeSampleSpec(uint64_t seed) {
  v1::JobSpec spec = TinySpec(seed);
  spec.mutable_kgmm()->set_dim(400);
  spec.mutable_analysis()->set_test_ratio(50);
  spec.mutable_analysis()->set_full_matrices(false);
  spec.mutable_analysis()->set_g_matrix(false);
  return spec;
}

v1::JobSpec LongSpec(uint64_t seed) {
  v1::JobSpec spec = TinySpec(seed);
  spec.set_name("long");
  spec.mutable_sgd()->set_t_end(1e5);  // 4e6 steps
  spec.mutable_schedule()->set_every_steps(500);
  spec.set_progress_every_steps(250);
  return spec;
}

std::unique_ptr<v1::SgdSpectra::Stub> MakeStub(const std::string& address) {
  return v1::SgdSpectra::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

StreamResult WatchAll(v1::SgdSpectra::Stub* stub, const std::string& job_id, int64_t after_seq,
                      std::chrono::system_clock::time_point deadline) {
  grpc::ClientContext context;
  context.set_deadline(deadline);
  v1::WatchJobRequest request;
  request.set_job_id(job_id);
  request.set_after_seq(after_seq);
  auto reader = stub->WatchJob(&context, request);
  StreamResult result;
  v1::JobEvent event;
  while (reader->Read(&event)) result.events.push_back(event);
  result.status = reader->Finish();
  return result;
}

StreamResult RunAll(v1::SgdSpectra::Stub* stub, const v1::JobSpec& spec) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  auto reader = stub->RunJob(&context, request);
  StreamResult result;
  v1::JobEvent event;
  while (reader->Read(&event)) result.events.push_back(event);
  result.status = reader->Finish();
  return result;
}

grpc::Status Submit(v1::SgdSpectra::Stub* stub, const v1::JobSpec& spec, v1::Job* job) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  return stub->SubmitJob(&context, request, job);
}

std::vector<v1::JobEvent> ReadUntilRunning(v1::SgdSpectra::Stub* stub, const std::string& job_id) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::WatchJobRequest request;
  request.set_job_id(job_id);
  auto reader = stub->WatchJob(&context, request);
  std::vector<v1::JobEvent> events;
  ReadUntil(reader.get(), &events, [](const v1::JobEvent& event) {
    return (event.has_snapshot() && event.snapshot().step() > 0) || event.has_finished();
  });
  context.TryCancel();
  reader->Finish();
  return events;
}

v1::Job WaitTerminal(v1::SgdSpectra::Stub* stub, const std::string& job_id) {
  WatchAll(stub, job_id, 0);
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  v1::Job job;
  stub->GetJob(&context, request, &job);
  return job;
}

InProcessServer::InProcessServer(std::string data_dir, int workers, int queue,
                                 int max_message_bytes)
    : data_dir_(std::move(data_dir)) {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = data_dir_;
  options.workers = workers;
  options.queue = queue;
  options.max_message_bytes = max_message_bytes;
  const Status status = server::SpectraServer::Start(options, &server_);
  if (!status.ok()) {
    server_.reset();
    return;
  }
  stub_ = MakeStub(address());
}

InProcessServer::InProcessServer(server::ServerOptions options) : data_dir_(options.data_dir) {
  options.listen = "127.0.0.1:0";
  if (!server::SpectraServer::Start(options, &server_).ok()) {
    server_.reset();
    return;
  }
  stub_ = MakeStub(address());
}

InProcessServer::~InProcessServer() { Stop(); }

std::string InProcessServer::address() const {
  return "127.0.0.1:" + std::to_string(server_->port());
}

void InProcessServer::Stop() {
  if (server_ != nullptr) server_->Shutdown();
}

void ExpectSameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b,
                       const std::string& what) {
  google::protobuf::util::MessageDifferencer differencer;
  // Exact comparison, except that NaN equals NaN: a not-applicable alignment is NaN on both
  // sides of a bit-for-bit comparison.
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  differencer.set_field_comparator(&comparator);
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(a, b)) << what << " differs:\n" << differences;
}

void ExpectContiguous(const std::vector<v1::JobEvent>& events, int64_t first) {
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), first + static_cast<int64_t>(i)) << "event index " << i;
    EXPECT_EQ(events[i].job_id(), events[0].job_id());
  }
}

v1::Snapshot WithoutTiming(v1::Snapshot snapshot) {
  snapshot.set_sgd_seconds(0);
  snapshot.set_analysis_seconds(0);
  for (v1::Spectrum& spectrum : *snapshot.mutable_spectra()) {
    spectrum.mutable_solver()->set_seconds(0);
    spectrum.mutable_edge_solver()->set_seconds(0);
  }
  return snapshot;
}

}  // namespace sgdspectra::server_test
