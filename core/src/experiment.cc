#include "sgdspectra/core/experiment.h"

#include <Eigen/SVD>
#include <algorithm>
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

// The samples a snapshot's online training metrics average over: those since the previous
// snapshot.
struct TrainingWindow {
  long begin_step = 0;
  double loss_sum = 0;
  long correct = 0;
};

// The SGD side of a run: its one stream of samples, the step count, the cancel hook and the
// observer's SGD progress. step() may be read from the analysis's pool threads while SGD is
// paused for a snapshot.
class SgdLoop {
 public:
  SgdLoop(const ExperimentSpec& spec, TaskRun* run, ExperimentObserver* observer,
          const CancelFn& cancel)
      : run_(run),
        observer_(observer),
        cancel_(cancel),
        rng_(spec.seed, RngStream::kSgdSamples, 0, spec.random_stream_version),
        total_steps_(spec.ResolvedSteps()),
        progress_every_(spec.ResolvedProgressEvery()),
        start_(Clock::now()) {}

  long step() const { return step_; }

  // Steps until step() reaches end_step, adding each sample's loss and correctness to *window.
  // Stops early, with the reason, when the loss is not finite, the cancel hook (polled every
  // kCancelPollSteps steps) fires or the observer's progress callback returns false.
  Status RunUntil(long end_step, TrainingWindow* window) {
    while (step_ < end_step) {
      const SgdStepOutcome outcome = run_->Step(rng_);
      ++step_;
      if (!std::isfinite(outcome.loss)) {
        return Status::NumericalError("SGD diverged (loss not finite) at step " +
                                      std::to_string(step_) + "; lower sgd.c_delta");
      }
      window->loss_sum += outcome.loss;
      window->correct += outcome.correct ? 1 : 0;
      if (step_ % kCancelPollSteps == 0 && cancel_ && cancel_()) {
        return Status::Cancelled("cancelled at step " + std::to_string(step_));
      }
      if (step_ % progress_every_ == 0 && observer_ != nullptr) {
        const double rate = static_cast<double>(step_) / std::max(1e-9, SecondsSince(start_));
        if (!observer_->OnProgress(step_, total_steps_, rate)) {
          return Status::Cancelled("stopped by the observer at step " + std::to_string(step_));
        }
      }
    }
    return Status::Ok();
  }

 private:
  TaskRun* const run_;
  ExperimentObserver* const observer_;
  const CancelFn& cancel_;
  Rng rng_;
  const long total_steps_;
  const long progress_every_;
  const Clock::time_point start_;  // for the steps-per-second rate
  long step_ = 0;
};

// A snapshot with its SGD-side fields set: where SGD stands and the training window's means
// (none at t = 0, where the window is empty).
Snapshot SnapshotAfterSgd(int index, long step, double step_size, const TrainingWindow& window,
                          double sgd_seconds) {
  Snapshot snapshot;
  snapshot.index = index;
  snapshot.step = step;
  snapshot.time = step * step_size;
  snapshot.train_window = step - window.begin_step;
  if (snapshot.train_window > 0) {
    snapshot.train_loss = window.loss_sum / snapshot.train_window;
    snapshot.train_accuracy = static_cast<double>(window.correct) / snapshot.train_window;
  }
  snapshot.sgd_seconds = sgd_seconds;
  return snapshot;
}

// Analyses the snapshot, counts it in the result and hands it to the observer. Non-ok stops the
// run: the analysis failed (the snapshot is not delivered) or the observer asked to stop.
Status AnalyzeAndDeliver(TaskRun* run, ExperimentObserver* observer, Snapshot* snapshot,
                         ExperimentResult* result) {
  const Status analysed = run->Analyze(snapshot->index, snapshot);
  if (!analysed.ok()) return analysed;
  ++result->snapshots;
  result->final_test_loss = snapshot->test_loss;
  result->final_test_accuracy = snapshot->test_accuracy;
  if (observer != nullptr && !observer->OnSnapshot(*snapshot)) {
    return Status::Cancelled("stopped by the observer after snapshot " +
                             std::to_string(snapshot->index));
  }
  return Status::Ok();
}

