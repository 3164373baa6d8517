// Outlier detection: which of the top eigenvalues stand clear of the bulk.
//
// An eigenvalue is an outlier when it exceeds the bulk edge estimate by a relative margin:
// value > edge * (1 + margin). The edge comes from one of:
//   kNullModel        top eigenvalue of the same matrix built on the null inputs (the sample
//                     with its cluster means removed, same per-sample weights). Default for
//                     input-space blocks, whose outliers come from the mean structure.
//   kMarchenkoPastur  the right edge of the deformed (weighted) Marchenko-Pastur law of the
//                     matrix's own per-sample weights and the inputs' noise variance
//                     (bulk_edge.h): no solve needed. For constant weights it is the classical
//                     sigma^2 (1 + sqrt(d / M))^2.
//   kLargestGap       the eigenvalue just below the largest ratio gap lambda_i / lambda_{i+1}
//                     among the top values, used only if that ratio exceeds gap_ratio
//                     (otherwise the edge is the top value and the count is 0).
//   kDecoyNull        top eigenvalue of the matrix built on decoy inputs: random directions
//                     orthogonal to the true means take the means' place. For hidden-space
//                     blocks (the XOR second layer) whose small eigenvalues come from finite-size
//                     overlaps that a pure-noise null would remove.
// Pure functions; thread-safe.
#ifndef SGDSPECTRA_CORE_OUTLIERS_H_
#define SGDSPECTRA_CORE_OUTLIERS_H_

#include "sgdspectra/core/types.h"

namespace sgdspectra {

enum class OutlierMethod { kNullModel = 0, kMarchenkoPastur = 1, kLargestGap = 2, kDecoyNull = 3 };
const char* OutlierMethodName(OutlierMethod m);

struct OutlierSettings {
  OutlierMethod method = OutlierMethod::kNullModel;
  double margin = 0.05;    // relative margin above the edge
  double gap_ratio = 2.0;  // kLargestGap: minimum ratio that counts as a gap
};

// Number of leading values (descending) with value > edge * (1 + margin).
int CountOutliers(const VectorXd& descending_values, double edge, double margin);

// Largest-gap rule over the descending values: returns the edge (the value below the gap),
// or values(0) when no ratio reaches gap_ratio (so no value counts as an outlier).
double LargestGapEdge(const VectorXd& descending_values, double gap_ratio);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_OUTLIERS_H_
