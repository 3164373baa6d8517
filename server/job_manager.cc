#include "server/job_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <exception>
#include <utility>

#include "server/convert.h"
#include "server/run_observer.h"
#include "sgdspectra/core/experiment.h"

namespace sgdspectra::server {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "j-" + a zero-padded counter: unique, and string order is creation order.
// "j-<store id>-<10-digit counter>", e.g. "j-3fa9c1d2-0000000001". The store id keeps ids of
// different replicas apart (a client balancing over several servers may ask any of them);
// the fixed-width counter keeps one server's ids in submission order as strings.
std::string JobIdFor(const std::string& store_id, int64_t number) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%010" PRId64, number);
  return "j-" + store_id + "-" + buffer;
}

// The counter of a well-formed job id, or -1. Also accepts "j-<10 digits>", the form of data
// dirs written before ids carried the store id.
int64_t JobNumberOf(const std::string& job_id) {
  constexpr size_t kDigits = 10;
  if (job_id.size() < 2 + kDigits || job_id.compare(0, 2, "j-") != 0) return -1;
  const size_t digits_at = job_id.size() - kDigits;
  if (digits_at != 2) {
    // "j-" + hex store id + "-" before the digits.
    if (job_id[digits_at - 1] != '-' || digits_at - 3 == 0) return -1;
    for (size_t i = 2; i + 1 < digits_at; ++i) {
      if (!std::isxdigit(static_cast<unsigned char>(job_id[i]))) return -1;
    }
  }
  int64_t number = 0;
  for (size_t i = digits_at; i < job_id.size(); ++i) {
    if (job_id[i] < '0' || job_id[i] > '9') return -1;
    number = number * 10 + (job_id[i] - '0');
  }
  return number;
}

bool IsTerminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

// Folds one event into the job's summary fields; the same rule serves live runs and recovery.
void ApplyEvent(const v1::JobEvent& event, v1::Job* job) {
  job->set_last_seq(event.seq());
  switch (event.kind_case()) {
    case v1::JobEvent::kAccepted:
      job->set_steps_total(event.accepted().steps_total());
      break;
    case v1::JobEvent::kProgress:
      job->set_steps_done(event.progress().steps_done());
      break;
    case v1::JobEvent::kSnapshot:
      job->set_steps_done(event.snapshot().step());
      job->set_snapshots_done(job->snapshots_done() + 1);
      break;
    case v1::JobEvent::kFinished:
      job->set_state(event.finished().state());
      job->set_error_message(event.finished().error_message());
      job->set_finish_reason(event.finished().reason());
      job->set_finished_unix_ms(event.unix_ms());
      if (event.finished().steps_done() > 0) job->set_steps_done(event.finished().steps_done());
      break;
    case v1::JobEvent::KIND_NOT_SET:
      break;
  }
}

// Metrics of JobManagerOptions, which may be null.
void CountStateChange(ServerMetrics* metrics, v1::JobState from, v1::JobState to) {
  if (metrics != nullptr) metrics->JobStateChanged(from, to);
}
void CountQueueDepth(ServerMetrics* metrics, size_t waiting_jobs) {
  if (metrics != nullptr) metrics->SetQueueDepth(waiting_jobs);
}

Status NotFound(const std::string& job_id) { return Status::NotFound("job_id: no job " + job_id); }

// The message beside a reason the server gives a job itself, for people: clients decide on
// the reason. The text is what earlier versions wrote, so old and new records read alike.
std::string MessageFor(v1::FinishReason reason) {
  switch (reason) {
    case v1::INTERRUPTED:
      return "interrupted";
    case v1::SERVER_SHUTDOWN:
      return "server shutting down";
    case v1::CANCELLED_BY_USER:
      return "cancelled by request";
    default:
      return v1::FinishReason_Name(reason);
  }
}

