#include "client/sweep/sweep_runner.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>
#include <thread>

#include "client/connection.h"
#include "client/file_output.h"
#include "client/render.h"
#include "sgdspectra/v1/jobs.grpc.pb.h"

namespace sgdspectra::client {
namespace {

using Clock = std::chrono::steady_clock;

std::string IndexStem(const std::string& jobs_dir, int index) {
  std::ostringstream stem;
  stem << jobs_dir << "/" << std::setw(4) << std::setfill('0') << index;
  return stem.str();
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Reads a RunJob / WatchJob stream to its end, appending each event to `events`.
grpc::Status ConsumeStream(grpc::ClientReaderInterface<v1::JobEvent>* reader, std::ofstream* events,
                           StreamState* state) {
  v1::JobEvent event;
  while (reader->Read(&event)) {
    if (event.seq() != state->last_seq + 1) continue;  // never write a gap or a repeat
    *events << MessageToJsonLine(event) << "\n";
    events->flush();
    if (state->job_id.empty()) state->job_id = event.job_id();
    state->last_seq = event.seq();
    if (event.has_accepted()) state->accepted = event.accepted();
    if (event.has_finished()) {
      state->finished = true;
      state->final_event = event.finished();
    }
  }
  return reader->Finish();
}

// The server, not the job, ended it: the same spec may run again (jobs.proto, FinishReason).
bool EndedByServer(v1::FinishReason reason) {
  return reason == v1::INTERRUPTED || reason == v1::SERVER_SHUTDOWN;
}

bool WriteJobJson(const std::string& path, int index, const JobOutcome& outcome) {
  google::protobuf::Struct record;
  auto& fields = *record.mutable_fields();
  fields["index"].set_number_value(index);
  fields["job_id"].set_string_value(outcome.job_id);
  fields["endpoint"].set_string_value(outcome.endpoint);
  fields["attempts"].set_number_value(outcome.attempts);
  fields["seconds"].set_number_value(outcome.seconds);
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(record, &json).ok()) return false;
  std::string error;
  return WriteFileAtomically(path, json + "\n", &error);
}

}  // namespace

std::string JobEventsPath(const std::string& jobs_dir, int index) {
  return IndexStem(jobs_dir, index) + ".events.jsonl";
}

bool WasInterruptedByServer(const v1::Finished& finished) {
  return EndedByServer(finished.reason());
}

NextStep DecideNextStep(const CallEnd& end) {
  if (!end.accepted) {
    // No job exists, so this was not an attempt.
    switch (end.code) {
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return NextStep::kWaitForRoom;
      case grpc::StatusCode::INVALID_ARGUMENT:
      case grpc::StatusCode::FAILED_PRECONDITION:
      case grpc::StatusCode::OUT_OF_RANGE:
      case grpc::StatusCode::UNIMPLEMENTED:
      case grpc::StatusCode::PERMISSION_DENIED:
      case grpc::StatusCode::UNAUTHENTICATED:
        return NextStep::kStopSweep;  // every job of the sweep would be refused alike
      default:
        // UNAVAILABLE while a replica drains or restarts, deadlines, ...
        return end.waited_too_long ? NextStep::kGiveUp : NextStep::kRetryRefused;
    }
  }
  if (end.finished) {
    return EndedByServer(end.reason) ? NextStep::kResubmit : NextStep::kRecord;
  }
  // Accepted, and its stream broke before the terminal event.
  if (end.code == grpc::StatusCode::NOT_FOUND) return NextStep::kResubmit;  // e.g. data dir gone
  return end.waited_too_long ? NextStep::kResubmit : NextStep::kRewatch;
}

bool LoadFinishedJob(const std::string& jobs_dir, int index, JobOutcome* outcome) {
  std::ifstream events(JobEventsPath(jobs_dir, index));
  if (!events) return false;
  std::string line;
  std::string first;
  std::string last;
  while (std::getline(events, line)) {
    if (line.empty()) continue;
    if (first.empty()) first = line;
    last = line;
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  v1::JobEvent event;
  if (last.empty() || !google::protobuf::util::JsonStringToMessage(last, &event, options).ok() ||
      !event.has_finished()) {
    return false;
  }
  *outcome = JobOutcome();
  outcome->finished = true;
  outcome->final_event = event.finished();
  outcome->job_id = event.job_id();
  outcome->reused = true;
  v1::JobEvent accepted;
  if (google::protobuf::util::JsonStringToMessage(first, &accepted, options).ok() &&
      accepted.has_accepted()) {
    outcome->accepted = accepted.accepted();
  }
  std::ifstream job_json(IndexStem(jobs_dir, index) + ".job.json");
  std::stringstream text;
  text << job_json.rdbuf();
  google::protobuf::Struct record;
  if (job_json && google::protobuf::util::JsonStringToMessage(text.str(), &record).ok()) {
    const auto& fields = record.fields();
    if (fields.count("endpoint")) outcome->endpoint = fields.at("endpoint").string_value();
    if (fields.count("attempts")) {
      outcome->attempts = static_cast<int>(fields.at("attempts").number_value());
    }
    if (fields.count("seconds")) outcome->seconds = fields.at("seconds").number_value();
  }
  return true;
}

SweepRunner::SweepRunner(ServerTarget target, SweepRunOptions options, std::ostream* log)
    : target_(std::move(target)),
      options_(std::move(options)),
      log_(log),
      balanced_(MakeBalancedChannel(target_)) {}

SweepRunEnd SweepRunner::Run(const std::vector<SweepJob>& jobs, std::vector<JobOutcome>* outcomes,
                             std::string* error) {
  outcomes->resize(jobs.size());
  to_run_ = static_cast<int>(std::count_if(outcomes->begin(), outcomes->end(),
                                           [](const JobOutcome& o) { return !o.finished; }));
  done_ = 0;
  next_job_ = 0;
  WarmUpReplicas();
  std::vector<std::thread> workers;
  const int count = std::max(1, std::min(options_.concurrency, std::max(1, to_run_)));
  for (int i = 0; i < count; ++i) {
    workers.emplace_back([this, &jobs, outcomes] { WorkerLoop(jobs, outcomes); });
  }
  for (std::thread& worker : workers) worker.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!fatal_error_.empty()) {
    *error = fatal_error_;
    return SweepRunEnd::kFatalError;
  }
  return stop_ ? SweepRunEnd::kInterrupted : SweepRunEnd::kRanAll;
}

void SweepRunner::WarmUpReplicas() {
  if (!target_.several_endpoints()) return;
  balanced_->GetState(/*try_to_connect=*/true);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (const std::string& endpoint : target_.endpoints) {
    ServerTarget one;
    one.channel_target = endpoint;
    one.security = target_.security;
    channels.push_back(MakeBalancedChannel(one));
  }
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  for (const auto& channel : channels) channel->WaitForConnected(deadline);
}

std::chrono::steady_clock::duration SweepRunner::ReconnectWindow() const {
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.reconnect_seconds));
}

