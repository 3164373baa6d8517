#include "server/service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "server/convert.h"
#include "server/status_map.h"
#include "server/stored_event_log.h"
#include "server/test_sample.h"
#include "server/watch_reactor.h"

namespace sgdspectra::server {
namespace {

constexpr int kMaxRowsPerChunk = 100000;
constexpr int64_t kDefaultChunkBytes = 1 << 20;
// Room for a message's own framing beyond its payload.
constexpr int64_t kMessageOverheadBytes = 4096;

// Streams a regenerated test sample in row chunks, each drawn when the previous one has been
// written (TestSampleCursor: a stream holds one generator block and one chunk, whatever the
// sample's size), on the service's sample executor: a stream whose client stops reading holds
// no thread, and streams that read take turns chunk by chunk. Deletes itself in OnDone, releasing
// its slot among the open sample streams (`open_streams`, may be null for a refused call) and its
// count in the metrics (`stream`).
class TestSampleReactor : public grpc::ServerWriteReactor<v1::TestSampleChunk> {
 public:
  explicit TestSampleReactor(std::shared_ptr<std::atomic<int>> open_streams,
                             ActiveStream stream = ActiveStream())
      : open_streams_(std::move(open_streams)), stream_(std::move(stream)) {}
  // Exactly one of Start / Fail must be called, once. Start runs on `executor`'s thread, which
  // also draws every later chunk.
  void Start(std::unique_ptr<TestSampleCursor> cursor, int64_t rows_per_chunk,
             RequestExecutor* executor) {
    cursor_ = std::move(cursor);
    rows_per_chunk_ = rows_per_chunk;
    executor_ = executor;
    WriteNextOrFinish();
  }
  void Fail(const Status& status) { Finish(ToGrpcStatus(status)); }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Fail(Status::Cancelled("stream broken"));
      return;
    }
    if (cursor_->done()) {
      Finish(grpc::Status::OK);
      return;
    }
    // Drawing is numerical work: never on a gRPC thread.
    executor_->Post([this] { WriteNextOrFinish(); });
  }
  // A cancelled stream draws nothing more; the pending write's OnWriteDone(false) or the next
  // WriteNextOrFinish finishes it.
  void OnCancel() override { cancelled_.store(true); }
  void OnDone() override {
    if (open_streams_ != nullptr) open_streams_->fetch_sub(1);
    delete this;
  }

 private:
  // Reactions and draws run one at a time here (each draw waits for the previous
  // OnWriteDone, each write for its draw), so no lock is needed.
  void WriteNextOrFinish() {
    if (cancelled_.load()) {
      Fail(Status::Cancelled("stream cancelled"));
      return;
    }
    if (cursor_->done()) {
      Finish(grpc::Status::OK);
      return;
    }
    const int64_t first_row = cursor_->next_row();
    cursor_->Next(rows_per_chunk_, &rows_, &labels_);
    chunk_ = TestSampleChunkOfRows(first_row, cursor_->total_rows(), rows_, labels_);
    StartWrite(&chunk_);
  }

  const std::shared_ptr<std::atomic<int>> open_streams_;
  const ActiveStream stream_;
  std::unique_ptr<TestSampleCursor> cursor_;
  int64_t rows_per_chunk_ = 1;
  RequestExecutor* executor_ = nullptr;
  std::atomic<bool> cancelled_{false};
  RowMatrix rows_;
  std::vector<int> labels_;
  v1::TestSampleChunk chunk_;
};

// A recorded job's spec that no longer converts, or its sample that cannot be drawn again, is
// the server's fault whatever code the failure carries: not the caller's invalid argument.
Status InternalError(const Status& status) { return Status::Internal(status.message()); }

}  // namespace

SgdSpectraService::SgdSpectraService(JobManager* manager, RequestExecutor* executor,
                                     const ServiceOptions& options)
    : manager_(manager),
      executor_(executor),
      options_(options),
      sample_executor_(std::make_unique<RequestExecutor>(std::max(1, options.sample_threads))) {}

Status SgdSpectraService::Authenticate(const grpc::CallbackServerContext& context,
                                       const char* method, Caller* caller) const {
  if (options_.authenticator == nullptr) {
    *caller = Caller::WithoutAuthentication();
    return Status::Ok();
  }
  return options_.authenticator->Authenticate(context, method, caller);
}

