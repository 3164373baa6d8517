#include "sgdspectra/core/theory_track.h"

#include <chrono>

#include "sgdspectra/core/effective_dynamics.h"

namespace sgdspectra {
namespace {

std::vector<double> ToVector(const VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

// Row-major num_blocks x num_means from a blocks x means matrix.
std::vector<double> RowMajor(const MatrixXd& m) {
  std::vector<double> out;
  out.reserve(m.size());
  for (long r = 0; r < m.rows(); ++r) {
    for (long c = 0; c < m.cols(); ++c) out.push_back(m(r, c));
  }
  return out;
}

TheoryPoint FromKgmm(const KgmmPredictionPoint& p) {
  TheoryPoint point;
  point.time = p.time;
  point.weight_mean_products = RowMajor(p.stats.m);  // m(c, a) = x^c . mu_a
  point.weight_norms = ToVector(p.weight_norms);
  point.off_mean_norms = ToVector(p.off_mean_norms);
  point.alignment = ToVector(p.alignment);
  point.test_accuracy = p.test_accuracy;
  point.test_loss = p.test_loss;
  point.drift_norm = p.drift_norm;
  return point;
}

TheoryPoint FromXor(const XorPredictionPoint& p) {
  TheoryPoint point;
  point.time = p.time;
  MatrixXd products(p.stats.a.size(), 2);  // (W_i . mu, W_i . nu), the Snapshot's order
  products << p.stats.a, p.stats.b;
  point.weight_mean_products = RowMajor(products);
  point.weight_norms = ToVector(p.weight_norms);
  point.off_mean_norms = ToVector(p.off_mean_norms);
  point.alignment = ToVector(p.alignment);
  point.second_layer_weights = ToVector(p.stats.v);
  point.test_accuracy = p.test_accuracy;
  point.test_loss = p.test_loss;
  point.drift_norm = p.drift_norm;
  return point;
}

Status PredictKgmmRun(const ExperimentSpec& spec, const std::vector<double>& times,
                      const EffectiveDynamicsOptions& options, TheoryTrack* track) {
  KgmmDynamicsParams params;
  KgmmStatistics initial;
  Status st = KgmmParamsFromSpec(spec, &params);
  if (st.ok()) st = InitialKgmmStatistics(spec, &initial);
  KgmmPrediction prediction;
  if (st.ok()) st = PredictKgmm(params, initial, times, options, &prediction);
  if (!st.ok()) return st;
  for (const KgmmPredictionPoint& p : prediction.points) track->points.push_back(FromKgmm(p));
  track->limit = FromKgmm(prediction.limit);
  track->limit_converged = prediction.limit_converged;
  track->quadrature_error = prediction.quadrature_error;
  track->accuracy_error = prediction.accuracy_error;
  return Status::Ok();
}

Status PredictXorRun(const ExperimentSpec& spec, const std::vector<double>& times,
                     const EffectiveDynamicsOptions& options, TheoryTrack* track) {
  XorDynamicsParams params;
  XorStatistics initial;
  Status st = XorParamsFromSpec(spec, &params);
  if (st.ok()) st = InitialXorStatistics(spec, &initial);
  XorPrediction prediction;
  if (st.ok()) st = PredictXor(params, initial, times, options, &prediction);
  if (!st.ok()) return st;
  for (const XorPredictionPoint& p : prediction.points) track->points.push_back(FromXor(p));
  track->limit = FromXor(prediction.limit);
  track->limit_converged = prediction.limit_converged;
  track->quadrature_error = prediction.quadrature_error;
  return Status::Ok();
}

}  // namespace

Status PredictRun(const ExperimentSpec& spec, const std::vector<double>& times,
                  const CancelFn& cancel, TheoryTrack* track) {
  const auto start = std::chrono::steady_clock::now();
  *track = TheoryTrack();
  EffectiveDynamicsOptions options;
  options.cancel = cancel;
  const Status st = spec.task == TaskKind::kXor ? PredictXorRun(spec, times, options, track)
                                                : PredictKgmmRun(spec, times, options, track);
  track->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (st.code() == StatusCode::kCancelled) return st;
  if (!st.ok()) return Status(st.code(), "analysis.theory: " + st.message());
  return Status::Ok();
}

}  // namespace sgdspectra
