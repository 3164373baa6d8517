// Job ownership below the transport: the store's owner column (and its migration of stores
// written before jobs had owners) and the JobManager's rule that a caller sees only its own
// jobs, unless it sees all (server/caller.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "server/caller.h"
#include "server/job_manager.h"
#include "server/job_store.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using server::Caller;
using server::JobManager;
using server::JobManagerOptions;
using server::JobStore;

const Caller kAlice{"alice", false};
const Caller kBob{"bob", false};
const Caller kAdmin{"root", true};

// The schema and a row as stores were written before jobs had owners (the jobs table of
// server/job_store.cc at the commit before this one).
void WriteStoreWithoutOwners(const std::string& dir, const std::string& job_id) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/sgdspectra.db").c_str(), &db), SQLITE_OK);
  const std::string spec = TinySpec().SerializeAsString();
  const std::string sql =
      "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, state INTEGER NOT NULL, resolved_spec BLOB "
      "NOT NULL, created_unix_ms INTEGER NOT NULL, started_unix_ms INTEGER NOT NULL, "
      "finished_unix_ms INTEGER NOT NULL, error_message TEXT NOT NULL, build_version TEXT NOT "
      "NULL, steps_total INTEGER NOT NULL);"
      "INSERT INTO jobs VALUES ('" +
      job_id + "', 5, x'', 1000, 0, 2000, 'cancelled by request', 'old', 120);";
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error != nullptr ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(JobOwnerTest, StoresWrittenBeforeOwnersGiveTheirJobsTheDefaultPrincipal) {
  const std::string dir = TestDataDir();
  WriteStoreWithoutOwners(dir, "j-0000000001");
  {
    std::unique_ptr<JobStore> store;
    const Status opened = JobStore::Open(dir, &store);
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    v1::Job job;
    job.set_job_id("j-0000000002");
    job.set_owner("alice");
    v1::JobEvent accepted;
    accepted.set_job_id(job.job_id());
    accepted.set_seq(1);
    ASSERT_TRUE(store->InsertJob(job, accepted).ok());
  }
  std::unique_ptr<JobStore> store;  // reopened: the migration ran once and is not repeated
  ASSERT_TRUE(JobStore::Open(dir, &store).ok());
  std::vector<server::StoredJob> jobs;
  ASSERT_TRUE(store->LoadJobs(&jobs).ok());
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job.owner(), "default");
  EXPECT_EQ(jobs[0].job.error_message(), "cancelled by request");  // the rest of the row kept
  EXPECT_EQ(jobs[1].job.owner(), "alice");
}

class ManagerOwnershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(JobStore::Open(TestDataDir(), &store_).ok());
    JobManagerOptions options;
    options.queue_capacity = 4;
    ASSERT_TRUE(JobManager::Create(store_.get(), options, &manager_).ok());
  }
  void TearDown() override {
    if (manager_ != nullptr) manager_->Shutdown();
  }

  std::unique_ptr<JobStore> store_;
  std::unique_ptr<JobManager> manager_;
};

// Every way to reach one job answers another principal exactly as it answers an id that does
// not exist, so job ids tell nothing about other principals' work.
TEST_F(ManagerOwnershipTest, AnotherPrincipalsJobLooksLikeNoJob) {
  v1::Job alices;
  ASSERT_TRUE(manager_->Submit(kAlice, LongSpec(), &alices).ok());
  EXPECT_EQ(alices.owner(), "alice");
  const std::string id = alices.job_id();
  const std::string unknown_id = id.substr(0, id.size() - 1) + "9";

  v1::Job job;
  const Status unknown = manager_->GetJob(kBob, unknown_id, &job);
  ASSERT_EQ(unknown.code(), StatusCode::kNotFound);
  std::string expected = unknown.message();
  expected.replace(expected.find(unknown_id), unknown_id.size(), id);

  auto expect_hidden = [&](const Status& status, const char* what) {
    EXPECT_EQ(status.code(), StatusCode::kNotFound) << what;
    EXPECT_EQ(status.message(), expected) << what;
  };
  expect_hidden(manager_->GetJob(kBob, id, &job), "GetJob");
  expect_hidden(manager_->Cancel(kBob, id, &job), "Cancel");
  v1::JobResult result;
  expect_hidden(manager_->GetResult(kBob, id, &result), "GetResult");
  std::shared_ptr<server::JobEventLog> log;
  expect_hidden(manager_->OpenEventLog(kBob, id, 0, &log), "OpenEventLog");

  // Bob's failed cancel did nothing to it.
  ASSERT_TRUE(manager_->GetJob(kAlice, id, &job).ok());
  EXPECT_NE(job.state(), v1::CANCELLED);
  EXPECT_TRUE(manager_->OpenEventLog(kAlice, id, 0, &log).ok());
  EXPECT_TRUE(manager_->GetJob(kAdmin, id, &job).ok());
}

TEST_F(ManagerOwnershipTest, ListsShowOwnJobsAndAdminsSeeAll) {
  v1::Job job;
  ASSERT_TRUE(manager_->Submit(kAlice, LongSpec(1), &job).ok());
  ASSERT_TRUE(manager_->Submit(kBob, LongSpec(2), &job).ok());
  ASSERT_TRUE(manager_->Submit(kAlice, LongSpec(3), &job).ok());
  auto owners = [&](const Caller& caller, int page_size) {
    std::vector<std::string> seen;
    v1::ListJobsRequest request;
    request.set_page_size(page_size);
    do {
      v1::ListJobsResponse response;
      EXPECT_TRUE(manager_->ListJobs(caller, request, &response).ok());
      for (const v1::Job& listed : response.jobs()) seen.push_back(listed.owner());
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return seen;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(owners(kAlice, 0), ElementsAre("alice", "alice"));
  EXPECT_THAT(owners(kAlice, 1), ElementsAre("alice", "alice"));  // pages skip bob's job
  EXPECT_THAT(owners(kBob, 0), ElementsAre("bob"));
  EXPECT_THAT(owners(Caller{"carol", false}, 0), ElementsAre());
  EXPECT_THAT(owners(kAdmin, 0), ElementsAre("alice", "bob", "alice"));
  EXPECT_THAT(owners(Caller::WithoutAuthentication(), 2), ElementsAre("alice", "bob", "alice"));
}

}  // namespace
}  // namespace sgdspectra::server_test
