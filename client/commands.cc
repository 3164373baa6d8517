#include "client/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <vector>

#include "client/connection.h"
#include "client/exit_codes.h"
#include "client/file_output.h"
#include "client/health_check.h"
#include "client/interrupt_watcher.h"
#include "client/render.h"
#include "sgdspectra/v1/jobs.grpc.pb.h"

namespace sgdspectra::client {
namespace {

using JobEventReader = grpc::ClientReaderInterface<v1::JobEvent>;
using StartStream = std::function<std::unique_ptr<JobEventReader>(grpc::ClientContext*)>;

std::unique_ptr<v1::SgdSpectra::Stub> NewStub(const CommandContext& context) {
  return v1::SgdSpectra::NewStub(context.channel);
}

int ReportRpcError(const CommandContext& context, const grpc::Status& status) {
  *context.err << "error: " << FormatRpcError(status) << std::endl;
  return kExitRpcError;
}

// The exit code of a job's end (exit_codes.h), decided on Finished.reason; a server older than
// the field sends reason 0, and then the state decides as it did before.
int ExitCodeOfFinishedJob(const CommandContext& context, const std::string& job_id,
                          const v1::Finished& finished) {
  v1::FinishReason reason = finished.reason();
  if (reason == v1::FINISH_REASON_UNSPECIFIED) {
    reason = finished.state() == v1::SUCCEEDED   ? v1::COMPLETED
             : finished.state() == v1::CANCELLED ? v1::CANCELLED_BY_USER
                                                 : v1::RUN_FAILED;
  }
  std::ostream& err = *context.err;
  switch (reason) {
    case v1::COMPLETED:
      return kExitOk;
    case v1::CANCELLED_BY_USER:
      err << "job " << job_id << " was cancelled: " << DescribeFinish(finished) << std::endl;
      return kExitJobCancelled;
    case v1::INTERRUPTED:
    case v1::SERVER_SHUTDOWN:
      err << "job " << job_id << " was ended by the server: " << DescribeFinish(finished)
          << "; submitting the same spec again is safe" << std::endl;
      return kExitEndedByServer;
    default:  // RUN_FAILED, STORE_ERROR, INTERNAL, and values newer than this client
      err << "error: job " << job_id << " " << DescribeFinish(finished) << std::endl;
      return kExitJobFailed;
  }
}

// After Ctrl-C: cancel the job (--cancel-on-exit) or leave it running and say how to come back.
int Detach(const CommandContext& context, const StreamOptions& options, const std::string& job_id,
           std::int64_t last_seq) {
  if (job_id.empty()) {
    // RunJob interrupted before its first event: the server may or may not have queued it.
    *context.err << "interrupted before the server reported a job id; see `sgdspectra list` "
                    "for a job that may have been queued"
                 << std::endl;
    return kExitDetached;
  }
  if (options.cancel_on_exit) {
    grpc::ClientContext call;
    SetDeadlineAfter(&call, context.timeout_seconds);
    v1::CancelJobRequest request;
    request.set_job_id(job_id);
    v1::Job job;
    const grpc::Status status = NewStub(context)->CancelJob(&call, request, &job);
    if (!status.ok()) return ReportRpcError(context, status);
    // The worker stops at its next check, so the state may still read RUNNING here.
    *context.err << "cancel requested for job " << job_id << " (state "
                 << v1::JobState_Name(job.state()) << ")" << std::endl;
    return kExitJobCancelled;
  }
  *context.err << "detached from job " << job_id << " after event " << last_seq
               << "; the job goes on. Re-attach with:\n  sgdspectra --server "
               << context.server_address << " watch " << job_id << " --after-seq " << last_seq
               << std::endl;
  return kExitDetached;
}

// Reads a RunJob / WatchJob stream to its end, rendering each event, and maps the outcome to an
// exit code. `job_id` is the watched job (empty for RunJob until the first event names it).
int ConsumeEventStream(const CommandContext& context, const StreamOptions& options,
                       std::string job_id, std::int64_t after_seq, const StartStream& start) {
  grpc::ClientContext call;
  const std::unique_ptr<EventRenderer> renderer = MakeEventRenderer(
      options.output, context.out,
      context.out_is_terminal && options.output == OutputFormat::kTable, options.layer);

  std::int64_t last_seq = after_seq;
  bool finished = false;
  v1::Finished final_event;
  bool interrupted = false;
  grpc::Status status;
  {
    InterruptWatcher interrupt_watcher(&call);
    std::unique_ptr<JobEventReader> reader = start(&call);
    v1::JobEvent event;
    while (reader->Read(&event)) {
      if (job_id.empty()) job_id = event.job_id();
      last_seq = event.seq();
      renderer->Render(event);
      if (event.has_finished()) {
        finished = true;
        final_event = event.finished();
      }
    }
    status = reader->Finish();
    interrupted = interrupt_watcher.interrupted();
  }
  renderer->Close();

  // A terminal event decides, even when Ctrl-C raced with the end of the stream.
  if (finished) return ExitCodeOfFinishedJob(context, job_id, final_event);
  if (interrupted) return Detach(context, options, job_id, last_seq);
  if (!status.ok()) return ReportRpcError(context, status);
  *context.err << "error: the stream of job " << job_id << " ended without a terminal event"
               << std::endl;
  return kExitRpcError;
}

}  // namespace

int RunJobCommand(const CommandContext& context, const v1::JobSpec& spec,
                  const StreamOptions& options) {
  const auto stub = NewStub(context);
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  return ConsumeEventStream(context, options, /*job_id=*/"", /*after_seq=*/0,
                            [&](grpc::ClientContext* call) { return stub->RunJob(call, request); });
}

int SubmitJobCommand(const CommandContext& context, const v1::JobSpec& spec, OutputFormat output) {
  grpc::ClientContext call;
  SetDeadlineAfter(&call, context.timeout_seconds);
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  v1::Job job;
  const grpc::Status status = NewStub(context)->SubmitJob(&call, request, &job);
  if (!status.ok()) return ReportRpcError(context, status);
  if (output == OutputFormat::kJsonl) {
    RenderJobs(output, {job}, /*with_header=*/false, context.out);
  } else {
    *context.out << job.job_id() << "\n";  // bare, for JOB=$(sgdspectra submit ...)
  }
  context.out->flush();
  return kExitOk;
}

int WatchJobCommand(const CommandContext& context, const std::string& job_id,
                    std::int64_t after_seq, const StreamOptions& options) {
  const auto stub = NewStub(context);
  v1::WatchJobRequest request;
  request.set_job_id(job_id);
  request.set_after_seq(after_seq);
  return ConsumeEventStream(context, options, job_id, after_seq, [&](grpc::ClientContext* call) {
    return stub->WatchJob(call, request);
  });
}

int GetJobCommand(const CommandContext& context, const std::string& job_id, OutputFormat output) {
  grpc::ClientContext call;
  SetDeadlineAfter(&call, context.timeout_seconds);
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  v1::Job job;
  const grpc::Status status = NewStub(context)->GetJob(&call, request, &job);
  if (!status.ok()) return ReportRpcError(context, status);
  if (output == OutputFormat::kTable) {
    RenderJobDetails(job, context.out);
  } else {
    RenderJobs(output, {job}, /*with_header=*/true, context.out);
  }
  context.out->flush();
  return kExitOk;
}

// Every page of one replica's ListJobs (all of them when all_pages, else the first).
grpc::Status ListReplica(const std::shared_ptr<grpc::Channel>& channel, double timeout_seconds,
                         const ListOptions& options, bool all_pages, std::vector<v1::Job>* jobs,
                         std::string* next_page_token) {
  const auto stub = v1::SgdSpectra::NewStub(channel);
  v1::ListJobsRequest request;
  request.set_page_size(options.page_size);
  request.set_state_filter(options.state_filter);
  request.set_page_token(options.page_token);
  do {
    grpc::ClientContext call;
    SetDeadlineAfter(&call, timeout_seconds);
    v1::ListJobsResponse response;
    const grpc::Status status = stub->ListJobs(&call, request, &response);
    if (!status.ok()) return status;
    jobs->insert(jobs->end(), response.jobs().begin(), response.jobs().end());
    *next_page_token = response.next_page_token();
    request.set_page_token(*next_page_token);
  } while (all_pages && !next_page_token->empty());
  return grpc::Status::OK;
}

int ListJobsCommand(const CommandContext& context, const ListOptions& options) {
  std::vector<v1::Job> jobs;
  std::string next_page_token;
  if (context.target.several_endpoints()) {
    // Each replica has its own jobs and page tokens: list every replica to the end and merge,
    // newest first.
    if (!options.page_token.empty()) {
      *context.err << "error: --page-token needs a single server; --server names "
                   << context.target.endpoints.size() << " addresses" << std::endl;
      return kExitUsage;
    }
    for (const std::string& endpoint : context.target.endpoints) {
      const grpc::Status status =
          ListReplica(MakeChannel(endpoint, context.target.security), context.timeout_seconds,
                      options, /*all_pages=*/true, &jobs, &next_page_token);
      if (!status.ok()) {
        return ReportRpcError(
            context, grpc::Status(status.error_code(), endpoint + ": " + status.error_message()));
      }
    }
    std::stable_sort(jobs.begin(), jobs.end(), [](const v1::Job& a, const v1::Job& b) {
      return a.created_unix_ms() > b.created_unix_ms();
    });
    next_page_token.clear();
  } else {
    // Pages are gathered before rendering so that the table's columns fit every row.
    const grpc::Status status = ListReplica(context.channel, context.timeout_seconds, options,
                                            options.all_pages, &jobs, &next_page_token);
    if (!status.ok()) return ReportRpcError(context, status);
  }

  RenderJobs(options.output, jobs, /*with_header=*/true, context.out);
  context.out->flush();
  if (!next_page_token.empty()) {
    *context.err << "more jobs: add --all, or --page-token " << next_page_token << std::endl;
  }
  return kExitOk;
}

int CancelJobCommand(const CommandContext& context, const std::string& job_id,
                     OutputFormat output) {
  grpc::ClientContext call;
  SetDeadlineAfter(&call, context.timeout_seconds);
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  v1::Job job;
  const grpc::Status status = NewStub(context)->CancelJob(&call, request, &job);
  if (!status.ok()) return ReportRpcError(context, status);
  if (output == OutputFormat::kTable) {
    *context.out << "cancel requested for job " << job.job_id() << " (state "
                 << v1::JobState_Name(job.state()) << ")\n";
  } else {
    RenderJobs(output, {job}, /*with_header=*/true, context.out);
  }
  context.out->flush();
  return kExitOk;
}

int GetResultCommand(const CommandContext& context, const std::string& job_id,
                     const ResultOptions& options) {
  grpc::ClientContext call;
  SetDeadlineAfter(&call, context.timeout_seconds);
  v1::GetResultRequest request;
  request.set_job_id(job_id);
  request.set_include_test_sample(options.include_test_sample);
  v1::JobResult result;
  const grpc::Status status = NewStub(context)->GetResult(&call, request, &result);
  if (!status.ok()) return ReportRpcError(context, status);

  const std::string json = MessageToJsonLine(result) + "\n";
  if (options.out_path.empty()) {
    *context.out << json;
    context.out->flush();
    return kExitOk;
  }
  std::string error;
  if (!WriteFileAtomically(options.out_path, json, &error)) {
    *context.err << "error: " << error << std::endl;
    return kExitOutputError;
  }
  *context.out << "wrote " << options.out_path << ": job " << result.job().job_id() << " ("
               << v1::JobState_Name(result.job().state()) << "), weights "
               << result.weights().rows() << " x " << result.weights().cols() << ", means "
               << result.means().rows() << " x " << result.means().cols();
  if (options.include_test_sample) {
    *context.out << ", test sample " << result.test_inputs().rows() << " x "
                 << result.test_inputs().cols();
  }
  *context.out << std::endl;
  return kExitOk;
}

int HealthCommand(const CommandContext& context, const std::string& service) {
  // Several replicas: each one is checked (a balanced call would test whichever answers).
  if (context.target.several_endpoints()) {
    int exit_code = kExitOk;
    for (const std::string& endpoint : context.target.endpoints) {
      ServingStatus serving_status = grpc::health::v1::HealthCheckResponse::UNKNOWN;
      const grpc::Status status = CheckHealth(MakeChannel(endpoint, context.target.security),
                                              service, context.timeout_seconds, &serving_status);
      if (!status.ok()) {
        *context.out << endpoint << ": " << FormatRpcError(status) << std::endl;
        exit_code = kExitRpcError;
        continue;
      }
      *context.out << endpoint << ": " << ServingStatusName(serving_status) << std::endl;
      if (serving_status != grpc::health::v1::HealthCheckResponse::SERVING &&
          exit_code == kExitOk) {
        exit_code = kExitNotServing;
      }
    }
    return exit_code;
  }
  ServingStatus serving_status = grpc::health::v1::HealthCheckResponse::UNKNOWN;
  const grpc::Status status =
      CheckHealth(context.channel, service, context.timeout_seconds, &serving_status);
  if (!status.ok()) return ReportRpcError(context, status);
  *context.out << ServingStatusName(serving_status) << std::endl;
  return serving_status == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                          : kExitNotServing;
}

}  // namespace sgdspectra::client
