// k-GMM with a one-layer softmax network (docs/SCIENCE.md, Task A): the SGD step and the snapshot
// analysis of the class blocks and full matrices of H and G.
#include <chrono>
#include <cmath>
#include <memory>

#include "block_analysis.h"
#include "sgdspectra/core/alignment.h"
#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/softmax_model.h"
#include "task_run.h"

namespace sgdspectra {
namespace {

class KgmmRun : public TaskRun {
 public:
  KgmmRun(const ExperimentSpec& spec, const GaussianMixture& mixture, const SampleSet& test,
          ThreadPool* pool, const CancelFn& cancel)
      : spec_(spec),
        mixture_(mixture),
        test_(test),
        pool_(pool),
        cancel_(cancel),
        step_size_(spec.ResolvedStepSize()),
        input_(spec.Dim()),
        logits_(spec.kgmm.num_classes),
        probs_(spec.kgmm.num_classes),
        gram_cache_(cancel) {
    const long d = spec.Dim();
    const int k = spec.kgmm.num_classes;
    weights_ = InitialSoftmaxWeights(spec);
    mean_basis_ = OrthonormalBasis(mixture.centers().transpose());
    full_mean_basis_ = MatrixXd::Zero(k * d, k * k);
    for (int c = 0; c < k; ++c) full_mean_basis_.block(c * d, c * k, d, k) = mean_basis_;
  }

  SgdStepOutcome Step(Rng& rng) override {
    const int label = mixture_.Draw(rng, input_.data());
    const StepOutcome o = SoftmaxSgdStep(weights_, input_.data(), label, step_size_,
                                         spec_.kgmm.ridge, logits_.data(), probs_.data());
    return {o.loss, o.correct};
  }

  Status Analyze(int snapshot_index, Snapshot* out) override;

  bool FinalRank(const Snapshot& last, ClassifierRank* rank) const override {
    if (!spec_.analysis.class_blocks) return false;
    rank->expected_rank = spec_.kgmm.num_classes;
    for (const SpectrumReport& s : last.spectra) {
      if (s.block != BlockKind::kClass) continue;
      (s.matrix == MatrixKind::kHessian ? rank->h_block_outliers : rank->g_block_outliers)
          .push_back(s.outlier_count);
      if (s.matrix == MatrixKind::kHessian) rank->h_block_marginal.push_back(s.marginal_count);
    }
    DecideRankVerdict([](int c) { return "H class block " + std::to_string(c); }, rank);
    rank->weight_rank =
        NumericalRank(weights_, spec_.analysis.rank_tolerance, &rank->weight_singular_values);
    return true;
  }

  void Export(ExperimentResult* result) const override {
    result->weights = weights_;
    result->means = mixture_.centers();
  }

 private:
  // Checks the parameters, evaluates them on the test sample and fills the snapshot's test
  // metrics and summary; an error when anything is NaN/Inf (the spectra would be meaningless).
  Status EvaluateTestSample(int snapshot_index, SoftmaxEvaluation* eval, Snapshot* out) const;
  void FillSummary(Snapshot* out) const;
  // The kd x kd H and G. The full G's Gram form is used while the caches fit (gram_form.h).
  void AddFullMatrixBlocks(const SoftmaxEvaluation& eval, const RowMatrix& residual,
                           std::vector<PendingBlock>* blocks);
  // The k class blocks (c, c) of H and G, one lockstep family.
  void AddClassBlocks(const SoftmaxEvaluation& eval, const RowMatrix& residual,
                      std::vector<PendingBlock>* blocks) const;
  // The test-loss gradient with the ridge, in the full matrices' layout (the Gur-Ari overlap).
  VectorXd FlatLossGradient(const SoftmaxEvaluation& eval) const;

