#include "server/job_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <utility>

#include "server/convert.h"
#include "server/run_observer.h"
#include "server/status_map.h"
#include "sgdspectra/core/experiment.h"

namespace sgdspectra::server {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;
constexpr char kInterrupted[] = "interrupted";
constexpr char kCancelledByRequest[] = "cancelled by request";
constexpr char kShuttingDown[] = "server shutting down";

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
      job->set_finished_unix_ms(event.unix_ms());
      if (event.finished().steps_done() > 0) job->set_steps_done(event.finished().steps_done());
      break;
    case v1::JobEvent::KIND_NOT_SET:
      break;
  }
}

grpc::Status NotFound(const std::string& job_id) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "job_id: no job " + job_id);
}

}  // namespace

struct JobManager::JobRecord {
  explicit JobRecord(v1::Job initial) : id(initial.job_id()), job(std::move(initial)) {}

  const std::string id;

  // Serialises the writers of this job's events (persist + publish); held across disk writes.
  std::mutex append_mutex;
  // Guards `job` and `cancel_reason`; never held across I/O.
  mutable std::mutex state_mutex;
  v1::Job job;
  std::string cancel_reason;
  const std::shared_ptr<JobEventLog> log = std::make_shared<JobEventLog>();
  ExperimentSpec spec;  // set before the record is shared; immutable after
  std::atomic<bool> cancel_requested{false};

  v1::Job Copy() const {
    std::lock_guard<std::mutex> lock(state_mutex);
    return job;
  }
  // Asks a running job to stop; the first reason wins.
  void RequestCancel(const std::string& reason) {
    std::lock_guard<std::mutex> lock(state_mutex);
    if (cancel_reason.empty()) cancel_reason = reason;
    cancel_requested.store(true);
  }
};

JobManager::JobManager(JobStore* store, const JobManagerOptions& options)
    : store_(store), options_(options) {}

Status JobManager::Create(JobStore* store, const JobManagerOptions& options,
                          std::unique_ptr<JobManager>* manager) {
  std::unique_ptr<JobManager> created(new JobManager(store, options));
  Status status = created->Recover();
  if (!status.ok()) return status;
  for (int i = 0; i < options.workers; ++i) {
    created->workers_.emplace_back([raw = created.get()] { raw->WorkerLoop(); });
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
    if (!IsTerminal(record->job.state()) || !record->log->closed()) {
      // The previous process died while this job was queued or running.
      v1::Finished finished;
      finished.set_state(v1::FAILED);
      finished.set_error_message(kInterrupted);
      finished.set_steps_done(record->job.steps_done());
      std::lock_guard<std::mutex> lock(record->append_mutex);
      FinishLocked(*record, std::move(finished), nullptr);
    }
    jobs_.emplace(id, std::move(record));
  }
  spdlog::info("recovered {} jobs from the store", jobs_.size());
  return Status::Ok();
}

