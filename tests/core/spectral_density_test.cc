#include "sgdspectra/core/spectral_density.h"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <vector>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

// A white sample covariance (1/M) Y^T Y, d = n, with one spike of strength theta along e_0:
// a Marchenko-Pastur bulk and an outlier at (1 + theta)(1 + gamma / theta).
MatrixXd SpikedCovariance(long n, long m, double theta, uint64_t seed) {
  Rng rng(seed, 3);
  RowMatrix y(m, n);
  rng.FillNormal(y.data(), y.size());
  y.col(0) *= std::sqrt(1.0 + theta);
  return (y.transpose() * y) / static_cast<double>(m);
}

TEST(SpectralDensityTest, EachProbeIntegratesPolynomialsExactlyUpToDegree2mMinus1) {
  const long n = 120;
  const int steps = 8;
  const MatrixXd a = SpikedCovariance(n, 240, 3.0, 1);
  DenseSymmetricOperator op(a);
  DensitySettings settings;
  settings.probes = 1;
  settings.lanczos_steps = steps;
  settings.seed = 17;
  const SpectralDensityEstimate e = EstimateSpectralDensity(op, settings, nullptr);
  ASSERT_EQ(e.node_values.size(), static_cast<size_t>(steps));
  const VectorXd v = RademacherProbe(17, 0, n);
  VectorXd power = v;  // A^p v
  for (int p = 0; p < 2 * steps; ++p) {
    const double exact = v.dot(power) / n;
    double quadrature = 0;
    for (size_t i = 0; i < e.node_values.size(); ++i) {
      quadrature += e.node_weights[i] * std::pow(e.node_values[i], p);
    }
    // Rounding: Lanczos with full reorthogonalization keeps the moments to about
    // 1e-13 relative; degree 2m - 1 = 15 powers of a matrix of norm ~ 6 lose a few digits.
    EXPECT_NEAR(quadrature / exact, 1.0, 1e-9) << "degree " << p;
    power = a * power;
  }
}

TEST(SpectralDensityTest, TraceIsWithinItsOwnErrorBarAndTheErrorBarIsRight) {
  const long n = 300;
  const MatrixXd a = SpikedCovariance(n, 600, 2.0, 2);
  DenseSymmetricOperator op(a);
  DensitySettings settings;
  settings.probes = 40;
  settings.lanczos_steps = 5;
  settings.seed = 3;
  const SpectralDensityEstimate e = EstimateSpectralDensity(op, settings, nullptr);
  EXPECT_EQ(e.products, 40 * 5);
  // Four standard errors: fails by chance with probability 6e-5.
  EXPECT_NEAR(e.trace, a.trace(), 4 * e.trace_stderr);
  // The error bar itself: for Rademacher probes Var(v^T A v) = 2 sum_{i != j} A_ij^2. The
  // sample standard deviation of 40 draws is within 1.5x of the truth with overwhelming
  // probability (its relative error is about 1 / sqrt(2 * 39) = 0.11).
  const double off_diagonal = a.squaredNorm() - a.diagonal().squaredNorm();
  const double theory = std::sqrt(2 * off_diagonal / settings.probes);
  EXPECT_GT(e.trace_stderr, theory / 1.5);
  EXPECT_LT(e.trace_stderr, theory * 1.5);
}

