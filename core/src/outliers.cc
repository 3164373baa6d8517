#include "sgdspectra/core/outliers.h"

#include <cmath>

namespace sgdspectra {

const char* OutlierMethodName(OutlierMethod m) {
  switch (m) {
    case OutlierMethod::kNullModel:
      return "null_model";
    case OutlierMethod::kMarchenkoPastur:
      return "marchenko_pastur";
    case OutlierMethod::kLargestGap:
      return "largest_gap";
    case OutlierMethod::kDecoyNull:
      return "decoy_null";
  }
  return "unknown";
}

int CountOutliers(const VectorXd& descending_values, double edge, double margin) {
  const double threshold = edge * (1.0 + margin);
  int count = 0;
  while (count < descending_values.size() && descending_values[count] > threshold) ++count;
  return count;
}

double LargestGapEdge(const VectorXd& descending_values, double gap_ratio) {
  const long r = descending_values.size();
  if (r == 0) return 0.0;
  long best = -1;
  double best_ratio = gap_ratio;
  for (long i = 0; i + 1 < r; ++i) {
    const double below = descending_values[i + 1];
    if (below <= 0) break;
    const double ratio = descending_values[i] / below;
    if (ratio >= best_ratio) {
      best_ratio = ratio;
      best = i;
    }
  }
  // With a margin of 0, values strictly above the returned edge are the ones above the gap.
  return best < 0 ? descending_values[0] : descending_values[best + 1];
}

}  // namespace sgdspectra
