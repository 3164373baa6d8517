// The whole spectrum of a symmetric operator, estimated: stochastic Lanczos quadrature (SLQ)
// of its spectral density and Hutchinson's estimate of its trace, from the same probes.
//
// Method. For each of `probes` Rademacher vectors v (entries +-1, so |v|^2 = n), `lanczos_steps`
// steps of Lanczos from v / |v| (full reorthogonalization) give a tridiagonal T_m whose
// eigenvalues theta_i and first eigenvector components s_i are the m-node Gauss quadrature of
// the probe's spectral measure mu_v = sum_j (u_j . v)^2 / n delta(lambda_j):
//     sum_i s_i^2 p(theta_i) = v^T p(A) v / n   exactly for every polynomial p of degree < 2m.
// Since E[v v^T] = I, E[mu_v] is the normalized spectral density (1/n) sum_j delta(lambda_j);
// the estimate averages the probes' quadratures (every node weighs s_i^2 / probes). An outlier
// shows as a node at its eigenvalue with weight about 1/n: a spike on the bulk. Lanczos stops
// early when the Krylov space is exhausted (a matrix of low rank): the quadrature is then exact.
// Hutchinson: tr A = E[v^T A v]; the estimate is the probes' mean and its standard error their
// spread / sqrt(probes) (for Rademacher probes Var = 2 sum_{i != j} A_ij^2).
//
// Determinism: the probes come from Rng(seed, kDensityProbes, probe index); the Lanczos
// recurrences are sequential, so the result is bit-identical for a given operator.
// Thread-safety: reentrant; the operator is applied from the calling thread only.
#ifndef SGDSPECTRA_CORE_SPECTRAL_DENSITY_H_
#define SGDSPECTRA_CORE_SPECTRAL_DENSITY_H_

#include <cstdint>
#include <vector>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

struct DensitySettings {
  int probes = 10;         // Rademacher vectors
  int lanczos_steps = 40;  // quadrature nodes per probe (fewer if Lanczos breaks down)
  uint64_t seed = 1;
};

struct SpectralDensityEstimate {
  // Quadrature nodes of all probes, probe after probe: value theta_i and weight s_i^2 / probes
  // (the weights of one probe sum to 1 / probes, of all to 1).
  std::vector<double> node_values;
  std::vector<double> node_weights;
  std::vector<int> nodes_per_probe;
  double trace = 0;         // Hutchinson: mean of v^T A v
  double trace_stderr = 0;  // standard error of that mean (0 for a single probe)
  long products = 0;        // operator applications
  bool cancelled = false;   // `cancel` asked to stop; the other fields are then incomplete
};

// The probe with this index (entries +-1, n of them).
VectorXd RademacherProbe(uint64_t seed, int probe_index, long n);

// SLQ and Hutchinson over `settings.probes` probes; cancel (may be null) is polled between
// operator applications.
SpectralDensityEstimate EstimateSpectralDensity(const SymmetricOperator& op,
                                                const DensitySettings& settings,
                                                const CancelFn& cancel);

// The estimate as a density on `grid`: every node a Gaussian of standard deviation sigma > 0.
std::vector<double> BroadenedDensity(const SpectralDensityEstimate& estimate,
                                     const std::vector<double>& grid, double sigma);

// The estimate's mass in each bin [edges[b], edges[b + 1]) (edges ascending; the last bin
// includes its right end). Mass outside the edges is not counted.
std::vector<double> BinnedMass(const SpectralDensityEstimate& estimate,
                               const std::vector<double>& edges);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SPECTRAL_DENSITY_H_
