// Helpers for the server tests: tiny job specs, an in-process server on 127.0.0.1:0, and
// stream readers with bounded deadlines (no test synchronises with sleeps).
#ifndef SGDSPECTRA_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define SGDSPECTRA_TESTS_SERVER_SERVER_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "server/spectra_server.h"
#include "sgdspectra/v1/jobs.grpc.pb.h"

namespace sgdspectra::server_test {

namespace v1 = ::sgdspectra::v1;

// Generous upper bound for any single wait; tests normally finish far sooner.
constexpr auto kWaitLimit = std::chrono::seconds(60);

std::chrono::system_clock::time_point Deadline(
    std::chrono::milliseconds from_now =
        std::chrono::duration_cast<std::chrono::milliseconds>(kWaitLimit));

// A fresh directory under /tmp for one test's data, removed when the test program exits.
std::string TestDataDir();

// A k-GMM job that finishes in well under a second: d = 40, k = 3, snr = 50, t_end = 3
// (120 steps), a snapshot every 40 steps (4 snapshots), small r.
v1::JobSpec TinySpec(uint64_t seed = 7);
// The XOR task at the same tiny scale: d = 40, K = 4 hidden neurons, t_end = 3.
v1::JobSpec TinyXorSpec(uint64_t seed = 5);
// About a second of work with many events: t_end = 60 (2400 steps), 13 snapshots and a
// progress event every 10 steps.
v1::JobSpec MediumSpec(uint64_t seed = 9);
// TinySpec with a large test sample: d = 400, M_test = 50 d = 20000 rows of 400 doubles, 64 MB
// per sample, far beyond the transport's buffers (a stream whose reader stops stays open).
// Only the class blocks are analysed (no Gram cache).
v1::JobSpec LargeSampleSpec(uint64_t seed = 7);
// A job that runs for minutes unless cancelled: snapshots every 500 steps, with the core
// polling its cancel hook in between, so a cancel ends it quickly.
v1::JobSpec LongSpec(uint64_t seed = 11);

std::unique_ptr<v1::SgdSpectra::Stub> MakeStub(const std::string& address);

// Everything a server stream delivered, and how it ended.
struct StreamResult {
  std::vector<v1::JobEvent> events;
  grpc::Status status;
};
// Reads until the stream ends; deadline bounds the whole call.
StreamResult WatchAll(v1::SgdSpectra::Stub* stub, const std::string& job_id, int64_t after_seq,
                      std::chrono::system_clock::time_point deadline = Deadline());
StreamResult RunAll(v1::SgdSpectra::Stub* stub, const v1::JobSpec& spec);

// Reads events of an open stream until one satisfies `stop` (returns it) or the stream ends
// (returns false). Events read are appended to *events.
template <typename Reader, typename Pred>
bool ReadUntil(Reader* reader, std::vector<v1::JobEvent>* events, Pred stop) {
  v1::JobEvent event;
  while (reader->Read(&event)) {
    events->push_back(event);
    if (stop(event)) return true;
  }
  return false;
}

// Submits and returns the job (asserting success inside is not possible from a helper that
// returns a value, so the status comes back too).
grpc::Status Submit(v1::SgdSpectra::Stub* stub, const v1::JobSpec& spec, v1::Job* job);

// Watches the job until its first snapshot after t = 0 (it is running and has done real
// work) or its end; returns the events read.
std::vector<v1::JobEvent> ReadUntilRunning(v1::SgdSpectra::Stub* stub, const std::string& job_id);

// Waits (by watching) until the job is terminal; returns its final Job.
v1::Job WaitTerminal(v1::SgdSpectra::Stub* stub, const std::string& job_id);

// An in-process server on 127.0.0.1:0 with its own data directory.
class InProcessServer {
 public:
  explicit InProcessServer(std::string data_dir, int workers = 1, int queue = 16,
                           int max_message_bytes = 64 << 20);
  // Any options; listen is forced to 127.0.0.1:0 and data_dir must be set.
  explicit InProcessServer(server::ServerOptions options);
  ~InProcessServer();
  bool ok() const { return server_ != nullptr; }
  std::string address() const;
  v1::SgdSpectra::Stub* stub() { return stub_.get(); }
  server::SpectraServer* server() { return server_.get(); }
  const std::string& data_dir() const { return data_dir_; }
  // Drains and stops the server (as SIGTERM would); idempotent.
  void Stop();

 private:
  std::string data_dir_;
  std::unique_ptr<server::SpectraServer> server_;
  std::unique_ptr<v1::SgdSpectra::Stub> stub_;
};

// Fails the current test with a readable diff unless a and b are equal field by field
// (doubles compared exactly).
void ExpectSameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b,
                       const std::string& what);
// Checks seq = first, first + 1, ... with no gap, and one job id throughout.
void ExpectContiguous(const std::vector<v1::JobEvent>& events, int64_t first);

// The proto Snapshot with its timing fields (seconds) zeroed, for bit-for-bit comparison.
v1::Snapshot WithoutTiming(v1::Snapshot snapshot);

}  // namespace sgdspectra::server_test

#endif  // SGDSPECTRA_TESTS_SERVER_SERVER_TEST_UTIL_H_