grpc::ServerUnaryReactor* SgdSpectraService::SubmitJob(grpc::CallbackServerContext* context,
                                                       const v1::SubmitJobRequest* request,
                                                       v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Caller caller;
  const Status authenticated = Authenticate(*context, "SubmitJob", &caller);
  if (!authenticated.ok()) {
    reactor->Finish(ToGrpcStatus(authenticated));
    return reactor;
  }
  // request and response live until Finish, which only this task calls.
  executor_->Post([this, reactor, request, response, caller = std::move(caller)] {
    reactor->Finish(ToGrpcStatus(manager_->Submit(caller, request->spec(), response)));
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::JobEvent>* SgdSpectraService::RunJob(
    grpc::CallbackServerContext* context, const v1::SubmitJobRequest* request) {
  std::shared_ptr<WatchReactor> reactor =
      WatchReactor::Create(ActiveStream(options_.metrics, StreamKind::kRun));
  Caller caller;
  const Status authenticated = Authenticate(*context, "RunJob", &caller);
  if (!authenticated.ok()) {
    reactor->Fail(ToGrpcStatus(authenticated));
    return reactor.get();
  }
  // A copy: a client that cancels before the task runs ends the call, and the request with it.
  executor_->Post([this, reactor, spec = request->spec(), caller = std::move(caller)] {
    v1::Job job;
    const Status status = manager_->Submit(caller, spec, &job);
    if (status.ok()) {
      FollowJob(reactor, caller, job.job_id(), 0);
    } else {
      reactor->Fail(ToGrpcStatus(status));
    }
  });
  return reactor.get();
}

grpc::ServerWriteReactor<v1::JobEvent>* SgdSpectraService::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  std::shared_ptr<WatchReactor> reactor =
      WatchReactor::Create(ActiveStream(options_.metrics, StreamKind::kWatch));
  Caller caller;
  const Status authenticated = Authenticate(*context, "WatchJob", &caller);
  if (!authenticated.ok()) {
    reactor->Fail(ToGrpcStatus(authenticated));
    return reactor.get();
  }
  FollowJob(reactor, caller, request->job_id(), request->after_seq());
  return reactor.get();
}

void SgdSpectraService::FollowJob(const std::shared_ptr<WatchReactor>& reactor,
                                  const Caller& caller, const std::string& job_id,
                                  int64_t after_seq) const {
  std::shared_ptr<JobEventLog> live;
  int64_t last_seq = 0;
  // The caller's right to the job is checked here, once; the stored events are read after it.
  const Status status = manager_->OpenEventLog(caller, job_id, after_seq, &live, &last_seq);
  if (!status.ok()) return reactor->Fail(ToGrpcStatus(status));
  if (live != nullptr) return reactor->Follow(std::move(live), after_seq);
  // A finished job: its events are paged in from the store on the request executor.
  reactor->Follow(
      StoredEventLog::Create(
          last_seq,
          [manager = manager_, job_id](int64_t first_seq, int max_count,
                                       std::vector<v1::JobEvent>* events) {
            return manager->ReadEvents(job_id, first_seq, max_count, events);
          },
          [executor = executor_](std::function<void()> task) { executor->Post(std::move(task)); }),
      after_seq);
}

grpc::ServerUnaryReactor* SgdSpectraService::GetJob(grpc::CallbackServerContext* context,
                                                    const v1::GetJobRequest* request,
                                                    v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Caller caller;
  Status status = Authenticate(*context, "GetJob", &caller);
  if (status.ok()) status = manager_->GetJob(caller, request->job_id(), response);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* SgdSpectraService::ListJobs(grpc::CallbackServerContext* context,
                                                      const v1::ListJobsRequest* request,
                                                      v1::ListJobsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Caller caller;
  Status status = Authenticate(*context, "ListJobs", &caller);
  if (status.ok()) status = manager_->ListJobs(caller, *request, response);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* SgdSpectraService::CancelJob(grpc::CallbackServerContext* context,
                                                       const v1::CancelJobRequest* request,
                                                       v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Caller caller;
  const Status authenticated = Authenticate(*context, "CancelJob", &caller);
  if (!authenticated.ok()) {
    reactor->Finish(ToGrpcStatus(authenticated));
    return reactor;
  }
  executor_->Post([this, reactor, request, response, caller = std::move(caller)] {
    reactor->Finish(ToGrpcStatus(manager_->Cancel(caller, request->job_id(), response)));
  });
  return reactor;
}

grpc::ServerUnaryReactor* SgdSpectraService::GetResult(grpc::CallbackServerContext* context,
                                                       const v1::GetResultRequest* request,
                                                       v1::JobResult* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Caller caller;
  const Status authenticated = Authenticate(*context, "GetResult", &caller);
  if (!authenticated.ok()) {
    reactor->Finish(ToGrpcStatus(authenticated));
    return reactor;
  }
  executor_->Post([this, reactor, request, response, caller = std::move(caller)] {
    Status status = manager_->GetResult(caller, request->job_id(), response);
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
    grpc::CallbackServerContext* context, const v1::StreamTestSampleRequest* request) {
  // Before a slot is taken: a caller without a valid token must not hold one.
  Caller caller;
  const Status authenticated = Authenticate(*context, "StreamTestSample", &caller);
  if (!authenticated.ok()) {
    auto* refused = new TestSampleReactor(nullptr);
    refused->Fail(authenticated);
    return refused;
  }
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
  auto* reactor = new TestSampleReactor(open_sample_streams_,
                                        ActiveStream(options_.metrics, StreamKind::kSample));
  const int rows_per_chunk = request->rows_per_chunk();
  if (rows_per_chunk < 0 || rows_per_chunk > kMaxRowsPerChunk) {
    reactor->Fail(Status::InvalidArgument("rows_per_chunk: must be in [0, " +
                                          std::to_string(kMaxRowsPerChunk) + "], got " +
                                          std::to_string(rows_per_chunk)));
    return reactor;
  }
  executor_->Post(
      [this, reactor, rows_per_chunk, job_id = request->job_id(), caller = std::move(caller)] {
        v1::Job job;
        Status status = manager_->GetJob(caller, job_id, &job);
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
        std::unique_ptr<TestSampleCursor> cursor;
        status = TestSampleCursor::Create(spec, &cursor);
        if (!status.ok()) return reactor->Fail(InternalError(status));
        reactor->Start(std::move(cursor), rows, sample_executor_.get());
      });
  return reactor;
}

}  // namespace sgdspectra::server
