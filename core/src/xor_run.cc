// XOR-type mixture with a two-layer ReLU network (docs/SCIENCE.md, Task B): the SGD step and the
// snapshot analysis per layer: neuron blocks, the whole first layer, the K x K second layer
// (with the decoy null) and the full matrix.
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <chrono>
#include <cmath>
#include <memory>

#include "block_analysis.h"
#include "sgdspectra/core/alignment.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/two_layer_curvature.h"
#include "sgdspectra/core/two_layer_model.h"
#include "task_run.h"

namespace sgdspectra {
namespace {

constexpr int kClusters = 4;          // +mu, -mu, +nu, -nu
constexpr int kExpectedPerLayer = 4;  // one per covered cluster (ExpectedFullOutliers())

class XorRun : public TaskRun {
 public:
  XorRun(const ExperimentSpec& spec, const GaussianMixture& mixture, const SampleSet& test,
         ThreadPool* pool, const CancelFn& cancel)
      : spec_(spec),
        mixture_(mixture),
        test_(test),
        pool_(pool),
        cancel_(cancel),
        step_size_(spec.ResolvedStepSize()),
        input_(spec.Dim()),
        scratch_(2 * spec.xor_task.hidden),
        gram_cache_(cancel) {
    const long d = spec.Dim();
    const int k = spec.xor_task.hidden;
    params_ = InitialTwoLayerParams(spec);

    means_.resize(2, d);
    means_.row(0) = mixture.centers().row(0);  // mu
    means_.row(1) = mixture.centers().row(2);  // nu
    mean_basis_ = means_.transpose();          // orthonormal by construction
    first_layer_mean_basis_ = MatrixXd::Zero(k * d, 2 * k);
    full_mean_basis_ = MatrixXd::Zero(k * d + k, 2 * k);
    for (int i = 0; i < k; ++i) {
      first_layer_mean_basis_.block(i * d, 2 * i, d, 2) = mean_basis_;
      full_mean_basis_.block(i * d, 2 * i, d, 2) = mean_basis_;
    }
    MakeDecoyCentres();
  }

  SgdStepOutcome Step(Rng& rng) override {
    const int cluster = mixture_.Draw(rng, input_.data());
    const TwoLayerStepOutcome o =
        TwoLayerSgdStep(params_, input_.data(), mixture_.cluster_labels()[cluster], step_size_,
                        spec_.xor_task.ridge, scratch_.data());
    return {o.loss, o.correct};
  }

  Status Analyze(int snapshot_index, Snapshot* out) override;

  bool FinalRank(const Snapshot& last, ClassifierRank* rank) const override {
    rank->expected_rank = kExpectedPerLayer;
    for (const SpectrumReport& s : last.spectra) {
      if (s.block != BlockKind::kSecondLayer) continue;
      (s.matrix == MatrixKind::kHessian ? rank->h_block_outliers : rank->g_block_outliers)
          .push_back(s.outlier_count);
      if (s.matrix == MatrixKind::kHessian) rank->h_block_marginal.push_back(s.marginal_count);
    }
    if (rank->h_block_outliers.empty()) return false;
    DecideRankVerdict([](int) { return std::string("H second layer"); }, rank);
    rank->weight_rank =
        NumericalRank(params_.w, spec_.analysis.rank_tolerance, &rank->weight_singular_values);
    rank->covered_clusters = CoveredClusters();
    return true;
  }

  void Export(ExperimentResult* result) const override {
    result->weights = params_.w;
    result->second_layer = params_.v;
    result->means = means_;
  }

 private:
  // Decoy centres: per draw, two orthonormal directions orthogonal to mu and nu, placed as
  // +-mu', +-nu' in the clusters' order.
  void MakeDecoyCentres() {
    const long d = spec_.Dim();
    for (int q = 0; q < spec_.xor_task.decoy_draws; ++q) {
      Rng rng(spec_.seed, RngStream::kDecoyDirections, static_cast<uint64_t>(q),
              spec_.random_stream_version);
      MatrixXd frame(d, 4);
      frame.leftCols(2) = mean_basis_;
      for (long i = 0; i < 2 * d; ++i) frame.data()[2 * d + i] = rng.Normal();
      Eigen::HouseholderQR<MatrixXd> qr(frame);
      const MatrixXd q_full = qr.householderQ() * MatrixXd::Identity(d, 4);
      RowMatrix centres(kClusters, d);
      centres.row(0) = q_full.col(2).transpose();
      centres.row(1) = -q_full.col(2).transpose();
      centres.row(2) = q_full.col(3).transpose();
      centres.row(3) = -q_full.col(3).transpose();
      decoy_centres_.push_back(std::move(centres));
    }
  }

