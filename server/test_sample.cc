#include "server/test_sample.h"

#include <algorithm>

#include "sgdspectra/core/experiment.h"

namespace sgdspectra::server {

Status TestSampleCursor::Create(const ExperimentSpec& spec,
                                std::unique_ptr<TestSampleCursor>* cursor) {
  std::unique_ptr<TestSampleCursor> created(new TestSampleCursor());
  created->spec_ = spec;
  Status status = BuildMixture(spec, &created->mixture_);
  if (!status.ok()) return status;
  created->total_rows_ = spec.TestSampleSize();
  *cursor = std::move(created);
  return Status::Ok();
}

int64_t TestSampleCursor::Next(int64_t max_rows, RowMatrix* inputs, std::vector<int>* labels) {
  constexpr long kBlockRows = GaussianMixture::kRowsPerSampleBlock;
  const int64_t rows =
      std::clamp<int64_t>(total_rows_ - next_row_, 0, std::max<int64_t>(max_rows, 0));
  inputs->resize(rows, cols());
  labels->resize(rows);
  for (int64_t filled = 0; filled < rows;) {
    const long block = static_cast<long>(next_row_ / kBlockRows);
    if (block != block_index_) {
      // DrawTestSample's blocks, one at a time (same seed, stream and block numbers).
      mixture_.DrawSampleBlock(total_rows_, spec_.seed, RngStream::kTestSample, block,
                               &block_inputs_, &block_labels_);
      block_index_ = block;
    }
    const int64_t offset = next_row_ - static_cast<int64_t>(block) * kBlockRows;
    const int64_t take = std::min<int64_t>(rows - filled, block_inputs_.rows() - offset);
    inputs->middleRows(filled, take) = block_inputs_.middleRows(offset, take);
    std::copy_n(block_labels_.begin() + offset, take, labels->begin() + filled);
    filled += take;
    next_row_ += take;
  }
  return rows;
}

Status RegenerateTestSample(const ExperimentSpec& spec, SampleSet* sample, const CancelFn& cancel) {
  std::unique_ptr<TestSampleCursor> cursor;
  Status status = TestSampleCursor::Create(spec, &cursor);
  if (!status.ok()) return status;
  // One block at a time on this (request) thread: the sample does not depend on the thread
  // count, this should not take all cores from the jobs, and a cancel is seen within a block.
  sample->inputs.resize(cursor->total_rows(), cursor->cols());
  sample->labels.resize(cursor->total_rows());
  sample->noise.resize(0, 0);
  sample->clusters.clear();
  RowMatrix rows;
  std::vector<int> labels;
  while (!cursor->done()) {
    if (cancel && cancel()) return Status::Cancelled("cancelled while drawing the test sample");
    const int64_t first = cursor->next_row();
    const int64_t count = cursor->Next(GaussianMixture::kRowsPerSampleBlock, &rows, &labels);
    sample->inputs.middleRows(first, count) = rows;
    std::copy(labels.begin(), labels.end(), sample->labels.begin() + first);
  }
  return Status::Ok();
}

int64_t TestSampleWireBytes(const ExperimentSpec& spec) {
  const int64_t rows = spec.TestSampleSize();
  constexpr int64_t kFraming = 64;
  return rows * spec.Dim() * 8 + rows * 5 + kFraming;
}

}  // namespace sgdspectra::server
