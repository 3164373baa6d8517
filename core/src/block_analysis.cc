#include "block_analysis.h"

#include "sgdspectra/core/alignment.h"
#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/outliers.h"
#include "sgdspectra/core/random.h"
#include "task_run.h"

namespace sgdspectra {

SolverStats StatsOf(const EigenResult& r) {
  SolverStats s;
  s.requested = r.requested;
  s.converged = r.converged;
  s.products = r.products;
  s.restarts = r.restarts;
  s.seconds = r.seconds;
  s.method = r.method;
  return s;
}

SpectrumReport AnalyzeBlock(const BlockTarget& target, const AnalysisSpec& analysis,
                            uint64_t solve_seed, const CancelFn& cancel, bool* cancelled,
                            MatrixXd* eigenvectors_out) {
  SpectrumReport report;
  report.matrix = target.matrix;
  report.block = target.block;
  report.block_index = target.block_index;
  report.expected_outliers = target.expected;

  const EigenResult eig =
      TopEigenpairs(*target.op, target.top_r, analysis.solver, solve_seed, cancel);
  report.solver = StatsOf(eig);
  if (eig.cancelled) {
    *cancelled = true;
    return report;
  }
  report.top_eigenvalues.assign(eig.values.data(), eig.values.data() + eig.values.size());

  double margin = analysis.outliers.margin;
  if (target.has_fixed_edge) {
    report.edge_method = OutlierMethod::kDecoyNull;
    report.bulk_edge = target.fixed_edge;
    margin = target.fixed_margin;
  } else {
    report.edge_method = analysis.outliers.method;
    switch (analysis.outliers.method) {
      case OutlierMethod::kNullModel: {
        SolverSettings null_settings = analysis.solver;
        null_settings.ncv = 0;
        const EigenResult null_eig =
            TopEigenpairs(*target.null_op, 1, null_settings, MixBits(solve_seed + 1), cancel);
        report.edge_solver = StatsOf(null_eig);
        if (null_eig.cancelled) {
          *cancelled = true;
          return report;
        }
        report.bulk_edge = null_eig.converged > 0 ? null_eig.values[0] : 0.0;
        break;
      }
      case OutlierMethod::kMarchenkoPastur:
        report.bulk_edge = MarchenkoPasturEdge(target.trace, target.op->size(), target.num_samples);
        break;
      case OutlierMethod::kLargestGap:
      case OutlierMethod::kDecoyNull:  // rejected by Validate for input-space blocks
        report.bulk_edge = LargestGapEdge(eig.values, analysis.outliers.gap_ratio);
        margin = 0.0;  // the gap itself is the separation
        break;
    }
  }
  report.outlier_count = CountOutliers(eig.values, report.bulk_edge, margin);
  report.alignment_at_outliers = Alignment(eig.vectors, report.outlier_count, target.parameters);
  report.alignment_at_expected = Alignment(eig.vectors, target.expected, target.parameters);
  if (target.mean_reference != nullptr) {
    report.overlap_with_means =
        SubspaceOverlap(eig.vectors, target.expected, *target.mean_reference);
  }
  if (eigenvectors_out != nullptr) *eigenvectors_out = eig.vectors;
  return report;
}

std::vector<MatrixKind> AnalysedMatrices(const AnalysisSpec& analysis) {
  std::vector<MatrixKind> matrices{MatrixKind::kHessian};
  if (analysis.g_matrix) matrices.push_back(MatrixKind::kGMatrix);
  return matrices;
}

PendingBlock& AddSampleBlock(std::vector<PendingBlock>* blocks, const SampleSet& samples,
                             std::unique_ptr<SampleMixing> mixing) {
  blocks->emplace_back();
  PendingBlock& b = blocks->back();
  b.mixing = std::move(mixing);
  b.op = std::make_unique<SampleGramOperator>(samples.inputs, *b.mixing, nullptr);
  b.null_op = std::make_unique<SampleGramOperator>(samples.noise, *b.mixing, nullptr);
  b.target.op = b.op.get();
  b.target.null_op = b.null_op.get();
  b.target.num_samples = samples.size();
  return b;
}

void FinishSnapshotAnalysis(const std::vector<PendingBlock>& blocks,
                            const std::vector<BlockKind>& report_order, int full_hessian_block,
                            int overlap_rank, const std::function<VectorXd()>& gradient,
                            std::chrono::steady_clock::time_point start, Snapshot* out) {
  for (BlockKind kind : report_order) {
    for (const PendingBlock& b : blocks) {
      if (b.target.block == kind) out->spectra.push_back(b.report);
    }
  }
  if (full_hessian_block >= 0) {
    const MatrixXd& eigenvectors = blocks[full_hessian_block].vectors;
    out->gradient_overlap_rank = std::min<int>(overlap_rank, static_cast<int>(eigenvectors.cols()));
    out->gradient_overlap = ProjectedFraction(eigenvectors, out->gradient_overlap_rank, gradient());
  }
  out->total_products = TotalProducts(out->spectra);
  out->analysis_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long TotalProducts(const std::vector<SpectrumReport>& spectra) {
  long total = 0;
  for (const SpectrumReport& s : spectra) total += s.solver.products + s.edge_solver.products;
  return total;
}

bool AnalyzeBlocks(std::vector<PendingBlock>* blocks, const AnalysisSpec& analysis,
                   uint64_t run_seed, int snapshot_index, ThreadPool* pool,
                   const CancelFn& cancel) {
  auto run_one = [&](long n) {
    PendingBlock& b = (*blocks)[n];
    b.report = AnalyzeBlock(b.target, analysis,
                            SolveSeed(run_seed, snapshot_index, static_cast<int>(n) + 1), cancel,
                            &b.cancelled, b.keep_vectors ? &b.vectors : nullptr);
  };
  const long n = static_cast<long>(blocks->size());
  if (pool != nullptr) {
    pool->ParallelFor(n, run_one);
  } else {
    for (long i = 0; i < n; ++i) run_one(i);
  }
  for (const PendingBlock& b : *blocks) {
    if (b.cancelled) return false;
  }
  return true;
}

}  // namespace sgdspectra
