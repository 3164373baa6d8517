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
// Surviving replicas that go away:
//   * the stream breaks but the job was accepted: find the job's replica (LocateJob) and
//     WatchJob from the last event seen, waiting up to `reconnect_seconds` for it to come back;
//     a job no replica knows, or whose replica stays away longer, is submitted again;
//   * the job ended FAILED "interrupted" (the replica restarted) or CANCELLED "server shutting
//     down" (it drained): the job is submitted again, up to `max_attempts` submissions; the
//     events of every attempt that did not finish are kept as `NNNN.attempt-K.events.jsonl`;
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
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "client/server_target.h"
#include "client/sweep/sweep_plan.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {

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

// True when `finished` says the server stopped under the job (restart or drain) rather than
// the job failing or a user cancelling it: submitting it again is the right response.
bool WasInterruptedByServer(const v1::Finished& finished);

// Loads a finished job of an earlier run from its events file and job.json. False when the
// job has no whole events file.
bool LoadFinishedJob(const std::string& jobs_dir, int index, JobOutcome* outcome);

class SweepRunner {
 public:
  SweepRunner(ServerTarget target, SweepRunOptions options, std::ostream* log);

  // Runs every job whose outcome is not already finished (*outcomes is indexed like `jobs`;
  // entries already finished are kept). Returns false with *error when the sweep had to stop
  // (a bad spec, or Interrupt()); outcomes of the jobs that ended stay valid either way.
  bool Run(const std::vector<SweepJob>& jobs, std::vector<JobOutcome>* outcomes,
           std::string* error);

  // Stops starting jobs and ends the open streams; the jobs go on on their servers.
  void Interrupt();
  bool interrupted() const { return stop_.load(); }

 private:
  class JobAttempt;
  // Connects to each endpoint (gRPC shares the connections between channels with the same
  // arguments, so the balanced channel's are ready too); bounded by 2 s.
  void WarmUpReplicas();
  void WorkerLoop(const std::vector<SweepJob>& jobs, std::vector<JobOutcome>* outcomes);
  void RunOne(const SweepJob& job, JobOutcome* outcome);
  void Fatal(const std::string& message);
  void Report(const SweepJob& job, const JobOutcome& outcome);
  // Keeps an attempt that did not finish the job as NNNN.attempt-K.events.jsonl.
  void KeepAttempt(int index, int attempt, const std::string& partial_path) const;
  // Sleeps up to `seconds` unless the sweep stops; false if it stopped.
  bool SleepUnlessStopped(double seconds);
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
