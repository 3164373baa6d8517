// EventSource: the events of one job for `sgdspectra plot`, from a JSON-lines file or from a
// server.
//
// A file holds one sgdspectra.v1.JobEvent per line in the proto3 JSON mapping, as
// `sgdspectra run -o jsonl` and `watch -o jsonl` print them; unknown fields are ignored (a newer
// server's), blank lines skipped, and a line that does not parse is an error naming FILE:LINE.
//
// From a server, the events come through WatchJob from seq 1. A job that has ended streams to
// its terminal event. A job that is still queued or running streams until the newest event that
// GetJob reported (its last_seq at the time of the call): plot what exists so far, without
// waiting for a job that may run for hours; with wait_for_end the stream is read to the end.
//
// Thread-safety: plain functions; the channel may be shared.
#ifndef SGDSPECTRA_CLIENT_PLOT_EVENT_SOURCE_H_
#define SGDSPECTRA_CLIENT_PLOT_EVENT_SOURCE_H_

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client::plot {

// Parses JSON lines from `in`; `name` (a file path) prefixes error messages: "NAME:LINE: ...".
google::protobuf::util::Status ParseEventLines(std::istream& in, const std::string& name,
                                               std::vector<v1::JobEvent>* events);

// ParseEventLines over the file at `path`; an error if it cannot be opened or read.
google::protobuf::util::Status ReadEventsFile(const std::string& path,
                                              std::vector<v1::JobEvent>* events);

// The events of `job_id` from the server (see above). `timeout_seconds` bounds the GetJob call
// only (<= 0: none); the stream has no deadline. Returns the RPC's status on failure.
grpc::Status FetchJobEvents(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& job_id, bool wait_for_end, double timeout_seconds,
                            std::vector<v1::JobEvent>* events);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_EVENT_SOURCE_H_
