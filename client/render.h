// Render: turns the service's messages (JobEvent streams, Jobs) into text in one of three
// output formats.
//
//   table  for people: a live view of a job; the accepted banner with the job's estimated
//          cost; on a terminal a progress bar that the next line replaces; during a long
//          snapshot's analysis "  analysing snapshot 3: full H, 5/44 solves, 1234 products,
//          12.3 s, ~40 s left" (in place on a terminal, else one line per event); one block of
//          lines per snapshot (metrics, then one line per spectrum, labelled "H c0" / "H full"
//          for k-GMM and "H n0" (neuron 0), "H L1" (first layer), "H L2" (second layer),
//          "H full" for XOR; for XOR also the second-layer weights v and W_i . mu, W_i . nu);
//          last lines with the terminal state, its reason and message (DescribeFinish) and
//          the classifier rank (for XOR with the covered clusters, e.g. "covered clusters:
//          +mu -nu (2 of 4)").
//   jsonl  for programs: each message in the proto3 JSON mapping (lowerCamelCase names, fields
//          at their default printed too, int64 as strings), one per line.
//   csv    for spreadsheets: a header line, then one row per snapshot and spectrum block
//          (events), or one row per job (jobs). Non-snapshot events produce no rows. The
//          `block` column holds BlockCsvName(): class, full, neuron, layer1, layer2.
//
// A BlockFilter (--layer) limits the spectrum rows of the table and csv views to one kind of
// block; jsonl always carries whole events.
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

// Which spectrum rows the table and csv views show (--layer). kClass is k-GMM's only; kNeuron,
// kLayer1 and kLayer2 are XOR's only; kFull and kAll fit both tasks.
enum class BlockFilter { kAll, kClass, kNeuron, kLayer1, kLayer2, kFull };

// "all", "class", "neuron", "layer1", "layer2", "full" (any case). False for anything else.
bool ParseBlockFilter(const std::string& text, BlockFilter* filter);

// The --layer values that make sense for a task: "class|full|all" (k-GMM) or
// "neuron|layer1|layer2|full|all" (XOR).
std::string BlockFilterNames(v1::JobSpec::TaskCase task);

// Whether `filter` selects any block of `task`'s jobs (kAll and kFull always do).
bool BlockFilterFitsTask(BlockFilter filter, v1::JobSpec::TaskCase task);

// Whether `filter` shows a spectrum of kind `block`.
bool BlockFilterShows(BlockFilter filter, v1::BlockKind block);

// The csv `block` column: "class", "full", "neuron", "layer1", "layer2"; "unspecified" for
// BLOCK_KIND_UNSPECIFIED and "block<N>" for a kind newer than this client.
std::string BlockCsvName(v1::BlockKind block);

// "H" (Hessian), "G" (G-matrix), "M<n>" for a matrix kind newer than this client.
std::string ShortMatrixName(v1::MatrixKind matrix);

// XOR's ClassifierRank.covered_clusters as names: "+mu -nu (2 of 4)", "none (0 of 4)".
std::string CoveredClusters(const google::protobuf::RepeatedField<std::int32_t>& covered);

// "full rank", "rank-deficient" or "undetermined". A server older than ClassifierRank.verdict
// sends only rank_deficient: that decides then.
std::string VerdictText(const v1::ClassifierRank& rank);

// An alignment to 3 decimals, or "n/a" when it is NaN (no outliers, or the whole space).
std::string AlignmentText(double alignment);

// "[3 3 2]": a list of counts, e.g. ClassifierRank.h_block_outliers.
std::string JoinRanks(const google::protobuf::RepeatedField<std::int32_t>& values);

// A job's end for people: the state, the reason beside it and the message, e.g.
// "CANCELLED (SERVER_SHUTDOWN): server shutting down", "FAILED (RUN_FAILED): NaN at step 12",
// "SUCCEEDED". The reason is left out when it adds nothing (COMPLETED) or is not set (a server
// older than Finished.reason); a value newer than this client shows as its number.
std::string DescribeFinish(const v1::Finished& finished);

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
// filter: the spectrum rows the table and csv show; ignored by jsonl.
std::unique_ptr<EventRenderer> MakeEventRenderer(OutputFormat format, std::ostream* out,
                                                 bool interactive,
                                                 BlockFilter filter = BlockFilter::kAll);

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
