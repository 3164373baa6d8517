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
#include "client/render.h"
#include "sgdspectra/v1/jobs.grpc.pb.h"

namespace sgdspectra::client {
namespace {

using Clock = std::chrono::steady_clock;

// The terminal messages the server uses when it, not the job, ended a run
// (server/job_manager.cc; documented on Finished.error_message in jobs.proto).
constexpr char kInterruptedMessage[] = "interrupted";
constexpr char kShuttingDownMessage[] = "server shutting down";

std::string IndexStem(const std::string& jobs_dir, int index) {
  std::ostringstream stem;
  stem << jobs_dir << "/" << std::setw(4) << std::setfill('0') << index;
  return stem.str();
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What one job's streams have shown so far.
struct StreamState {
  std::string job_id;
  std::int64_t last_seq = 0;
  bool finished = false;
  v1::Finished final_event;
  v1::Accepted accepted;
};

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
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << json << "\n";
    if (!file.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

}  // namespace

std::string JobEventsPath(const std::string& jobs_dir, int index) {
  return IndexStem(jobs_dir, index) + ".events.jsonl";
}

bool WasInterruptedByServer(const v1::Finished& finished) {
  return (finished.state() == v1::FAILED && finished.error_message() == kInterruptedMessage) ||
         (finished.state() == v1::CANCELLED && finished.error_message() == kShuttingDownMessage);
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

bool SweepRunner::Run(const std::vector<SweepJob>& jobs, std::vector<JobOutcome>* outcomes,
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
    return false;
  }
  if (stop_) {
    *error = "interrupted";
    return false;
  }
  return true;
}

void SweepRunner::WarmUpReplicas() {
  if (!target_.several_endpoints()) return;
  balanced_->GetState(/*try_to_connect=*/true);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (const std::string& endpoint : target_.endpoints) {
    ServerTarget one;
    one.channel_target = endpoint;
    channels.push_back(MakeBalancedChannel(one));
  }
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  for (const auto& channel : channels) channel->WaitForConnected(deadline);
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
  const std::string final_path = JobEventsPath(options_.jobs_dir, job.index);
  const std::string partial_path = final_path + ".partial";
  const auto stub = v1::SgdSpectra::NewStub(balanced_);
  double backoff_seconds = 0.25;
  auto back_off = [&] {
    const bool go_on = SleepUnlessStopped(backoff_seconds);
    backoff_seconds = std::min(2 * backoff_seconds, 5.0);
    return go_on;
  };

  const auto reconnect = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.reconnect_seconds));
  std::optional<Clock::time_point> refused_since;  // first refusal of the current submission
  while (!stop_) {
    if (outcome->attempts >= options_.max_attempts) {
      outcome->error = "gave up after " + std::to_string(outcome->attempts) + " submissions";
      return;
    }
    // A replica to submit to, waiting for one to come back if none is reachable.
    const Clock::time_point wait_until = Clock::now() + reconnect;
    while (!balanced_->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::milliseconds(500))) {
      if (stop_) return;
      if (Clock::now() > wait_until) {
        outcome->error = "no replica of " + target_.given + " reachable for " +
                         std::to_string(options_.reconnect_seconds) + " s";
        return;
      }
    }

    std::ofstream events(partial_path, std::ios::trunc);
    if (!events) {
      Fatal("cannot write " + partial_path);
      return;
    }
    StreamState state;
    grpc::Status status;
    {
      grpc::ClientContext call;
      Track(&call);
      v1::SubmitJobRequest request;
      *request.mutable_spec() = job.spec;
      std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = stub->RunJob(&call, request);
      status = ConsumeStream(reader.get(), &events, &state);
      Untrack(&call);
    }
    if (state.job_id.empty()) {
      // Refused before a job existed: not an attempt. A full queue is waited out; a bad spec
      // stops the sweep; anything else (UNAVAILABLE while a replica drains or restarts, ...)
      // is retried for up to reconnect_seconds.
      switch (status.error_code()) {
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
          if (!back_off()) return;
          continue;
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::FAILED_PRECONDITION:
        case grpc::StatusCode::OUT_OF_RANGE:
        case grpc::StatusCode::UNIMPLEMENTED:
        case grpc::StatusCode::PERMISSION_DENIED:
        case grpc::StatusCode::UNAUTHENTICATED:
          Fatal("job #" + std::to_string(job.index) + ": " + FormatRpcError(status));
          return;
        default:
          break;
      }
      if (stop_) return;
      if (!refused_since) refused_since = Clock::now();
      if (Clock::now() - *refused_since > reconnect) {
        outcome->error = "not accepted for " + std::to_string(options_.reconnect_seconds) +
                         " s: " + FormatRpcError(status);
        return;
      }
      if (!back_off()) return;
      continue;
    }
    refused_since.reset();
    ++outcome->attempts;
    outcome->job_id = state.job_id;
    outcome->endpoint = target_.endpoints.size() == 1 ? target_.endpoints[0] : "";

