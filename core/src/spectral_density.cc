#include "sgdspectra/core/spectral_density.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

// beta below this (relative to the largest |alpha| or beta seen) ends the recurrence: the
// Krylov space is invariant and the quadrature so far is exact.
constexpr double kBreakdownTol = 1e-12;

struct ProbeQuadrature {
  VectorXd values;
  VectorXd weights;           // s_i^2, summing to 1
  double quadratic_form = 0;  // v^T A v
  long products = 0;
  bool cancelled = false;
};

// Lanczos with full reorthogonalization (twice, classical Gram-Schmidt) from v / |v|.
ProbeQuadrature LanczosQuadrature(const SymmetricOperator& op, const VectorXd& v, int steps,
                                  const CancelFn& cancel) {
  const long n = op.size();
  const int m = static_cast<int>(std::min<long>(steps, n));
  ProbeQuadrature out;
  MatrixXd basis(n, m);
  VectorXd alpha(m), beta(m);
  basis.col(0) = v / v.norm();
  VectorXd w(n);
  double scale = 0;
  int built = 0;
  for (int j = 0; j < m; ++j) {
    if (cancel && cancel()) {
      out.cancelled = true;
      return out;
    }
    op.Apply(basis.col(j).data(), w.data());
    ++out.products;
    alpha[j] = basis.col(j).dot(w);
    if (j == 0) out.quadratic_form = alpha[0] * v.squaredNorm();
    built = j + 1;
    if (j + 1 == m) break;
    for (int pass = 0; pass < 2; ++pass) {
      w -= basis.leftCols(j + 1) * (basis.leftCols(j + 1).transpose() * w);
    }
    beta[j] = w.norm();
    scale = std::max({scale, std::abs(alpha[j]), beta[j]});
    if (beta[j] <= kBreakdownTol * scale) break;
    basis.col(j + 1) = w / beta[j];
  }
  Eigen::SelfAdjointEigenSolver<MatrixXd> tridiagonal;
  tridiagonal.computeFromTridiagonal(alpha.head(built), beta.head(std::max(built - 1, 0)),
                                     Eigen::ComputeEigenvectors);
  out.values = tridiagonal.eigenvalues();
  out.weights = tridiagonal.eigenvectors().row(0).transpose().cwiseAbs2();
  return out;
}

}  // namespace

VectorXd RademacherProbe(uint64_t seed, int probe_index, long n) {
  Rng rng(seed, RngStream::kDensityProbes, static_cast<uint64_t>(probe_index));
  VectorXd v(n);
  for (long i = 0; i < n; ++i) v[i] = (rng.NextU64() >> 63) != 0 ? 1.0 : -1.0;
  return v;
}

SpectralDensityEstimate EstimateSpectralDensity(const SymmetricOperator& op,
                                                const DensitySettings& settings,
                                                const CancelFn& cancel) {
  SpectralDensityEstimate estimate;
  const int probes = std::max(settings.probes, 1);
  std::vector<double> forms;
  for (int p = 0; p < probes; ++p) {
    const VectorXd v = RademacherProbe(settings.seed, p, op.size());
    const ProbeQuadrature q = LanczosQuadrature(op, v, settings.lanczos_steps, cancel);
    estimate.products += q.products;
    if (q.cancelled) {
      estimate.cancelled = true;
      return estimate;
    }
    for (long i = 0; i < q.values.size(); ++i) {
      estimate.node_values.push_back(q.values[i]);
      estimate.node_weights.push_back(q.weights[i] / probes);
    }
    estimate.nodes_per_probe.push_back(static_cast<int>(q.values.size()));
    forms.push_back(q.quadratic_form);
  }
  double mean = 0;
  for (double f : forms) mean += f;
  mean /= probes;
  double squares = 0;
  for (double f : forms) squares += (f - mean) * (f - mean);
  estimate.trace = mean;
  estimate.trace_stderr = probes > 1 ? std::sqrt(squares / (probes - 1) / probes) : 0.0;
  return estimate;
}

std::vector<double> BroadenedDensity(const SpectralDensityEstimate& estimate,
                                     const std::vector<double>& grid, double sigma) {
  const double norm = 1.0 / (sigma * std::sqrt(2.0 * M_PI));
  std::vector<double> density(grid.size(), 0.0);
  for (size_t g = 0; g < grid.size(); ++g) {
    for (size_t i = 0; i < estimate.node_values.size(); ++i) {
      const double z = (grid[g] - estimate.node_values[i]) / sigma;
      density[g] += estimate.node_weights[i] * norm * std::exp(-0.5 * z * z);
    }
  }
  return density;
}

std::vector<double> BinnedMass(const SpectralDensityEstimate& estimate,
                               const std::vector<double>& edges) {
  if (edges.size() < 2) return {};
  std::vector<double> mass(edges.size() - 1, 0.0);
  for (size_t i = 0; i < estimate.node_values.size(); ++i) {
    const double x = estimate.node_values[i];
    if (x < edges.front() || x > edges.back()) continue;
    auto upper = std::upper_bound(edges.begin(), edges.end(), x);
    const size_t bin = std::min<size_t>(upper - edges.begin() - 1, mass.size() - 1);
    mass[bin] += estimate.node_weights[i];
  }
  return mass;
}

}  // namespace sgdspectra