void SweepRunner::Interrupt() {
  stop_ = true;
  std::lock_guard<std::mutex> lock(mutex_);
  for (grpc::ClientContext* call : open_calls_) call->TryCancel();
}

void SweepRunner::Fatal(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fatal_error_.empty()) fatal_error_ = message;
  }
  Interrupt();
}

void SweepRunner::Track(grpc::ClientContext* call) {
  std::lock_guard<std::mutex> lock(mutex_);
  open_calls_.insert(call);
  if (stop_) call->TryCancel();
}

void SweepRunner::Untrack(grpc::ClientContext* call) {
  std::lock_guard<std::mutex> lock(mutex_);
  open_calls_.erase(call);
}

bool SweepRunner::SleepUnlessStopped(double seconds) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
  while (!stop_ && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !stop_;
}

void SweepRunner::WorkerLoop(const std::vector<SweepJob>& jobs, std::vector<JobOutcome>* outcomes) {
  while (!stop_) {
    const std::size_t i = next_job_++;
    if (i >= jobs.size()) return;
    JobOutcome& outcome = (*outcomes)[i];
    if (outcome.finished) continue;
    RunOne(jobs[i], &outcome);
    if (!stop_ || outcome.finished) Report(jobs[i], outcome);
  }
}

void SweepRunner::RunOne(const SweepJob& job, JobOutcome* outcome) {
  const Clock::time_point started = Clock::now();
  const std::string partial_path = JobEventsPath(options_.jobs_dir, job.index) + ".partial";
  double backoff_seconds = 0.25;
  const std::function<bool()> pause = [this, &backoff_seconds] {
    const bool go_on = SleepUnlessStopped(backoff_seconds);
    backoff_seconds = std::min(2 * backoff_seconds, 5.0);
    return go_on;
  };
  std::optional<Clock::time_point> refused_since;  // first transient refusal of this submission
  while (!stop_) {
    if (outcome->attempts >= options_.max_attempts) {
      outcome->error = "gave up after " + std::to_string(outcome->attempts) + " submissions";
      return;
    }
    if (!WaitForAReplica(outcome)) return;
    std::ofstream events(partial_path, std::ios::trunc);
    if (!events) {
      Fatal("cannot write " + partial_path);
      return;
    }
    StreamState state;
    grpc::Status status;
    const NextStep next = SubmitOnce(job, refused_since, pause, &events, &state, &status, outcome);
    events.close();
    if (stop_ && !state.finished && next != NextStep::kStopSweep) return;
    if (!state.job_id.empty()) refused_since.reset();
    if (next == NextStep::kRetryRefused && !refused_since) refused_since = Clock::now();
    if (!TakeStep(next, job, state, status, SecondsSince(started), pause, outcome)) return;
  }
}