// Why a run ended. What the manager knows comes first, because the run's status cannot tell
// it: that its store failed (the observer stopped the run), and who asked it to stop.
v1::FinishReason FinishReasonOfRun(const Status& run_status, bool store_failed,
                                   v1::FinishReason stop_reason) {
  if (store_failed) return v1::STORE_ERROR;
  switch (run_status.code()) {
    case StatusCode::kOk:
      return v1::COMPLETED;
    case StatusCode::kCancelled:
      // Only the manager's cancel hook stops a run, and it is raised with a reason.
      return stop_reason != v1::FINISH_REASON_UNSPECIFIED ? stop_reason : v1::INTERNAL;
    case StatusCode::kInternal:
      return v1::INTERNAL;
    default:
      return v1::RUN_FAILED;  // numerics, resources: the run's own error
  }
}

}  // namespace

struct JobManager::JobRecord {
  explicit JobRecord(v1::Job initial)
      : id(initial.job_id()), owner(initial.owner()), job(std::move(initial)) {}

  const std::string id;
  const std::string owner;  // the principal that submitted the job (server/caller.h)

  // Serialises the writers of this job's events (persist + publish); held across disk writes.
  std::mutex append_mutex;
  // Guards `job` and `stop_reason`; never held across I/O.
  mutable std::mutex state_mutex;
  v1::Job job;
  v1::FinishReason stop_reason = v1::FINISH_REASON_UNSPECIFIED;  // set with cancel_requested
  // The in-memory events until the `finished` event is stored, then null (the store has
  // them). Written under both append_mutex and state_mutex; read under either.
  std::shared_ptr<JobEventLog> log = std::make_shared<JobEventLog>();
  ExperimentSpec spec;  // set before the record is shared; immutable after
  std::atomic<bool> cancel_requested{false};

  v1::Job Copy() const {
    std::lock_guard<std::mutex> lock(state_mutex);
    return job;
  }
  // Asks a running job to stop (CANCELLED_BY_USER or SERVER_SHUTDOWN); the first reason wins.
  void RequestCancel(v1::FinishReason reason) {
    std::lock_guard<std::mutex> lock(state_mutex);
    if (stop_reason == v1::FINISH_REASON_UNSPECIFIED) stop_reason = reason;
    cancel_requested.store(true);
  }
  v1::FinishReason StopReason() const {
    std::lock_guard<std::mutex> lock(state_mutex);
    return stop_reason;
  }
  bool Finished() const {
    std::lock_guard<std::mutex> lock(state_mutex);
    return IsTerminal(job.state());
  }
};

JobManager::JobManager(JobStore* store, const JobManagerOptions& options)
    : store_(store), options_(options) {}

Status JobManager::Create(JobStore* store, const JobManagerOptions& options,
                          std::unique_ptr<JobManager>* manager) {
  std::unique_ptr<JobManager> created(new JobManager(store, options));
  Status status = created->Recover();
  if (!status.ok()) return status;
  created->live_workers_ = options.workers;
  for (int i = 0; i < options.workers; ++i) {
    created->workers_.emplace_back([raw = created.get()] {
      raw->WorkerLoop();
      std::lock_guard<std::mutex> lock(raw->mutex_);
      --raw->live_workers_;
      raw->job_ended_.notify_all();
    });
  }
  *manager = std::move(created);
  return Status::Ok();
}

JobManager::~JobManager() { Shutdown(); }

