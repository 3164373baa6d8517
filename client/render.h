// Render: turns the service's messages (JobEvent streams, Jobs) into text in one of three
// output formats.
//
//   table  for people: a live view of a job; on a terminal a progress bar that the next line
//          replaces; one block of lines per snapshot (metrics, then one line per spectrum);
//          a last line with the terminal state and the classifier rank.
//   jsonl  for programs: each message in the proto3 JSON mapping (lowerCamelCase names, fields
//          at their default printed too, int64 as strings), one per line.
//   csv    for spreadsheets: a header line, then one row per snapshot and spectrum block
//          (events), or one row per job (jobs). Non-snapshot events produce no rows.
//
// Ownership: a renderer writes to an ostream it does not own, which must outlive it.
// Thread-safety: a renderer is used from one thread at a time.
#ifndef SGDSPECTRA_CLIENT_RENDER_H_
#define SGDSPECTRA_CLIENT_RENDER_H_

#include <google/protobuf/message.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {

enum class OutputFormat { kTable, kJsonl, kCsv };

// "table" | "jsonl" | "csv" (any case). False for anything else.
bool ParseOutputFormat(const std::string& text, OutputFormat* format);

// `message` in the proto3 JSON mapping on one line, without a trailing newline. Fields at their
// default value are printed too, so every line of a kind has the same keys.
std::string MessageToJsonLine(const google::protobuf::Message& message);

// Renders the events of one job's stream, in order.
class EventRenderer {
 public:
  virtual ~EventRenderer() = default;
  virtual void Render(const v1::JobEvent& event) = 0;
  // Called once when the stream has ended (normally, by error or by interrupt): finishes any
  // partial line (the progress bar) so that later messages start on a clean line.
  virtual void Close() {}
};

// interactive: the output is a terminal (isatty), so the table view may draw a progress bar
// with carriage returns. Ignored by jsonl and csv. The csv renderer writes its header at once.
std::unique_ptr<EventRenderer> MakeEventRenderer(OutputFormat format, std::ostream* out,
                                                 bool interactive);

// The csv header of event streams; one line, no newline.
std::string EventCsvHeader();

// Jobs (get, list, cancel, submit in jsonl). table: aligned columns with a header when
// `with_header`; jsonl: one Job per line; csv: a header when `with_header`, then a row per job.
void RenderJobs(OutputFormat format, const std::vector<v1::Job>& jobs, bool with_header,
                std::ostream* out);

// One job in detail (get in table format): state, times, progress, error, resolved spec.
void RenderJobDetails(const v1::Job& job, std::ostream* out);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_RENDER_H_
