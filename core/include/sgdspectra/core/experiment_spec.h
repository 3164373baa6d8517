// ExperimentSpec: everything a run needs, as plain structs with defaults (Ceres-style options).
//
// Validate() checks every field against its documented bound and returns InvalidArgument
// whose message starts with the field's path (e.g. "kgmm.dim: must be in [2, 100000], got 1").
// The fields, their proto paths and their bounds are listed once, in spec_fields.h; the
// cross-field rules (k <= d, t_first < t_end, the memory estimate, ...) are in Validate().
// Resolved*() accessors turn the "0 = derive" conventions into the values a run actually uses;
// Resolved() is the spec a job records.
//
// Thread-safety: plain values.
#ifndef SGDSPECTRA_CORE_EXPERIMENT_SPEC_H_
#define SGDSPECTRA_CORE_EXPERIMENT_SPEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/outliers.h"
#include "sgdspectra/core/random.h"  // kLatestRandomStreamVersion
#include "sgdspectra/core/status.h"

namespace sgdspectra {

enum class TaskKind { kKgmm = 0, kXor = 1 };

// Task A: k-GMM with a one-layer softmax network.
struct KgmmSpec {
  long dim = 400;                   // d, [2, 100000]
  int num_classes = 4;              // k, [2, 64], k <= d
  double snr = 20.0;                // lambda, (0, 1e8]
  std::vector<double> class_probs;  // empty = uniform; else k positive entries summing to 1
  std::vector<double> mean_gram;    // empty = orthonormal means; else k*k SPD row-major
  double ridge = 0.1;               // beta, [0, 1000]
};

// Task B: XOR-type mixture (+-mu label 1, +-nu label 0) with a two-layer ReLU network.
struct XorSpec {
  long dim = 250;       // d, [2, 100000]
  int hidden = 4;       // K, [1, 64]
  double snr = 1000.0;  // lambda, (0, 1e8]
  double ridge = 0.1;   // alpha, [0, 1000]; non-trivial fixed points need alpha < 1/8
  // Second layer (K x K, hidden space): an eigenvalue is an outlier when it exceeds the decoy
  // null's top eigenvalue by this relative margin. Covered clusters give O(1) eigenvalues, the
  // finite-size level is O(1/d + 1/lambda), and decoy draws vary by an O(1) factor, so the
  // margin is large. [0, 1000].
  double second_layer_margin = 3.0;
  int decoy_draws = 4;  // decoy samples whose largest top eigenvalue is the edge, [1, 64]
};

struct SgdSpec {
  double c_delta = 1.0;    // step = c_delta / d; (0, 1000]
  double step_size = 0.0;  // 0 = c_delta / d; else (0, 10], overrides c_delta
  long steps = 0;          // number of SGD steps; 0 = derive from t_end
  double t_end = 20.0;     // end time t = steps * step; [0, 1e6]; used when steps == 0
};

enum class ScheduleKind { kLogSpacedTime = 0, kEverySteps = 1 };

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kLogSpacedTime;
  long every_steps = 0;  // kEverySteps: snapshot every N >= 1 steps
  int num_points = 12;   // kLogSpacedTime: points incl. t = 0 and the end, [2, 1000]
  double t_first = 0.5;  // kLogSpacedTime: first positive time, (0, t_end)
};

// What one block's eigen-solve converges.
//   kOutliers: every eigenpair above the block's outlier threshold edge * (1 + margin), plus
//              certify_below pairs below it (so the count is certified), and at least the
//              expected count (alignment and overlap at r = expected need those vectors); at
//              most top_r / top_r_full pairs (a count that reaches the cap is a lower bound).
//              The edge is computed first, so the target is known when the solve starts.
//   kTopR:     exactly the top top_r / top_r_full pairs, whatever the spectrum.
enum class SolveTarget { kOutliers = 0, kTopR = 1 };