Status JobManager::Recover() {
  std::vector<StoredJob> stored;
  Status status = store_->LoadJobs(&stored);
  if (!status.ok()) return status;
  for (StoredJob& entry : stored) {
    auto record = std::make_shared<JobRecord>(std::move(entry.job));
    for (v1::JobEvent& event : entry.events) {
      if (event.seq() != record->log->last_seq() + 1 || record->log->closed()) {
        spdlog::warn("job {}: ignoring stored event seq {} after seq {}", record->id, event.seq(),
                     record->log->last_seq());
        break;
      }
      ApplyEvent(event, &record->job);
      record->log->Append(std::make_shared<const v1::JobEvent>(std::move(event)));
    }
    const std::string& id = record->id;
    next_job_number_ = std::max(next_job_number_, JobNumberOf(id) + 1);
    CountStateChange(options_.metrics, v1::JOB_STATE_UNSPECIFIED, record->job.state());
    if (!IsTerminal(record->job.state()) || !record->log->closed()) {
      // The previous process died while this job was queued or running.
      v1::Finished finished;
      finished.set_state(v1::FAILED);
      finished.set_reason(v1::INTERRUPTED);
      finished.set_error_message(MessageFor(v1::INTERRUPTED));
      finished.set_steps_done(record->job.steps_done());
      std::lock_guard<std::mutex> lock(record->append_mutex);
      FinishLocked(*record, std::move(finished), nullptr);
    } else {
      record->log.reset();  // finished before: its events stay in the store
    }
    jobs_.emplace(id, std::move(record));
  }
  spdlog::info("recovered {} jobs from the store", jobs_.size());
  return Status::Ok();
}

Status JobManager::CheckServerLimits(const ExperimentSpec& spec) const {
  const double mib = 1 << 20;
  if (options_.max_job_memory_bytes > 0 && spec.EstimatedBytes() > options_.max_job_memory_bytes) {
    return Status::InvalidArgument(
        "memory_budget_bytes: the job needs about " +
        std::to_string(std::llround(spec.EstimatedBytes() / mib)) +
        " MiB, above this server's limit of " +
        std::to_string(std::llround(options_.max_job_memory_bytes / mib)) +
        " MiB per job (--max-job-memory-bytes); a spec can only lower it");
  }
  // accepted + finished + one per snapshot + one per progress interval.
  const long progress =
      (spec.ResolvedSteps() + spec.ResolvedProgressEvery() - 1) / spec.ResolvedProgressEvery();
  const long events = 2 + static_cast<long>(spec.SnapshotSteps().size()) + progress;
  if (options_.max_events_per_job > 0 && events > options_.max_events_per_job) {
    return Status::InvalidArgument(
        "progress_every_steps: the job would send about " + std::to_string(events) +
        " events (snapshots and progress), above this server's limit of " +
        std::to_string(options_.max_events_per_job) +
        " per job (--max-events-per-job); raise progress_every_steps or take fewer snapshots");
  }
  return Status::Ok();
}

Status JobManager::ReserveSlot(int64_t* number) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (draining_) return Status::Unavailable("server is shutting down");
  const size_t in_system = queue_.size() + running_.size() + reserved_;
  const size_t capacity = options_.workers + options_.queue_capacity;
  if (in_system >= capacity) {
    // Every job that holds a slot is counted: submits still being recorded hold one too.
    return Status::ResourceExhausted(
        "queue full: " + std::to_string(running_.size()) + " running, " +
        std::to_string(queue_.size() + reserved_) + " queued (" + std::to_string(reserved_) +
        " of them being recorded); capacity " + std::to_string(capacity) + " = --workers " +
        std::to_string(options_.workers) + " + --queue " + std::to_string(options_.queue_capacity));
  }
  ++reserved_;
  *number = next_job_number_++;
  return Status::Ok();
}

v1::JobEvent JobManager::NewJob(const ExperimentSpec& spec, int64_t number, v1::Job* job) const {
  const int64_t now = NowUnixMs();
  job->set_job_id(JobIdFor(store_->store_id(), number));
  job->set_state(v1::QUEUED);
  *job->mutable_resolved_spec() = ResolvedJobSpecToProto(spec);
  job->set_created_unix_ms(now);
  job->set_build_version(options_.build_version);

  v1::JobEvent accepted;
  accepted.set_job_id(job->job_id());
  accepted.set_seq(1);
  accepted.set_unix_ms(now);
  *accepted.mutable_accepted() = AcceptedFor(spec, options_.build_version);
  ApplyEvent(accepted, job);
  return accepted;
}

