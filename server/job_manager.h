// JobManager: admits, queues, runs, cancels and records jobs.
//
// Admission: a spec is converted and validated (kInvalidArgument naming the field), then
// queued if fewer than `workers + queue_capacity` jobs are queued or running
// (kResourceExhausted at once otherwise), and refused with kUnavailable once draining.
// Workers (`workers` threads owned by the manager) take queued jobs in FIFO order and run
// them with RunExperiment; numerical work never runs on the caller's (gRPC) threads.
//
// Transport-free: errors are sgdspectra::Status values (unknown job kNotFound, wrong state
// kFailedPrecondition, ...) that the service maps to gRPC (server/status_map.h). Jobs, events
// and results are proto messages because they are the persisted record (the store keeps them
// serialized) and what the service sends as is.
//
// Events: each job has a JobEventLog with seq 1, 2, ...; event 1 is `accepted`, the last is
// `finished`, whose `reason` says why the job ended (FinishReason in jobs.proto: COMPLETED,
// CANCELLED_BY_USER, SERVER_SHUTDOWN, INTERRUPTED, STORE_ERROR, RUN_FAILED or INTERNAL).
// Every event is written to the JobStore before it is appended to the log, so a watcher never
// sees an event that a crash could lose. The job only appends; watchers read from the log at
// their own pace, so a slow watcher never blocks a job. Once a job's `finished` event is
// stored, the manager drops its log: finished jobs hold no events in memory, and a later
// watcher reads them from the store (OpenEventLog, ReadEvents).
//
// Recovery: Create() loads every stored job and its events; a job that was QUEUED or RUNNING
// when the previous process died is finished as FAILED with reason INTERRUPTED.
//
// Ownership: the manager owns its worker threads and job records; `store` is borrowed and
// must outlive the manager. Thread-safety: every public method is thread-safe. Methods
// marked "may block" write to the store (an fsync) and belong off gRPC callback threads.
#ifndef SGDSPECTRA_SERVER_JOB_MANAGER_H_
#define SGDSPECTRA_SERVER_JOB_MANAGER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/caller.h"
#include "server/job_event_log.h"
#include "server/job_store.h"
#include "server/metrics.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

struct JobManagerOptions {
  int workers = 1;          // jobs run at once, >= 1
  int queue_capacity = 16;  // jobs waiting beyond the running ones, >= 0
  int default_threads = 1;  // analysis.threads = 0 means this, >= 1
  // Limits a spec cannot raise (0 = none): a job whose estimated peak memory is above
  // max_job_memory_bytes, or that would send more than max_events_per_job events (snapshots
  // and SGD progress; analysis progress adds at most one per 5 s of a long snapshot), is
  // refused with INVALID_ARGUMENT naming the field to change.
  double max_job_memory_bytes = 0;
  long max_events_per_job = 0;
  std::string build_version;
  // Job states, queue depth and snapshot timings are counted here (borrowed, must outlive the
  // manager; null counts nothing).
  ServerMetrics* metrics = nullptr;
};

class JobManager {
 public:
  // Recovers the stored jobs (see above) and starts the workers. May block.
  static Status Create(JobStore* store, const JobManagerOptions& options,
                       std::unique_ptr<JobManager>* manager);
  ~JobManager();  // BeginDrain() + Shutdown()
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Every method taking a job_id gives kNotFound for an unknown one, and for a job the caller
  // may not see (server/caller.h: another principal's), with the same message: ids leak nothing.
  // ListJobs lists only the jobs the caller may see. Submit makes the caller the job's owner.