struct AnalysisSpec {
  double test_ratio = 2.0;  // M_test = ceil(ratio * d), [0.1, 100]
  int top_r = 0;            // class blocks: 0 = 2k + 4 (kOutliers: the cap)
  int top_r_full = 0;       // full matrices: 0 = 2k(k-1) + 4 (kOutliers: the cap)
  SolveTarget solve_target = SolveTarget::kOutliers;
  int certify_below = 2;  // kOutliers: converged pairs below the threshold, [1, 100]
  // Tolerance of the null-model edge solves. The edge's own sampling noise is about 1 % at
  // M = 2d, so 1e-4 is far inside it; [1e-14, 0.1].
  double null_tol = 1e-4;
  bool class_blocks = true;   // analyse each class block (c,c)
  bool full_matrices = true;  // analyse the kd x kd matrices
  bool g_matrix = true;       // analyse the G-matrix as well as the Hessian
  SolverSettings solver;
  OutlierSettings outliers;
  double rank_tolerance = 1e-3;  // weight rank: singular values > tol * largest, (0, 1)
  int threads = 1;               // threads for one job's products, [1, 256]
  uint64_t solver_seed = 0;      // Krylov start vectors' seed; 0 = the job's seed
  // Spectral density (spectral_density.h) per analysed block: probes, 0 = off, [0, 100]; and
  // Lanczos steps per probe, [2, 300].
  int density_probes = 0;
  int density_steps = 30;
  // The effective-dynamics prediction beside each snapshot (theory_track.h): k-GMM with
  // k <= kMaxTheoryClasses, XOR with K <= kMaxTheoryHidden.
  bool theory = false;
};

// Random-stream versions (part of the reproducibility contract; a job records its version).
//   1: scalar Marsaglia polar normals (jobs before the vectorised generator).
//   2: the current generator (see random.h, which defines kLatestRandomStreamVersion).

struct ExperimentSpec {
  std::string name;  // free text, <= kMaxNameBytes
  uint64_t seed = 0;
  int random_stream_version = kLatestRandomStreamVersion;  // [1, kLatestRandomStreamVersion]
  TaskKind task = TaskKind::kKgmm;
  KgmmSpec kgmm;
  XorSpec xor_task;  // used when task == kXor
  SgdSpec sgd;
  ScheduleSpec schedule;
  AnalysisSpec analysis;
  long progress_every_steps = 0;                    // 0 = about 50 progress reports per run
  double memory_budget_bytes = 8.0 * (1ull << 30);  // refuse specs needing more, [1 MiB, 1 TiB]

  static constexpr size_t kMaxNameBytes = 200;

  Status Validate() const;
  // A copy with every "0 = derive" field (top_r, top_r_full, progress_every_steps) resolved,
  // so that resubmitting it runs the same job. ncv stays 0: it is resolved per block.
  ExperimentSpec Resolved() const;

  long Dim() const { return task == TaskKind::kXor ? xor_task.dim : kgmm.dim; }
  // Variance of one coordinate of an input's noise: 1 / lambda of the job's task.
  double NoiseVariance() const { return 1.0 / (task == TaskKind::kXor ? xor_task.snr : kgmm.snr); }
  // Parameter blocks of the analysed layer: classes (k-GMM) or hidden neurons (XOR).
  int NumBlocks() const { return task == TaskKind::kXor ? xor_task.hidden : kgmm.num_classes; }
  double ResolvedStepSize() const;
  long ResolvedSteps() const;
  long TestSampleSize() const;
  int ResolvedTopR() const;
  int ResolvedTopRFull() const;
  int ResolvedNcv(int r, long n) const;
  long ResolvedProgressEvery() const;
  uint64_t ResolvedSolverSeed() const {
    return analysis.solver_seed != 0 ? analysis.solver_seed : seed;
  }
  // Outliers expected per input-space block: k per class block; 2 (mu, nu) per neuron block.
  int ExpectedClassOutliers() const { return task == TaskKind::kXor ? 2 : kgmm.num_classes; }
  // Full matrices: k(k-1) for k-GMM; 4 (one per covered cluster) for XOR's first layer and
  // full matrix, and for its second layer at the optimal classifier.
  int ExpectedFullOutliers() const {
    return task == TaskKind::kXor ? 4 : kgmm.num_classes * (kgmm.num_classes - 1);
  }
  // Bytes the run will hold at its peak (samples, null inputs, Krylov bases).
  double EstimatedBytes() const;
  // Snapshot steps, ascending, always including 0 and the last step, without duplicates.
  std::vector<long> SnapshotSteps() const;

 private:
  // Cross-field rules, run after every field's own bound (spec_fields.h) has passed.
  Status ValidateKgmmRules() const;       // k <= d, class probabilities, the means' Gram
  Status ValidateSgdAndSchedule() const;  // step count, snapshot count, t_first < t_end
  Status ValidateAnalysisRules() const;   // M_test, r below the block size, ncv, DECOY_NULL
  Status ValidateResources() const;       // memory budget and the job's estimate
};

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_EXPERIMENT_SPEC_H_