  std::vector<int> CoveredClusters() const {
    const TwoLayerEvaluation eval = EvaluateTwoLayer(params_, test_);
    const VectorXd logits = eval.hidden * params_.v;
    std::vector<long> right(kClusters, 0), total(kClusters, 0);
    for (long j = 0; j < test_.size(); ++j) {
      const int c = test_.clusters[j];
      const double sign = mixture_.cluster_labels()[c] == 1 ? 1.0 : -1.0;
      ++total[c];
      right[c] += sign * logits[j] > 0;
    }
    std::vector<int> covered(kClusters, 0);
    for (int c = 0; c < kClusters; ++c) covered[c] = 2 * right[c] > total[c];
    return covered;
  }

  // The largest second-layer top eigenvalue over the decoy draws: test noise on decoy centres.
  double DecoyEdge(const RowMatrix& noise_pre, bool g_matrix) const {
    double edge = 0;
    for (const RowMatrix& centres : decoy_centres_) {
      const RowMatrix centre_pre = centres * params_.w.transpose();  // 4 x K
      RowMatrix pre = noise_pre;
      for (long j = 0; j < pre.rows(); ++j) pre.row(j) += centre_pre.row(test_.clusters[j]);
      const TwoLayerEvaluation decoy = EvaluateFromPreactivations(pre, params_.v, test_.labels);
      const MatrixXd second = SecondLayerMatrix(decoy, g_matrix);
      Eigen::SelfAdjointEigenSolver<MatrixXd> eig(second, Eigen::EigenvaluesOnly);
      edge = std::max(edge, eig.eigenvalues().maxCoeff());
    }
    return edge;
  }

  void FillSummary(Snapshot* out) const {
    const int k = static_cast<int>(params_.w.rows());
    out->num_classes = k;
    out->num_means = 2;
    const RowMatrix products = params_.w * means_.transpose();  // K x 2
    out->weight_mean_products.assign(products.data(), products.data() + products.size());
    out->off_mean_norms.resize(k);
    out->weight_norms.resize(k);
    for (int i = 0; i < k; ++i) {
      const VectorXd w = params_.w.row(i).transpose();
      out->off_mean_norms[i] = (w - mean_basis_ * (mean_basis_.transpose() * w)).norm();
      out->weight_norms[i] = w.norm();
    }
    out->second_layer_weights.assign(params_.v.data(), params_.v.data() + k);
  }

  // Checks the parameters, evaluates them on the test sample and fills the snapshot's test
  // metrics and summary; an error when anything is NaN/Inf (the spectra would be meaningless).
  Status EvaluateTestSample(int snapshot_index, TwoLayerEvaluation* eval, Snapshot* out) const;
  // The (Kd + K) x (Kd + K) H and G of all parameters (W, v), cross blocks included.
  void AddFullMatrixBlocks(const TwoLayerEvaluation& eval, std::vector<PendingBlock>* blocks) const;
  // The Kd x Kd H and G of the first layer W. Its G's Gram form is used while the caches fit.
  void AddFirstLayerBlocks(const TwoLayerEvaluation& eval, std::vector<PendingBlock>* blocks);
  // The K neuron blocks (i, i) of H and G, one lockstep family.
  void AddNeuronBlocks(const TwoLayerEvaluation& eval, std::vector<PendingBlock>* blocks) const;
  // The K x K second layer of H and G, with the decoy null's edge.
  void AddSecondLayerBlocks(const TwoLayerEvaluation& eval,
                            std::vector<PendingBlock>* blocks) const;
  // The test-loss gradient with the ridge, in the full matrix's layout (W, v).
  VectorXd FlatLossGradient(const TwoLayerEvaluation& eval) const;

