// Effective dynamics: the high-dimensional limit ODE of online SGD's summary statistics
// (Ben Arous, Gheissari, Jagannath 2022), for both tasks of docs/SCIENCE.md. The derivation,
// its assumptions and its error terms are in docs/THEORY.md; this header states the result.
//
// Time t = steps * c_delta / d (the snapshots' time). As d -> infinity with c_delta fixed the
// statistics below follow u' = F(u), a drift (population gradient) plus a corrector (the
// step's noise, through |Y|^2 ~ d / lambda).
//
// Task A, k-GMM + softmax. Statistics m_ca = x^c . mu_a, R_cc' = x^c . x^c' (k x k each).
// Given class a the logits l = (x^c . Y)_c are exactly N(m_{.a}, R / lambda). With p =
// softmax(l), g = p - e_a, H = diag(p) - p p^T, and per class a
//     gbar^a = E_a[g],  Hbar^a = E_a[H],  Gbar^a = E_a[g g^T],
// (pi_a the class probabilities, Gram = mu mu^T, mu the k x d means)
//     m' = -beta m - sum_a pi_a (gbar^a Gram_{a.} + Hbar^a m / lambda)
//     R' = -2 beta R - (A + A^T) + (c_delta / lambda) sum_a pi_a Gbar^a,
//     A  = sum_a pi_a (gbar^a m_{.a}^T + Hbar^a R / lambda).
// Any SPD Gram is handled (the orthonormal default is Gram = I).
//
// Task B, XOR + two-layer ReLU. Statistics a_i = W_i . mu, b_i = W_i . nu, Q_ij = W_i . W_j,
// v_i. Cluster s in {+mu, -mu, +nu, -nu} (prob 1/4, label y_s): h = W Y ~ N(hbar_s, Q / lambda)
// with hbar = +-a or +-b; f = v . relu(h), r = sigmoid(f) - y, 1_i = 1{h_i > 0}, and
// xi_e = Y . e for e in {mu, nu} has E[xi_e | h] = s_e + e_W^T Q^{-1} (h - hbar_s):
//     a_i' = -alpha a_i - v_i E[r 1_i xi_mu],   b_i' = -alpha b_i - v_i E[r 1_i xi_nu]
//     Q_ij' = -2 alpha Q_ij - v_i E[r 1_i h_j] - v_j E[r 1_j h_i]
//             + (c_delta / lambda) v_i v_j E[r^2 1_i 1_j]
//     v_i'  = -alpha v_i - E[r relu(h_i)].
//
// Expectations: Task A, a tensor-product Gauss-Hermite rule over the k-dimensional Gaussian
// when n^k is small, otherwise a deterministic Kronecker (Richtmyer) lattice mapped through the
// normal quantile; Task B (kinks: ReLU, indicators), always the lattice. Test accuracy of the
// k-GMM: Genz's separation of variables over the (k-1)-dimensional orthant probability, on a
// Kronecker lattice (exact Phi for k = 2). Integration: Dormand-Prince 5(4) with error control,
// landing exactly on requested times (Task B: classical RK4 with a fixed step, see xor_step). The
// reported quadrature_error is the largest change of the drift at the start and at the end when the
// rule is refined (more nodes / twice the points; Task B: 4x the points).
//
// Fluctuations (optional, Task A only): the linear-noise (diffusion) correction. Around the ODE the
// statistics fluctuate by O(sqrt(c_delta / d)); their covariance is (c_delta / d) P(t) with
//     P' = J P + P J^T + Sigma,   P(0) = 0,
// J the Jacobian of the drift (central differences) and Sigma the per-sample covariance of
// the increment direction. Used to derive test tolerances; see docs/THEORY.md.
//
// Pure functions over caller-owned values; thread-safe. No exceptions: Status values.
#ifndef SGDSPECTRA_CORE_EFFECTIVE_DYNAMICS_H_
#define SGDSPECTRA_CORE_EFFECTIVE_DYNAMICS_H_

#include <vector>

#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

// Gauss-Hermite rule for the standard normal (probabilists'): sum_i w_i f(z_i) ~ E f(Z),
// sum w_i = 1, exact for polynomials of degree <= 2n - 1. Golub-Welsch; n in [1, 200].
struct GaussHermiteRule {
  std::vector<double> nodes;
  std::vector<double> weights;
};
Status MakeGaussHermiteRule(int n, GaussHermiteRule* rule);

// Standard normal CDF and quantile (Acklam's rational start, 1e-9, then one Halley step: close
// to rounding wherever Phi itself is resolved). Quantile of p outside (0, 1) is +-infinity.
double NormalCdf(double x);
double NormalQuantile(double p);

struct EffectiveDynamicsOptions {
  // Gauss-Hermite nodes per dimension; 0 = by dimension (k=1: 64, 2: 32, 3: 14, 4: 8, 5: 6).
  // Dimensions whose tensor rule would exceed max_tensor_points use the lattice instead.
  int quadrature_nodes = 0;
  long max_tensor_points = 200000;
  long lattice_points = 1 << 15;     // Kronecker lattice size (expectations and accuracy)
  double rtol = 1e-6;                // Dormand-Prince relative tolerance
  double atol = 1e-8;                // and absolute tolerance per component
  long max_steps = 1000000;          // accepted + rejected steps before giving up
  double limit_drift_tol = 1e-7;     // the limit: integrate until max |F| <= this ...
  double limit_max_time = 1e4;       // ... or until this time (then limit_converged = false)
  bool fluctuations = false;         // also integrate the linear-noise covariance P(t)
  double fluctuation_max_gap = 0.5;  // Heun grid for P: at most this far apart in t
  bool compute_limit = true;
  // Task B only: fixed RK4 step (its quadrature drift jumps slightly as nodes cross the ReLU
  // kinks, which defeats error control), and the time its limit integration stops at.
  double xor_step = 0.1;
  // Task B's expectations: Kronecker lattice size (the tensor rule does not converge on the
  // kinks; the lattice does, about 1e-4 at 2^13 points). quadrature_error compares with 4x.
  long xor_lattice_points = 1 << 13;
  double xor_limit_time = 100;
  // Polled before every drift evaluation (milliseconds apart); true stops the prediction with
  // StatusCode::kCancelled. Unset = never.
  CancelFn cancel;
};