NextStep SweepRunner::SubmitOnce(const SweepJob& job,
                                 const std::optional<Clock::time_point>& refused_since,
                                 const std::function<bool()>& pause, std::ofstream* events,
                                 StreamState* state, grpc::Status* status, JobOutcome* outcome) {
  *status = SubmitAndRead(job, events, state);
  CallEnd end{!state->job_id.empty(), state->finished, state->final_event.reason(),
              status->error_code(), false};
  if (end.accepted) {
    ++outcome->attempts;
    outcome->job_id = state->job_id;
    outcome->endpoint = target_.endpoints.size() == 1 ? target_.endpoints[0] : "";
  } else {
    end.waited_too_long =
        refused_since.has_value() && Clock::now() - *refused_since > ReconnectWindow();
  }
  NextStep next = DecideNextStep(end);
  if (next == NextStep::kRewatch) next = FollowJob(job, events, state, outcome, pause);
  if (state->finished && outcome->endpoint.empty()) {
    std::shared_ptr<grpc::Channel> replica;
    LocateJob(target_, state->job_id, options_.rpc_timeout_seconds, &replica, &outcome->endpoint);
  }
  return next;
}

bool SweepRunner::TakeStep(NextStep next, const SweepJob& job, const StreamState& state,
                           const grpc::Status& status, double seconds,
                           const std::function<bool()>& pause, JobOutcome* outcome) {
  switch (next) {
    case NextStep::kRecord:
      RecordFinished(job, state, seconds, outcome);
      return false;
    case NextStep::kResubmit:
      KeepAttempt(job.index, outcome->attempts,
                  JobEventsPath(options_.jobs_dir, job.index) + ".partial");
      if (state.finished) {
        // The server ended the job: submit again at once.
        std::lock_guard<std::mutex> lock(mutex_);
        *log_ << "job #" << job.index << " (" << state.job_id << " on " << outcome->endpoint
              << ") ended " << DescribeFinish(state.final_event) << "; submitting again"
              << std::endl;
        return true;
      }
      return pause();
    case NextStep::kWaitForRoom:
    case NextStep::kRetryRefused:
      return pause();
    case NextStep::kGiveUp:
      outcome->error = "not accepted for " + std::to_string(options_.reconnect_seconds) +
                       " s: " + FormatRpcError(status);
      return false;
    case NextStep::kStopSweep:
      Fatal("job #" + std::to_string(job.index) + ": " + FormatRpcError(status));
      return false;
    case NextStep::kRewatch:
      return false;  // FollowJob returns it only when the sweep stopped
  }
  return false;
}

bool SweepRunner::WaitForAReplica(JobOutcome* outcome) {
  const Clock::time_point wait_until = Clock::now() + ReconnectWindow();
  while (!balanced_->WaitForConnected(std::chrono::system_clock::now() +
                                      std::chrono::milliseconds(500))) {
    if (stop_) return false;
    if (Clock::now() > wait_until) {
      outcome->error = "no replica of " + target_.given + " reachable for " +
                       std::to_string(options_.reconnect_seconds) + " s";
      return false;
    }
  }
  return true;
}