  VectorXd FlatParameters(bool with_second_layer) const {
    const long n = params_.w.size();
    VectorXd x(n + (with_second_layer ? params_.v.size() : 0));
    x.head(n) = Eigen::Map<const VectorXd>(params_.w.data(), n);
    if (with_second_layer) x.tail(params_.v.size()) = params_.v;
    return x;
  }

  const ExperimentSpec& spec_;
  const GaussianMixture& mixture_;
  const SampleSet& test_;
  ThreadPool* pool_;
  const CancelFn& cancel_;
  const double step_size_;
  TwoLayerParams params_;
  VectorXd input_, scratch_;
  RowMatrix means_;                  // 2 x d: mu, nu
  MatrixXd mean_basis_;              // d x 2
  MatrixXd first_layer_mean_basis_;  // Kd x 2K: I_K kron [mu nu]
  MatrixXd full_mean_basis_;         // (Kd + K) x 2K, zero on v
  std::vector<RowMatrix> decoy_centres_;
  SampleGramCache gram_cache_;  // Y Y^T, N N^T for the first layer's G in Gram form
};

Status XorRun::EvaluateTestSample(int snapshot_index, TwoLayerEvaluation* eval,
                                  Snapshot* out) const {
  if (!params_.w.allFinite() || !params_.v.allFinite()) {
    return Status::NumericalError("parameters became NaN/Inf before snapshot " +
                                  std::to_string(snapshot_index) + "; lower sgd.c_delta");
  }
  *eval = EvaluateTwoLayer(params_, test_);
  if (!std::isfinite(eval->loss)) {
    return Status::NumericalError("test loss is not finite at snapshot " +
                                  std::to_string(snapshot_index));
  }
  out->test_loss = eval->loss;
  out->test_accuracy = eval->accuracy;
  FillSummary(out);
  return Status::Ok();
}

void XorRun::AddFullMatrixBlocks(const TwoLayerEvaluation& eval,
                                 std::vector<PendingBlock>* blocks) const {
  for (MatrixKind kind : AnalysedMatrices(spec_.analysis)) {
    const bool g_matrix = kind == MatrixKind::kGMatrix;
    // The bulk is the first layer's (rank-one weights f_j f_j^T): the K second-layer
    // coordinates and the cross block add a part of rank at most 2K, outliers at most.
    SampleWeightMatrices bulk;
    bulk.outer = FirstLayerFactors(eval, params_.v, g_matrix);
    auto mixing = std::make_unique<TwoLayerFullMixing>(eval, params_.v, g_matrix);
    PendingBlock& b = AddSampleBlock(blocks, test_, std::move(mixing));
    SetBlockTarget(spec_, kind, BlockKind::kFull, -1, FlatParameters(true), &full_mean_basis_,
                   std::move(bulk), &b);
  }
}

void XorRun::AddFirstLayerBlocks(const TwoLayerEvaluation& eval,
                                 std::vector<PendingBlock>* blocks) {
  const long m = test_.size();
  for (MatrixKind kind : AnalysedMatrices(spec_.analysis)) {
    RowMatrix factors = FirstLayerFactors(eval, params_.v, kind == MatrixKind::kGMatrix);
    SampleWeightMatrices bulk;
    bulk.outer = factors;
    // The first layer's G has rank <= M: solved in its M x M Gram form (gram_form.h).
    const bool gram = kind == MatrixKind::kGMatrix && SampleGramCache::Fits(m);
    PendingBlock& b =
        gram ? AddGramBlock(blocks, test_, &gram_cache_, pool_, std::move(factors))
             : AddSampleBlock(blocks, test_,
                              std::make_unique<OuterProductMixing>(std::move(factors)));
    SetBlockTarget(spec_, kind, BlockKind::kFirstLayer, -1, FlatParameters(false),
                   &first_layer_mean_basis_, std::move(bulk), &b);
  }
}

void XorRun::AddNeuronBlocks(const TwoLayerEvaluation& eval,
                             std::vector<PendingBlock>* blocks) const {
  const int k = spec_.xor_task.hidden;
  for (int i = 0; i < k; ++i) {
    for (MatrixKind kind : AnalysedMatrices(spec_.analysis)) {
      VectorXd weights = NeuronBlockWeights(eval, params_.v, i, kind == MatrixKind::kGMatrix);
      SampleWeightMatrices bulk;
      bulk.diagonal = weights;
      PendingBlock& b = AddDiagonalBlock(blocks, test_, std::move(weights));
      SetBlockTarget(spec_, kind, BlockKind::kNeuron, i, params_.w.row(i).transpose(), &mean_basis_,
                     std::move(bulk), &b);
    }
  }
}

void XorRun::AddSecondLayerBlocks(const TwoLayerEvaluation& eval,
                                  std::vector<PendingBlock>* blocks) const {
  // Hidden space has no bulk to take a null model of: the edge is the decoy null's, the same
  // network on test noise placed on decoy centres.
  const RowMatrix noise_pre = test_.noise * params_.w.transpose();  // M x K
  for (MatrixKind kind : AnalysedMatrices(spec_.analysis)) {
    const bool g_matrix = kind == MatrixKind::kGMatrix;
    PendingBlock& b =
        AddFixedEdgeBlock(blocks, SecondLayerMatrix(eval, g_matrix), test_.size(),
                          DecoyEdge(noise_pre, g_matrix), spec_.xor_task.second_layer_margin);
    SetBlockTarget(spec_, kind, BlockKind::kSecondLayer, -1, params_.v, nullptr, {}, &b);
  }
}

VectorXd XorRun::FlatLossGradient(const TwoLayerEvaluation& eval) const {
  RowMatrix grad_w;
  VectorXd grad_v;
  TwoLayerLossGradient(params_, test_, eval, spec_.xor_task.ridge, &grad_w, &grad_v);
  VectorXd g(grad_w.size() + grad_v.size());
  g.head(grad_w.size()) = Eigen::Map<const VectorXd>(grad_w.data(), grad_w.size());
  g.tail(grad_v.size()) = grad_v;
  return g;
}

Status XorRun::Analyze(int snapshot_index, Snapshot* out) {
  const auto start = std::chrono::steady_clock::now();
  TwoLayerEvaluation eval;
  const Status evaluated = EvaluateTestSample(snapshot_index, &eval, out);
  if (!evaluated.ok()) return evaluated;

  // Largest solves first so the pool stays busy: full matrix, first layer, neurons, layer 2.
  // (The order also fixes each block's solve seed.)
  std::vector<PendingBlock> blocks;
  if (spec_.analysis.full_matrices) {
    AddFullMatrixBlocks(eval, &blocks);
    AddFirstLayerBlocks(eval, &blocks);
  }
  if (spec_.analysis.class_blocks) AddNeuronBlocks(eval, &blocks);
  AddSecondLayerBlocks(eval, &blocks);

  AnalysisProgressTracker progress(snapshot_index, CountSolves(blocks, spec_.analysis),
                                   last_snapshot_products_, analysis_progress_);
  if (!AnalyzeBlocks(&blocks, spec_.analysis, spec_.ResolvedSolverSeed(), snapshot_index, pool_,
                     cancel_, &progress, &last_block_seconds_)) {
    return Status::Cancelled("cancelled during the analysis");
  }
  last_block_seconds_ = SecondsPerBlock(blocks);

  // Reported layer by layer: neurons, first layer, second layer, full.
  FinishSnapshotAnalysis(
      blocks,
      {BlockKind::kNeuron, BlockKind::kFirstLayer, BlockKind::kSecondLayer, BlockKind::kFull},
      kExpectedPerLayer, [&] { return FlatLossGradient(eval); }, start, out);
  last_snapshot_products_ = out->total_products;
  return Status::Ok();
}

}  // namespace

std::unique_ptr<TaskRun> MakeXorRun(const ExperimentSpec& spec, const GaussianMixture& mixture,
                                    const SampleSet& test, ThreadPool* pool,
                                    const CancelFn& cancel) {
  return std::make_unique<XorRun>(spec, mixture, test, pool, cancel);
}

}  // namespace sgdspectra