    // Accepted but the stream broke: follow the job on its replica.
    bool lost = false;
    const Clock::time_point reattach_until = Clock::now() + reconnect;
    while (!state.finished && !state.job_id.empty() && !stop_) {
      std::shared_ptr<grpc::Channel> replica;
      std::string endpoint;
      const grpc::Status located =
          LocateJob(target_, state.job_id, options_.rpc_timeout_seconds, &replica, &endpoint);
      if (located.error_code() == grpc::StatusCode::NOT_FOUND) {
        lost = true;  // no replica knows it (e.g. its data dir is gone): submit again
        break;
      }
      if (located.ok()) {
        outcome->endpoint = endpoint;
        grpc::ClientContext call;
        Track(&call);
        v1::WatchJobRequest request;
        request.set_job_id(state.job_id);
        request.set_after_seq(state.last_seq);
        auto reader = v1::SgdSpectra::NewStub(replica)->WatchJob(&call, request);
        ConsumeStream(reader.get(), &events, &state);
        Untrack(&call);
        if (state.finished) break;
      }
      if (Clock::now() > reattach_until) {
        // Its replica stayed away: run the job again wherever a replica is up.
        std::lock_guard<std::mutex> lock(mutex_);
        *log_ << "job #" << job.index << " (" << state.job_id << ") unreachable for "
              << options_.reconnect_seconds << " s after event " << state.last_seq << " ("
              << located.error_message() << "): submitting again" << std::endl;
        lost = true;
        break;
      }
      if (!back_off()) return;
    }
    if (stop_ && !state.finished) return;
    if (lost || !state.finished) {
      events.close();
      KeepAttempt(job.index, outcome->attempts, partial_path);
      if (!back_off()) return;
      continue;
    }
    if (outcome->endpoint.empty()) {
      std::shared_ptr<grpc::Channel> replica;
      LocateJob(target_, state.job_id, options_.rpc_timeout_seconds, &replica, &outcome->endpoint);
    }
    events.close();
    if (WasInterruptedByServer(state.final_event)) {
      KeepAttempt(job.index, outcome->attempts, partial_path);
      std::lock_guard<std::mutex> lock(mutex_);
      *log_ << "job #" << job.index << " (" << state.job_id << " on " << outcome->endpoint
            << ") ended \"" << state.final_event.error_message() << "\": submitting again"
            << std::endl;
      continue;
    }
    outcome->finished = true;
    outcome->final_event = state.final_event;
    outcome->accepted = state.accepted;
    outcome->seconds = SecondsSince(started);
    if (std::rename(partial_path.c_str(), final_path.c_str()) != 0 ||
        !WriteJobJson(IndexStem(options_.jobs_dir, job.index) + ".job.json", job.index, *outcome)) {
      Fatal("cannot write the results of job #" + std::to_string(job.index) + " in " +
            options_.jobs_dir);
    }
    return;
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
  *log_ << v1::JobState_Name(finished.state());
  if (finished.has_rank()) {
    *log_ << " accuracy " << std::fixed << std::setprecision(4) << finished.final_test_accuracy()
          << std::defaultfloat << " rank " << finished.rank().outlier_rank() << "/"
          << finished.rank().expected_rank();
  } else if (!finished.error_message().empty()) {
    *log_ << " (" << finished.error_message() << ")";
  }
  *log_ << " on " << (outcome.endpoint.empty() ? "?" : outcome.endpoint) << ", " << outcome.attempts
        << (outcome.attempts == 1 ? " submission, " : " submissions, ") << std::fixed
        << std::setprecision(1) << outcome.seconds << std::defaultfloat << " s" << std::endl;
}

}  // namespace sgdspectra::client
