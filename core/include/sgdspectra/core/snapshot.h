// What a run reports: one Snapshot per scheduled point, and the final ClassifierRank.
// Plain values; the server copies them into proto messages field by field.
//
// Every matrix is the data-fit part, without the ridge: for H the ridge is a shift by beta of
// every eigenvalue, and for G it would add terms along x itself that would fake alignment.
#ifndef SGDSPECTRA_CORE_SNAPSHOT_H_
#define SGDSPECTRA_CORE_SNAPSHOT_H_

#include <functional>
#include <string>
#include <vector>

#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/outliers.h"
#include "sgdspectra/core/spectral_density.h"
#include "sgdspectra/core/theory_track.h"

namespace sgdspectra {

enum class MatrixKind { kHessian = 0, kGMatrix = 1 };
// kClass: k-GMM class block (c,c). kFull: the whole matrix. XOR: kNeuron, block (i,i) of the
// first layer; kFirstLayer, all of W (Kd x Kd); kSecondLayer, v (K x K).
enum class BlockKind { kClass = 0, kFull = 1, kNeuron = 2, kFirstLayer = 3, kSecondLayer = 4 };
const char* MatrixKindName(MatrixKind m);
const char* BlockKindName(BlockKind b);

struct SolverStats {
  int requested = 0;
  int converged = 0;
  long products = 0;
  long restarts = 0;
  double seconds = 0;
  SolverMethod method = SolverMethod::kLanczos;
  double tol = 0;  // relative residual tolerance the solve ran at
};

struct SpectrumReport {
  MatrixKind matrix = MatrixKind::kHessian;
  BlockKind block = BlockKind::kClass;
  int block_index = -1;                 // class c for kClass; -1 for kFull
  std::vector<double> top_eigenvalues;  // converged, descending
  double bulk_edge = 0;
  OutlierMethod edge_method = OutlierMethod::kNullModel;
  int outlier_count = 0;
  int expected_outliers = 0;
  // |U_r^T x_b| / |x_b| for the block's parameters x_b (x^c, W_i, W, v, or all of them). NaN
  // when not applicable: r = 0 (no outlier space to align with) or r >= the block's size (the
  // space is everything, alignment 1 by construction).
  double alignment_at_outliers = 0;  // r = outlier_count
  double alignment_at_expected = 0;  // r = expected_outliers
  // (1/r)|U_r^T Q|_F^2, r = expected_outliers, Q = basis of span(means) in block coordinates
  // (I kron Q for whole layers; the XOR full matrix's v coordinates are outside it). 0 for the
  // hidden-space second layer, where it is not defined.
  double overlap_with_means = 0;
  SolverStats solver;            // the block's own solve
  SolverStats edge_solver;       // the null-model solve (zeros for other edge methods)
  double outlier_threshold = 0;  // bulk_edge * (1 + margin)
  // A converged eigenvalue lies at or below outlier_threshold, so outlier_count is exact.
  // False when the solve reached its cap with every converged value above the threshold (the
  // count is then a lower bound).
  bool count_certified = false;
  // Converged eigenvalues just below the counted outliers that still lie above the edge, in
  // (bulk_edge, outlier_threshold]: the margin alone decides them, and a larger test sample
  // (analysis.test_ratio) would. Always 0 for the largest-gap rule (its margin is the gap).
  int marginal_count = 0;
  // With analysis.density_probes > 0: the block's estimated spectral density and trace.
  bool has_density = false;
  SpectralDensityEstimate density;
};

struct Snapshot {
  int index = 0;    // 0, 1, ... in schedule order
  long step = 0;    // SGD steps done
  double time = 0;  // t = step * step_size
  std::vector<SpectrumReport> spectra;
  // Online training metrics: mean over the SGD samples seen since the previous snapshot.
  double train_loss = 0;
  double train_accuracy = 0;
  long train_window = 0;  // how many samples those means cover (0 at t = 0)
  double test_loss = 0;   // mean data-fit cross-entropy on the test sample
  double test_accuracy = 0;
  // Gur-Ari overlap |P g|^2 / |g|^2: g = gradient of the test loss (with ridge), P = projector
  // on the top-r eigenvectors of the full Hessian, r = gradient_overlap_rank (= k).
  double gradient_overlap = 0;
  int gradient_overlap_rank = 0;
  int num_classes = 0;  // parameter blocks: classes k (k-GMM) or neurons K (XOR)
  int num_means = 0;    // k (k-GMM) or 2 (XOR: mu, nu)
  // num_classes x num_means row-major: [c * num_means + a] = x^c . mu_a (XOR: W_i . mu, W_i . nu)
  std::vector<double> weight_mean_products;
  std::vector<double> off_mean_norms;        // |x^c - P_mu x^c| per block
  std::vector<double> weight_norms;          // |x^c| per block
  std::vector<double> second_layer_weights;  // XOR: v; empty for k-GMM
  double sgd_seconds = 0;       // wall time of the SGD steps since the previous snapshot
  double analysis_seconds = 0;  // wall time of this snapshot's analysis
  long total_products = 0;      // operator applications in this snapshot
  // With analysis.theory: the effective-dynamics prediction at this snapshot's time.
  bool has_theory = false;
  TheoryPoint theory;
};

enum class RankVerdict { kFullRank = 0, kRankDeficient = 1, kUndetermined = 2 };
const char* RankVerdictName(RankVerdict verdict);

// The last layer at the end of the run. k-GMM: the class blocks; XOR: the K x K second layer.
struct ClassifierRank {
  std::vector<int> h_block_outliers;  // H outlier count per class block (XOR: one, layer 2)
  std::vector<int> g_block_outliers;  // G outlier count, same blocks
  int outlier_rank = 0;               // min of the H counts
  int weight_rank = 0;  // numerical rank of the k x d (XOR: K x d first-layer) weights
  std::vector<double> weight_singular_values;
  int expected_rank = 0;              // k, or 4 for XOR
  std::vector<int> h_block_marginal;  // H marginal count per block (SpectrumReport)
  // kFullRank: outlier_rank >= expected_rank. kRankDeficient: below it even if every marginal
  // eigenvalue were an outlier. kUndetermined: below it, but the marginal eigenvalues could
  // make up the difference. verdict_reason says which blocks decided, in words.
  RankVerdict verdict = RankVerdict::kFullRank;
  std::string verdict_reason;
  bool rank_deficient = false;  // verdict == kRankDeficient
  // XOR: 1 for each cluster (+mu, -mu, +nu, -nu) covered by an active neuron with the right
  // sign of v, measured by what the network does: more than half of the cluster's test points
  // get an output of the right strict sign (s_c f > 0; a cluster no neuron is active on has
  // f = 0 and is not covered). Empty for k-GMM.
  std::vector<int> covered_clusters;
};

// Sets outlier_rank (the smallest H count), verdict, verdict_reason and rank_deficient from
// h_block_outliers, h_block_marginal and expected_rank. block_name names block i in the reason
// (e.g. "class block 2").
void DecideRankVerdict(const std::function<std::string(int)>& block_name, ClassifierRank* rank);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SNAPSHOT_H_