void JobManager::Enqueue(const RecordPtr& record) {
  bool drain_began = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --reserved_;
    jobs_.emplace(record->job.job_id(), record);
    CountStateChange(options_.metrics, v1::JOB_STATE_UNSPECIFIED, v1::QUEUED);
    drain_began = draining_;
    if (!drain_began) {
      queue_.push_back(record);
      CountQueueDepth(options_.metrics, queue_.size());
      work_ready_.notify_one();
    }
  }
  // Drain began while this job was being recorded: it must not stay QUEUED.
  if (drain_began) CancelQueued(record, v1::SERVER_SHUTDOWN);
}

Status JobManager::Submit(const Caller& caller, const v1::JobSpec& proto_spec, v1::Job* job) {
  ExperimentSpec spec;
  Status valid = JobSpecFromProto(proto_spec, options_.default_threads, &spec);
  if (valid.ok()) valid = CheckServerLimits(spec);
  if (!valid.ok()) return valid;
  int64_t number;
  const Status reserved = ReserveSlot(&number);
  if (!reserved.ok()) return reserved;

  v1::Job initial;
  v1::JobEvent accepted = NewJob(spec, number, &initial);
  initial.set_owner(caller.principal);
  auto record = std::make_shared<JobRecord>(initial);
  record->spec = std::move(spec);
  const Status stored = store_->InsertJob(initial, accepted);
  if (!stored.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    --reserved_;
    spdlog::error("job {}: cannot record: {}", initial.job_id(), stored.message());
    return stored;
  }
  record->log->Append(std::make_shared<const v1::JobEvent>(std::move(accepted)));
  spdlog::info("job {} QUEUED owner={} name=\"{}\" task={} dim={} blocks={} steps={}",
               initial.job_id(), initial.owner(), record->spec.name,
               record->spec.task == TaskKind::kXor ? "xor" : "kgmm", record->spec.Dim(),
               record->spec.NumBlocks(), initial.steps_total());
  Enqueue(record);
  *job = record->Copy();
  return Status::Ok();
}

JobManager::RecordPtr JobManager::Find(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second;
}

JobManager::RecordPtr JobManager::Find(const std::string& job_id, const Caller& caller) const {
  RecordPtr record = Find(job_id);
  return record != nullptr && caller.CanSee(record->owner) ? record : nullptr;
}

Status JobManager::GetJob(const Caller& caller, const std::string& job_id, v1::Job* job) const {
  RecordPtr record = Find(job_id, caller);
  if (record == nullptr) return NotFound(job_id);
  *job = record->Copy();
  return Status::Ok();
}

Status JobManager::ListJobs(const Caller& caller, const v1::ListJobsRequest& request,
                            v1::ListJobsResponse* response) const {
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return Status::InvalidArgument("page_size: must be in [0, " + std::to_string(kMaxPageSize) +
                                   "], got " + std::to_string(request.page_size()));
  }
  if (!v1::JobState_IsValid(request.state_filter())) {
    return Status::InvalidArgument("state_filter: unknown value " +
                                   std::to_string(request.state_filter()));
  }
  if (!request.page_token().empty() && JobNumberOf(request.page_token()) < 0) {
    return Status::InvalidArgument("page_token: not a token from ListJobs");
  }
  const size_t page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  const v1::JobState filter = request.state_filter();

  std::lock_guard<std::mutex> lock(mutex_);
  // Newest first: walk the id-ordered map backwards from just below the token.
  auto it = request.page_token().empty() ? jobs_.end() : jobs_.lower_bound(request.page_token());
  while (it != jobs_.begin()) {
    --it;
    if (!caller.CanSee(it->second->owner)) continue;
    v1::Job job = it->second->Copy();
    if (filter != v1::JOB_STATE_UNSPECIFIED && job.state() != filter) continue;
    if (static_cast<size_t>(response->jobs_size()) == page_size) {
      // One more match exists: there is a next page.
      response->set_next_page_token(response->jobs(response->jobs_size() - 1).job_id());
      break;
    }
    *response->add_jobs() = std::move(job);
  }
  return Status::Ok();
}

