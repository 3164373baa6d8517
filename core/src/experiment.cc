#include "sgdspectra/core/experiment.h"

#include <Eigen/SVD>
#include <chrono>
#include <cmath>

#include "kgmm_analysis.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/softmax_model.h"

namespace sgdspectra {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How often (in SGD steps) the cancel hook is polled: rare enough to cost nothing against
// O(kd) per step, frequent enough to stop within milliseconds.
constexpr long kCancelPollSteps = 256;

ClassifierRank ComputeClassifierRank(const Snapshot& last, const RowMatrix& weights,
                                     const ExperimentSpec& spec) {
  ClassifierRank rank;
  const int k = spec.kgmm.num_classes;
  rank.expected_rank = k;
  for (const SpectrumReport& s : last.spectra) {
    if (s.block != BlockKind::kClass) continue;
    (s.matrix == MatrixKind::kHessian ? rank.h_block_outliers : rank.g_block_outliers)
        .push_back(s.outlier_count);
  }
  rank.outlier_rank = rank.h_block_outliers.empty() ? 0 : rank.h_block_outliers[0];
  for (int c : rank.h_block_outliers) rank.outlier_rank = std::min(rank.outlier_rank, c);
  Eigen::JacobiSVD<MatrixXd> svd{MatrixXd(weights)};
  const VectorXd sv = svd.singularValues();
  rank.weight_singular_values.assign(sv.data(), sv.data() + sv.size());
  rank.weight_rank = 0;
  for (long i = 0; i < sv.size(); ++i) {
    if (sv[i] > spec.analysis.rank_tolerance * sv[0]) ++rank.weight_rank;
  }
  rank.rank_deficient = rank.outlier_rank < rank.expected_rank;
  return rank;
}

}  // namespace

Status BuildMixture(const ExperimentSpec& spec, GaussianMixture* mixture) {
  return GaussianMixture::MakeKgmm(spec.kgmm.dim, spec.kgmm.num_classes, spec.kgmm.mean_gram,
                                   spec.kgmm.class_probs, spec.kgmm.snr, spec.seed, mixture);
}

SampleSet DrawTestSample(const ExperimentSpec& spec, const GaussianMixture& mixture,
                         ThreadPool* pool) {
  return mixture.DrawSampleSet(spec.TestSampleSize(), spec.seed, RngStream::kTestSample, pool);
}

ExperimentResult RunExperiment(const ExperimentSpec& spec, ExperimentObserver* observer,
                               const CancelFn& cancel) {
  ExperimentResult result;
  result.status = spec.Validate();
  if (!result.status.ok()) return result;

  GaussianMixture mixture;
  result.status = BuildMixture(spec, &mixture);
  if (!result.status.ok()) return result;
  result.means = mixture.centers();

  ThreadPool pool(spec.analysis.threads);
  const SampleSet test = DrawTestSample(spec, mixture, &pool);
  const long d = spec.Dim();
  const int k = spec.kgmm.num_classes;

  RowMatrix weights(k, d);
  {
    Rng init_rng(spec.seed, RngStream::kInit);
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    for (int c = 0; c < k; ++c) {
      for (long i = 0; i < d; ++i) weights(c, i) = scale * init_rng.Normal();
    }
  }

  const KgmmSnapshotAnalyzer analyzer(spec, mixture, test, &pool, cancel);
  Rng sgd_rng(spec.seed, RngStream::kSgdSamples);
  const double step_size = spec.ResolvedStepSize();
  const long total_steps = spec.ResolvedSteps();
  const long progress_every = spec.ResolvedProgressEvery();
  const std::vector<long> schedule = spec.SnapshotSteps();
  VectorXd input(d);
  VectorXd logits(k), probs(k);
  long step = 0;
  const auto sgd_start = Clock::now();
  Snapshot last;

  for (size_t index = 0; index < schedule.size(); ++index) {
    const auto interval_start = Clock::now();
    double window_loss = 0;
    long window_correct = 0;
    const long window_begin = step;
    while (step < schedule[index]) {
      const int label = mixture.Draw(sgd_rng, input.data());
      const StepOutcome outcome = SoftmaxSgdStep(weights, input.data(), label, step_size,
                                                 spec.kgmm.ridge, logits.data(), probs.data());
      ++step;
      if (!std::isfinite(outcome.loss)) {
        result.status = Status::NumericalError("SGD diverged (loss not finite) at step " +
                                               std::to_string(step) + "; lower sgd.c_delta");
        break;
      }
      window_loss += outcome.loss;
      window_correct += outcome.correct ? 1 : 0;
      if (step % kCancelPollSteps == 0 && cancel && cancel()) {
        result.status = Status::Cancelled("cancelled at step " + std::to_string(step));
        break;
      }
      if (step % progress_every == 0 && observer != nullptr) {
        const double rate = static_cast<double>(step) / std::max(1e-9, SecondsSince(sgd_start));
        if (!observer->OnProgress(step, total_steps, rate)) {
          result.status =
              Status::Cancelled("stopped by the observer at step " + std::to_string(step));
          break;
        }
      }
    }
    result.steps_done = step;
    result.time_done = step * step_size;
    if (!result.status.ok()) break;

    Snapshot snapshot;
    snapshot.index = static_cast<int>(index);
    snapshot.step = step;
    snapshot.time = step * step_size;
    snapshot.train_window = step - window_begin;
    if (snapshot.train_window > 0) {
      snapshot.train_loss = window_loss / snapshot.train_window;
      snapshot.train_accuracy = static_cast<double>(window_correct) / snapshot.train_window;
    }
    snapshot.sgd_seconds = SecondsSince(interval_start);
    result.status = analyzer.Analyze(weights, snapshot.index, &snapshot);
    if (!result.status.ok()) break;
    ++result.snapshots;
    result.final_test_loss = snapshot.test_loss;
    result.final_test_accuracy = snapshot.test_accuracy;
    if (observer != nullptr && !observer->OnSnapshot(snapshot)) {
      result.status =
          Status::Cancelled("stopped by the observer after snapshot " + std::to_string(index));
      break;
    }
    last = std::move(snapshot);
  }

  result.weights = weights;
  if (result.status.ok() && spec.analysis.class_blocks) {
    result.final_rank = ComputeClassifierRank(last, weights, spec);
    result.has_rank = true;
  }
  return result;
}

}  // namespace sgdspectra
