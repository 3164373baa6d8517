// The analysis of one matrix block, shared by every task: top-r eigenpairs, bulk edge, outlier
// count, alignment of the block's parameters with the outlier eigenspace and overlap of that
// space with the means. Internal to the core.
//
// Thread-safety: reentrant; the operators must not be shared by concurrent calls.
#ifndef SGDSPECTRA_CORE_SRC_BLOCK_ANALYSIS_H_
#define SGDSPECTRA_CORE_SRC_BLOCK_ANALYSIS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra {

struct BlockTarget {
  MatrixKind matrix = MatrixKind::kHessian;
  BlockKind block = BlockKind::kClass;
  int block_index = -1;
  const SymmetricOperator* op = nullptr;
  // The same matrix on the null inputs (cluster means removed); used by kNullModel.
  const SymmetricOperator* null_op = nullptr;
  VectorXd parameters;                       // the block's parameters, in op's layout
  const MatrixXd* mean_reference = nullptr;  // basis of span(means) in op's layout, or null
  int top_r = 1;
  int expected = 0;
  double trace = 0;      // of the matrix, for kMarchenkoPastur
  long num_samples = 1;  // M, for kMarchenkoPastur
  // When set (decoy null of hidden-space blocks), this edge and margin replace the rule.
  bool has_fixed_edge = false;
  double fixed_edge = 0;
  double fixed_margin = 0;
};

// Analyses target.op. Sets *cancelled when the cancel hook fired (the report is then partial).
// eigenvectors_out, when not null, receives the top eigenvectors (size x converged).
SpectrumReport AnalyzeBlock(const BlockTarget& target, const AnalysisSpec& analysis,
                            uint64_t solve_seed, const CancelFn& cancel, bool* cancelled,
                            MatrixXd* eigenvectors_out = nullptr);

// One block waiting to be analysed, owning the mixing and operators its target points to.
struct PendingBlock {
  BlockTarget target;
  std::unique_ptr<SampleMixing> mixing;
  std::unique_ptr<SymmetricOperator> op;
  std::unique_ptr<SymmetricOperator> null_op;
  bool keep_vectors = false;  // fill `vectors` with the top eigenvectors
  // Outputs.
  SpectrumReport report;
  MatrixXd vectors;
  bool cancelled = false;
};

// The matrices a snapshot analyses: H, and G unless analysis.g_matrix is off.
std::vector<MatrixKind> AnalysedMatrices(const AnalysisSpec& analysis);

// Appends a block with this mixing over `samples`' inputs, its null over their noise rows.
// The operators get no pool: AnalyzeBlocks runs whole solves in parallel. The returned
// reference is valid until the next append.
PendingBlock& AddSampleBlock(std::vector<PendingBlock>* blocks, const SampleSet& samples,
                             std::unique_ptr<SampleMixing> mixing);

// Operator applications of a snapshot's solves and null solves.
long TotalProducts(const std::vector<SpectrumReport>& spectra);

// Analyses every block, the n-th with solve seed SolveSeed(run_seed, snapshot_index, n + 1).
// Blocks run in parallel on the pool, each solve on one thread: build the operators without a
// pool. Each solve's arithmetic is independent of the schedule, so results are bit-identical
// for any thread count. Returns false if any solve was cancelled. `cancel` may be called from
// several pool threads at once.
bool AnalyzeBlocks(std::vector<PendingBlock>* blocks, const AnalysisSpec& analysis,
                   uint64_t run_seed, int snapshot_index, ThreadPool* pool, const CancelFn& cancel);

// The common end of a task's Analyze(), after AnalyzeBlocks: appends the reports to
// out->spectra kind by kind in `report_order` (blocks of one kind in analysis order); when
// full_hessian_block >= 0, sets the Gur-Ari overlap of gradient() (the test-loss gradient, in
// the full Hessian's layout) with that block's top min(overlap_rank, converged) eigenvectors
// (the block must have keep_vectors); sets the total products and the analysis time since
// `start`.
void FinishSnapshotAnalysis(const std::vector<PendingBlock>& blocks,
                            const std::vector<BlockKind>& report_order, int full_hessian_block,
                            int overlap_rank, const std::function<VectorXd()>& gradient,
                            std::chrono::steady_clock::time_point start, Snapshot* out);

// Solver outcome as reported in a snapshot.
SolverStats StatsOf(const EigenResult& result);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SRC_BLOCK_ANALYSIS_H_