Status JobManager::Cancel(const Caller& caller, const std::string& job_id, v1::Job* job) {
  RecordPtr queued_record;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end() || !caller.CanSee(it->second->owner)) return NotFound(job_id);
    const RecordPtr& record = it->second;
    const v1::Job current = record->Copy();
    if (IsTerminal(current.state())) {
      return Status::FailedPrecondition("job " + job_id + " has already finished (" +
                                        v1::JobState_Name(current.state()) + ")");
    }
    auto queued = std::find(queue_.begin(), queue_.end(), record);
    if (queued != queue_.end()) {
      queue_.erase(queued);
      CountQueueDepth(options_.metrics, queue_.size());
      queued_record = record;
    } else {
      // Running, or queued and already being cancelled by another call.
      record->RequestCancel(v1::CANCELLED_BY_USER);
      spdlog::info("job {} cancel requested", job_id);
      *job = current;
      return Status::Ok();
    }
  }
  CancelQueued(queued_record, v1::CANCELLED_BY_USER);
  *job = queued_record->Copy();
  return Status::Ok();
}

void JobManager::CancelQueued(const RecordPtr& record, v1::FinishReason reason) {
  v1::Finished finished;
  finished.set_state(v1::CANCELLED);
  finished.set_reason(reason);
  finished.set_error_message(MessageFor(reason));
  std::lock_guard<std::mutex> lock(record->append_mutex);
  if (record->Finished()) return;
  FinishLocked(*record, std::move(finished), nullptr);
}

Status JobManager::GetResult(const Caller& caller, const std::string& job_id,
                             v1::JobResult* result) const {
  RecordPtr record = Find(job_id, caller);
  if (record == nullptr) return NotFound(job_id);
  const v1::Job job = record->Copy();
  if (!IsTerminal(job.state())) {
    return Status::FailedPrecondition("job " + job_id + " is " + v1::JobState_Name(job.state()) +
                                      "; results exist once it has finished");
  }
  bool found = false;
  const Status loaded = store_->LoadResult(job_id, result, &found);
  if (!loaded.ok()) return loaded;
  if (!found) {
    return Status::FailedPrecondition("job " + job_id + " has no weights: it ended " +
                                      v1::JobState_Name(job.state()) + " (" + job.error_message() +
                                      ") before its run could return them");
  }
  *result->mutable_job() = job;
  return Status::Ok();
}

Status JobManager::OpenEventLog(const Caller& caller, const std::string& job_id, int64_t after_seq,
                                std::shared_ptr<JobEventLog>* log, int64_t* last_seq) const {
  RecordPtr record = Find(job_id, caller);
  if (record == nullptr) return NotFound(job_id);
  std::shared_ptr<JobEventLog> live;
  int64_t last = 0;
  {
    // The job's last_seq is applied before its log is appended to (AppendEventLocked), so it
    // is never behind the log: a watcher after it waits for the append.
    std::lock_guard<std::mutex> lock(record->state_mutex);
    live = record->log;
    last = record->job.last_seq();
  }
  if (after_seq < 0 || after_seq > last) {
    return Status::InvalidArgument("after_seq: must be in [0, " + std::to_string(last) + "], got " +
                                   std::to_string(after_seq));
  }
  *log = std::move(live);
  if (last_seq != nullptr) *last_seq = last;
  return Status::Ok();
}

Status JobManager::ReadEvents(const std::string& job_id, int64_t first_seq, int max_count,
                              std::vector<v1::JobEvent>* events) const {
  if (Find(job_id) == nullptr) return NotFound(job_id);
  return store_->LoadEvents(job_id, first_seq, max_count, events);
}

