// SweepRunner: runs the jobs of a sweep against one server or several replicas, at most
// `concurrency` at once, and records each job's events in the results folder.
//
// Each job runs as one RunJob stream on the balanced channel (round_robin over the replicas),
// so a job's events come from the replica that accepted it. Before the first job the runner
// connects to every replica (up to 2 s): round_robin picks only among ready connections, and
// without this the first jobs of a sweep all go to whichever replica answered first. Its events go
// to
// `<jobs_dir>/NNNN.events.jsonl.partial` as they arrive (one JobEvent per line, the proto3 JSON
// mapping of `run -o jsonl`) and the file is renamed to `NNNN.events.jsonl` when the terminal
// event is written, beside `NNNN.job.json` ({index, job_id, endpoint, attempts, seconds}).
// A file without the ".partial" suffix therefore always holds a whole job.
//
// Surviving replicas that go away (the whole policy is DecideNextStep below):
//   * the stream breaks but the job was accepted: find the job's replica (LocateJob) and
//     WatchJob from the last event seen, waiting up to `reconnect_seconds` for it to come back;
//     a job no replica knows, or whose replica stays away longer, is submitted again;
//   * the job ended with Finished.reason INTERRUPTED (the replica restarted) or SERVER_SHUTDOWN
//     (it drained): the job is submitted again, up to `max_attempts` submissions; the events
//     of every attempt that did not finish are kept as `NNNN.attempt-K.events.jsonl`;
//   * refused before acceptance (no job exists, so not an attempt): RESOURCE_EXHAUSTED (queue
//     full) is waited out; UNAVAILABLE and other transient codes are retried for up to
//     `reconnect_seconds`.
// `max_attempts` bounds the submissions that were accepted.
// INVALID_ARGUMENT (a bad spec) stops the whole sweep: every job shares the spec's shape.
//
// Ownership: the runner owns its channels; `log` is borrowed and must outlive Run().
// Thread-safety: Run() from one thread (it starts the workers); Interrupt() from any thread.
#ifndef SGDSPECTRA_CLIENT_SWEEP_SWEEP_RUNNER_H_
#define SGDSPECTRA_CLIENT_SWEEP_SWEEP_RUNNER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "client/server_target.h"
#include "client/sweep/sweep_plan.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {

// What one job's streams have shown so far (RunJob, then WatchJob after a break).
struct StreamState {
  std::string job_id;
  std::int64_t last_seq = 0;
  bool finished = false;
  v1::Finished final_event;
  v1::Accepted accepted;
};

struct SweepRunOptions {
  std::string jobs_dir;             // must exist
  int concurrency = 2;              // jobs in flight, >= 1
  int max_attempts = 5;             // submissions of one job, >= 1
  double reconnect_seconds = 120;   // how long to wait for a replica that went away
  double rpc_timeout_seconds = 30;  // deadline of unary calls (GetJob while locating)
};

// What became of one job.
struct JobOutcome {
  bool finished = false;     // a terminal event is recorded (events_file is whole)
  v1::Finished final_event;  // when finished
  v1::Accepted accepted;     // the first event: resolved spec (server defaults filled in), steps
  std::string job_id;
  std::string endpoint;  // the replica's address; "" when unknown
  int attempts = 0;      // submissions
  double seconds = 0;    // wall time from the first submission to the terminal event
  bool reused = false;   // finished by an earlier run of the same sweep (resume)
  std::string error;     // !finished: why
};

// "<jobs_dir>/0007.events.jsonl": where job `index`'s events end up (at least 4 digits).
std::string JobEventsPath(const std::string& jobs_dir, int index);

// True when `finished.reason` says the server stopped under the job (INTERRUPTED by a restart,
// SERVER_SHUTDOWN by a drain) rather than the job failing or a user cancelling it: submitting
// it again is the right response. False for a reason of 0 (a server older than the field).
bool WasInterruptedByServer(const v1::Finished& finished);

// What the runner does with a job after a call for it ended.
enum class NextStep {
  kRecord,        // it ended by itself (COMPLETED, RUN_FAILED, CANCELLED_BY_USER, ...): keep it
  kRewatch,       // accepted, but the stream broke: find its replica, watch from the last event
  kResubmit,      // the server ended it (WasInterruptedByServer), or lost it: a new attempt
  kWaitForRoom,   // refused with RESOURCE_EXHAUSTED (queue full): submit again after a pause
  kRetryRefused,  // refused before a job existed, maybe transiently: submit again after a pause
  kGiveUp,        // refused for longer than reconnect_seconds: leave the job unfinished
  kStopSweep,     // refused as wrong (bad spec, no permission): every job would be; stop all
};

