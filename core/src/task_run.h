// TaskRun: one task's model, SGD step and snapshot analysis behind the generic experiment loop
// (experiment.cc). Internal to the core. Implementations: k-GMM softmax (kgmm_run.cc) and XOR
// two-layer (xor_run.cc).
//
// Ownership: a run keeps references to the spec, mixture, test sample and pool it was made
// with, which must outlive it. Thread-safety: single-threaded use; products use the pool.
#ifndef SGDSPECTRA_CORE_SRC_TASK_RUN_H_
#define SGDSPECTRA_CORE_SRC_TASK_RUN_H_

#include <functional>
#include <memory>
#include <vector>

#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/two_layer_model.h"

namespace sgdspectra {

struct SgdStepOutcome {
  double loss;   // data-fit loss of the sample at the pre-step parameters
  bool correct;  // the pre-step prediction was right
};

// Receives analysis progress (block_analysis.h throttles it); may be called from pool threads.
using AnalysisProgressFn = std::function<void(const AnalysisProgress&)>;

class TaskRun {
 public:
  virtual ~TaskRun() = default;
  // Where Analyze reports progress during a long snapshot; unset = nowhere.
  void set_analysis_progress(AnalysisProgressFn fn) { analysis_progress_ = std::move(fn); }
  // Draws one fresh sample from rng and takes one SGD step on it.
  virtual SgdStepOutcome Step(Rng& rng) = 0;
  // Fills every analysis field of *out (not step, time, train metrics or sgd_seconds).
  virtual Status Analyze(int snapshot_index, Snapshot* out) = 0;
  // The classifier rank from the last snapshot; false if that snapshot cannot give it.
  virtual bool FinalRank(const Snapshot& last, ClassifierRank* rank) const = 0;
  // Copies the parameters and the means into the result.
  virtual void Export(ExperimentResult* result) const = 0;

 protected:
  AnalysisProgressFn analysis_progress_;
  long last_snapshot_products_ = 0;  // the previous snapshot's products: the time-left estimate
  std::vector<double> last_block_seconds_;  // the previous snapshot's per-block times: scheduling
};

std::unique_ptr<TaskRun> MakeKgmmRun(const ExperimentSpec& spec, const GaussianMixture& mixture,
                                     const SampleSet& test, ThreadPool* pool,
                                     const CancelFn& cancel);
std::unique_ptr<TaskRun> MakeXorRun(const ExperimentSpec& spec, const GaussianMixture& mixture,
                                    const SampleSet& test, ThreadPool* pool,
                                    const CancelFn& cancel);

// A run's initial parameters, from the kInit stream: the softmax weights (k x d) or the XOR
// network's W (K x d), entries N(0, 1/d) in row-major order, then XOR's v (K, N(0, 1)). The runs
// and the effective dynamics' t = 0 statistics (effective_dynamics.cc) both draw them here, so
// the prediction starts where the run starts.
RowMatrix InitialSoftmaxWeights(const ExperimentSpec& spec);
TwoLayerParams InitialTwoLayerParams(const ExperimentSpec& spec);

// Numerical rank: singular values above tol * largest. Fills the singular values.
int NumericalRank(const MatrixXd& a, double tol, std::vector<double>* singular_values);

// A deterministic seed for the n-th solve of a snapshot.
uint64_t SolveSeed(uint64_t run_seed, int snapshot_index, int solve);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SRC_TASK_RUN_H_