  // Validates, records and queues a job; *job is its state (QUEUED). kInvalidArgument,
  // kResourceExhausted, kUnavailable (see above); kInternal if the store fails. May block.
  Status Submit(const Caller& caller, const v1::JobSpec& spec, v1::Job* job);
  Status GetJob(const Caller& caller, const std::string& job_id, v1::Job* job) const;
  // Newest first; page_token is the id of the last job of the previous page. kInvalidArgument
  // for a page_size outside [0, 1000], an unknown state_filter or a foreign page_token.
  Status ListJobs(const Caller& caller, const v1::ListJobsRequest& request,
                  v1::ListJobsResponse* response) const;
  // Queued: finished CANCELLED (CANCELLED_BY_USER) at once. Running: asked to stop (the worker
  // finishes it so within one snapshot interval's work); *job still says RUNNING. Finished:
  // kFailedPrecondition. May block.
  Status Cancel(const Caller& caller, const std::string& job_id, v1::Job* job);
  // Job, weights, means and finished event of a finished job that has weights;
  // kFailedPrecondition otherwise. May block (reads the store).
  Status GetResult(const Caller& caller, const std::string& job_id, v1::JobResult* result) const;
  // What to watch from after_seq, which must be in [0, last_seq] (kInvalidArgument). *log is
  // the job's in-memory log while it has one; null once the job has finished and its events
  // are in the store only (read them with ReadEvents). *last_seq (if not null) is the job's
  // last seq. Never blocks.
  Status OpenEventLog(const Caller& caller, const std::string& job_id, int64_t after_seq,
                      std::shared_ptr<JobEventLog>* log, int64_t* last_seq = nullptr) const;
  // Up to max_count stored events of the job with seq >= first_seq, in seq order. May block.
  // Takes no caller: only for a watch that OpenEventLog (which checks the caller) has admitted.
  Status ReadEvents(const std::string& job_id, int64_t first_seq, int max_count,
                    std::vector<v1::JobEvent>* events) const;

  // Stops admitting (Submit gives kUnavailable), cancels queued jobs at once and asks running
  // ones to stop; both end CANCELLED with reason SERVER_SHUTDOWN. Idempotent. May block.
  void BeginDrain();
  // Waits up to `timeout` until no job runs; true if none does.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // The forced end of a drain whose jobs did not stop in time (a step that does not poll the
  // cancel hook): finishes every job still running as CANCELLED with reason SERVER_SHUTDOWN
  // and `message`, so that its watchers get a terminal event; the run's later events are
  // dropped. Returns how many jobs it finished. May block.
  int FinishRunningJobs(const std::string& message);
  // After BeginDrain: waits up to `timeout` until every worker thread has returned (a worker
  // still in an abandoned run has not); true if all have, and then Shutdown() will not block.
  bool WaitWorkersExited(std::chrono::milliseconds timeout);
  // BeginDrain(), then joins the workers (each returns after its current job). Idempotent.
  void Shutdown();

 private:
  struct JobRecord;
  using RecordPtr = std::shared_ptr<JobRecord>;

  JobManager(JobStore* store, const JobManagerOptions& options);
  Status Recover();
  void WorkerLoop();
  void RunJob(const RecordPtr& record);
  RecordPtr Find(const std::string& job_id) const;
  // The job if `caller` may see it, else null (as for an unknown id).
  RecordPtr Find(const std::string& job_id, const Caller& caller) const;
  // Submit's steps: admission (a slot in queue + running, or UNAVAILABLE while draining,
  // RESOURCE_EXHAUSTED when full) and the job's number; the QUEUED job with its accepted event
  // (seq 1); publishing the recorded job to the queue (cancelled at once if a drain began).
  Status ReserveSlot(int64_t* number);
  Status CheckServerLimits(const ExperimentSpec& spec) const;
  v1::JobEvent NewJob(const ExperimentSpec& spec, int64_t number, v1::Job* job) const;
  void Enqueue(const RecordPtr& record);
  // Persists, applies to the job and publishes one event; requires record.append_mutex.
  Status AppendEventLocked(JobRecord& record, v1::JobEvent event);
  // The terminal transition (persisted with the result, if any); requires
  // record.append_mutex. A store failure is logged and the event still published, so that
  // watchers end.
  void FinishLocked(JobRecord& record, v1::Finished finished, const v1::JobResult* result);
  // Finishes a job that never ran as CANCELLED for `reason` (CANCELLED_BY_USER or
  // SERVER_SHUTDOWN), unless it has already finished.
  void CancelQueued(const RecordPtr& record, v1::FinishReason reason);

  JobStore* const store_;
  const JobManagerOptions options_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable work_ready_;
  std::condition_variable job_ended_;
  std::map<std::string, RecordPtr> jobs_;  // by id; ids sort by creation
  std::deque<RecordPtr> queue_;
  std::set<JobRecord*> running_;  // owned through jobs_
  int reserved_ = 0;              // admitted submits not yet queued (being written to the store)
  int64_t next_job_number_ = 1;
  bool draining_ = false;
  std::vector<std::thread> workers_;
  int live_workers_ = 0;  // worker threads that have not returned from WorkerLoop
  bool joined_ = false;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_JOB_MANAGER_H_
