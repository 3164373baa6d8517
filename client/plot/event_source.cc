#include "client/plot/event_source.h"

#include <fstream>

#include "client/connection.h"
#include "sgdspectra/v1/jobs.grpc.pb.h"

namespace sgdspectra::client::plot {
namespace {

using google::protobuf::util::Status;
using google::protobuf::util::StatusCode;

bool IsBlank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

bool IsTerminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

}  // namespace

Status ParseEventLines(std::istream& in, const std::string& name,
                       std::vector<v1::JobEvent>* events) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (IsBlank(line)) continue;
    v1::JobEvent event;
    const Status status = google::protobuf::util::JsonStringToMessage(line, &event, options);
    if (!status.ok()) {
      return Status(
          StatusCode::kInvalidArgument,
          name + ":" + std::to_string(line_number) +
              ": not a JobEvent in the proto3 JSON mapping: " + std::string(status.message()));
    }
    events->push_back(std::move(event));
  }
  if (in.bad()) return Status(StatusCode::kDataLoss, name + ": read error");
  return Status();
}

Status ReadEventsFile(const std::string& path, std::vector<v1::JobEvent>* events) {
  std::ifstream file(path);
  if (!file) return Status(StatusCode::kNotFound, path + ": cannot open");
  return ParseEventLines(file, path, events);
}

grpc::Status FetchJobEvents(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& job_id, bool wait_for_end, double timeout_seconds,
                            std::vector<v1::JobEvent>* events) {
  const std::unique_ptr<v1::SgdSpectra::Stub> stub = v1::SgdSpectra::NewStub(channel);
  // The job's state first: a running job's stream would only end with the job.
  v1::Job job;
  {
    grpc::ClientContext call;
    SetDeadlineAfter(&call, timeout_seconds);
    v1::GetJobRequest request;
    request.set_job_id(job_id);
    const grpc::Status status = stub->GetJob(&call, request, &job);
    if (!status.ok()) return status;
  }
  const bool read_to_end = wait_for_end || IsTerminal(job.state());
  if (!read_to_end && job.last_seq() == 0) return grpc::Status::OK;  // nothing recorded yet

  grpc::ClientContext call;
  v1::WatchJobRequest request;
  request.set_job_id(job_id);
  request.set_after_seq(0);
  const std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = stub->WatchJob(&call, request);
  v1::JobEvent event;
  bool stopped_early = false;
  while (reader->Read(&event)) {
    events->push_back(event);
    if (!read_to_end && event.seq() >= job.last_seq()) {
      stopped_early = true;
      call.TryCancel();  // the rest is live; Finish() then reports CANCELLED, which we asked for
      break;
    }
  }
  if (stopped_early) {
    v1::JobEvent ignored;
    while (reader->Read(&ignored)) {
    }
  }
  const grpc::Status status = reader->Finish();
  if (stopped_early) return grpc::Status::OK;
  return status;
}

}  // namespace sgdspectra::client::plot
