#include "server/job_store.h"

#include <sqlite3.h>

#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <utility>

#include "server/caller.h"
#include "server/metrics.h"

namespace sgdspectra::server {
namespace {

constexpr char kDatabaseFile[] = "sgdspectra.db";

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  state INTEGER NOT NULL,
  resolved_spec BLOB NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  started_unix_ms INTEGER NOT NULL,
  finished_unix_ms INTEGER NOT NULL,
  error_message TEXT NOT NULL,
  build_version TEXT NOT NULL,
  steps_total INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event BLOB NOT NULL,
  PRIMARY KEY (job_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS results (
  job_id TEXT PRIMARY KEY,
  result BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
)sql";

constexpr char kStoreIdKey[] = "store_id";

// Migration of records written before Finished.reason existed: they load with reason 0
// (FINISH_REASON_UNSPECIFIED) and get the reason their server meant. Those servers said that
// they, not the job, had ended a run only in the message text, with two fixed strings; this is
// the one place where message text decides anything, and it reads only old records (every
// newer Finished carries its reason). Other failures become RUN_FAILED: the old text cannot
// tell a store error or a bug from the run's own error reliably, so it is not guessed at.
void MigrateLegacyFinishReason(v1::Finished* finished) {
  if (finished->reason() != v1::FINISH_REASON_UNSPECIFIED) return;
  const std::string& message = finished->error_message();
  switch (finished->state()) {
    case v1::SUCCEEDED:
      finished->set_reason(v1::COMPLETED);
      break;
    case v1::CANCELLED:
      finished->set_reason(message == "server shutting down" ? v1::SERVER_SHUTDOWN
                                                             : v1::CANCELLED_BY_USER);
      break;
    case v1::FAILED:
      finished->set_reason(message == "interrupted" ? v1::INTERRUPTED : v1::RUN_FAILED);
      break;
    default:
      break;  // not a terminal state: nothing to migrate to
  }
}

// 8 lower-case hex digits from the operating system's entropy: an identifier that differs
// between data dirs with overwhelming probability (not numerics, so not our seeded generator).
std::string NewStoreId() {
  std::random_device entropy;
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%08x", static_cast<unsigned>(entropy()));
  return buffer;
}

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void BindText(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int index, const std::string& bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void BindInt64(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  std::string ColumnBytes(int index) {
    const void* data = sqlite3_column_blob(stmt_, index);
    const int size = sqlite3_column_bytes(stmt_, index);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }
  int64_t ColumnInt64(int index) { return sqlite3_column_int64(stmt_, index); }
  // Runs a statement that returns no rows.
  Status Run() {
    if (!ok()) return Error("prepare");
    const int rc = sqlite3_step(stmt_);
    return rc == SQLITE_DONE ? Status::Ok() : Error("step");
  }
  Status Error(const char* what) const {
    return Status::Internal(std::string("store: ") + what + ": " + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

std::string Serialize(const google::protobuf::MessageLite& message) {
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

// Migration to job owners (Job.owner): a store made before jobs had owners gets the column, and
// its jobs the default principal, the one principal every caller was then (server/caller.h).
// New stores take the same path, so there is one schema however a store began.
Status AddOwnerColumnIfMissing(sqlite3* db) {
  Statement probe(db, "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'owner';");
  if (!probe.ok()) return probe.Error("prepare");
  if (sqlite3_step(probe.get()) != SQLITE_ROW) return probe.Error("step");
  if (probe.ColumnInt64(0) > 0) return Status::Ok();
  const std::string alter =
      std::string("ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '") + kDefaultPrincipal +
      "';";
  Statement add(db, alter.c_str());
  return add.Run();
}

}  // namespace

Status JobStore::Open(const std::string& data_dir, std::unique_ptr<JobStore>* store) {
  const std::string path = data_dir + "/" + kDatabaseFile;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "store: cannot open " + path + ": " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return Status::Internal(message);
  }
  std::unique_ptr<JobStore> opened(new JobStore(db));
  // A second server on the same data dir would interleave job ids; wait briefly for a lock,
  // then fail instead of corrupting the sequence.
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;",
                          "PRAGMA foreign_keys=ON;", kSchema}) {
    Status status = opened->Exec(sql);
    if (!status.ok()) return status;
  }
  Status status = AddOwnerColumnIfMissing(db);
  if (status.ok()) status = opened->LoadOrCreateStoreId();
  if (!status.ok()) return status;
  *store = std::move(opened);
  return Status::Ok();
}

Status JobStore::LoadOrCreateStoreId() {
  std::lock_guard<std::mutex> lock(mutex_);
  return InTransactionLocked([this]() -> Status {
    Statement select(db_, "SELECT value FROM meta WHERE key = ?1");
    if (!select.ok()) return select.Error("prepare");
    select.BindText(1, kStoreIdKey);
    const int rc = sqlite3_step(select.get());
    if (rc == SQLITE_ROW) {
      store_id_ = select.ColumnBytes(0);
      return Status::Ok();
    }
    if (rc != SQLITE_DONE) return select.Error("step");
    store_id_ = NewStoreId();
    Statement insert(db_, "INSERT INTO meta (key, value) VALUES (?1, ?2)");
    insert.BindText(1, kStoreIdKey);
    insert.BindText(2, store_id_);
    return insert.Run();
  });
}

JobStore::~JobStore() {
  Checkpoint();
  sqlite3_close(db_);
}

Status JobStore::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    Status status = Status::Internal(std::string("store: ") + (error ? error : "exec failed"));
    sqlite3_free(error);
    return status;
  }
  return Status::Ok();
}

Status JobStore::Counted(Status status, int events) {
  if (metrics_ == nullptr) return status;
  if (!status.ok()) {
    metrics_->RecordStoreError();
  } else if (events > 0) {
    metrics_->AddEventsWritten(events);
  }
  return status;
}

Status JobStore::InTransactionLocked(const std::function<Status()>& body) {
  Status status = Exec("BEGIN IMMEDIATE;");
  if (!status.ok()) return NoteWrite(status);
  status = body();
  if (!status.ok()) {
    Exec("ROLLBACK;");
    return NoteWrite(status);
  }
  return NoteWrite(Exec("COMMIT;"));
}

Status JobStore::NoteWrite(Status status) {
  // A small write may still fit after a big one failed (a free page, room left in the WAL):
  // only a probe of kProbeBytes clears a failure.
  if (!status.ok()) {
    std::lock_guard<std::mutex> lock(write_status_mutex_);
    write_status_ = status;
  }
  return status;
}

Status JobStore::write_status() const {
  std::lock_guard<std::mutex> lock(write_status_mutex_);
  return write_status_;
}

Status JobStore::ProbeWrite() {
  std::lock_guard<std::mutex> lock(mutex_);
  const Status status = InTransactionLocked([this]() -> Status {
    Statement insert(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', ?1);");
    insert.BindBlob(1, std::string(kProbeBytes, 'p'));
    Status status = insert.Run();
    if (!status.ok()) return status;
    Statement remove(db_, "DELETE FROM meta WHERE key = 'write_probe';");
    return remove.Run();
  });
  std::lock_guard<std::mutex> status_lock(write_status_mutex_);
  write_status_ = status;
  return status;
}

Status JobStore::LimitPagesForTesting(int64_t max_pages) {
  std::lock_guard<std::mutex> lock(mutex_);
  // SQLite keeps the cap at least the current size; a large number restores the default.
  const std::string sql =
      "PRAGMA max_page_count = " + std::to_string(max_pages > 0 ? max_pages : 1073741823) + ";";
  return Exec(sql.c_str());
}

Status JobStore::LoadEvents(const std::string& job_id, int64_t first_seq, int max_count,
                            std::vector<v1::JobEvent>* events) {
  std::lock_guard<std::mutex> lock(mutex_);
  events->clear();
  Statement stmt(db_,
                 "SELECT event FROM events WHERE job_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3;");
  if (!stmt.ok()) return stmt.Error("prepare");
  stmt.BindText(1, job_id);
  stmt.BindInt64(2, first_seq);
  stmt.BindInt64(3, max_count);
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    v1::JobEvent event;
    if (!event.ParseFromString(stmt.ColumnBytes(0))) {
      return Status::Internal("store: corrupt event of job " + job_id);
    }
    if (event.has_finished()) MigrateLegacyFinishReason(event.mutable_finished());
    events->push_back(std::move(event));
  }
  if (rc != SQLITE_DONE) return stmt.Error("step");
  return Status::Ok();
}

Status JobStore::UpsertJobLocked(const v1::Job& job) {
  Statement stmt(db_,
                 "INSERT OR REPLACE INTO jobs (job_id, state, resolved_spec, created_unix_ms, "
                 "started_unix_ms, finished_unix_ms, error_message, build_version, steps_total, "
                 "owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10);");
  stmt.BindText(1, job.job_id());
  stmt.BindInt64(2, job.state());
  stmt.BindBlob(3, Serialize(job.resolved_spec()));
  stmt.BindInt64(4, job.created_unix_ms());
  stmt.BindInt64(5, job.started_unix_ms());
  stmt.BindInt64(6, job.finished_unix_ms());
  stmt.BindText(7, job.error_message());
  stmt.BindText(8, job.build_version());
  stmt.BindInt64(9, job.steps_total());
  stmt.BindText(10, job.owner());
  return stmt.Run();
}

Status JobStore::InsertEventLocked(const v1::JobEvent& event) {
  Statement stmt(db_, "INSERT INTO events (job_id, seq, event) VALUES (?1, ?2, ?3);");
  stmt.BindText(1, event.job_id());
  stmt.BindInt64(2, event.seq());
  stmt.BindBlob(3, Serialize(event));
  return stmt.Run();
}

Status JobStore::InsertResultLocked(const std::string& job_id, const v1::JobResult& result) {
  Statement stmt(db_, "INSERT OR REPLACE INTO results (job_id, result) VALUES (?1, ?2);");
  stmt.BindText(1, job_id);
  stmt.BindBlob(2, Serialize(result));
  return stmt.Run();
}

Status JobStore::InsertJob(const v1::Job& job, const v1::JobEvent& first_event) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Counted(InTransactionLocked([&] {
                   Status status = UpsertJobLocked(job);
                   return status.ok() ? InsertEventLocked(first_event) : status;
                 }),
                 1);
}

Status JobStore::UpdateJob(const v1::Job& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Counted(NoteWrite(UpsertJobLocked(job)));  // a single statement is its own transaction
}

Status JobStore::AppendEvent(const v1::JobEvent& event) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Counted(NoteWrite(InsertEventLocked(event)), 1);
}