// How the calls for one submission of a job have ended so far.
struct CallEnd {
  bool accepted = false;  // a job id was seen: the job exists on some replica
  bool finished = false;  // its terminal event was seen
  v1::FinishReason reason = v1::FINISH_REASON_UNSPECIFIED;  // when finished
  // The status of the last call: the RunJob stream, or LocateJob while following the job.
  grpc::StatusCode code = grpc::StatusCode::OK;
  // Refused (not accepted) or unreachable (accepted) for longer than reconnect_seconds.
  bool waited_too_long = false;
};

// The retry policy in one place: "record / re-watch / resubmit / wait / give up / stop" from
// the finish reason and the call's status. Pure function.
NextStep DecideNextStep(const CallEnd& end);

// Loads a finished job of an earlier run from its events file and job.json. False when the
// job has no whole events file.
bool LoadFinishedJob(const std::string& jobs_dir, int index, JobOutcome* outcome);

// How SweepRunner::Run() ended.
enum class SweepRunEnd {
  kRanAll,       // every job was run to an outcome (finished, or given up with its error)
  kInterrupted,  // Interrupt() (Ctrl-C): jobs in flight go on on their servers
  kFatalError,   // a job showed the sweep cannot succeed (e.g. INVALID_ARGUMENT); see *error
};

class SweepRunner {
 public:
  SweepRunner(ServerTarget target, SweepRunOptions options, std::ostream* log);

  // Runs every job whose outcome is not already finished (*outcomes is indexed like `jobs`;
  // entries already finished are kept). kFatalError sets *error. Outcomes of the jobs that
  // ended stay valid however the sweep ended.
  SweepRunEnd Run(const std::vector<SweepJob>& jobs, std::vector<JobOutcome>* outcomes,
                  std::string* error);

  // Stops starting jobs and ends the open streams; the jobs go on on their servers.
  void Interrupt();
  bool interrupted() const { return stop_.load(); }

 private:
  // Connects to each endpoint (gRPC shares the connections between channels with the same
  // arguments, so the balanced channel's are ready too); bounded by 2 s.
  void WarmUpReplicas();
  void WorkerLoop(const std::vector<SweepJob>& jobs, std::vector<JobOutcome>* outcomes);
  // Submits the job until it is recorded, given up, or the sweep stops.
  void RunOne(const SweepJob& job, JobOutcome* outcome);
  // Waits up to reconnect_seconds until some replica is connected; false (with
  // outcome->error unless the sweep stopped) if none is.
  bool WaitForAReplica(JobOutcome* outcome);
  // One submission: RunJob, then following the job if its stream broke (FollowJob). Counts
  // the attempt once the job is accepted; returns what to do next (DecideNextStep).
  // `refused_since`: the first transient refusal of this job's submission, if any.
  NextStep SubmitOnce(const SweepJob& job,
                      const std::optional<std::chrono::steady_clock::time_point>& refused_since,
                      const std::function<bool()>& pause, std::ofstream* events, StreamState* state,
                      grpc::Status* status, JobOutcome* outcome);
  // Does `next` (records, keeps the attempt's events, pauses, gives up or stops the sweep);
  // true if the job is to be submitted again.
  bool TakeStep(NextStep next, const SweepJob& job, const StreamState& state,
                const grpc::Status& status, double seconds, const std::function<bool()>& pause,
                JobOutcome* outcome);
  // One RunJob call, its events appended to `events`.
  grpc::Status SubmitAndRead(const SweepJob& job, std::ofstream* events, StreamState* state);
  // Follows an accepted job whose stream broke: finds its replica and watches it from the
  // last event seen, pausing between tries, until DecideNextStep says anything but kRewatch
  // (returned) or the sweep stops (kRewatch returned).
  NextStep FollowJob(const SweepJob& job, std::ofstream* events, StreamState* state,
                     JobOutcome* outcome, const std::function<bool()>& pause);
  // Renames the events file into place and writes NNNN.job.json.
  void RecordFinished(const SweepJob& job, const StreamState& state, double seconds,
                      JobOutcome* outcome);
  void Fatal(const std::string& message);
  void Report(const SweepJob& job, const JobOutcome& outcome);
  // Keeps an attempt that did not finish the job as NNNN.attempt-K.events.jsonl.
  void KeepAttempt(int index, int attempt, const std::string& partial_path) const;
  // Sleeps up to `seconds` unless the sweep stops; false if it stopped.
  bool SleepUnlessStopped(double seconds);
  // options_.reconnect_seconds as a duration.
  std::chrono::steady_clock::duration ReconnectWindow() const;
  void Track(grpc::ClientContext* call);
  void Untrack(grpc::ClientContext* call);

  const ServerTarget target_;
  const SweepRunOptions options_;
  std::ostream* const log_;
  const std::shared_ptr<grpc::Channel> balanced_;

  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> next_job_{0};
  std::mutex mutex_;  // guards the members below and writes to log_
  std::set<grpc::ClientContext*> open_calls_;
  std::string fatal_error_;
  int done_ = 0;
  int to_run_ = 0;
};

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SWEEP_SWEEP_RUNNER_H_
