// What a run reports: one Snapshot per scheduled point, and the final ClassifierRank.
// Plain values; the server copies them into proto messages field by field.
//
// Every matrix is the data-fit part, without the ridge: for H the ridge is a shift by beta of
// every eigenvalue, and for G it would add terms along x itself that would fake alignment.
#ifndef SGDSPECTRA_CORE_SNAPSHOT_H_
#define SGDSPECTRA_CORE_SNAPSHOT_H_

#include <string>
#include <vector>

#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/outliers.h"

namespace sgdspectra {

enum class MatrixKind { kHessian = 0, kGMatrix = 1 };
enum class BlockKind { kClass = 0, kFull = 1 };
const char* MatrixKindName(MatrixKind m);
const char* BlockKindName(BlockKind b);

struct SolverStats {
  int requested = 0;
  int converged = 0;
  long products = 0;
  long restarts = 0;
  double seconds = 0;
  SolverMethod method = SolverMethod::kLanczos;
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
  // |U_r^T x_b| / |x_b| for the block's parameters x_b (x^c, or all of x for kFull).
  double alignment_at_outliers = 0;  // r = outlier_count
  double alignment_at_expected = 0;  // r = expected_outliers
  // (1/r)|U_r^T Q|_F^2, r = expected_outliers, Q = basis of span(means) in block coordinates
  // (for kFull: I_k kron Q).
  double overlap_with_means = 0;
  SolverStats solver;       // the block's own solve
  SolverStats edge_solver;  // the null-model solve (zeros for other edge methods)
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
  int num_classes = 0;
  std::vector<double> weight_mean_products;  // k x k row-major: [c * k + a] = x^c . mu_a
  std::vector<double> off_mean_norms;        // |x^c - P_mu x^c| per class
  std::vector<double> weight_norms;          // |x^c| per class
  double sgd_seconds = 0;       // wall time of the SGD steps since the previous snapshot
  double analysis_seconds = 0;  // wall time of this snapshot's analysis
  long total_products = 0;      // operator applications in this snapshot
};

struct ClassifierRank {
  std::vector<int> h_block_outliers;  // outlier count of each class block of H
  std::vector<int> g_block_outliers;  // outlier count of each class block of G
  int outlier_rank = 0;               // min over class blocks of the H counts
  int weight_rank = 0;                // numerical rank of the k x d weight matrix
  std::vector<double> weight_singular_values;
  int expected_rank = 0;        // k
  bool rank_deficient = false;  // outlier_rank < expected_rank
};

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SNAPSHOT_H_