// ---------------------------------------------------------------------------------------------
// Task A.
struct KgmmDynamicsParams {
  int num_classes = 4;              // k
  double snr = 20.0;                // lambda
  double ridge = 0.1;               // beta
  double c_delta = 1.0;             // step * d
  std::vector<double> class_probs;  // k entries summing to 1 (empty = uniform)
  MatrixXd mean_gram;               // k x k SPD (empty = identity)
};
// From a validated spec (step_size overrides c_delta as c_delta = step_size * d).
Status KgmmParamsFromSpec(const ExperimentSpec& spec, KgmmDynamicsParams* params);

struct KgmmStatistics {
  MatrixXd m;  // k x k, m(c, a) = x^c . mu_a
  MatrixXd r;  // k x k, r(c, c') = x^c . x^c'
};
// From k x d weights (row c = x^c) and k x d means.
KgmmStatistics KgmmStatisticsOf(const RowMatrix& weights, const RowMatrix& means);
// The job's own statistics at t = 0: the spec's means and initial weights, drawn exactly as
// the run draws them (kgmm_run.cc).
Status InitialKgmmStatistics(const ExperimentSpec& spec, KgmmStatistics* stats);

struct KgmmPredictionPoint {
  double time = 0;
  KgmmStatistics stats;
  VectorXd weight_norms;     // sqrt(R_cc)
  VectorXd off_mean_norms;   // sqrt(R_cc - m_c. Gram^{-1} m_c.^T)
  VectorXd alignment;        // |P x^c| / |x^c|, P the projector on span(means)
  double test_accuracy = 0;  // P(argmax_c l_c = a), averaged over classes
  double test_loss = 0;      // E[logsumexp(l) - l_a]
  double drift_norm = 0;     // max |F(u)| at this point
  // fluctuations only: the covariance P of the packed state (vec(m) column-major, then R's
  // upper triangle row by row, c <= c'); times c_delta / d it is the covariance at dim d.
  MatrixXd fluctuation;
};

struct KgmmPrediction {
  std::vector<KgmmPredictionPoint> points;  // at the requested times, in order
  KgmmPredictionPoint limit;                // at the end of the limit integration
  bool limit_converged = false;             // max |F| fell below limit_drift_tol
  double quadrature_error = 0;              // see the header comment
  double accuracy_error = 0;                // lattice error estimate of test_accuracy
  long steps_accepted = 0;
  long steps_rejected = 0;
};

// The drift F at the statistics (no integration), for tests and callers.
Status KgmmDrift(const KgmmDynamicsParams& params, const KgmmStatistics& stats,
                 const EffectiveDynamicsOptions& options, KgmmStatistics* drift);
// Integrates from `initial` and reports at `times` (ascending, >= 0).
Status PredictKgmm(const KgmmDynamicsParams& params, const KgmmStatistics& initial,
                   const std::vector<double>& times, const EffectiveDynamicsOptions& options,
                   KgmmPrediction* prediction);

// ---------------------------------------------------------------------------------------------
// Task B.
struct XorDynamicsParams {
  int hidden = 4;        // K
  double snr = 1000.0;   // lambda
  double ridge = 0.1;    // alpha
  double c_delta = 1.0;  // step * d
};
Status XorParamsFromSpec(const ExperimentSpec& spec, XorDynamicsParams* params);

struct XorStatistics {
  VectorXd a;  // K: W_i . mu
  VectorXd b;  // K: W_i . nu
  MatrixXd q;  // K x K: W_i . W_j
  VectorXd v;  // K: second layer
};
// From K x d first-layer weights, the second layer and mu, nu (d each).
XorStatistics XorStatisticsOf(const RowMatrix& w, const VectorXd& v, const VectorXd& mu,
                              const VectorXd& nu);
Status InitialXorStatistics(const ExperimentSpec& spec, XorStatistics* stats);

struct XorPredictionPoint {
  double time = 0;
  XorStatistics stats;
  VectorXd weight_norms;    // sqrt(Q_ii)
  VectorXd off_mean_norms;  // sqrt(Q_ii - a_i^2 - b_i^2)
  VectorXd alignment;       // sqrt(a_i^2 + b_i^2) / |W_i|
  double test_accuracy = 0;
  double test_loss = 0;
  double drift_norm = 0;
};

struct XorPrediction {
  std::vector<XorPredictionPoint> points;
  XorPredictionPoint limit;
  bool limit_converged = false;
  double quadrature_error = 0;
  long steps_accepted = 0;
  long steps_rejected = 0;
};

Status XorDrift(const XorDynamicsParams& params, const XorStatistics& stats,
                const EffectiveDynamicsOptions& options, XorStatistics* drift);
Status PredictXor(const XorDynamicsParams& params, const XorStatistics& initial,
                  const std::vector<double>& times, const EffectiveDynamicsOptions& options,
                  XorPrediction* prediction);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_EFFECTIVE_DYNAMICS_H_
