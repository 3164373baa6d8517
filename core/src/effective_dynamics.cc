#include "sgdspectra/core/effective_dynamics.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/softmax_model.h"
#include "sgdspectra/core/two_layer_model.h"
#include "task_run.h"

namespace sgdspectra {
namespace {

// ---------------------------------------------------------------------------------------------
// Gaussian point sets: E f(Z), Z ~ N(0, I_dim), as sum_i w_i f(z_i).
struct GaussianPoints {
  int dim = 0;
  MatrixXd z;  // dim x N
  VectorXd w;  // N, sums to 1
  bool tensor = false;
  int nodes = 0;  // tensor: nodes per dimension
};

int DefaultNodes(int dim) {
  static const int kNodes[] = {64, 64, 32, 14, 8, 6};
  return dim < 6 ? kNodes[dim] : 7;
}

// The first `count` primes.
std::vector<int> Primes(int count) {
  std::vector<int> primes;
  for (int n = 2; static_cast<int>(primes.size()) < count; ++n) {
    bool prime = true;
    for (int p : primes) {
      if (p * p > n) break;
      if (n % p == 0) prime = false;
    }
    if (prime) primes.push_back(n);
  }
  return primes;
}

// Kronecker (Richtmyer) lattice: u_ij = frac(i sqrt(p_j)), i = 1..n, in (0, 1). dim x n.
MatrixXd KroneckerLattice(int dim, long n) {
  const std::vector<int> primes = Primes(std::max(dim, 1));
  MatrixXd u(dim, n);
  for (int j = 0; j < dim; ++j) {
    const double root = std::sqrt(static_cast<double>(primes[j]));
    const double alpha = root - std::floor(root);
    for (long i = 0; i < n; ++i) {
      const double x = static_cast<double>(i + 1) * alpha;
      u(j, i) = x - std::floor(x);
    }
  }
  return u;
}

Status MakeTensorPoints(int dim, int nodes, GaussianPoints* out) {
  GaussHermiteRule rule;
  const Status s = MakeGaussHermiteRule(nodes, &rule);
  if (!s.ok()) return s;
  long total = 1;
  for (int j = 0; j < dim; ++j) total *= nodes;
  out->dim = dim;
  out->tensor = true;
  out->nodes = nodes;
  out->z.resize(dim, total);
  out->w.resize(total);
  for (long i = 0; i < total; ++i) {
    long rest = i;
    double weight = 1;
    for (int j = 0; j < dim; ++j) {
      const int index = static_cast<int>(rest % nodes);
      rest /= nodes;
      out->z(j, i) = rule.nodes[index];
      weight *= rule.weights[index];
    }
    out->w[i] = weight;
  }
  return Status::Ok();
}

void MakeLatticePoints(int dim, long n, GaussianPoints* out) {
  out->dim = dim;
  out->tensor = false;
  out->z = KroneckerLattice(dim, n);
  for (long i = 0; i < out->z.size(); ++i) out->z.data()[i] = NormalQuantile(out->z.data()[i]);
  out->w = VectorXd::Constant(n, 1.0 / static_cast<double>(n));
}

// The rule the options ask for; refine = the finer rule used for the error estimate.
Status MakePoints(int dim, const EffectiveDynamicsOptions& o, bool refine, GaussianPoints* out) {
  int nodes = o.quadrature_nodes > 0 ? o.quadrature_nodes : DefaultNodes(dim);
  if (refine) nodes += std::max(3, nodes / 3);
  const double total = std::pow(static_cast<double>(nodes), dim);
  const double cap = static_cast<double>(o.max_tensor_points) * (refine ? 4.0 : 1.0);
  if (total <= cap) return MakeTensorPoints(dim, nodes, out);
  if (o.lattice_points < 16) return Status::InvalidArgument("lattice_points: must be >= 16");
  MakeLatticePoints(dim, o.lattice_points * (refine ? 2 : 1), out);
  return Status::Ok();
}

// L with L L^T = cov: Cholesky, or a clamped eigen square root when cov is only semi-definite.
MatrixXd CovarianceFactor(const MatrixXd& cov) {
  Eigen::LLT<MatrixXd> llt(cov);
  if (llt.info() == Eigen::Success) return llt.matrixL();
  Eigen::SelfAdjointEigenSolver<MatrixXd> eig(cov);
  const VectorXd root = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return eig.eigenvectors() * root.asDiagonal();
}

// ---------------------------------------------------------------------------------------------
// Dormand-Prince 5(4) with error control (Hairer, Norsett, Wanner, II.4/II.5).
using Rhs = std::function<Status(const VectorXd& y, VectorXd* dy)>;

struct OdeState {
  double t = 0;
  VectorXd y;
  VectorXd f;    // F(y) (first-same-as-last)
  double h = 0;  // next step to try
  long accepted = 0;
  long rejected = 0;
};

constexpr double kA[7][6] = {
    {0, 0, 0, 0, 0, 0},
    {1.0 / 5, 0, 0, 0, 0, 0},
    {3.0 / 40, 9.0 / 40, 0, 0, 0, 0},
    {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0, 0},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0, 0},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656, 0},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
// 5th-order weights are kA[6]; the error is sum (b5 - b4)_i k_i.
constexpr double kE[7] = {71.0 / 57600,      0,          -71.0 / 16695, 71.0 / 1920,
                          -17253.0 / 339200, 22.0 / 525, -1.0 / 40};

// One trial step of size h: the 5th-order solution, F at it, and the scaled error norm.
Status TrialStep(const Rhs& rhs, const OdeState& s, double h, const EffectiveDynamicsOptions& o,
                 VectorXd* y_new, VectorXd* f_new, double* err) {
  std::vector<VectorXd> k(7);
  k[0] = s.f;
  for (int stage = 1; stage < 7; ++stage) {
    VectorXd y = s.y;
    for (int j = 0; j < stage; ++j) {
      if (kA[stage][j] != 0) y += h * kA[stage][j] * k[j];
    }
    const Status st = rhs(y, &k[stage]);
    if (!st.ok()) return st;
    if (stage == 6) *y_new = y;
  }
  *f_new = k[6];
  VectorXd e = VectorXd::Zero(s.y.size());
  for (int j = 0; j < 7; ++j) e += h * kE[j] * k[j];
  double norm = 0;
  for (long i = 0; i < e.size(); ++i) {
    const double scale = o.atol + o.rtol * std::max(std::abs(s.y[i]), std::abs((*y_new)[i]));
    norm = std::max(norm, std::abs(e[i]) / scale);
  }
  *err = norm;
  return y_new->allFinite() ? Status::Ok()
                            : Status::NumericalError("effective dynamics: state is not finite");
}

// What every drift evaluation returns once options.cancel fires.
Status Cancelled() {
  return Status::Cancelled("cancelled while integrating the effective dynamics");
}

// Advances s to exactly t_end.
Status Advance(const Rhs& rhs, double t_end, const EffectiveDynamicsOptions& o, OdeState* s) {
  VectorXd y_new, f_new;
  while (s->t < t_end) {
    if (s->accepted + s->rejected >= o.max_steps) {
      return Status::NumericalError("effective dynamics: max_steps reached at t = " +
                                    std::to_string(s->t));
    }
    const bool last = s->t + s->h >= t_end;
    const double h = last ? t_end - s->t : s->h;
    double err = 0;
    const Status st = TrialStep(rhs, *s, h, o, &y_new, &f_new, &err);
    if (!st.ok()) return st;
    const double factor = std::min(5.0, std::max(0.2, 0.9 * std::pow(std::max(err, 1e-12), -0.2)));
    if (err <= 1.0) {
      s->t = last ? t_end : s->t + h;
      s->y.swap(y_new);
      s->f.swap(f_new);
      ++s->accepted;
      if (!last || factor < 1.0) s->h = h * factor;
    } else {
      ++s->rejected;
      s->h = h * std::min(1.0, factor);
      if (s->h < 1e-14 * std::max(1.0, s->t)) {
        return Status::NumericalError("effective dynamics: step size underflow at t = " +
                                      std::to_string(s->t));
      }
    }
  }
  return Status::Ok();
}

Status StartOde(const Rhs& rhs, const VectorXd& y0, OdeState* s) {
  s->t = 0;
  s->y = y0;
  s->h = 1e-3;
  s->accepted = s->rejected = 0;
  return rhs(y0, &s->f);
}

// Classical RK4 with steps of at most h_max to exactly t_end: for Task B, whose quadrature
// drift has small jumps in the state (indicators at fixed nodes) that defeat error control.
Status AdvanceRk4(const Rhs& rhs, double t_end, double h_max, long max_steps, OdeState* s) {
  VectorXd k2, k3, k4;
  while (s->t < t_end) {
    if (s->accepted >= max_steps) return Status::NumericalError("effective dynamics: max_steps");
    const double h = std::min(h_max, t_end - s->t);
    Status st = rhs(s->y + 0.5 * h * s->f, &k2);
    if (st.ok()) st = rhs(s->y + 0.5 * h * k2, &k3);
    if (st.ok()) st = rhs(s->y + h * k3, &k4);
    if (!st.ok()) return st;
    s->y += h / 6 * (s->f + 2 * k2 + 2 * k3 + k4);
    s->t = s->t + h >= t_end - 1e-12 * t_end ? t_end : s->t + h;
    ++s->accepted;
    st = rhs(s->y, &s->f);
    if (!st.ok()) return st;
    if (!s->y.allFinite()) return Status::NumericalError("effective dynamics: state not finite");
  }
  return Status::Ok();
}

// Integrates until max |F| <= tol or t >= t_max, in doubling chunks.
Status AdvanceToLimit(const Rhs& rhs, const EffectiveDynamicsOptions& o, OdeState* s,
                      bool* converged) {
  double chunk = std::max(1.0, s->t);
  *converged = s->f.lpNorm<Eigen::Infinity>() <= o.limit_drift_tol;
  while (!*converged && s->t < o.limit_max_time) {
    const Status st = Advance(rhs, std::min(o.limit_max_time, s->t + chunk), o, s);
    if (!st.ok()) return st;
    chunk *= 2;
    *converged = s->f.lpNorm<Eigen::Infinity>() <= o.limit_drift_tol;
  }
  return Status::Ok();
}

// The largest change of the drift, over the states, when the finer rule replaces the rule.
Status QuadratureError(const Rhs& rule, const Rhs& finer, const std::vector<VectorXd>& states,
                       double* error) {
  VectorXd f_rule, f_finer;
  *error = 0;
  for (const VectorXd& y : states) {
    Status st = rule(y, &f_rule);
    if (st.ok()) st = finer(y, &f_finer);
    if (!st.ok()) return st;
    *error = std::max(*error, (f_finer - f_rule).lpNorm<Eigen::Infinity>());
  }
  return Status::Ok();
}

Status CheckTimes(const std::vector<double>& times) {
  for (size_t i = 0; i < times.size(); ++i) {
    if (!(times[i] >= 0) || !std::isfinite(times[i]) || (i > 0 && times[i] < times[i - 1])) {
      return Status::InvalidArgument("times: must be finite, >= 0 and ascending");
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Task A internals. State: vec(m) column-major (k^2), then R's upper triangle row by row.
int KgmmStateSize(int k) { return k * k + k * (k + 1) / 2; }

VectorXd PackKgmm(const KgmmStatistics& s) {
  const int k = static_cast<int>(s.m.rows());
  VectorXd y(KgmmStateSize(k));
  y.head(k * k) = Eigen::Map<const VectorXd>(s.m.data(), k * k);
  int i = k * k;
  for (int c = 0; c < k; ++c) {
    for (int e = c; e < k; ++e) y[i++] = s.r(c, e);
  }
  return y;
}

KgmmStatistics UnpackKgmm(const VectorXd& y, int k) {
  KgmmStatistics s;
  s.m = Eigen::Map<const MatrixXd>(y.data(), k, k);
  s.r.resize(k, k);
  int i = k * k;
  for (int c = 0; c < k; ++c) {
    for (int e = c; e < k; ++e) s.r(c, e) = s.r(e, c) = y[i++];
  }
  return s;
}

// Per-class Gaussian expectations of the softmax quantities.
struct KgmmMoments {
  MatrixXd gbar;               // k x k, column a = E_a[p - e_a]
  std::vector<MatrixXd> hbar;  // E_a[diag p - p p^T]
  std::vector<MatrixXd> gg;    // E_a[(p - e_a)(p - e_a)^T]
  VectorXd loss;               // E_a[lse(l) - l_a]
};

Status KgmmClassMoments(const KgmmDynamicsParams& p, const KgmmStatistics& s,
                        const GaussianPoints& pts, KgmmMoments* out) {
  const int k = p.num_classes;
  const MatrixXd l_factor = CovarianceFactor(s.r / p.snr);
  out->gbar = MatrixXd::Zero(k, k);
  out->hbar.assign(k, MatrixXd());
  out->gg.assign(k, MatrixXd());
  out->loss = VectorXd::Zero(k);
  const MatrixXd noise = l_factor * pts.z;  // k x N
  VectorXd logits(k), probs(k), mean_p(k);
  MatrixXd second(k, k);
  for (int a = 0; a < k; ++a) {
    // Accumulates E[p], E[p p^T] and E[lse]; H, g and g g^T follow from them.
    mean_p.setZero();
    second.setZero();
    double lse_sum = 0;
    for (long i = 0; i < pts.z.cols(); ++i) {
      const double w = pts.w[i];
      logits = s.m.col(a) + noise.col(i);
      lse_sum += w * StableSoftmax(logits.data(), k, probs.data());
      mean_p += w * probs;
      second.selfadjointView<Eigen::Lower>().rankUpdate(probs, w);
    }
    const MatrixXd pp = second.selfadjointView<Eigen::Lower>();  // E[p p^T], both triangles
    out->gbar.col(a) = mean_p;
    out->gbar(a, a) -= 1.0;
    out->hbar[a] = MatrixXd(mean_p.asDiagonal()) - pp;
    out->gg[a] = pp - mean_p * Eigen::RowVectorXd::Unit(k, a) -
                 Eigen::VectorXd::Unit(k, a) * mean_p.transpose();
    out->gg[a](a, a) += 1.0;
    out->loss[a] = lse_sum - s.m(a, a) - noise.row(a).dot(pts.w);  // E[lse - l_a]
  }
  return out->gbar.allFinite() ? Status::Ok()
                               : Status::NumericalError("k-GMM expectations are not finite");
}

VectorXd ClassProbs(const KgmmDynamicsParams& p) {
  if (p.class_probs.empty()) return VectorXd::Constant(p.num_classes, 1.0 / p.num_classes);
  return Eigen::Map<const VectorXd>(p.class_probs.data(), p.num_classes);
}

MatrixXd Gram(const KgmmDynamicsParams& p) {
  return p.mean_gram.size() == 0 ? MatrixXd::Identity(p.num_classes, p.num_classes) : p.mean_gram;
}

KgmmStatistics AssembleKgmmDrift(const KgmmDynamicsParams& p, const KgmmStatistics& s,
                                 const KgmmMoments& mom) {
  const int k = p.num_classes;
  const VectorXd pi = ClassProbs(p);
  const MatrixXd gram = Gram(p);
  KgmmStatistics f;
  f.m = -p.ridge * s.m;
  MatrixXd a = MatrixXd::Zero(k, k);
  MatrixXd corrector = MatrixXd::Zero(k, k);
  for (int c = 0; c < k; ++c) {
    f.m -= pi[c] * (mom.gbar.col(c) * gram.row(c) + mom.hbar[c] * s.m / p.snr);
    a += pi[c] * (mom.gbar.col(c) * s.m.col(c).transpose() + mom.hbar[c] * s.r / p.snr);
    corrector += pi[c] * mom.gg[c];
  }
  f.r = -2.0 * p.ridge * s.r - (a + a.transpose()) + (p.c_delta / p.snr) * corrector;
  return f;
}

Status KgmmDriftWith(const KgmmDynamicsParams& p, const KgmmStatistics& s,
                     const GaussianPoints& pts, KgmmStatistics* drift) {
  KgmmMoments mom;
  const Status st = KgmmClassMoments(p, s, pts, &mom);
  if (!st.ok()) return st;
  *drift = AssembleKgmmDrift(p, s, mom);
  return Status::Ok();
}

Status CheckKgmm(const KgmmDynamicsParams& p, const KgmmStatistics& s) {
  const int k = p.num_classes;
  if (k < 2 || k > 64) return Status::InvalidArgument("num_classes: must be in [2, 64]");
  if (!(p.snr > 0) || !(p.ridge >= 0) || !(p.c_delta > 0)) {
    return Status::InvalidArgument("snr, c_delta must be > 0 and ridge >= 0");
  }
  if (!p.class_probs.empty() && static_cast<int>(p.class_probs.size()) != k) {
    return Status::InvalidArgument("class_probs: must have k entries");
  }
  if (p.mean_gram.size() != 0 && (p.mean_gram.rows() != k || p.mean_gram.cols() != k)) {
    return Status::InvalidArgument("mean_gram: must be k x k");
  }
  if (s.m.rows() != k || s.m.cols() != k || s.r.rows() != k || s.r.cols() != k) {
    return Status::InvalidArgument("statistics: m and R must be k x k");
  }
  if (!s.m.allFinite() || !s.r.allFinite()) {
    return Status::InvalidArgument("statistics: not finite");
  }
  return Status::Ok();
}

// Genz's separation of variables for P(nu + L y > 0), y ~ N(0, I_q), L lower triangular,
// over the lattice u ((q-1) x N; unused for q = 1).
double OrthantProbability(const VectorXd& nu, const MatrixXd& l, const MatrixXd& u) {
  const int q = static_cast<int>(nu.size());
  const long n = q == 1 ? 1 : u.cols();
  VectorXd y(q);
  double sum = 0;
  for (long i = 0; i < n; ++i) {
    double f = 1;
    for (int j = 0; j < q && f > 0; ++j) {
      const double shift = nu[j] + l.row(j).head(j).dot(y.head(j));
      const double e = NormalCdf(shift / l(j, j));
      f *= e;
      if (j + 1 < q) y[j] = -NormalQuantile((1.0 - u(j, i)) * e);
    }
    sum += f;
  }
  return sum / static_cast<double>(n);
}

// P(argmax l = a) for every class a, averaged with the class probabilities.
double KgmmAccuracy(const KgmmDynamicsParams& p, const KgmmStatistics& s, const MatrixXd& u) {
  const int k = p.num_classes;
  const VectorXd pi = ClassProbs(p);
  double accuracy = 0;
  for (int a = 0; a < k; ++a) {
    MatrixXd diff = MatrixXd::Zero(k - 1, k);  // w_j = l_a - l_j
    for (int j = 0, row = 0; j < k; ++j) {
      if (j == a) continue;
      diff(row, a) = 1;
      diff(row++, j) = -1;
    }
    const VectorXd nu = diff * s.m.col(a);
    MatrixXd cov = diff * s.r * diff.transpose() / p.snr;
    cov.diagonal().array() += 1e-14 * (1.0 + cov.trace());
    const MatrixXd l = Eigen::LLT<MatrixXd>(cov).matrixL();
    accuracy += pi[a] * OrthantProbability(nu, l, u);
  }
  return accuracy;
}

// Fills everything but the fluctuation from the statistics.
Status KgmmPoint(const KgmmDynamicsParams& p, const KgmmStatistics& s, const GaussianPoints& pts,
                 const MatrixXd& lattice, double t, KgmmPredictionPoint* out) {
  const int k = p.num_classes;
  KgmmMoments mom;
  const Status st = KgmmClassMoments(p, s, pts, &mom);
  if (!st.ok()) return st;
  const KgmmStatistics f = AssembleKgmmDrift(p, s, mom);
  const MatrixXd gram_inv = Gram(p).inverse();
  out->time = t;
  out->stats = s;
  out->weight_norms = s.r.diagonal().cwiseMax(0.0).cwiseSqrt();
  out->off_mean_norms.resize(k);
  out->alignment.resize(k);
  for (int c = 0; c < k; ++c) {
    const double in_span = s.m.row(c) * gram_inv * s.m.row(c).transpose();
    out->off_mean_norms[c] = std::sqrt(std::max(0.0, s.r(c, c) - in_span));
    out->alignment[c] = std::sqrt(std::max(0.0, in_span) / s.r(c, c));
  }
  out->test_loss = ClassProbs(p).dot(mom.loss);
  out->test_accuracy = KgmmAccuracy(p, s, lattice);
  out->drift_norm = std::max(f.m.lpNorm<Eigen::Infinity>(), f.r.lpNorm<Eigen::Infinity>());
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Linear-noise fluctuations (shared by both tasks): P' = J P + P J^T + Sigma, by Heun's method
// on a grid, J by central differences of the drift and Sigma from the task.
using DriftFn = std::function<Status(const VectorXd& y, VectorXd* f)>;
using NoiseFn = std::function<Status(const VectorXd& y, MatrixXd* sigma)>;

Status DriftJacobian(const DriftFn& drift, const VectorXd& y, MatrixXd* jac) {
  const long n = y.size();
  jac->resize(n, n);
  VectorXd plus, minus;
  for (long i = 0; i < n; ++i) {
    const double h = 1e-4 * std::max(1.0, std::abs(y[i]));
    VectorXd yp = y, ym = y;
    yp[i] += h;
    ym[i] -= h;
    Status st = drift(yp, &plus);
    if (st.ok()) st = drift(ym, &minus);
    if (!st.ok()) return st;
    jac->col(i) = (plus - minus) / (2 * h);
  }
  return Status::Ok();
}

struct Linearisation {
  MatrixXd jac;
  MatrixXd sigma;
  MatrixXd Rate(const MatrixXd& p) const { return jac * p + p * jac.transpose() + sigma; }
};

Status Linearise(const DriftFn& drift, const NoiseFn& noise, const VectorXd& y,
                 Linearisation* out) {
  const Status st = DriftJacobian(drift, y, &out->jac);
  return st.ok() ? noise(y, &out->sigma) : st;
}

// Stop times: the requested ones, plus (for the fluctuations) grid points at most max_gap apart.
std::vector<std::pair<double, int>> StopTimes(const std::vector<double>& times, bool grid,
                                              double max_gap) {
  std::vector<std::pair<double, int>> stops;  // (time, index of the requested time or -1)
  double previous = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    if (grid) {
      const int pieces = static_cast<int>(std::ceil((times[i] - previous) / max_gap - 1e-12));
      for (int j = 1; j < pieces; ++j) {
        stops.push_back({previous + (times[i] - previous) * j / pieces, -1});
      }
    }
    stops.push_back({times[i], static_cast<int>(i)});
    previous = times[i];
  }
  return stops;
}

// Integrates to every stop; calls emit(index, state, P) at requested times.
Status IntegrateWithFluctuations(
    const Rhs& rhs, const DriftFn& low_drift, const NoiseFn& noise, const VectorXd& y0,
    const std::vector<double>& times, const EffectiveDynamicsOptions& o, OdeState* ode,
    const std::function<Status(int, const OdeState&, const MatrixXd&)>& emit) {
  Status st = StartOde(rhs, y0, ode);
  if (!st.ok()) return st;
  MatrixXd p = MatrixXd::Zero(y0.size(), y0.size());
  Linearisation previous;
  if (o.fluctuations) st = Linearise(low_drift, noise, y0, &previous);
  for (const auto& [time, index] : StopTimes(times, o.fluctuations, o.fluctuation_max_gap)) {
    const double h = time - ode->t;
    if (st.ok()) st = Advance(rhs, time, o, ode);
    if (st.ok() && o.fluctuations && h > 0) {
      Linearisation next;
      st = Linearise(low_drift, noise, ode->y, &next);
      const MatrixXd rate = previous.Rate(p);
      p += 0.5 * h * (rate + next.Rate(p + h * rate));
      previous = std::move(next);
    }
    if (st.ok() && index >= 0) st = emit(index, *ode, p);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// Task A's Sigma: covariance over the mixture of the per-sample increment direction
// D = (-(p - e_a) (Y . mu_e))_{c,e} (m part) and -(g_c l_c' + g_c' l_c)_{c <= c'} (R part).
MatrixXd KgmmNoise(const KgmmDynamicsParams& p, const KgmmStatistics& s,
                   const GaussianPoints& pts) {
  const int k = p.num_classes, n = KgmmStateSize(k);
  const VectorXd pi = ClassProbs(p);
  const MatrixXd gram = Gram(p);
  const MatrixXd l_factor = CovarianceFactor(s.r / p.snr);
  // u = Y . mu given l: mean Gram_a + B xi, covariance C (the part of u independent of l).
  const Eigen::LDLT<MatrixXd> r_solve(s.r);
  const MatrixXd b = s.m.transpose() * r_solve.solve(l_factor);
  MatrixXd c = (gram - s.m.transpose() * r_solve.solve(s.m)) / p.snr;
  c = 0.5 * (c + c.transpose());
  MatrixXd second = MatrixXd::Zero(n, n), gg = MatrixXd::Zero(k, k);
  VectorXd mean = VectorXd::Zero(n), dvec(n), logits(k), probs(k), g(k), u(k);
  for (int a = 0; a < k; ++a) {
    for (long i = 0; i < pts.z.cols(); ++i) {
      const double w = pi[a] * pts.w[i];
      logits = s.m.col(a) + l_factor * pts.z.col(i);
      StableSoftmax(logits.data(), k, probs.data());
      g = probs;
      g[a] -= 1.0;
      u = gram.col(a) + b * pts.z.col(i);
      for (int e = 0; e < k; ++e) dvec.segment(e * k, k) = -u[e] * g;
      for (int c1 = 0, j = k * k; c1 < k; ++c1) {
        for (int c2 = c1; c2 < k; ++c2) dvec[j++] = -(g[c1] * logits[c2] + g[c2] * logits[c1]);
      }
      mean += w * dvec;
      second.noalias() += (w * dvec) * dvec.transpose();
      gg.noalias() += (w * g) * g.transpose();
    }
  }
  for (int e1 = 0; e1 < k; ++e1) {
    for (int e2 = 0; e2 < k; ++e2) second.block(e1 * k, e2 * k, k, k) += c(e1, e2) * gg;
  }
  return second - mean * mean.transpose();
}

// ---------------------------------------------------------------------------------------------
// Task B internals. State: a (K), b (K), Q's upper triangle row by row, v (K).
constexpr int kXorClusters = 4;  // +mu, -mu (label 1), +nu, -nu (label 0)

int XorStateSize(int k) { return 3 * k + k * (k + 1) / 2; }

VectorXd PackXor(const XorStatistics& s) {
  const int k = static_cast<int>(s.a.size());
  VectorXd y(XorStateSize(k));
  y << s.a, s.b, VectorXd::Zero(k * (k + 1) / 2), s.v;
  int i = 2 * k;
  for (int c = 0; c < k; ++c) {
    for (int e = c; e < k; ++e) y[i++] = s.q(c, e);
  }
  return y;
}

XorStatistics UnpackXor(const VectorXd& y, int k) {
  XorStatistics s;
  s.a = y.head(k);
  s.b = y.segment(k, k);
  s.q.resize(k, k);
  int i = 2 * k;
  for (int c = 0; c < k; ++c) {
    for (int e = c; e < k; ++e) s.q(c, e) = s.q(e, c) = y[i++];
  }
  s.v = y.tail(k);
  return s;
}

struct XorMoments {
  VectorXd ra, rb;  // E[r 1_i (Y . mu)], E[r 1_i (Y . nu)]
  MatrixXd rh;      // E[r 1_i h_j]
  MatrixXd rr;      // E[r^2 1_i 1_j]
  VectorXd rv;      // E[r relu(h_i)]
  double loss = 0, accuracy = 0;
};

// Cluster c's mean of h, label, and the means of Y . mu and Y . nu.
void XorCluster(const XorStatistics& s, int c, VectorXd* mean, int* label, double* smu,
                double* snu) {
  const double sign = c % 2 == 0 ? 1.0 : -1.0;
  *mean = sign * (c < 2 ? s.a : s.b);
  *label = c < 2 ? 1 : 0;
  *smu = c < 2 ? sign : 0.0;
  *snu = c < 2 ? 0.0 : sign;
}

Status XorMomentsWith(const XorDynamicsParams& p, const XorStatistics& s, const GaussianPoints& pts,
                      XorMoments* out) {
  const int k = p.hidden;
  const MatrixXd l_factor = CovarianceFactor(s.q / p.snr);
  // E[Y . e | h] = s_e + (L^T Q^{-1} e_W) . xi, e_W = a (mu) or b (nu).
  const Eigen::LDLT<MatrixXd> q_solve(s.q);
  const VectorXd cmu = l_factor.transpose() * q_solve.solve(s.a);
  const VectorXd cnu = l_factor.transpose() * q_solve.solve(s.b);
  *out = XorMoments();
  out->ra = out->rb = out->rv = VectorXd::Zero(k);
  out->rh = out->rr = MatrixXd::Zero(k, k);
  VectorXd mean, h(k), act(k), relu(k), wra(k);
  for (int c = 0; c < kXorClusters; ++c) {
    int y;
    double smu, snu;
    XorCluster(s, c, &mean, &y, &smu, &snu);
    for (long i = 0; i < pts.z.cols(); ++i) {
      const double w = 0.25 * pts.w[i];
      h = mean + l_factor * pts.z.col(i);
      act = (h.array() > 0).cast<double>();
      relu = h.cwiseMax(0.0);
      const double f = s.v.dot(relu);
      const double r = Sigmoid(f) - y;
      wra = (w * r) * act;
      out->ra += (smu + cmu.dot(pts.z.col(i))) * wra;
      out->rb += (snu + cnu.dot(pts.z.col(i))) * wra;
      out->rh.noalias() += wra * h.transpose();
      out->rr.noalias() += (r * wra) * act.transpose();
      out->rv += (w * r) * relu;
      out->loss += w * (Softplus(f) - y * f);
      out->accuracy += w * ((f > 0) == (y == 1) ? 1.0 : 0.0);
    }
  }
  return out->rh.allFinite() ? Status::Ok()
                             : Status::NumericalError("XOR expectations are not finite");
}

XorStatistics AssembleXorDrift(const XorDynamicsParams& p, const XorStatistics& s,
                               const XorMoments& mom) {
  XorStatistics f;
  f.a = -p.ridge * s.a - s.v.cwiseProduct(mom.ra);
  f.b = -p.ridge * s.b - s.v.cwiseProduct(mom.rb);
  const MatrixXd vm = s.v.asDiagonal() * mom.rh;
  f.q = -2.0 * p.ridge * s.q - (vm + vm.transpose()) +
        (p.c_delta / p.snr) * (s.v.asDiagonal() * mom.rr * s.v.asDiagonal());
  f.v = -p.ridge * s.v - mom.rv;
  return f;
}

Status CheckXor(const XorDynamicsParams& p, const XorStatistics& s) {
  const int k = p.hidden;
  if (k < 1 || k > 64) return Status::InvalidArgument("hidden: must be in [1, 64]");
  if (!(p.snr > 0) || !(p.ridge >= 0) || !(p.c_delta > 0)) {
    return Status::InvalidArgument("snr, c_delta must be > 0 and ridge >= 0");
  }
  if (s.a.size() != k || s.b.size() != k || s.v.size() != k || s.q.rows() != k || s.q.cols() != k) {
    return Status::InvalidArgument("statistics: a, b, v must have K entries and Q be K x K");
  }
  if (!s.a.allFinite() || !s.b.allFinite() || !s.q.allFinite() || !s.v.allFinite()) {
    return Status::InvalidArgument("statistics: not finite");
  }
  return Status::Ok();
}

Status XorPoint(const XorDynamicsParams& p, const XorStatistics& s, const GaussianPoints& pts,
                const GaussianPoints& lattice, double t, XorPredictionPoint* out) {
  XorMoments mom, lat;
  Status st = XorMomentsWith(p, s, pts, &mom);
  if (st.ok()) st = XorMomentsWith(p, s, lattice, &lat);
  if (!st.ok()) return st;
  const XorStatistics f = AssembleXorDrift(p, s, mom);
  out->time = t;
  out->stats = s;
  out->weight_norms = s.q.diagonal().cwiseMax(0.0).cwiseSqrt();
  const VectorXd in_span = s.a.cwiseAbs2() + s.b.cwiseAbs2();
  out->off_mean_norms = (s.q.diagonal() - in_span).cwiseMax(0.0).cwiseSqrt();
  out->alignment = in_span.cwiseSqrt().cwiseQuotient(out->weight_norms);
  // Accuracy integrates an indicator: the lattice, not the tensor rule.
  out->test_accuracy = lat.accuracy;
  out->test_loss = mom.loss;
  out->drift_norm = PackXor(f).lpNorm<Eigen::Infinity>();
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
Status MakeGaussHermiteRule(int n, GaussHermiteRule* rule) {
  if (n < 1 || n > 200) return Status::InvalidArgument("Gauss-Hermite nodes: must be in [1, 200]");
  MatrixXd jacobi = MatrixXd::Zero(n, n);  // probabilists' Hermite recurrence
  for (int i = 1; i < n; ++i) jacobi(i, i - 1) = jacobi(i - 1, i) = std::sqrt(i);
  Eigen::SelfAdjointEigenSolver<MatrixXd> eig(jacobi);
  rule->nodes.resize(n);
  rule->weights.resize(n);
  double total = 0;
  for (int i = 0; i < n; ++i) {
    rule->nodes[i] = eig.eigenvalues()[i];
    rule->weights[i] = eig.eigenvectors()(0, i) * eig.eigenvectors()(0, i);
    total += rule->weights[i];
  }
  for (double& w : rule->weights) w /= total;
  // Exact symmetry (the eigen-solver leaves O(eps) asymmetry).
  for (int i = 0; i < n / 2; ++i) {
    const double x = 0.5 * (rule->nodes[n - 1 - i] - rule->nodes[i]);
    const double w = 0.5 * (rule->weights[i] + rule->weights[n - 1 - i]);
    rule->nodes[i] = -x;
    rule->nodes[n - 1 - i] = x;
    rule->weights[i] = rule->weights[n - 1 - i] = w;
  }
  if (n % 2 == 1) rule->nodes[n / 2] = 0;
  return Status::Ok();
}

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double NormalQuantile(double p) {
  if (!(p > 0)) return -std::numeric_limits<double>::infinity();
  if (!(p < 1)) return std::numeric_limits<double>::infinity();
  // Acklam's rational approximation (relative error 1.15e-9) ...
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  // Upper half by symmetry: 1 - p is exact for p in [0.5, 1).
  if (p > 0.5) return -NormalQuantile(1.0 - p);
  const double low = 0.02425;
  double x;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // ... then one Halley step on Phi(x) - p (cubic convergence: to rounding).
  const double e = NormalCdf(x) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

// ---------------------------------------------------------------------------------------------
Status KgmmParamsFromSpec(const ExperimentSpec& spec, KgmmDynamicsParams* p) {
  if (spec.task != TaskKind::kKgmm) return Status::InvalidArgument("task: not k-GMM");
  const int k = spec.kgmm.num_classes;
  p->num_classes = k;
  p->snr = spec.kgmm.snr;
  p->ridge = spec.kgmm.ridge;
  p->c_delta = spec.ResolvedStepSize() * static_cast<double>(spec.kgmm.dim);
  p->class_probs = spec.kgmm.class_probs;
  if (!p->class_probs.empty()) {
    double total = 0;
    for (double x : p->class_probs) total += x;
    for (double& x : p->class_probs) x /= total;
  }
  p->mean_gram.resize(0, 0);
  if (!spec.kgmm.mean_gram.empty()) {
    p->mean_gram = Eigen::Map<const RowMatrix>(spec.kgmm.mean_gram.data(), k, k);
  }
  return Status::Ok();
}

KgmmStatistics KgmmStatisticsOf(const RowMatrix& weights, const RowMatrix& means) {
  KgmmStatistics s;
  s.m = weights * means.transpose();
  s.r = weights * weights.transpose();
  return s;
}

Status InitialKgmmStatistics(const ExperimentSpec& spec, KgmmStatistics* stats) {
  GaussianMixture mixture;
  const Status st = BuildMixture(spec, &mixture);
  if (!st.ok()) return st;
  *stats = KgmmStatisticsOf(InitialSoftmaxWeights(spec), mixture.centers());  // the run's own
  return Status::Ok();
}

Status KgmmDrift(const KgmmDynamicsParams& params, const KgmmStatistics& stats,
                 const EffectiveDynamicsOptions& options, KgmmStatistics* drift) {
  Status st = CheckKgmm(params, stats);
  if (!st.ok()) return st;
  GaussianPoints pts;
  st = MakePoints(params.num_classes, options, false, &pts);
  if (!st.ok()) return st;
  return KgmmDriftWith(params, stats, pts, drift);
}

Status PredictKgmm(const KgmmDynamicsParams& params, const KgmmStatistics& initial,
                   const std::vector<double>& times, const EffectiveDynamicsOptions& options,
                   KgmmPrediction* prediction) {
  const int k = params.num_classes;
  Status st = CheckKgmm(params, initial);
  if (st.ok()) st = CheckTimes(times);
  if (st.ok() && options.lattice_points < 16) {
    st = Status::InvalidArgument("lattice_points: must be >= 16");
  }
  GaussianPoints pts, fine, low;
  if (st.ok()) st = MakePoints(k, options, false, &pts);
  if (st.ok()) st = MakePoints(k, options, true, &fine);
  EffectiveDynamicsOptions low_options = options;
  low_options.quadrature_nodes = std::max(5, pts.tensor ? pts.nodes / 2 : 0);
  low_options.lattice_points = std::max(16L, options.lattice_points / 4);
  if (st.ok() && options.fluctuations) st = MakePoints(k, low_options, false, &low);
  if (!st.ok()) return st;
  const auto drift_with = [&](const GaussianPoints& rule) {
    return [&params, &rule, &options, k](const VectorXd& y, VectorXd* f) {
      if (options.cancel && options.cancel()) return Cancelled();
      KgmmStatistics drift;
      const Status s = KgmmDriftWith(params, UnpackKgmm(y, k), rule, &drift);
      if (s.ok()) *f = PackKgmm(drift);
      return s;
    };
  };
  const Rhs rhs = drift_with(pts);
  const NoiseFn noise = [&](const VectorXd& y, MatrixXd* sigma) {
    *sigma = KgmmNoise(params, UnpackKgmm(y, k), low);
    return Status::Ok();
  };
  const MatrixXd lattice = KroneckerLattice(std::max(1, k - 2), options.lattice_points);
  const MatrixXd half_lattice = lattice.leftCols(options.lattice_points / 2);
  *prediction = KgmmPrediction();
  prediction->points.resize(times.size());
  OdeState ode;
  st = IntegrateWithFluctuations(rhs, drift_with(low), noise, PackKgmm(initial), times, options,
                                 &ode, [&](int index, const OdeState& state, const MatrixXd& p) {
                                   KgmmPredictionPoint& point = prediction->points[index];
                                   if (options.fluctuations) point.fluctuation = p;
                                   return KgmmPoint(params, UnpackKgmm(state.y, k), pts, lattice,
                                                    state.t, &point);
                                 });
  if (!st.ok()) return st;
  // Error estimates: the drift with the finer rule at the start and at the last time; the
  // accuracy with half the lattice at the last time.
  st = QuadratureError(rhs, drift_with(fine), {PackKgmm(initial), ode.y},
                       &prediction->quadrature_error);
  if (!st.ok()) return st;
  if (k > 2 && !times.empty()) {
    const KgmmStatistics last = UnpackKgmm(ode.y, k);
    prediction->accuracy_error =
        std::abs(KgmmAccuracy(params, last, lattice) - KgmmAccuracy(params, last, half_lattice));
  }
  if (options.compute_limit) {
    st = AdvanceToLimit(rhs, options, &ode, &prediction->limit_converged);
    if (st.ok()) {
      st = KgmmPoint(params, UnpackKgmm(ode.y, k), pts, lattice, ode.t, &prediction->limit);
    }
    if (!st.ok()) return st;
  }
  prediction->steps_accepted = ode.accepted;
  prediction->steps_rejected = ode.rejected;
  return Status::Ok();
}

Status XorParamsFromSpec(const ExperimentSpec& spec, XorDynamicsParams* p) {
  if (spec.task != TaskKind::kXor) return Status::InvalidArgument("task: not XOR");
  p->hidden = spec.xor_task.hidden;
  p->snr = spec.xor_task.snr;
  p->ridge = spec.xor_task.ridge;
  p->c_delta = spec.ResolvedStepSize() * static_cast<double>(spec.xor_task.dim);
  return Status::Ok();
}

XorStatistics XorStatisticsOf(const RowMatrix& w, const VectorXd& v, const VectorXd& mu,
                              const VectorXd& nu) {
  XorStatistics s;
  s.a = w * mu;
  s.b = w * nu;
  s.q = w * w.transpose();
  s.v = v;
  return s;
}

Status InitialXorStatistics(const ExperimentSpec& spec, XorStatistics* stats) {
  GaussianMixture mixture;
  const Status st = BuildMixture(spec, &mixture);
  if (!st.ok()) return st;
  const TwoLayerParams initial = InitialTwoLayerParams(spec);  // the run's own draw
  *stats = XorStatisticsOf(initial.w, initial.v, mixture.centers().row(0).transpose(),
                           mixture.centers().row(2).transpose());
  return Status::Ok();
}

Status XorDrift(const XorDynamicsParams& params, const XorStatistics& stats,
                const EffectiveDynamicsOptions& options, XorStatistics* drift) {
  Status st = CheckXor(params, stats);
  GaussianPoints pts;
  if (st.ok() && options.xor_lattice_points < 16) {
    st = Status::InvalidArgument("xor_lattice_points: must be >= 16");
  }
  if (st.ok()) MakeLatticePoints(params.hidden, options.xor_lattice_points, &pts);
  XorMoments mom;
  if (st.ok()) st = XorMomentsWith(params, stats, pts, &mom);
  if (st.ok()) *drift = AssembleXorDrift(params, stats, mom);
  return st;
}

Status PredictXor(const XorDynamicsParams& params, const XorStatistics& initial,
                  const std::vector<double>& times, const EffectiveDynamicsOptions& options,
                  XorPrediction* prediction) {
  const int k = params.hidden;
  Status st = CheckXor(params, initial);
  if (st.ok()) st = CheckTimes(times);
  if (st.ok() && (options.xor_lattice_points < 16 || options.lattice_points < 16)) {
    st = Status::InvalidArgument("xor_lattice_points, lattice_points: must be >= 16");
  }
  if (!st.ok()) return st;
  // The lattice, not Gauss-Hermite: the integrands have kinks (docs/THEORY.md, section 4).
  GaussianPoints pts, fine, lattice;
  MakeLatticePoints(k, options.xor_lattice_points, &pts);
  MakeLatticePoints(k, 4 * options.xor_lattice_points, &fine);
  MakeLatticePoints(k, options.lattice_points, &lattice);
  const auto drift_with = [&](const GaussianPoints& rule) {
    return [&params, &rule, &options, k](const VectorXd& y, VectorXd* f) {
      if (options.cancel && options.cancel()) return Cancelled();
      XorMoments mom;
      const XorStatistics s = UnpackXor(y, k);
      const Status status = XorMomentsWith(params, s, rule, &mom);
      if (status.ok()) *f = PackXor(AssembleXorDrift(params, s, mom));
      return status;
    };
  };
  const Rhs rhs = drift_with(pts);
  *prediction = XorPrediction();
  prediction->points.resize(times.size());
  OdeState ode;
  st = StartOde(rhs, PackXor(initial), &ode);
  for (size_t i = 0; i < times.size() && st.ok(); ++i) {
    st = AdvanceRk4(rhs, times[i], options.xor_step, options.max_steps, &ode);
    if (st.ok()) {
      st = XorPoint(params, UnpackXor(ode.y, k), pts, lattice, ode.t, &prediction->points[i]);
    }
  }
  if (!st.ok()) return st;
  st = QuadratureError(rhs, drift_with(fine), {PackXor(initial), ode.y},
                       &prediction->quadrature_error);
  if (!st.ok()) return st;
  if (options.compute_limit) {
    // Fixed steps of 4 xor_step up to xor_limit_time, stopping early when the drift is tiny.
    const double t_limit = std::max(options.xor_limit_time, ode.t);
    while (ode.t < t_limit && !prediction->limit_converged && st.ok()) {
      st = AdvanceRk4(rhs, std::min(t_limit, ode.t + 10.0), 4 * options.xor_step, options.max_steps,
                      &ode);
      prediction->limit_converged = ode.f.lpNorm<Eigen::Infinity>() <= options.limit_drift_tol;
    }
    if (st.ok()) {
      st = XorPoint(params, UnpackXor(ode.y, k), pts, lattice, ode.t, &prediction->limit);
    }
    if (!st.ok()) return st;
  }
  prediction->steps_accepted = ode.accepted;
  prediction->steps_rejected = ode.rejected;
  return Status::Ok();
}

}  // namespace sgdspectra
