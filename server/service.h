// SgdSpectraService: the sgdspectra.v1.SgdSpectra gRPC service on the callback API.
//
// A thin folder over the JobManager: reactions never block. In-memory lookups (GetJob,
// ListJobs, WatchJob) answer inline; work that touches the disk or computes (SubmitJob,
// RunJob's submit, CancelJob, GetResult, StreamTestSample) is posted to the RequestExecutor
// and finishes its reactor from there. Job numerics run on the manager's workers. Every error
// is a sgdspectra::Status until the reactor finishes, which maps it with ToGrpcStatus
// (server/status_map.h), the only mapping.
//
// Every handler first authenticates its call (server/call_auth.h: UNAUTHENTICATED before any
// other check) and passes the caller to the manager, which shows it only its own jobs.
//
// Ownership: borrows the manager and the executor, which must outlive the gRPC server that
// hosts this service. Thread-safety: gRPC calls the methods from any thread.
#ifndef SGDSPECTRA_SERVER_SERVICE_H_
#define SGDSPECTRA_SERVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "server/call_auth.h"
#include "server/caller.h"
#include "server/job_manager.h"
#include "server/metrics.h"
#include "server/request_executor.h"
#include "server/watch_reactor.h"
#include "sgdspectra/v1/jobs.grpc.pb.h"

namespace sgdspectra::server {

struct ServiceOptions {
  int default_threads = 1;                 // analysis.threads = 0 means this
  int64_t max_message_bytes = 64ll << 20;  // GetResult refuses a test sample beyond it
  // StreamTestSample calls open at once; more get RESOURCE_EXHAUSTED. Each holds one 256-row
  // block of its sample and one chunk (O(d) memory), drawn on the sample executor.
  int max_sample_streams = 4;
  // Threads of the sample executor: test-sample chunks are drawn there, apart from the request
  // executor, so that sample streams never delay SubmitJob and the other requests.
  int sample_threads = 1;
  // Open streams are counted here (borrowed, must outlive the service; null counts nothing).
  ServerMetrics* metrics = nullptr;
  // Decides each call's principal (borrowed, must outlive the service); null = no
  // authentication, every caller sees every job (as a server without --auth-tokens).
  const CallAuthenticator* authenticator = nullptr;
};

class SgdSpectraService final : public v1::SgdSpectra::CallbackService {
 public:
  SgdSpectraService(JobManager* manager, RequestExecutor* executor, const ServiceOptions& options);

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* context,
                                      const v1::SubmitJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerWriteReactor<v1::JobEvent>* RunJob(grpc::CallbackServerContext* context,
                                                 const v1::SubmitJobRequest* request) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* context,
                                                   const v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* GetResult(grpc::CallbackServerContext* context,
                                      const v1::GetResultRequest* request,
                                      v1::JobResult* response) override;
  grpc::ServerWriteReactor<v1::TestSampleChunk>* StreamTestSample(
      grpc::CallbackServerContext* context, const v1::StreamTestSampleRequest* request) override;

 private:
  // Streams the job's events after after_seq: from its in-memory log while it has one, else
  // from the store (a finished job). Never blocks.
  void FollowJob(const std::shared_ptr<WatchReactor>& reactor, const Caller& caller,
                 const std::string& job_id, int64_t after_seq) const;
  // The call's caller (options_.authenticator), or kUnauthenticated.
  Status Authenticate(const grpc::CallbackServerContext& context, const char* method,
                      Caller* caller) const;
  // Adds the job's regenerated test sample; kFailedPrecondition if the result would exceed
  // max_message_bytes with it.
  Status AddTestSample(v1::JobResult* result) const;

  JobManager* const manager_;
  RequestExecutor* const executor_;
  const ServiceOptions options_;
  // Owned: it must outlive the gRPC server's shutdown (which waits for the sample streams to
  // finish), and the service does.
  const std::unique_ptr<RequestExecutor> sample_executor_;
  // Open StreamTestSample calls; shared with their reactors, which may outlive a call.
  const std::shared_ptr<std::atomic<int>> open_sample_streams_ =
      std::make_shared<std::atomic<int>>(0);
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SERVICE_H_
