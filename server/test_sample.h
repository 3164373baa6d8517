// The test sample of a job, rebuilt from its spec: the same mixture and the same M_test x d
// inputs the run analysed (both are deterministic functions of the spec and seed), so a
// client can recompute the spectra independently without the server storing the sample.
//
// TestSampleCursor produces the sample a chunk of rows at a time, holding one 256-row block of
// the generator (GaussianMixture::kRowsPerSampleBlock) besides the chunk it returns, so a
// stream of an M_test x d sample needs O(d) memory, not O(M_test d). Its rows are bit for bit
// those of DrawTestSample (core/experiment.h).
//
// This is numerical work: call it from the server's own threads, never from a gRPC callback.
// Thread-safety: RegenerateTestSample and TestSampleWireBytes are pure functions; a cursor is
// used by one thread at a time.
#ifndef SGDSPECTRA_SERVER_TEST_SAMPLE_H_
#define SGDSPECTRA_SERVER_TEST_SAMPLE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra::server {

class TestSampleCursor {
 public:
  // spec must be valid (it came from a recorded job). Builds the mixture (k x d), no rows.
  static Status Create(const ExperimentSpec& spec, std::unique_ptr<TestSampleCursor>* cursor);

  int64_t total_rows() const { return total_rows_; }
  int64_t cols() const { return mixture_.dim(); }
  int64_t next_row() const { return next_row_; }
  bool done() const { return next_row_ >= total_rows_; }

  // The next min(max_rows, rows left) rows: inputs into *inputs (resized to rows x cols),
  // labels into *labels. Returns the number of rows.
  int64_t Next(int64_t max_rows, RowMatrix* inputs, std::vector<int>* labels);

 private:
  TestSampleCursor() = default;

  ExperimentSpec spec_;
  GaussianMixture mixture_;
  int64_t total_rows_ = 0;
  int64_t next_row_ = 0;
  // The generator block holding next_row_ (block_index_ * kRowsPerSampleBlock is its row 0).
  long block_index_ = -1;
  RowMatrix block_inputs_;
  std::vector<int> block_labels_;
};

// The whole sample's inputs and labels (noise and clusters are left empty). A cancel hook
// that returns true stops it between blocks with kCancelled.
Status RegenerateTestSample(const ExperimentSpec& spec, SampleSet* sample,
                            const CancelFn& cancel = nullptr);

// Bytes the sample takes in a message: 8 per input value, up to 5 per label, plus framing.
int64_t TestSampleWireBytes(const ExperimentSpec& spec);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_TEST_SAMPLE_H_
