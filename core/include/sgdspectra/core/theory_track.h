// The effective-dynamics prediction of one run, laid out like its snapshots (analysis.theory).
//
// PredictRun integrates the limit ODE of effective_dynamics.h from the job's own statistics at
// t = 0 (its means and initial weights, drawn exactly as the run draws them) to every scheduled
// snapshot time, and on to the ODE's limit. Each TheoryPoint uses the Snapshot's layout, so a
// reader compares field by field: weight_mean_products[c * num_means + a], weight_norms,
// off_mean_norms per block, and for XOR the second layer. alignment[c] = |P x^c| / |x^c|, the
// fraction of the block's weight in span(means); the measured one is
// sqrt(1 - (off_mean_norms / weight_norms)^2).
//
// The prediction is the d -> infinity limit: the measured statistics differ from it by
// O(sqrt(c_delta / d)) fluctuations (docs/THEORY.md has their size and the measured gaps).
//
// Pure function of the spec; thread-safe. No exceptions: Status values.
#ifndef SGDSPECTRA_CORE_THEORY_TRACK_H_
#define SGDSPECTRA_CORE_THEORY_TRACK_H_

#include <vector>

#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

struct TheoryPoint {
  double time = 0;
  std::vector<double> weight_mean_products;  // num_classes x num_means, row-major (Snapshot's)
  std::vector<double> weight_norms;          // |x^c| (XOR: |W_i|)
  std::vector<double> off_mean_norms;        // |x^c - P x^c|
  std::vector<double> alignment;             // |P x^c| / |x^c|
  std::vector<double> second_layer_weights;  // XOR: v; empty for k-GMM
  double test_accuracy = 0;                  // population accuracy (an infinite test sample)
  double test_loss = 0;                      // population cross-entropy, data-fit part
  double drift_norm = 0;                     // max |u'| here: how far from a fixed point
};

struct TheoryTrack {
  std::vector<TheoryPoint> points;  // one per scheduled snapshot, in schedule order
  // Where the ODE settles: integrated until max |u'| <= 1e-7 or a time cap (k-GMM 1e4, XOR
  // 100); limit_converged says which.
  TheoryPoint limit;
  bool limit_converged = false;
  double quadrature_error = 0;  // largest drift change when the expectation rule is refined
  double accuracy_error = 0;    // k-GMM k > 2: lattice error of the last point's accuracy
  double seconds = 0;           // wall time of the prediction
};

// Largest k (k-GMM) and K (XOR) analysis.theory accepts; beyond them the expectations'
// lattices lose accuracy faster than a prediction is worth its cost (docs/THEORY.md).
constexpr int kMaxTheoryClasses = 8;
constexpr int kMaxTheoryHidden = 8;

// The prediction at `times` (ascending, >= 0; normally spec.SnapshotSteps() x step size) for a
// validated spec. `cancel` (may be empty) is polled before every drift evaluation; when it
// returns true the prediction stops with StatusCode::kCancelled.
Status PredictRun(const ExperimentSpec& spec, const std::vector<double>& times,
                  const CancelFn& cancel, TheoryTrack* track);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_THEORY_TRACK_H_