TEST(SpectralDensityTest, DistributionMatchesTheDenseSpectrumWithinQuadratureAndProbeError) {
  const long n = 400;
  const double theta = 4.0, gamma = 0.5;
  const MatrixXd a = SpikedCovariance(n, static_cast<long>(n / gamma), theta, 5);
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense(a, Eigen::EigenvaluesOnly);
  const VectorXd exact = dense.eigenvalues();  // ascending
  DenseSymmetricOperator op(a);
  DensitySettings settings;
  settings.probes = 20;
  settings.lanczos_steps = 60;
  const SpectralDensityEstimate e = EstimateSpectralDensity(op, settings, nullptr);

  // Tolerance on the distribution functions at each x, from the estimator's two errors:
  // - quadrature (Chebyshev-Markov-Stieltjes): between a probe's nodes theta_k <= x <
  //   theta_{k+1}, its Gauss distribution function is within max(w_k, w_{k+1}) of its true one;
  //   summed over probes (the stored weights are already divided by the probe count);
  // - probes: F_v(x) = v^T P_x v / n has variance 2 sum_{i != j} P_ij^2 / n^2 <= 2 F / n,
  //   so the mean over probes has standard deviation <= sqrt(2 / (n probes)); 4 of those.
  const double probe_tol = 4 * std::sqrt(2.0 / (n * settings.probes));
  double worst_excess = -1;  // max over x of |error| - tolerance(x): must stay below 0
  for (long j = 0; j < n; ++j) {
    const double x = exact[j];
    const double exact_cdf = static_cast<double>(j + 1) / n;
    double estimated_cdf = 0, quadrature_tol = 0;
    size_t first = 0;
    for (int count : e.nodes_per_probe) {
      double adjacent = 0;  // weight of the nodes on either side of x
      for (int i = 0; i < count; ++i) {
        const double value = e.node_values[first + i], weight = e.node_weights[first + i];
        if (value <= x) estimated_cdf += weight;
        const bool left_of_x = value <= x && (i + 1 == count || e.node_values[first + i + 1] > x);
        const bool right_of_x = value > x && (i == 0 || e.node_values[first + i - 1] <= x);
        if (left_of_x || right_of_x) adjacent = std::max(adjacent, weight);
      }
      quadrature_tol += adjacent;
      first += count;
    }
    const double error = std::abs(estimated_cdf - exact_cdf);
    worst_excess = std::max(worst_excess, error - (quadrature_tol + probe_tol));
  }
  EXPECT_LT(worst_excess, 0.0);

  // The spike: the largest node sits on the outlier (Lanczos finds extreme eigenvalues
  // first), with the mass of one eigenvalue, 1/n, within the probes' spread.
  const double top_node = *std::max_element(e.node_values.begin(), e.node_values.end());
  EXPECT_NEAR(top_node / exact[n - 1], 1.0, 1e-8);
  // Between the bulk and the outlier there is no eigenvalue, and the nodes put less than one
  // eigenvalue's mass there.
  const std::vector<double> mass = BinnedMass(e, {exact[n - 2] * 1.05, exact[n - 1] * 0.95});
  EXPECT_LT(mass[0], 1.0 / n);
}

TEST(SpectralDensityTest, LowRankOperatorsEndLanczosEarlyWithAnExactQuadrature) {
  // Rank 3: the Krylov space of any probe has dimension <= 4 (with the null direction).
  const long n = 50;
  RowMatrix u(3, n);
  Rng rng(9, 1);
  rng.FillNormal(u.data(), u.size());
  const MatrixXd a = u.transpose() * u;
  DenseSymmetricOperator op(a);
  DensitySettings settings;
  settings.probes = 3;
  settings.lanczos_steps = 30;
  const SpectralDensityEstimate e = EstimateSpectralDensity(op, settings, nullptr);
  for (int count : e.nodes_per_probe) EXPECT_LE(count, 4);
  double total = 0;
  for (double w : e.node_weights) total += w;
  EXPECT_NEAR(total, 1.0, 1e-12);
}

TEST(SpectralDensityTest, SameSeedSameBitsAndCancellationStops) {
  const MatrixXd a = SpikedCovariance(80, 160, 1.0, 4);
  DenseSymmetricOperator op(a);
  DensitySettings settings;
  const SpectralDensityEstimate first = EstimateSpectralDensity(op, settings, nullptr);
  const SpectralDensityEstimate second = EstimateSpectralDensity(op, settings, nullptr);
  EXPECT_EQ(first.node_values, second.node_values);
  EXPECT_EQ(first.node_weights, second.node_weights);
  EXPECT_EQ(first.trace, second.trace);
  int polls = 0;
  const SpectralDensityEstimate stopped =
      EstimateSpectralDensity(op, settings, [&polls] { return ++polls > 5; });
  EXPECT_TRUE(stopped.cancelled);
  EXPECT_EQ(stopped.products, 5);
}

TEST(SpectralDensityTest, BroadenedDensityIntegratesToOne) {
  const MatrixXd a = SpikedCovariance(100, 200, 1.0, 6);
  DenseSymmetricOperator op(a);
  const SpectralDensityEstimate e = EstimateSpectralDensity(op, DensitySettings{}, nullptr);
  std::vector<double> grid;
  const double step = 0.01;
  for (double x = -1; x < 8; x += step) grid.push_back(x);
  const std::vector<double> density = BroadenedDensity(e, grid, 0.05);
  double integral = 0;
  for (double value : density) integral += value * step;
  // Riemann sum of Gaussians of width 5 steps, all well inside the grid: error ~ 1e-10.
  EXPECT_NEAR(integral, 1.0, 1e-6);
}

}  // namespace
}  // namespace sgdspectra
