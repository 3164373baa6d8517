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
#include <mutex>
#include <vector>

#include "sgdspectra/core/bulk_edge.h"
#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/gram_form.h"
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
  long num_samples = 1;  // M
  // For kMarchenkoPastur (bulk_edge.h): the per-sample weights of the matrix's bulk, the noise
  // variance of one input coordinate (1 / lambda) and the input dimension d.
  SampleWeightMatrices bulk_weights;
  double noise_variance = 0;
  long input_dim = 0;
  long dense_size = 0;  // the matrix's size n (op may act on an equivalent smaller space)
  // When op acts on an equivalent space (the M x M Gram form of a G-matrix), maps its
  // eigenvectors (op->size() x r) to the matrix's own (dense_size x r).
  std::function<MatrixXd(const VectorXd& values, const MatrixXd& vectors)> lift_vectors;
  // When set (decoy null of hidden-space blocks), this edge and margin replace the rule.
  bool has_fixed_edge = false;
  double fixed_edge = 0;
  double fixed_margin = 0;
};

// One block waiting to be analysed, owning the mixing and operators its target points to.
// Diagonal blocks (A = (1/M) Y^T diag(w) Y: class and neuron blocks) have no operator of their
// own: they hold their weights and are solved together, in lockstep, as one family.
struct PendingBlock {
  BlockTarget target;
  std::unique_ptr<SampleMixing> mixing;
  std::unique_ptr<SymmetricOperator> op;
  std::unique_ptr<SymmetricOperator> null_op;
  VectorXd diagonal_weights;           // w (M) of a diagonal block; empty otherwise
  const SampleSet* samples = nullptr;  // a diagonal block's sample (inputs and null inputs)
  bool keep_vectors = false;           // fill `vectors` with the top eigenvectors
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

// Appends a diagonal block (1/M) Y^T diag(weights) Y over `samples`' inputs (its null over their
// noise rows), to be solved in the snapshot's lockstep family. The caller sets the rest of the
// target (SetBlockTarget).
PendingBlock& AddDiagonalBlock(std::vector<PendingBlock>* blocks, const SampleSet& samples,
                               VectorXd weights);

// Appends a small matrix that is solved dense and whose bulk edge is given rather than solved,
// so it has no null operator: the XOR K x K second layer, whose edge is its decoy null (there
// is no bulk in hidden space). num_samples is M, the matrix's sample size.
PendingBlock& AddFixedEdgeBlock(std::vector<PendingBlock>* blocks, MatrixXd matrix,
                                long num_samples, double edge, double margin);

// Sets the part of a block's target that a task decides, after one of the Add*Block functions
// has set its operators and sizes: which block of which matrix it is (block_index: the class or
// neuron, -1 for whole layers and full matrices), its parameters and the basis of span(means)
// its eigenvectors are compared with (both in the operator's layout; null: no overlap), and the
// per-sample weights of its bulk (for kMarchenkoPastur; empty for the fixed-edge second layer). The
// solve's cap and the expected count follow from the block kind, in this one place for every task
// and by the same rule as cost_estimate.cc: class and neuron blocks top_r and
// ExpectedClassOutliers(); whole layers and full matrices top_r_full and ExpectedFullOutliers();
// the K x K second layer all its K pairs (a dense solve gets them all at the same cost) and
// ExpectedFullOutliers(). The full Hessian keeps its eigenvectors for the Gur-Ari overlap
// (FinishSnapshotAnalysis).
void SetBlockTarget(const ExperimentSpec& spec, MatrixKind matrix, BlockKind block, int block_index,
                    VectorXd parameters, const MatrixXd* mean_reference,
                    SampleWeightMatrices bulk_weights, PendingBlock* b);

// Y Y^T and N N^T of a run's test sample (inputs and null inputs) for the Gram form of
// G-matrices (gram_form.h), computed at the first snapshot that needs them and kept for the
// run. Used only while both fit (GramFormFits): above that the G-matrices stay matrix-free.
class SampleGramCache {
 public:
  // `cancel` (the run's, which outlives the cache) stops a product between tiles.
  explicit SampleGramCache(const CancelFn& cancel) : cancel_(cancel) {}
  static bool Fits(long num_samples) { return GramFormFits(num_samples); }
  // The cached products, computed on first use with the pool.
  const MatrixXd& Inputs(const SampleSet& samples, ThreadPool* pool);
  const MatrixXd& Noise(const SampleSet& samples, ThreadPool* pool);

