// Experiment: runs one validated ExperimentSpec end to end: build the task, draw the test
// sample, run online SGD, analyse at each scheduled step, and report the classifier rank.
//
// Progress and cancellation: the observer sees each snapshot and periodic progress; either
// callback returning false stops the run, as does `cancel` returning true (polled every few
// hundred SGD steps and before every operator product). A stopped run returns kCancelled with
// the snapshots already delivered left valid. NaN/Inf in the parameters ends the run with
// kNumericalError.
//
// Determinism: same spec (including seed) gives the same snapshots bit for bit whatever
// analysis.threads is. Timing fields are the only exception.
//
// Parallelism: analysis.threads threads run a snapshot's independent eigen-solves side by side
// (each solve on one thread).
//
// Thread-safety: RunExperiment is reentrant; observer callbacks run on the calling thread;
// `cancel` may be called from several of the run's threads at once (read an atomic flag).
#ifndef SGDSPECTRA_CORE_EXPERIMENT_H_
#define SGDSPECTRA_CORE_EXPERIMENT_H_

#include <string>

#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

// Where a snapshot's analysis stands, for a watcher of a long snapshot.
struct AnalysisProgress {
  int snapshot_index = 0;
  long step = 0;
  int solves_done = 0;  // eigen-solves (blocks and their null solves) finished
  int solves_total = 0;
  long products_done = 0;  // operator applications so far in this snapshot
  double seconds_elapsed = 0;
  double seconds_left = -1;  // estimate; < 0 when unknown
  std::string stage;         // what runs now, e.g. "full H", "class blocks"
};

class ExperimentObserver {
 public:
  virtual ~ExperimentObserver() = default;
  // Return false to stop the run.
  virtual bool OnSnapshot(const Snapshot& snapshot) = 0;
  virtual bool OnProgress(long steps_done, long total_steps, double steps_per_second) {
    (void)steps_done, (void)total_steps, (void)steps_per_second;
    return true;
  }
  // During a snapshot's analysis, at most about every 5 seconds. May be called from any of
  // the run's threads, never concurrently with itself or the other callbacks.
  virtual void OnAnalysisProgress(const AnalysisProgress& progress) { (void)progress; }
};

struct ExperimentResult {
  Status status;
  long steps_done = 0;
  double time_done = 0;
  int snapshots = 0;
  bool has_rank = false;  // the run finished and final_rank is set
  ClassifierRank final_rank;
  double final_test_loss = 0;
  double final_test_accuracy = 0;
  RowMatrix weights;      // parameters at the end (k x d; XOR: W, K x d), also after a stop
  VectorXd second_layer;  // XOR: v (K); empty for k-GMM
  RowMatrix means;        // the means: k x d (k-GMM) or 2 x d (XOR: mu, nu)
  // With analysis.theory: the prediction made at the start (its limit is what the run's end is
  // compared with).
  bool has_theory = false;
  TheoryTrack theory;
};

// spec must have passed Validate(); RunExperiment re-validates and fails with
// InvalidArgument otherwise.
ExperimentResult RunExperiment(const ExperimentSpec& spec, ExperimentObserver* observer,
                               const CancelFn& cancel);

// The mixture and the test sample a run with this spec uses, rebuilt from the seed (for
// GetResult: independent recomputation without storing the sample).
Status BuildMixture(const ExperimentSpec& spec, GaussianMixture* mixture);
// A cancel hook that returns true stops the draw early (the sample is then incomplete).
SampleSet DrawTestSample(const ExperimentSpec& spec, const GaussianMixture& mixture,
                         ThreadPool* pool, const CancelFn& cancel = nullptr);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_EXPERIMENT_H_