grpc::Status SweepRunner::SubmitAndRead(const SweepJob& job, std::ofstream* events,
                                        StreamState* state) {
  grpc::ClientContext call;
  Track(&call);
  v1::SubmitJobRequest request;
  *request.mutable_spec() = job.spec;
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader =
      v1::SgdSpectra::NewStub(balanced_)->RunJob(&call, request);
  const grpc::Status status = ConsumeStream(reader.get(), events, state);
  Untrack(&call);
  return status;
}

NextStep SweepRunner::FollowJob(const SweepJob& job, std::ofstream* events, StreamState* state,
                                JobOutcome* outcome, const std::function<bool()>& pause) {
  const Clock::time_point reattach_until = Clock::now() + ReconnectWindow();
  while (!stop_) {
    std::shared_ptr<grpc::Channel> replica;
    std::string endpoint;
    const grpc::Status located =
        LocateJob(target_, state->job_id, options_.rpc_timeout_seconds, &replica, &endpoint);
    if (located.ok()) {
      outcome->endpoint = endpoint;
      grpc::ClientContext call;
      Track(&call);
      v1::WatchJobRequest request;
      request.set_job_id(state->job_id);
      request.set_after_seq(state->last_seq);
      auto reader = v1::SgdSpectra::NewStub(replica)->WatchJob(&call, request);
      ConsumeStream(reader.get(), events, state);
      Untrack(&call);
    }
    const CallEnd end{true, state->finished, state->final_event.reason(), located.error_code(),
                      Clock::now() > reattach_until};
    const NextStep next = DecideNextStep(end);
    if (next != NextStep::kRewatch) {
      if (!end.finished && end.waited_too_long && end.code != grpc::StatusCode::NOT_FOUND) {
        // Its replica stayed away: run the job again wherever a replica is up.
        std::lock_guard<std::mutex> lock(mutex_);
        *log_ << "job #" << job.index << " (" << state->job_id << ") unreachable for "
              << options_.reconnect_seconds << " s after event " << state->last_seq << " ("
              << located.error_message() << "): submitting again" << std::endl;
      }
      return next;
    }
    if (!pause()) break;
  }
  return NextStep::kRewatch;
}

void SweepRunner::RecordFinished(const SweepJob& job, const StreamState& state, double seconds,
                                 JobOutcome* outcome) {
  const std::string final_path = JobEventsPath(options_.jobs_dir, job.index);
  const std::string partial_path = final_path + ".partial";
  outcome->finished = true;
  outcome->final_event = state.final_event;
  outcome->accepted = state.accepted;
  outcome->seconds = seconds;
  if (std::rename(partial_path.c_str(), final_path.c_str()) != 0 ||
      !WriteJobJson(IndexStem(options_.jobs_dir, job.index) + ".job.json", job.index, *outcome)) {
    Fatal("cannot write the results of job #" + std::to_string(job.index) + " in " +
          options_.jobs_dir);
  }
}

void SweepRunner::KeepAttempt(int index, int attempt, const std::string& partial_path) const {
  const std::string kept =
      IndexStem(options_.jobs_dir, index) + ".attempt-" + std::to_string(attempt) + ".events.jsonl";
  std::rename(partial_path.c_str(), kept.c_str());
}

void SweepRunner::Report(const SweepJob& job, const JobOutcome& outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++done_;
  const int width = static_cast<int>(std::to_string(to_run_).size());
  *log_ << "[" << std::setw(width) << done_ << "/" << to_run_ << "] #" << job.index
        << " seed=" << job.seed << (job.settings.empty() ? "" : " " + job.group) << ": ";
  if (!outcome.finished) {
    *log_ << "NOT FINISHED: " << outcome.error << std::endl;
    return;
  }
  const v1::Finished& finished = outcome.final_event;
  *log_ << DescribeFinish(finished);
  if (finished.has_rank()) {
    *log_ << " accuracy " << std::fixed << std::setprecision(4) << finished.final_test_accuracy()
          << std::defaultfloat << " rank " << finished.rank().outlier_rank() << "/"
          << finished.rank().expected_rank();
  }
  *log_ << " on " << (outcome.endpoint.empty() ? "?" : outcome.endpoint) << ", " << outcome.attempts
        << (outcome.attempts == 1 ? " submission, " : " submissions, ") << std::fixed
        << std::setprecision(1) << outcome.seconds << std::defaultfloat << " s" << std::endl;
}

}  // namespace sgdspectra::client