  const ExperimentSpec& spec_;
  const GaussianMixture& mixture_;
  const SampleSet& test_;
  ThreadPool* pool_;
  const CancelFn& cancel_;
  const double step_size_;
  RowMatrix weights_;  // k x d, row c = x^c
  VectorXd input_, logits_, probs_;
  MatrixXd mean_basis_;         // d x k orthonormal basis of span(means)
  MatrixXd full_mean_basis_;    // kd x k^2: I_k kron mean_basis_
  SampleGramCache gram_cache_;  // Y Y^T, N N^T for the full G's Gram form
};

void KgmmRun::FillSummary(Snapshot* out) const {
  const int k = static_cast<int>(weights_.rows());
  out->num_classes = k;
  out->num_means = k;
  const RowMatrix products = weights_ * mixture_.centers().transpose();  // k x k
  out->weight_mean_products.assign(products.data(), products.data() + products.size());
  out->off_mean_norms.resize(k);
  out->weight_norms.resize(k);
  for (int c = 0; c < k; ++c) {
    const VectorXd x = weights_.row(c).transpose();
    out->off_mean_norms[c] = (x - mean_basis_ * (mean_basis_.transpose() * x)).norm();
    out->weight_norms[c] = x.norm();
  }
}

Status KgmmRun::EvaluateTestSample(int snapshot_index, SoftmaxEvaluation* eval,
                                   Snapshot* out) const {
  if (!weights_.allFinite()) {
    return Status::NumericalError("parameters became NaN/Inf before snapshot " +
                                  std::to_string(snapshot_index) + "; lower sgd.c_delta");
  }
  *eval = EvaluateSoftmax(weights_, test_);
  if (!std::isfinite(eval->loss)) {
    return Status::NumericalError("test loss is not finite at snapshot " +
                                  std::to_string(snapshot_index));
  }
  out->test_loss = eval->loss;
  out->test_accuracy = eval->accuracy;
  FillSummary(out);
  return Status::Ok();
}

void KgmmRun::AddFullMatrixBlocks(const SoftmaxEvaluation& eval, const RowMatrix& residual,
                                  std::vector<PendingBlock>* blocks) {
  const long d = spec_.Dim();
  const int k = spec_.kgmm.num_classes;
  const long m = test_.size();
  for (MatrixKind kind : AnalysedMatrices(spec_.analysis)) {
    // The bulk's per-sample weights (bulk_edge.h): diag(p_j) - p_j p_j^T for H, e_j e_j^T for G.
    SampleWeightMatrices bulk;
    std::unique_ptr<SampleMixing> mixing;
    if (kind == MatrixKind::kHessian) {
      bulk.diagonal = eval.probs;
      bulk.outer = eval.probs;
      bulk.outer_sign = -1.0;
      mixing = std::make_unique<SoftmaxHessianMixing>(eval.probs);
    } else {
      bulk.outer = residual;
    }
    // The full G has rank <= M: its M x M Gram form has the same nonzero spectrum and costs
    // M^2 per product instead of 4 M d k (gram_form.h).
    const bool gram = kind == MatrixKind::kGMatrix && SampleGramCache::Fits(m);
    if (kind == MatrixKind::kGMatrix && !gram) {
      mixing = std::make_unique<OuterProductMixing>(residual);
    }
    PendingBlock& b = gram ? AddGramBlock(blocks, test_, &gram_cache_, pool_, residual)
                           : AddSampleBlock(blocks, test_, std::move(mixing));
    // Row-major k x d weights are already the operator's layout (x^1, ..., x^k).
    SetBlockTarget(spec_, kind, BlockKind::kFull, -1,
                   Eigen::Map<const VectorXd>(weights_.data(), k * d), &full_mean_basis_,
                   std::move(bulk), &b);
  }
}

void KgmmRun::AddClassBlocks(const SoftmaxEvaluation& eval, const RowMatrix& residual,
                             std::vector<PendingBlock>* blocks) const {
  const int k = spec_.kgmm.num_classes;
  const long m = test_.size();
  for (int c = 0; c < k; ++c) {
    for (MatrixKind kind : AnalysedMatrices(spec_.analysis)) {
      // A class block is (1/M) Y^T diag(w) Y: w_j = p_jc (1 - p_jc) for H, e_jc^2 for G.
      VectorXd w(m);
      for (long j = 0; j < m; ++j) {
        const double p = eval.probs(j, c);
        w[j] = kind == MatrixKind::kHessian ? p * (1.0 - p) : residual(j, c) * residual(j, c);
      }
      SampleWeightMatrices bulk;
      bulk.diagonal = w;
      PendingBlock& b = AddDiagonalBlock(blocks, test_, std::move(w));
      SetBlockTarget(spec_, kind, BlockKind::kClass, c, weights_.row(c).transpose(), &mean_basis_,
                     std::move(bulk), &b);
    }
  }
}

VectorXd KgmmRun::FlatLossGradient(const SoftmaxEvaluation& eval) const {
  const RowMatrix grad = SoftmaxLossGradient(weights_, test_, eval.probs, spec_.kgmm.ridge);
  return VectorXd(Eigen::Map<const VectorXd>(grad.data(), grad.size()));
}

Status KgmmRun::Analyze(int snapshot_index, Snapshot* out) {
  const auto start = std::chrono::steady_clock::now();
  SoftmaxEvaluation eval;
  const Status evaluated = EvaluateTestSample(snapshot_index, &eval, out);
  if (!evaluated.ok()) return evaluated;

  // Residuals e_j = pi_j - y_j (M x k), used by every G-matrix.
  RowMatrix residual = eval.probs;
  for (long j = 0; j < test_.size(); ++j) residual(j, test_.labels[j]) -= 1.0;

  // Full matrices first: the longest solves start first, so the pool stays busy. (The order
  // also fixes each block's solve seed.)
  std::vector<PendingBlock> blocks;
  if (spec_.analysis.full_matrices) AddFullMatrixBlocks(eval, residual, &blocks);
  if (spec_.analysis.class_blocks) AddClassBlocks(eval, residual, &blocks);

  AnalysisProgressTracker progress(snapshot_index, CountSolves(blocks, spec_.analysis),
                                   last_snapshot_products_, analysis_progress_);
  if (!AnalyzeBlocks(&blocks, spec_.analysis, spec_.ResolvedSolverSeed(), snapshot_index, pool_,
                     cancel_, &progress, &last_block_seconds_)) {
    return Status::Cancelled("cancelled during the analysis");
  }
  last_block_seconds_ = SecondsPerBlock(blocks);

  // Reported in a fixed order: class blocks, then the full matrices. Gur-Ari: the test-loss
  // gradient (with ridge) against the top-k Hessian directions.
  FinishSnapshotAnalysis(
      blocks, {BlockKind::kClass, BlockKind::kFull}, spec_.kgmm.num_classes,
      [&] { return FlatLossGradient(eval); }, start, out);
  last_snapshot_products_ = out->total_products;
  return Status::Ok();
}

}  // namespace

std::unique_ptr<TaskRun> MakeKgmmRun(const ExperimentSpec& spec, const GaussianMixture& mixture,
                                     const SampleSet& test, ThreadPool* pool,
                                     const CancelFn& cancel) {
  return std::make_unique<KgmmRun>(spec, mixture, test, pool, cancel);
}

}  // namespace sgdspectra
