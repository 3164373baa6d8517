#include "server/service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "server/convert.h"
#include "server/status_map.h"
#include "server/test_sample.h"
#include "server/watch_reactor.h"

namespace sgdspectra::server {
namespace {

constexpr int kMaxRowsPerChunk = 100000;
constexpr int64_t kDefaultChunkBytes = 1 << 20;
// Room for a message's own framing beyond its payload.
constexpr int64_t kMessageOverheadBytes = 4096;

// Streams a regenerated test sample in row chunks. Deletes itself in OnDone, releasing its
// slot among the open sample streams (`open_streams`, may be null for a refused call).
class TestSampleReactor : public grpc::ServerWriteReactor<v1::TestSampleChunk> {
 public:
  explicit TestSampleReactor(std::shared_ptr<std::atomic<int>> open_streams)
      : open_streams_(std::move(open_streams)) {}
  // Exactly one of Start / Fail must be called, once.
  void Start(std::shared_ptr<const SampleSet> sample, int64_t rows_per_chunk) {
    sample_ = std::move(sample);
    rows_per_chunk_ = rows_per_chunk;
    WriteNextOrFinish();
  }
  void Fail(const Status& status) { Finish(ToGrpcStatus(status)); }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Fail(Status::Cancelled("stream broken"));
      return;
    }
    WriteNextOrFinish();
  }
  void OnDone() override {
    if (open_streams_ != nullptr) open_streams_->fetch_sub(1);
    delete this;
  }

 private:
  // Reactions run one at a time here (each write waits for the previous OnWriteDone), so no
  // lock is needed.
  void WriteNextOrFinish() {
    if (next_row_ >= sample_->inputs.rows()) {
      Finish(grpc::Status::OK);
      return;
    }
    chunk_ = TestSampleChunkOf(*sample_, next_row_, rows_per_chunk_);
    next_row_ += rows_per_chunk_;
    StartWrite(&chunk_);
  }

  const std::shared_ptr<std::atomic<int>> open_streams_;
  std::shared_ptr<const SampleSet> sample_;
  int64_t rows_per_chunk_ = 1;
  int64_t next_row_ = 0;
  v1::TestSampleChunk chunk_;
};

// A recorded job's spec that no longer converts, or its sample that cannot be drawn again, is
// the server's fault whatever code the failure carries: not the caller's invalid argument.
Status InternalError(const Status& status) { return Status::Internal(status.message()); }

}  // namespace

SgdSpectraService::SgdSpectraService(JobManager* manager, RequestExecutor* executor,
                                     const ServiceOptions& options)
    : manager_(manager), executor_(executor), options_(options) {}

