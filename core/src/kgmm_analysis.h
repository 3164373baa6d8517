// The spectral analysis of one k-GMM snapshot: class blocks and full matrices of H and G,
// their bulk edges and outliers, alignment, overlap with the means, the Gur-Ari gradient
// overlap and the summary statistics. Internal to the core (used by experiment.cc).
//
// Ownership: the context holds references to the run's data, which must outlive it.
// Thread-safety: one analysis at a time per context (the pool is shared across products).
#ifndef SGDSPECTRA_CORE_SRC_KGMM_ANALYSIS_H_
#define SGDSPECTRA_CORE_SRC_KGMM_ANALYSIS_H_

#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra {

class KgmmSnapshotAnalyzer {
 public:
  KgmmSnapshotAnalyzer(const ExperimentSpec& spec, const GaussianMixture& mixture,
                       const SampleSet& test, ThreadPool* pool, const CancelFn& cancel);

  // Fills every analysis field of *out (not step, time, train metrics or sgd_seconds).
  // Returns Cancelled if the cancel hook fired during a solve, NumericalError on NaN/Inf.
  Status Analyze(const RowMatrix& weights, int snapshot_index, Snapshot* out) const;

 private:
  struct BlockTarget;
  // eigenvectors_out, when not null, receives the block's top eigenvectors.
  SpectrumReport AnalyzeBlock(const BlockTarget& target, uint64_t solve_seed, bool* cancelled,
                              MatrixXd* eigenvectors_out = nullptr) const;
  void FillSummary(const RowMatrix& weights, Snapshot* out) const;

  const ExperimentSpec& spec_;
  const GaussianMixture& mixture_;
  const SampleSet& test_;
  ThreadPool* pool_;
  const CancelFn& cancel_;
  MatrixXd mean_basis_;       // d x k orthonormal basis of span(means)
  MatrixXd full_mean_basis_;  // kd x k^2: I_k kron mean_basis_
  VectorXd row_sq_norms_;     // |Y_j|^2 of the test inputs (Marchenko-Pastur traces)
};

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SRC_KGMM_ANALYSIS_H_