 private:
  const CancelFn& cancel_;
  MatrixXd inputs_, noise_;
};

// Appends the G-matrix with one rank-one term per sample (factors E, M x m: column c scales
// the sample in coordinate block c) in its Gram form: op and null_op are the M x M matrices
// (1/M)(E E^T) o (Y Y^T) and o (N N^T); the target lifts eigenvectors back to m d. The caller
// sets the rest of the target (SetBlockTarget; dense_size is set here).
PendingBlock& AddGramBlock(std::vector<PendingBlock>* blocks, const SampleSet& samples,
                           SampleGramCache* cache, ThreadPool* pool, RowMatrix factors);

// Operator applications of a snapshot's solves and null solves.
long TotalProducts(const std::vector<SpectrumReport>& spectra);

// Progress of one snapshot's analysis, as the solves report it (from any pool thread).
class AnalysisProgressTracker {
 public:
  // expected_products: the previous snapshot's total (<= 0: unknown), for the time estimate.
  AnalysisProgressTracker(int snapshot_index, int solves_total, long expected_products,
                          std::function<void(const AnalysisProgress&)> report);
  void AddProducts(long products, const char* stage);
  void SolveDone(const char* stage);

 private:
  void MaybeReport(const char* stage, bool force);

  const int snapshot_index_;
  const int solves_total_;
  const long expected_products_;
  const std::function<void(const AnalysisProgress&)> report_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  long products_ = 0;
  int solves_done_ = 0;
  double last_report_seconds_ = 0;
};

// Analyses every block. Diagonal blocks form one family solved in lockstep (their null
// solves too), every other block is solved alone; the family and the other blocks run as
// independent tasks on the pool, each on one thread, so results are bit-identical for any
// thread count. The n-th block's solve seed is SolveSeed(run_seed, snapshot_index, n + 1).
// Returns false if any solve was cancelled. `cancel` may be called from several pool threads
// at once. progress may be null.
// previous_seconds, when it has one entry per block (a run adds its blocks in the same order
// every snapshot), is what each block took in the previous snapshot (SecondsPerBlock): tasks
// are then ordered by it rather than by the size model, which cannot tell a block whose pairs
// converge fast from one whose pairs lie in the bulk. Ordering changes no result.
bool AnalyzeBlocks(std::vector<PendingBlock>* blocks, const AnalysisSpec& analysis,
                   uint64_t run_seed, int snapshot_index, ThreadPool* pool, const CancelFn& cancel,
                   AnalysisProgressTracker* progress = nullptr,
                   const std::vector<double>* previous_seconds = nullptr);

// Wall time of each analysed block's solves (its own and its null solve); a lockstep family's
// members each carry the family's.
std::vector<double> SecondsPerBlock(const std::vector<PendingBlock>& blocks);

// Solves (blocks and their null-model solves) a snapshot of these blocks runs.
int CountSolves(const std::vector<PendingBlock>& blocks, const AnalysisSpec& analysis);

// The common end of a task's Analyze(), after AnalyzeBlocks: appends the reports to
// out->spectra kind by kind in `report_order` (blocks of one kind in analysis order); when the
// full Hessian was analysed, sets the Gur-Ari overlap of gradient() (the test-loss gradient, in
// the full Hessian's layout) with its top min(overlap_rank, converged) eigenvectors (kept by
// SetBlockTarget); sets the total products and the analysis time since `start`.
void FinishSnapshotAnalysis(const std::vector<PendingBlock>& blocks,
                            const std::vector<BlockKind>& report_order, int overlap_rank,
                            const std::function<VectorXd()>& gradient,
                            std::chrono::steady_clock::time_point start, Snapshot* out);

// Solver outcome as reported in a snapshot; tol is the tolerance the solve ran at.
SolverStats StatsOf(const EigenResult& result, double tol);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SRC_BLOCK_ANALYSIS_H_