grpc::ServerUnaryReactor* SgdSpectraService::SubmitJob(grpc::CallbackServerContext* context,
                                                       const v1::SubmitJobRequest* request,
                                                       v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // request and response live until Finish, which only this task calls.
  executor_->Post([this, reactor, request, response] {
    reactor->Finish(ToGrpcStatus(manager_->Submit(request->spec(), response)));
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::JobEvent>* SgdSpectraService::RunJob(
    grpc::CallbackServerContext* /*context*/, const v1::SubmitJobRequest* request) {
  std::shared_ptr<WatchReactor> reactor = WatchReactor::Create();
  // A copy: a client that cancels before the task runs ends the call, and the request with it.
  executor_->Post([this, reactor, spec = request->spec()] {
    v1::Job job;
    Status status = manager_->Submit(spec, &job);
    std::shared_ptr<JobEventLog> log;
    if (status.ok()) status = manager_->OpenEventLog(job.job_id(), 0, &log);
    if (status.ok()) {
      reactor->Follow(std::move(log), 0);
    } else {
      reactor->Fail(ToGrpcStatus(status));
    }
  });
  return reactor.get();
}

grpc::ServerWriteReactor<v1::JobEvent>* SgdSpectraService::WatchJob(
    grpc::CallbackServerContext* /*context*/, const v1::WatchJobRequest* request) {
  std::shared_ptr<WatchReactor> reactor = WatchReactor::Create();
  std::shared_ptr<JobEventLog> log;
  const Status status = manager_->OpenEventLog(request->job_id(), request->after_seq(), &log);
  if (status.ok()) {
    reactor->Follow(std::move(log), request->after_seq());
  } else {
    reactor->Fail(ToGrpcStatus(status));
  }
  return reactor.get();
}

grpc::ServerUnaryReactor* SgdSpectraService::GetJob(grpc::CallbackServerContext* context,
                                                    const v1::GetJobRequest* request,
                                                    v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(manager_->GetJob(request->job_id(), response)));
  return reactor;
}

grpc::ServerUnaryReactor* SgdSpectraService::ListJobs(grpc::CallbackServerContext* context,
                                                      const v1::ListJobsRequest* request,
                                                      v1::ListJobsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(manager_->ListJobs(*request, response)));
  return reactor;
}

grpc::ServerUnaryReactor* SgdSpectraService::CancelJob(grpc::CallbackServerContext* context,
                                                       const v1::CancelJobRequest* request,
                                                       v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor_->Post([this, reactor, request, response] {
    reactor->Finish(ToGrpcStatus(manager_->Cancel(request->job_id(), response)));
  });
  return reactor;
}

grpc::ServerUnaryReactor* SgdSpectraService::GetResult(grpc::CallbackServerContext* context,
                                                       const v1::GetResultRequest* request,
                                                       v1::JobResult* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor_->Post([this, reactor, request, response] {
    Status status = manager_->GetResult(request->job_id(), response);
    if (status.ok() && request->include_test_sample()) status = AddTestSample(response);
    if (status.ok() && static_cast<int64_t>(response->ByteSizeLong()) + kMessageOverheadBytes >
                           options_.max_message_bytes) {
      status = Status::FailedPrecondition("result of " + std::to_string(response->ByteSizeLong()) +
                                          " bytes exceeds the message limit of " +
                                          std::to_string(options_.max_message_bytes) + " bytes");
    }
    if (!status.ok()) response->Clear();
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

Status SgdSpectraService::AddTestSample(v1::JobResult* result) const {
  ExperimentSpec spec;
  Status status = JobSpecFromProto(result->job().resolved_spec(), options_.default_threads, &spec);
  if (!status.ok()) return InternalError(status);
  const int64_t bytes = static_cast<int64_t>(result->ByteSizeLong()) + TestSampleWireBytes(spec) +
                        kMessageOverheadBytes;
  if (bytes > options_.max_message_bytes) {
    return Status::FailedPrecondition(
        "include_test_sample: the result with its " + std::to_string(spec.TestSampleSize()) +
        " x " + std::to_string(spec.Dim()) + " test sample needs about " + std::to_string(bytes) +
        " bytes, above the message limit of " + std::to_string(options_.max_message_bytes) +
        "; use StreamTestSample");
  }
  SampleSet sample;
  status = RegenerateTestSample(spec, &sample);
  if (!status.ok()) return InternalError(status);
  AddTestSampleToResult(sample, result);
  return Status::Ok();
}

grpc::ServerWriteReactor<v1::TestSampleChunk>* SgdSpectraService::StreamTestSample(
    grpc::CallbackServerContext* /*context*/, const v1::StreamTestSampleRequest* request) {
  // A slot among the open sample streams, held from here to the reactor's OnDone: a client
  // that stops reading keeps its sample in memory, so their number is bounded.
  const int open = open_sample_streams_->fetch_add(1);
  if (open >= options_.max_sample_streams) {
    open_sample_streams_->fetch_sub(1);
    auto* refused = new TestSampleReactor(nullptr);
    refused->Fail(Status::ResourceExhausted(
        "StreamTestSample: " + std::to_string(open) +
        " sample streams are open, this server's limit (--max-sample-streams); retry when one "
        "ends"));
    return refused;
  }
  auto* reactor = new TestSampleReactor(open_sample_streams_);
  const int rows_per_chunk = request->rows_per_chunk();
  if (rows_per_chunk < 0 || rows_per_chunk > kMaxRowsPerChunk) {
    reactor->Fail(Status::InvalidArgument("rows_per_chunk: must be in [0, " +
                                          std::to_string(kMaxRowsPerChunk) + "], got " +
                                          std::to_string(rows_per_chunk)));
    return reactor;
  }
  executor_->Post([this, reactor, rows_per_chunk, job_id = request->job_id()] {
    v1::Job job;
    Status status = manager_->GetJob(job_id, &job);
    if (!status.ok()) return reactor->Fail(status);
    ExperimentSpec spec;
    status = JobSpecFromProto(job.resolved_spec(), options_.default_threads, &spec);
    if (!status.ok()) return reactor->Fail(InternalError(status));
    const int64_t row_bytes = spec.Dim() * 8 + 5;
    const int64_t chunk_bytes =
        std::min(kDefaultChunkBytes, options_.max_message_bytes - kMessageOverheadBytes);
    const int64_t rows =
        rows_per_chunk > 0 ? rows_per_chunk : std::max<int64_t>(1, chunk_bytes / row_bytes);
    if (rows * row_bytes + kMessageOverheadBytes > options_.max_message_bytes) {
      return reactor->Fail(Status::InvalidArgument(
          "rows_per_chunk: " + std::to_string(rows) + " rows of " + std::to_string(spec.Dim()) +
          " values exceed the message limit of " + std::to_string(options_.max_message_bytes) +
          " bytes"));
    }
    auto sample = std::make_shared<SampleSet>();
    status = RegenerateTestSample(spec, sample.get());
    if (!status.ok()) return reactor->Fail(InternalError(status));
    reactor->Start(std::move(sample), rows);
  });
  return reactor;
}

}  // namespace sgdspectra::server
