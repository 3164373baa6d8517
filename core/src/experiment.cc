#include "sgdspectra/core/experiment.h"

#include <Eigen/SVD>
#include <chrono>
#include <cmath>
#include <mutex>

#include "sgdspectra/core/random.h"
#include "task_run.h"

namespace sgdspectra {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How often (in SGD steps) the cancel hook is polled: rare enough to cost nothing against
// O(kd) per step, frequent enough to stop within milliseconds.
constexpr long kCancelPollSteps = 256;

}  // namespace

int NumericalRank(const MatrixXd& a, double tol, std::vector<double>* singular_values) {
  Eigen::JacobiSVD<MatrixXd> svd(a);
  const VectorXd sv = svd.singularValues();
  singular_values->assign(sv.data(), sv.data() + sv.size());
  int rank = 0;
  for (long i = 0; i < sv.size(); ++i) rank += sv[i] > tol * sv[0];
  return rank;
}

uint64_t SolveSeed(uint64_t run_seed, int snapshot_index, int solve) {
  return MixBits(run_seed ^ MixBits((static_cast<uint64_t>(snapshot_index) << 20) + solve));
}

Status BuildMixture(const ExperimentSpec& spec, GaussianMixture* mixture) {
  if (spec.task == TaskKind::kXor) {
    *mixture = GaussianMixture::MakeXor(spec.xor_task.dim, spec.xor_task.snr, spec.seed,
                                        spec.random_stream_version);
    return Status::Ok();
  }
  return GaussianMixture::MakeKgmm(spec.kgmm.dim, spec.kgmm.num_classes, spec.kgmm.mean_gram,
                                   spec.kgmm.class_probs, spec.kgmm.snr, spec.seed,
                                   spec.random_stream_version, mixture);
}

SampleSet DrawTestSample(const ExperimentSpec& spec, const GaussianMixture& mixture,
                         ThreadPool* pool) {
  // The mixture carries spec.random_stream_version (BuildMixture).
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

  ThreadPool pool(spec.analysis.threads);
  const SampleSet test = DrawTestSample(spec, mixture, &pool);
  std::unique_ptr<TaskRun> run = spec.task == TaskKind::kXor
                                     ? MakeXorRun(spec, mixture, test, &pool, cancel)
                                     : MakeKgmmRun(spec, mixture, test, &pool, cancel);
  long step = 0;
  std::mutex progress_mutex;  // the analysis reports from pool threads; callbacks never overlap
  if (observer != nullptr) {
    run->set_analysis_progress([&](const AnalysisProgress& progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      AnalysisProgress at_step = progress;
      at_step.step = step;
      observer->OnAnalysisProgress(at_step);
    });
  }

  Rng sgd_rng(spec.seed, RngStream::kSgdSamples, 0, spec.random_stream_version);
  const double step_size = spec.ResolvedStepSize();
  const long total_steps = spec.ResolvedSteps();
  const long progress_every = spec.ResolvedProgressEvery();
  const std::vector<long> schedule = spec.SnapshotSteps();
  const auto sgd_start = Clock::now();
  Snapshot last;

  for (size_t index = 0; index < schedule.size(); ++index) {
    const auto interval_start = Clock::now();
    double window_loss = 0;
    long window_correct = 0;
    const long window_begin = step;
    while (step < schedule[index]) {
      const SgdStepOutcome outcome = run->Step(sgd_rng);
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
    result.status = run->Analyze(snapshot.index, &snapshot);
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

  run->Export(&result);
  if (result.status.ok()) result.has_rank = run->FinalRank(last, &result.final_rank);
  return result;
}

}  // namespace sgdspectra