void JobManager::BeginDrain() {
  std::deque<RecordPtr> queued;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!draining_) spdlog::info("draining: {} running, {} queued", running_.size(), queue_.size());
    draining_ = true;
    queued.swap(queue_);
    CountQueueDepth(options_.metrics, 0);
    for (JobRecord* record : running_) record->RequestCancel(v1::SERVER_SHUTDOWN);
  }
  work_ready_.notify_all();
  for (const RecordPtr& record : queued) CancelQueued(record, v1::SERVER_SHUTDOWN);
}

bool JobManager::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return job_ended_.wait_for(lock, timeout, [this] { return running_.empty(); });
}

int JobManager::FinishRunningJobs(const std::string& message) {
  std::vector<RecordPtr> running;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, record] : jobs_) {
      if (running_.count(record.get()) > 0) running.push_back(record);
    }
  }
  int finished_count = 0;
  for (const RecordPtr& record : running) {
    v1::Finished finished;
    finished.set_state(v1::CANCELLED);
    finished.set_reason(v1::SERVER_SHUTDOWN);
    finished.set_error_message(message);
    finished.set_steps_done(record->Copy().steps_done());
    // The worker takes append_mutex only around store writes, so this waits at most for one.
    std::lock_guard<std::mutex> lock(record->append_mutex);
    if (record->Finished()) continue;
    spdlog::warn("job {}: its run did not stop in time; finishing it as SERVER_SHUTDOWN",
                 record->id);
    FinishLocked(*record, std::move(finished), nullptr);
    ++finished_count;
  }
  return finished_count;
}

bool JobManager::WaitWorkersExited(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return job_ended_.wait_for(lock, timeout, [this] { return live_workers_ == 0; });
}

void JobManager::Shutdown() {
  BeginDrain();
  std::vector<std::thread> to_join;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (joined_) return;
    joined_ = true;
    to_join.swap(workers_);
  }
  for (std::thread& worker : to_join) worker.join();
}

void JobManager::WorkerLoop() {
  while (true) {
    RecordPtr record;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [this] { return draining_ || !queue_.empty(); });
      if (draining_) return;  // BeginDrain has emptied the queue
      record = queue_.front();
      queue_.pop_front();
      CountQueueDepth(options_.metrics, queue_.size());
      running_.insert(record.get());
      std::lock_guard<std::mutex> state_lock(record->state_mutex);
      CountStateChange(options_.metrics, record->job.state(), v1::RUNNING);
      record->job.set_state(v1::RUNNING);
      record->job.set_started_unix_ms(NowUnixMs());
    }
    RunJob(record);  // releases the job's slot in running_ as it ends
  }
}