Status JobStore::FinishJob(const v1::Job& job, const v1::JobEvent& finished,
                           const v1::JobResult* result) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Counted(InTransactionLocked([&] {
                   Status status = UpsertJobLocked(job);
                   if (status.ok()) status = InsertEventLocked(finished);
                   if (status.ok() && result != nullptr) {
                     status = InsertResultLocked(job.job_id(), *result);
                   }
                   return status;
                 }),
                 1);
}

Status JobStore::LoadJobs(std::vector<StoredJob>* jobs) {
  std::lock_guard<std::mutex> lock(mutex_);
  jobs->clear();
  std::map<std::string, size_t> index_of;
  {
    Statement stmt(db_,
                   "SELECT job_id, state, resolved_spec, created_unix_ms, started_unix_ms, "
                   "finished_unix_ms, error_message, build_version, steps_total, owner FROM jobs "
                   "ORDER BY job_id;");
    if (!stmt.ok()) return stmt.Error("prepare");
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      StoredJob stored;
      v1::Job& job = stored.job;
      job.set_job_id(stmt.ColumnBytes(0));
      job.set_state(static_cast<v1::JobState>(stmt.ColumnInt64(1)));
      if (!job.mutable_resolved_spec()->ParseFromString(stmt.ColumnBytes(2))) {
        return Status::Internal("store: corrupt resolved_spec of job " + job.job_id());
      }
      job.set_created_unix_ms(stmt.ColumnInt64(3));
      job.set_started_unix_ms(stmt.ColumnInt64(4));
      job.set_finished_unix_ms(stmt.ColumnInt64(5));
      job.set_error_message(stmt.ColumnBytes(6));
      job.set_build_version(stmt.ColumnBytes(7));
      job.set_steps_total(stmt.ColumnInt64(8));
      job.set_owner(stmt.ColumnBytes(9));
      index_of[job.job_id()] = jobs->size();
      jobs->push_back(std::move(stored));
    }
    if (rc != SQLITE_DONE) return stmt.Error("step");
  }
  Statement stmt(db_, "SELECT job_id, event FROM events ORDER BY job_id, seq;");
  if (!stmt.ok()) return stmt.Error("prepare");
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    auto it = index_of.find(stmt.ColumnBytes(0));
    if (it == index_of.end()) continue;  // an orphan event: ignore rather than fail startup
    v1::JobEvent event;
    if (!event.ParseFromString(stmt.ColumnBytes(1))) {
      return Status::Internal("store: corrupt event of job " + it->first);
    }
    if (event.has_finished()) MigrateLegacyFinishReason(event.mutable_finished());
    (*jobs)[it->second].events.push_back(std::move(event));
  }
  if (rc != SQLITE_DONE) return stmt.Error("step");
  return Status::Ok();
}

Status JobStore::LoadResult(const std::string& job_id, v1::JobResult* result, bool* found) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Counted([&]() -> Status {
    Statement stmt(db_, "SELECT result FROM results WHERE job_id = ?1;");
    if (!stmt.ok()) return stmt.Error("prepare");
    stmt.BindText(1, job_id);
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) {
      *found = false;
      return Status::Ok();
    }
    if (rc != SQLITE_ROW) return stmt.Error("step");
    if (!result->ParseFromString(stmt.ColumnBytes(0))) {
      return Status::Internal("store: corrupt result of job " + job_id);
    }
    if (result->has_finished()) MigrateLegacyFinishReason(result->mutable_finished());
    *found = true;
    return Status::Ok();
  }());
}

Status JobStore::Checkpoint() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) !=
      SQLITE_OK) {
    return Counted(Status::Internal(std::string("store: checkpoint: ") + sqlite3_errmsg(db_)));
  }
  return Status::Ok();
}

}  // namespace sgdspectra::server
