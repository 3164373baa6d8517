#include "kgmm_analysis.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "sgdspectra/core/alignment.h"
#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/outliers.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/softmax_model.h"

namespace sgdspectra {
namespace {

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

}  // namespace

// One matrix to analyse: its mixing over the test sample, the parameters it should align
// with (in the operator's vector layout), and the reference basis of the means.
struct KgmmSnapshotAnalyzer::BlockTarget {
  MatrixKind matrix;
  BlockKind block;
  int block_index;
  const SampleMixing* mixing;
  VectorXd parameters;
  const MatrixXd* mean_reference;
  int top_r;
  int expected;
  double trace;  // of the matrix, for the Marchenko-Pastur edge
};

KgmmSnapshotAnalyzer::KgmmSnapshotAnalyzer(const ExperimentSpec& spec,
                                           const GaussianMixture& mixture, const SampleSet& test,
                                           ThreadPool* pool, const CancelFn& cancel)
    : spec_(spec), mixture_(mixture), test_(test), pool_(pool), cancel_(cancel) {
  const long d = mixture.dim();
  const int k = spec.kgmm.num_classes;
  mean_basis_ = OrthonormalBasis(mixture.centers().transpose());
  full_mean_basis_ = MatrixXd::Zero(k * d, k * k);
  for (int c = 0; c < k; ++c) full_mean_basis_.block(c * d, c * k, d, k) = mean_basis_;
  row_sq_norms_ = test.inputs.rowwise().squaredNorm();
}

SpectrumReport KgmmSnapshotAnalyzer::AnalyzeBlock(const BlockTarget& target, uint64_t solve_seed,
                                                  bool* cancelled,
                                                  MatrixXd* eigenvectors_out) const {
  SpectrumReport report;
  report.matrix = target.matrix;
  report.block = target.block;
  report.block_index = target.block_index;
  report.expected_outliers = target.expected;
  report.edge_method = spec_.analysis.outliers.method;

  SampleGramOperator op(test_.inputs, *target.mixing, pool_);
  const EigenResult eig =
      TopEigenpairs(op, target.top_r, spec_.analysis.solver, solve_seed, cancel_);
  report.solver = StatsOf(eig);
  if (eig.cancelled) {
    *cancelled = true;
    return report;
  }
  report.top_eigenvalues.assign(eig.values.data(), eig.values.data() + eig.values.size());

  switch (spec_.analysis.outliers.method) {
    case OutlierMethod::kNullModel: {
      // Same per-sample weights, inputs with their cluster means removed.
      SampleGramOperator null_op(test_.noise, *target.mixing, pool_);
      SolverSettings null_settings = spec_.analysis.solver;
      null_settings.ncv = 0;
      const EigenResult null_eig =
          TopEigenpairs(null_op, 1, null_settings, MixBits(solve_seed + 1), cancel_);
      report.edge_solver = StatsOf(null_eig);
      if (null_eig.cancelled) {
        *cancelled = true;
        return report;
      }
      report.bulk_edge = null_eig.converged > 0 ? null_eig.values[0] : 0.0;
      break;
    }
    case OutlierMethod::kMarchenkoPastur:
      report.bulk_edge = MarchenkoPasturEdge(target.trace, op.size(), test_.size());
      break;
    case OutlierMethod::kLargestGap:
    case OutlierMethod::kDecoyNull:
      report.bulk_edge = LargestGapEdge(eig.values, spec_.analysis.outliers.gap_ratio);
      break;
  }
  const double margin = spec_.analysis.outliers.method == OutlierMethod::kLargestGap
                            ? 0.0
                            : spec_.analysis.outliers.margin;
  report.outlier_count = CountOutliers(eig.values, report.bulk_edge, margin);
  report.alignment_at_outliers = Alignment(eig.vectors, report.outlier_count, target.parameters);
  report.alignment_at_expected = Alignment(eig.vectors, target.expected, target.parameters);
  report.overlap_with_means = SubspaceOverlap(eig.vectors, target.expected, *target.mean_reference);
  if (eigenvectors_out != nullptr) *eigenvectors_out = eig.vectors;
  return report;
}

void KgmmSnapshotAnalyzer::FillSummary(const RowMatrix& weights, Snapshot* out) const {
  const int k = static_cast<int>(weights.rows());
  out->num_classes = k;
  const RowMatrix products = weights * mixture_.centers().transpose();  // k x k
  out->weight_mean_products.assign(products.data(), products.data() + products.size());
  out->off_mean_norms.resize(k);
  out->weight_norms.resize(k);
  for (int c = 0; c < k; ++c) {
    const VectorXd x = weights.row(c).transpose();
    out->off_mean_norms[c] = (x - mean_basis_ * (mean_basis_.transpose() * x)).norm();
    out->weight_norms[c] = x.norm();
  }
}

Status KgmmSnapshotAnalyzer::Analyze(const RowMatrix& weights, int snapshot_index,
                                     Snapshot* out) const {
  const auto start = std::chrono::steady_clock::now();
  const long d = mixture_.dim();
  const int k = spec_.kgmm.num_classes;
  const long m = test_.size();
  if (!weights.allFinite()) {
    return Status::NumericalError("parameters became NaN/Inf at snapshot " +
                                  std::to_string(snapshot_index) + "; lower sgd.c_delta");
  }

  const SoftmaxEvaluation eval = EvaluateSoftmax(weights, test_);
  if (!std::isfinite(eval.loss)) {
    return Status::NumericalError("test loss is not finite at snapshot " +
                                  std::to_string(snapshot_index));
  }
  out->test_loss = eval.loss;
  out->test_accuracy = eval.accuracy;
  FillSummary(weights, out);

  // Residuals e_j = pi_j - y_j (M x k), used by every G-matrix.
  RowMatrix residual = eval.probs;
  for (long j = 0; j < m; ++j) residual(j, test_.labels[j]) -= 1.0;

  const uint64_t snapshot_seed = MixBits(spec_.seed ^ MixBits(0x5eedull + snapshot_index));
  uint64_t solve_counter = 0;
  bool cancelled = false;
  auto next_seed = [&] { return MixBits(snapshot_seed + 2 * (++solve_counter)); };

  std::vector<MatrixKind> matrices{MatrixKind::kHessian};
  if (spec_.analysis.g_matrix) matrices.push_back(MatrixKind::kGMatrix);

  if (spec_.analysis.class_blocks) {
    for (int c = 0; c < k && !cancelled; ++c) {
      for (MatrixKind kind : matrices) {
        VectorXd w(m);
        for (long j = 0; j < m; ++j) {
          const double p = eval.probs(j, c);
          w[j] = kind == MatrixKind::kHessian ? p * (1.0 - p) : residual(j, c) * residual(j, c);
        }
        const double trace = w.dot(row_sq_norms_) / m;
        DiagonalMixing mixing(std::move(w));
        BlockTarget target{
            kind,         BlockKind::kClass,    c, &mixing, weights.row(c).transpose(),
            &mean_basis_, spec_.ResolvedTopR(), k, trace};
        out->spectra.push_back(AnalyzeBlock(target, next_seed(), &cancelled));
        if (cancelled) break;
      }
    }
  }

  out->gradient_overlap = 0;
  out->gradient_overlap_rank = 0;
  if (spec_.analysis.full_matrices && !cancelled) {
    const VectorXd x_flat = Eigen::Map<const VectorXd>(weights.data(), k * d);
    for (MatrixKind kind : matrices) {
      std::unique_ptr<SampleMixing> mixing;
      double trace = 0;
      if (kind == MatrixKind::kHessian) {
        mixing = std::make_unique<SoftmaxHessianMixing>(eval.probs);
        const VectorXd diag_sum = (eval.probs.array() * (1.0 - eval.probs.array())).rowwise().sum();
        trace = diag_sum.dot(row_sq_norms_) / m;
      } else {
        trace = residual.rowwise().squaredNorm().dot(row_sq_norms_) / m;
        mixing = std::make_unique<OuterProductMixing>(residual);
      }
      BlockTarget target{kind,
                         BlockKind::kFull,
                         -1,
                         mixing.get(),
                         x_flat,
                         &full_mean_basis_,
                         spec_.ResolvedTopRFull(),
                         k * (k - 1),
                         trace};
      MatrixXd eigenvectors;
      out->spectra.push_back(AnalyzeBlock(target, next_seed(), &cancelled, &eigenvectors));
      if (kind == MatrixKind::kHessian && !cancelled) {
        const RowMatrix grad = SoftmaxLossGradient(weights, test_, eval.probs, spec_.kgmm.ridge);
        const VectorXd g = Eigen::Map<const VectorXd>(grad.data(), k * d);
        out->gradient_overlap_rank = std::min<int>(k, static_cast<int>(eigenvectors.cols()));
        out->gradient_overlap = ProjectedFraction(eigenvectors, out->gradient_overlap_rank, g);
      }
      if (cancelled) break;
    }
  }
  if (cancelled) return Status::Cancelled("cancelled during the analysis");

  out->total_products = 0;
  for (const SpectrumReport& s : out->spectra) {
    out->total_products += s.solver.products + s.edge_solver.products;
  }
  out->analysis_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

}  // namespace sgdspectra