// The effective-dynamics prediction at every scheduled time, made before the first SGD step
// (it needs only the spec: the run's t = 0 statistics are redrawn exactly).
Status PredictTheory(const ExperimentSpec& spec, const std::vector<long>& schedule,
                     const CancelFn& cancel, ExperimentResult* result) {
  std::vector<double> times;
  times.reserve(schedule.size());
  for (long step : schedule) times.push_back(step * spec.ResolvedStepSize());
  const Status st = PredictRun(spec, times, cancel, &result->theory);
  result->has_theory = st.ok();
  return st;
}

}  // namespace

int NumericalRank(const MatrixXd& a, double tol, std::vector<double>* singular_values) {
  Eigen::JacobiSVD<MatrixXd> svd(a);
  const VectorXd sv = svd.singularValues();
  singular_values->assign(sv.data(), sv.data() + sv.size());
  int rank = 0;
  for (long i = 0; i < sv.size(); ++i) rank += sv[i] > tol * sv[0];
  return rank;
}

RowMatrix InitialSoftmaxWeights(const ExperimentSpec& spec) {
  const long d = spec.Dim();
  RowMatrix weights(spec.kgmm.num_classes, d);
  Rng init_rng(spec.seed, RngStream::kInit, 0, spec.random_stream_version);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (long i = 0; i < weights.size(); ++i) weights.data()[i] = scale * init_rng.Normal();
  return weights;
}

TwoLayerParams InitialTwoLayerParams(const ExperimentSpec& spec) {
  const long d = spec.Dim();
  const int k = spec.xor_task.hidden;
  TwoLayerParams params;
  params.w.resize(k, d);
  params.v.resize(k);
  Rng init_rng(spec.seed, RngStream::kInit, 0, spec.random_stream_version);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (long i = 0; i < params.w.size(); ++i) params.w.data()[i] = scale * init_rng.Normal();
  for (int i = 0; i < k; ++i) params.v[i] = init_rng.Normal();
  return params;
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
                         ThreadPool* pool, const CancelFn& cancel) {
  // The mixture carries spec.random_stream_version (BuildMixture).
  return mixture.DrawSampleSet(spec.TestSampleSize(), spec.seed, RngStream::kTestSample, pool,
                               cancel);
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
  // A large sample takes seconds to draw: a cancel (e.g. a server's drain) stops it.
  const SampleSet test = DrawTestSample(spec, mixture, &pool, cancel);
  if (cancel && cancel()) {
    result.status = Status::Cancelled("cancelled while drawing the test sample");
    return result;
  }
  std::unique_ptr<TaskRun> run = spec.task == TaskKind::kXor
                                     ? MakeXorRun(spec, mixture, test, &pool, cancel)
                                     : MakeKgmmRun(spec, mixture, test, &pool, cancel);
  SgdLoop sgd(spec, run.get(), observer, cancel);
  std::mutex progress_mutex;  // the analysis reports from pool threads; callbacks never overlap
  if (observer != nullptr) {
    run->set_analysis_progress([&](const AnalysisProgress& progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      AnalysisProgress at_step = progress;
      at_step.step = sgd.step();
      observer->OnAnalysisProgress(at_step);
    });
  }

  const double step_size = spec.ResolvedStepSize();
  const std::vector<long> schedule = spec.SnapshotSteps();
  if (spec.analysis.theory) {
    result.status = PredictTheory(spec, schedule, cancel, &result);
    if (!result.status.ok()) return result;
  }
  Snapshot last;
  for (size_t index = 0; index < schedule.size(); ++index) {
    const auto interval_start = Clock::now();
    TrainingWindow window;
    window.begin_step = sgd.step();
    result.status = sgd.RunUntil(schedule[index], &window);
    result.steps_done = sgd.step();
    result.time_done = sgd.step() * step_size;
    if (!result.status.ok()) break;

    Snapshot snapshot = SnapshotAfterSgd(static_cast<int>(index), sgd.step(), step_size, window,
                                         SecondsSince(interval_start));
    if (result.has_theory) {
      snapshot.has_theory = true;
      snapshot.theory = result.theory.points[index];
    }
    result.status = AnalyzeAndDeliver(run.get(), observer, &snapshot, &result);
    if (!result.status.ok()) break;
    last = std::move(snapshot);
  }

  run->Export(&result);
  if (result.status.ok()) result.has_rank = run->FinalRank(last, &result.final_rank);
  return result;
}

}  // namespace sgdspectra