grpc::Status JobManager::Submit(const v1::JobSpec& proto_spec, v1::Job* job) {
  ExperimentSpec spec;
  const Status valid = JobSpecFromProto(proto_spec, options_.default_threads, &spec);
  if (!valid.ok()) return ToGrpcStatus(valid);

  int64_t number;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down");
    }
    const size_t in_system = queue_.size() + running_.size() + reserved_;
    const size_t capacity = options_.workers + options_.queue_capacity;
    if (in_system >= capacity) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "queue full: " + std::to_string(queue_.size()) + " jobs waiting, " +
                              std::to_string(running_.size()) + " running (--queue " +
                              std::to_string(options_.queue_capacity) + ", --workers " +
                              std::to_string(options_.workers) + ")");
    }
    ++reserved_;
    number = next_job_number_++;
  }

  const int64_t now = NowUnixMs();
  v1::Job initial;
  initial.set_job_id(JobIdFor(store_->store_id(), number));
  initial.set_state(v1::QUEUED);
  *initial.mutable_resolved_spec() = ResolvedJobSpecToProto(spec);
  initial.set_created_unix_ms(now);
  initial.set_build_version(options_.build_version);

  v1::JobEvent accepted;
  accepted.set_job_id(initial.job_id());
  accepted.set_seq(1);
  accepted.set_unix_ms(now);
  *accepted.mutable_accepted() = AcceptedFor(spec, options_.build_version);
  ApplyEvent(accepted, &initial);

  auto record = std::make_shared<JobRecord>(initial);
  record->spec = std::move(spec);
  const Status stored = store_->InsertJob(initial, accepted);
  if (!stored.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    --reserved_;
    spdlog::error("job {}: cannot record: {}", initial.job_id(), stored.message());
    return grpc::Status(grpc::StatusCode::INTERNAL, stored.message());
  }
  record->log->Append(std::make_shared<const v1::JobEvent>(std::move(accepted)));
  spdlog::info("job {} QUEUED name=\"{}\" task={} dim={} blocks={} steps={}", initial.job_id(),
               record->spec.name, record->spec.task == TaskKind::kXor ? "xor" : "kgmm",
               record->spec.Dim(), record->spec.NumBlocks(), initial.steps_total());
  bool drain_began = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --reserved_;
    jobs_.emplace(initial.job_id(), record);
    drain_began = draining_;
    if (!drain_began) {
      queue_.push_back(record);
      work_ready_.notify_one();
    }
  }
  // Drain began while this job was being recorded: it must not stay QUEUED.
  if (drain_began) CancelQueued(record, kShuttingDown);
  *job = record->Copy();
  return grpc::Status::OK;
}

JobManager::RecordPtr JobManager::Find(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second;
}

grpc::Status JobManager::GetJob(const std::string& job_id, v1::Job* job) const {
  RecordPtr record = Find(job_id);
  if (record == nullptr) return NotFound(job_id);
  *job = record->Copy();
  return grpc::Status::OK;
}

grpc::Status JobManager::ListJobs(const v1::ListJobsRequest& request,
                                  v1::ListJobsResponse* response) const {
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "page_size: must be in [0, " + std::to_string(kMaxPageSize) + "], got " +
                            std::to_string(request.page_size()));
  }
  if (!v1::JobState_IsValid(request.state_filter())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "state_filter: unknown value " + std::to_string(request.state_filter()));
  }
  if (!request.page_token().empty() && JobNumberOf(request.page_token()) < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "page_token: not a token from ListJobs");
  }
  const size_t page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  const v1::JobState filter = request.state_filter();

  std::lock_guard<std::mutex> lock(mutex_);
  // Newest first: walk the id-ordered map backwards from just below the token.
  auto it = request.page_token().empty() ? jobs_.end() : jobs_.lower_bound(request.page_token());
  while (it != jobs_.begin()) {
    --it;
    v1::Job job = it->second->Copy();
    if (filter != v1::JOB_STATE_UNSPECIFIED && job.state() != filter) continue;
    if (static_cast<size_t>(response->jobs_size()) == page_size) {
      // One more match exists: there is a next page.
      response->set_next_page_token(response->jobs(response->jobs_size() - 1).job_id());
      break;
    }
    *response->add_jobs() = std::move(job);
  }
  return grpc::Status::OK;
}

grpc::Status JobManager::Cancel(const std::string& job_id, v1::Job* job) {
  RecordPtr queued_record;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return NotFound(job_id);
    const RecordPtr& record = it->second;
    const v1::Job current = record->Copy();
    if (IsTerminal(current.state())) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          "job " + job_id + " has already finished (" + v1::JobState_Name(current.state()) + ")");
    }
    auto queued = std::find(queue_.begin(), queue_.end(), record);
    if (queued != queue_.end()) {
      queue_.erase(queued);
      queued_record = record;
    } else {
      // Running, or queued and already being cancelled by another call.
      record->RequestCancel(kCancelledByRequest);
      spdlog::info("job {} cancel requested", job_id);
      *job = current;
      return grpc::Status::OK;
    }
  }
  CancelQueued(queued_record, kCancelledByRequest);
  *job = queued_record->Copy();
  return grpc::Status::OK;
}