void JobManager::RunJob(const RecordPtr& record) {
  const std::string& job_id = record->id;
  {
    std::lock_guard<std::mutex> lock(record->append_mutex);
    if (record->Finished()) return;  // a forced shutdown finished it already
    const Status status = store_->UpdateJob(record->Copy());
    if (!status.ok()) spdlog::error("job {}: cannot record RUNNING: {}", job_id, status.message());
  }
  spdlog::info("job {} RUNNING threads={}", job_id, record->spec.analysis.threads);

  // The run's events go through the same persist-then-publish path as every other event.
  JobRunObserver observer(
      record->spec.ResolvedSteps(),
      [this, &record](v1::JobEvent event) {
        std::lock_guard<std::mutex> lock(record->append_mutex);
        return AppendEventLocked(*record, std::move(event));
      },
      [&record] { return record->cancel_requested.load(); }, kMinAnalysisProgressInterval,
      options_.metrics);
  ExperimentResult result;
  try {
    result = RunExperiment(record->spec, &observer,
                           [&record] { return record->cancel_requested.load(); });
  } catch (const std::exception& e) {
    // Last line of defence: the core reports errors as Status values.
    result = ExperimentResult();
    result.status = Status::Internal(std::string("internal error in the run: ") + e.what());
  } catch (...) {
    result = ExperimentResult();
    result.status = Status::Internal("internal error in the run: unknown exception");
  }
  const bool store_failed = !observer.sink_error().ok();
  const v1::FinishReason reason =
      FinishReasonOfRun(result.status, store_failed, record->StopReason());
  if (store_failed) {
    result.status = observer.sink_error();
  } else if (reason == v1::CANCELLED_BY_USER || reason == v1::SERVER_SHUTDOWN) {
    result.status = Status::Cancelled(MessageFor(reason));  // rather than the core's "at step N"
  }

  // A run stopped before training began (or a failure before it) has no weights to keep.
  const bool has_weights = result.weights.size() > 0;
  const v1::JobResult stored_result = JobResultFromRun(result, reason);
  v1::Finished finished = stored_result.finished();
  std::lock_guard<std::mutex> lock(record->append_mutex);
  if (record->Finished()) return;  // a forced shutdown finished it while it ran
  FinishLocked(*record, std::move(finished), has_weights ? &stored_result : nullptr);
}

Status JobManager::AppendEventLocked(JobRecord& record, v1::JobEvent event) {
  if (record.Finished()) return Status::Cancelled("the job was finished by a forced shutdown");
  event.set_job_id(record.id);
  event.set_seq(record.Copy().last_seq() + 1);
  event.set_unix_ms(NowUnixMs());
  const Status status = store_->AppendEvent(event);
  if (!status.ok()) {
    spdlog::error("job {}: cannot record event {}: {}", event.job_id(), event.seq(),
                  status.message());
    return status;
  }
  {
    std::lock_guard<std::mutex> lock(record.state_mutex);
    ApplyEvent(event, &record.job);
  }
  record.log->Append(std::make_shared<const v1::JobEvent>(std::move(event)));
  return Status::Ok();
}

void JobManager::FinishLocked(JobRecord& record, v1::Finished finished,
                              const v1::JobResult* result) {
  v1::JobEvent event;
  event.set_job_id(record.id);
  event.set_seq(record.Copy().last_seq() + 1);
  event.set_unix_ms(NowUnixMs());
  *event.mutable_finished() = std::move(finished);
  v1::Job job = record.Copy();
  const v1::JobState before = job.state();
  ApplyEvent(event, &job);

  const Status status = store_->FinishJob(job, event, result);
  if (!status.ok()) {
    spdlog::error("job {}: cannot record its end: {}", job.job_id(), status.message());
  }
  {
    std::lock_guard<std::mutex> lock(record.state_mutex);
    record.job = job;
  }
  CountStateChange(options_.metrics, before, job.state());
  {
    // Free the slot before anyone can see the terminal event, so that a client that saw a
    // job end finds its capacity back.
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(&record);
  }
  job_ended_.notify_all();
  const v1::Finished& end = event.finished();
  if (end.state() == v1::SUCCEEDED) {
    spdlog::info("job {} SUCCEEDED steps={} outlier_rank={}/{} test_accuracy={:.4f}", job.job_id(),
                 end.steps_done(), end.rank().outlier_rank(), end.rank().expected_rank(),
                 end.final_test_accuracy());
  } else {
    spdlog::info("job {} {} ({}) steps={}: {}", job.job_id(), v1::JobState_Name(end.state()),
                 v1::FinishReason_Name(end.reason()), end.steps_done(), end.error_message());
  }
  record.log->Append(std::make_shared<const v1::JobEvent>(std::move(event)));
  if (status.ok()) {
    // The store holds every event now: watchers that follow the log keep it alive until they
    // have read it; later ones read the store.
    std::lock_guard<std::mutex> lock(record.state_mutex);
    record.log.reset();
  }
}

}  // namespace sgdspectra::server
