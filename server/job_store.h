// JobStore: durable record of jobs, their events and results in SQLite under --data-dir.
//
// Layout (one file, <data_dir>/sgdspectra.db, WAL journal, synchronous=FULL so a committed
// write survives a crash of the process or the machine):
//   jobs    (job_id, state, resolved_spec = serialized sgdspectra.v1.JobSpec, timestamps,
//            error_message, build_version, steps_total, owner = the submitting principal;
//            added by a migration at Open, which gives older jobs the owner "default")
//   events  (job_id, seq, event = serialized sgdspectra.v1.JobEvent)
//   results (job_id, result = serialized sgdspectra.v1.JobResult holding weights and means)
//   meta    (key, value): `store_id`, 8 hex digits drawn once when the database is created
// Every write is one transaction, committed before the call returns; the job manager persists
// an event before any watcher can see it.
//
// Errors are Status values (kInternal with SQLite's message). Ownership: the store owns its
// connection and closes it in the destructor. Thread-safety: all methods are thread-safe
// (serialised on one mutex).
#ifndef SGDSPECTRA_SERVER_JOB_STORE_H_
#define SGDSPECTRA_SERVER_JOB_STORE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

struct sqlite3;

namespace sgdspectra::server {

class ServerMetrics;

// A job as recorded: the jobs row (job_id, state, resolved_spec, timestamps, error_message,
// build_version, steps_total, owner; the derived counters are left 0) and its events in seq
// order.
struct StoredJob {
  v1::Job job;
  std::vector<v1::JobEvent> events;
};

class JobStore {
 public:
  // Opens (creating if needed) the database in data_dir, which must exist.
  static Status Open(const std::string& data_dir, std::unique_ptr<JobStore>* store);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Every job with its events, ordered by job_id. A `finished` event recorded before
  // Finished.reason existed is given its reason (MigrateLegacyFinishReason in job_store.cc),
  // as is the `finished` of a result LoadResult returns.
  Status LoadJobs(std::vector<StoredJob>* jobs);

  // Records a new job and its first event in one transaction.
  Status InsertJob(const v1::Job& job, const v1::JobEvent& first_event);
  // Rewrites the job's row (state, timestamps, error).
  Status UpdateJob(const v1::Job& job);
  Status AppendEvent(const v1::JobEvent& event);
  // The terminal transition in one transaction: the job's row, its `finished` event and,
  // when result is not null, its result.
  Status FinishJob(const v1::Job& job, const v1::JobEvent& finished, const v1::JobResult* result);
  // *found = false when the job has no stored result.
  Status LoadResult(const std::string& job_id, v1::JobResult* result, bool* found);
  // Up to max_count events of the job with seq >= first_seq, in seq order (fewer at the end).
  Status LoadEvents(const std::string& job_id, int64_t first_seq, int max_count,
                    std::vector<v1::JobEvent>* events);

  // Whether the store can write: the error of the last failed write (SQLITE_FULL "database or
  // disk is full", an I/O error, ...) until a ProbeWrite succeeds, else OK. A failure sticks
  // because a small write may still fit where the jobs' writes do not. The server's health
  // follows it (server/server_health.h). Never blocks on a write in progress.
  Status write_status() const;
  // Tries a write of kProbeBytes (inserted and deleted in one transaction, so the database
  // must have room for it); its outcome becomes write_status(). May block.
  static constexpr int kProbeBytes = 256 << 10;
  Status ProbeWrite();
  // Tests: caps the database at max_pages pages (SQLite's max_page_count; 0 = back to
  // SQLite's default), so that a growing write fails with a real SQLITE_FULL.
  Status LimitPagesForTesting(int64_t max_pages);

  // Copies the WAL into the main file (a clean shutdown leaves one self-contained file).
  Status Checkpoint();

  // This database's identifier (8 hex digits, fixed when it was created). Job ids embed it so
  // that replicas with their own data dirs never hand out the same id. Immutable after Open().
  const std::string& store_id() const { return store_id_; }

  // Counts failed operations and committed events in `metrics` (borrowed; null counts
  // nothing). Call before the store is shared.
  void set_metrics(ServerMetrics* metrics) { metrics_ = metrics; }

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status UpsertJobLocked(const v1::Job& job);
  Status InsertEventLocked(const v1::JobEvent& event);
  Status InsertResultLocked(const std::string& job_id, const v1::JobResult& result);
  Status InTransactionLocked(const std::function<Status()>& body);
  Status LoadOrCreateStoreId();
  // Records a write's outcome for write_status(); returns it.
  Status NoteWrite(Status status);
  // Counts `status` in metrics_: a store error, or `events` events written. Returns it.
  Status Counted(Status status, int events = 0);

  std::mutex mutex_;
  sqlite3* db_;
  std::string store_id_;
  mutable std::mutex write_status_mutex_;  // guards write_status_ (never held across I/O)
  Status write_status_;
  ServerMetrics* metrics_ = nullptr;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_JOB_STORE_H_