void JobManager::CancelQueued(const RecordPtr& record, const std::string& reason) {
  v1::Finished finished;
  finished.set_state(v1::CANCELLED);
  finished.set_error_message(reason);
  std::lock_guard<std::mutex> lock(record->append_mutex);
  if (record->log->closed()) return;
  FinishLocked(*record, std::move(finished), nullptr);
}

grpc::Status JobManager::GetResult(const std::string& job_id, v1::JobResult* result) const {
  RecordPtr record = Find(job_id);
  if (record == nullptr) return NotFound(job_id);
  const v1::Job job = record->Copy();
  if (!IsTerminal(job.state())) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "job " + job_id + " is " + v1::JobState_Name(job.state()) +
                            "; results exist once it has finished");
  }
  bool found = false;
  const Status loaded = store_->LoadResult(job_id, result, &found);
  if (!loaded.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, loaded.message());
  if (!found) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "job " + job_id + " has no weights: it ended " +
                            v1::JobState_Name(job.state()) + " (" + job.error_message() +
                            ") before its run could return them");
  }
  *result->mutable_job() = job;
  return grpc::Status::OK;
}

grpc::Status JobManager::OpenEventLog(const std::string& job_id, int64_t after_seq,
                                      std::shared_ptr<JobEventLog>* log) const {
  RecordPtr record = Find(job_id);
  if (record == nullptr) return NotFound(job_id);
  const int64_t last_seq = record->log->last_seq();
  if (after_seq < 0 || after_seq > last_seq) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "after_seq: must be in [0, " + std::to_string(last_seq) + "], got " +
                            std::to_string(after_seq));
  }
  *log = record->log;
  return grpc::Status::OK;
}

void JobManager::BeginDrain() {
  std::deque<RecordPtr> queued;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!draining_) spdlog::info("draining: {} running, {} queued", running_.size(), queue_.size());
    draining_ = true;
    queued.swap(queue_);
    for (JobRecord* record : running_) record->RequestCancel(kShuttingDown);
  }
  work_ready_.notify_all();
  for (const RecordPtr& record : queued) CancelQueued(record, kShuttingDown);
}

bool JobManager::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return job_ended_.wait_for(lock, timeout, [this] { return running_.empty(); });
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
      running_.insert(record.get());
      std::lock_guard<std::mutex> state_lock(record->state_mutex);
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
      [&record] { return record->cancel_requested.load(); });
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
  if (!observer.sink_error().ok()) {
    result.status = observer.sink_error();
  } else if (result.status.code() == StatusCode::kCancelled) {
    std::lock_guard<std::mutex> lock(record->state_mutex);
    if (!record->cancel_reason.empty()) result.status = Status::Cancelled(record->cancel_reason);
  }

  // A run stopped before training began (or a failure before it) has no weights to keep.
  const bool has_weights = result.weights.size() > 0;
  const v1::JobResult stored_result = JobResultFromRun(result);
  v1::Finished finished = stored_result.finished();
  std::lock_guard<std::mutex> lock(record->append_mutex);
  FinishLocked(*record, std::move(finished), has_weights ? &stored_result : nullptr);
}

Status JobManager::AppendEventLocked(JobRecord& record, v1::JobEvent event) {
  event.set_job_id(record.id);
  event.set_seq(record.log->last_seq() + 1);
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
  event.set_seq(record.log->last_seq() + 1);
  event.set_unix_ms(NowUnixMs());
  *event.mutable_finished() = std::move(finished);
  v1::Job job = record.Copy();
  ApplyEvent(event, &job);

  const Status status = store_->FinishJob(job, event, result);
  if (!status.ok()) {
    spdlog::error("job {}: cannot record its end: {}", job.job_id(), status.message());
  }
  {
    std::lock_guard<std::mutex> lock(record.state_mutex);
    record.job = job;
  }
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
    spdlog::info("job {} {} steps={}: {}", job.job_id(), v1::JobState_Name(end.state()),
                 end.steps_done(), end.error_message());
  }
  record.log->Append(std::make_shared<const v1::JobEvent>(std::move(event)));
}

}  // namespace sgdspectra::server
