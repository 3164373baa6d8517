#include "block_analysis.h"

#include <algorithm>
#include <limits>

#include "sgdspectra/core/alignment.h"
#include "sgdspectra/core/batched_operators.h"
#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/gram_form.h"
#include "sgdspectra/core/lockstep_lanczos.h"
#include "sgdspectra/core/outliers.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/spectral_density.h"
#include "task_run.h"

namespace sgdspectra {

SolverStats StatsOf(const EigenResult& r, double tol) {
  SolverStats s;
  s.requested = r.requested;
  s.converged = r.converged;
  s.products = r.products;
  s.restarts = r.restarts;
  s.seconds = r.seconds;
  s.method = r.method;
  s.tol = tol;
  return s;
}

namespace {

bool UsesNullSolve(const BlockTarget& target, const AnalysisSpec& analysis) {
  return !target.has_fixed_edge && analysis.outliers.method == OutlierMethod::kNullModel;
}

// The largest-gap rule places its edge from the solved values, so its solve cannot be targeted.
bool UsesGapRule(const BlockTarget& target, const AnalysisSpec& analysis) {
  return !target.has_fixed_edge && (analysis.outliers.method == OutlierMethod::kLargestGap ||
                                    analysis.outliers.method == OutlierMethod::kDecoyNull);
}

// Sets the edge method, and the edge itself where no solve is needed (decoy, Marchenko-
// Pastur); returns the relative margin of the block's rule.
double EdgeWithoutSolve(const BlockTarget& target, const AnalysisSpec& analysis,
                        SpectrumReport* report) {
  if (target.has_fixed_edge) {
    report->edge_method = OutlierMethod::kDecoyNull;
    report->bulk_edge = target.fixed_edge;
    return target.fixed_margin;
  }
  report->edge_method = analysis.outliers.method;
  if (analysis.outliers.method == OutlierMethod::kMarchenkoPastur) {
    report->bulk_edge =
        DeformedMarchenkoPasturEdge(target.bulk_weights, target.noise_variance, target.input_dim);
  }
  return UsesGapRule(target, analysis) ? 0.0 : analysis.outliers.margin;  // a gap is its own margin
}

// What the block's solve converges, once its edge is known (experiment_spec.h, SolveTarget).
LanczosTarget MakeTarget(const BlockTarget& target, const AnalysisSpec& analysis,
                         const SpectrumReport& report, double margin, long op_size, uint64_t seed) {
  LanczosTarget t;
  t.max_pairs = target.top_r;
  if (analysis.solve_target == SolveTarget::kTopR || UsesGapRule(target, analysis) ||
      op_size <= kDenseSolveMaxSize) {
    // The largest gap needs the values first; a dense solve gets every pair at the same cost.
    t.min_pairs = target.top_r;
  } else {
    t.min_pairs = std::min(std::max(target.expected, 1), target.top_r);
    t.threshold = report.bulk_edge * (1.0 + margin);
    t.pairs_below = analysis.certify_below;
  }
  t.tol = analysis.solver.tol;
  t.max_restarts = analysis.solver.max_restarts;
  t.start_seed = seed;
  t.initial_basis = analysis.solver.ncv;  // 0 = the solver's own choice
  return t;
}

// A null-model solve: the top pair only, at the tolerance the count needs (null_tol), with the
// solver's own basis size (the blocks' ncv does not apply to one pair).
LanczosTarget NullTarget(const AnalysisSpec& analysis, uint64_t seed) {
  LanczosTarget t;
  t.tol = analysis.null_tol;
  t.max_restarts = analysis.solver.max_restarts;
  t.start_seed = seed;
  return t;
}

SolverStats StatsOfLanczos(const LanczosOutcome& o, double tol) {
  SolverStats s;
  s.requested = o.wanted;
  s.converged = o.converged;
  s.products = o.products;
  s.restarts = o.restarts;
  s.seconds = o.seconds;
  s.method = o.dense ? SolverMethod::kDense : SolverMethod::kLockstepLanczos;
  s.tol = tol;
  return s;
}

// The alignment of the block's parameters with the top-r eigenspace, or NaN (not applicable)
// when r = 0 (no eigenspace) or r covers the whole block (alignment 1 by construction: the XOR
// K x K second layer with all K pairs).
double InformativeAlignment(const MatrixXd& vectors, int r, const BlockTarget& target) {
  if (r <= 0 || r >= target.dense_size) return std::numeric_limits<double>::quiet_NaN();
  return Alignment(vectors, r, target.parameters);
}

// Count, alignment and overlap from the solved pairs (vectors in the matrix's own layout).
void FinishReport(const BlockTarget& target, const AnalysisSpec& analysis, double margin,
                  const VectorXd& values, const MatrixXd& vectors, SpectrumReport* report) {
  report->top_eigenvalues.assign(values.data(), values.data() + values.size());
  if (UsesGapRule(target, analysis)) {
    report->bulk_edge = LargestGapEdge(values, analysis.outliers.gap_ratio);
  }
  report->outlier_threshold = report->bulk_edge * (1.0 + margin);
  report->outlier_count = CountOutliers(values, report->bulk_edge, margin);
  report->count_certified = report->outlier_count < values.size();
  int band_end = report->outlier_count;
  while (band_end < values.size() && values[band_end] > report->bulk_edge) ++band_end;
  report->marginal_count = band_end - report->outlier_count;
  report->alignment_at_outliers = InformativeAlignment(vectors, report->outlier_count, target);
  report->alignment_at_expected = InformativeAlignment(vectors, target.expected, target);
  if (target.mean_reference != nullptr) {
    report->overlap_with_means = SubspaceOverlap(vectors, target.expected, *target.mean_reference);
  }
}

SpectrumReport EmptyReport(const BlockTarget& target) {
  SpectrumReport report;
  report.matrix = target.matrix;
  report.block = target.block;
  report.block_index = target.block_index;
  report.expected_outliers = target.expected;
  return report;
}

const char* StageName(const BlockTarget& target) {
  const bool h = target.matrix == MatrixKind::kHessian;
  switch (target.block) {
    case BlockKind::kClass:
      return h ? "H class blocks" : "G class blocks";
    case BlockKind::kNeuron:
      return h ? "H neuron blocks" : "G neuron blocks";
    case BlockKind::kFull:
      return h ? "H full" : "G full";
    case BlockKind::kFirstLayer:
      return h ? "H first layer" : "G first layer";
    case BlockKind::kSecondLayer:
      return h ? "H second layer" : "G second layer";
  }
  return "blocks";
}

// Lockstep solve of N problems of one batched operator, reporting products as they go.
std::vector<LanczosOutcome> SolveLockstep(const BatchedSymmetricOperator& op,
                                          const std::vector<LanczosTarget>& targets,
                                          const CancelFn& cancel, AnalysisProgressTracker* progress,
                                          const char* stage) {
  long reported = 0;
  LanczosProgressFn on_step;
  if (progress != nullptr) {
    on_step = [&](long products) {
      progress->AddProducts(products - reported, stage);
      reported = products;
    };
  }
  return LockstepLanczos(op, targets, cancel, on_step);
}

// The block's spectral density and trace (analysis.density_probes > 0) from `op`, its operator.
// An operator on an equivalent smaller space (the Gram form of a G-matrix: the same nonzero
// spectrum, n - op size fewer zeros) gets its weights scaled by op size / n and the missing
// zeros as one node at 0, so the estimate is the density of the n x n matrix itself.
// Returns false if cancelled.
bool EstimateDensity(const SymmetricOperator& op, const BlockTarget& target,
                     const AnalysisSpec& analysis, uint64_t solve_seed, const CancelFn& cancel,
                     AnalysisProgressTracker* progress, SpectrumReport* report) {
  if (analysis.density_probes <= 0) return true;
  DensitySettings settings;
  settings.probes = analysis.density_probes;
  settings.lanczos_steps = analysis.density_steps;
  settings.seed = MixBits(solve_seed + 2);
  report->density = EstimateSpectralDensity(op, settings, cancel);
  if (progress != nullptr) progress->AddProducts(report->density.products, StageName(target));
  if (report->density.cancelled) return false;
  const long n = std::max(target.dense_size, op.size());
  if (op.size() < n) {
    const double kept = static_cast<double>(op.size()) / static_cast<double>(n);
    for (double& weight : report->density.node_weights) weight *= kept;
    report->density.node_values.push_back(0.0);
    report->density.node_weights.push_back(1.0 - kept);
    report->density.nodes_per_probe.push_back(1);
  }
  report->has_density = true;
  return true;
}

// One block with an operator of its own: null solve (if any), then the targeted solve.
void AnalyzeSingle(PendingBlock* b, const AnalysisSpec& analysis, uint64_t solve_seed,
                   const CancelFn& cancel, AnalysisProgressTracker* progress) {
  const BlockTarget& target = b->target;
  const char* stage = StageName(target);
  b->report = EmptyReport(target);
  const double margin = EdgeWithoutSolve(target, analysis, &b->report);
  if (UsesNullSolve(target, analysis)) {
    // The null's top eigenvalue only places the threshold: its own sampling noise (about 1 %
    // at M = 2d) dwarfs null_tol, so a loose tolerance changes no count (docs/PERFORMANCE.md).
    const SingleBatchedOperator null_op(*target.null_op);
    const std::vector<LanczosOutcome> null_eig = SolveLockstep(
        null_op, {NullTarget(analysis, MixBits(solve_seed + 1))}, cancel, progress, stage);
    b->report.edge_solver = StatsOfLanczos(null_eig[0], analysis.null_tol);
    if (null_eig[0].cancelled) {
      b->cancelled = true;
      return;
    }
    b->report.bulk_edge = null_eig[0].converged > 0 ? null_eig[0].values[0] : 0.0;
    if (progress != nullptr) progress->SolveDone(stage);
  }
  const LanczosTarget lanczos_target =
      MakeTarget(target, analysis, b->report, margin, target.op->size(), solve_seed);
  VectorXd values;
  MatrixXd vectors;
  if (analysis.solve_target == SolveTarget::kTopR) {
    // Exactly r pairs: Spectra's implicitly restarted Lanczos, the classic engine.
    const EigenResult eig =
        TopEigenpairs(*target.op, lanczos_target.min_pairs, analysis.solver, solve_seed, cancel);
    b->report.solver = StatsOf(eig, analysis.solver.tol);
    if (progress != nullptr) progress->AddProducts(eig.products, stage);
    if (eig.cancelled) {
      b->cancelled = true;
      return;
    }
    values = eig.values;
    vectors = eig.vectors;
  } else {
    const SingleBatchedOperator op(*target.op);
    std::vector<LanczosOutcome> eig = SolveLockstep(op, {lanczos_target}, cancel, progress, stage);
    b->report.solver = StatsOfLanczos(eig[0], analysis.solver.tol);
    if (eig[0].cancelled) {
      b->cancelled = true;
      return;
    }
    values = std::move(eig[0].values);
    vectors = std::move(eig[0].vectors);
  }
  if (target.lift_vectors) vectors = target.lift_vectors(values, vectors);
  FinishReport(target, analysis, margin, values, vectors, &b->report);
  if (b->keep_vectors) b->vectors = std::move(vectors);
  if (!EstimateDensity(*target.op, target, analysis, solve_seed, cancel, progress, &b->report)) {
    b->cancelled = true;
    return;
  }
  if (progress != nullptr) progress->SolveDone(stage);
}

// The diagonal blocks of one sample, solved together: one lockstep null solve for their edges,
// then one lockstep targeted solve. Every product is one pass over the sample for all of them.
void AnalyzeDiagonalFamily(std::vector<PendingBlock>* blocks, const std::vector<long>& members,
                           const AnalysisSpec& analysis, uint64_t run_seed, int snapshot_index,
                           const CancelFn& cancel, AnalysisProgressTracker* progress) {
  const SampleSet& samples = *(*blocks)[members[0]].samples;
  const long m = samples.size();
  const int count = static_cast<int>(members.size());
  const char* stage = StageName((*blocks)[members[0]].target);
  MatrixXd weights(m, count);
  std::vector<double> margins(count);
  std::vector<uint64_t> seeds(count);
  bool null_solve = false;
  for (int i = 0; i < count; ++i) {
    PendingBlock& b = (*blocks)[members[i]];
    weights.col(i) = b.diagonal_weights;
    seeds[i] = SolveSeed(run_seed, snapshot_index, static_cast<int>(members[i]) + 1);
    b.report = EmptyReport(b.target);
    margins[i] = EdgeWithoutSolve(b.target, analysis, &b.report);
    null_solve = null_solve || UsesNullSolve(b.target, analysis);
  }
  auto cancel_all = [&] {
    for (long n : members) (*blocks)[n].cancelled = true;
  };

  if (null_solve) {
    const SampleDiagonalFamily null_family(samples.noise, weights, nullptr);
    std::vector<LanczosTarget> targets;
    for (int i = 0; i < count; ++i) {
      targets.push_back(NullTarget(analysis, MixBits(seeds[i] + 1)));
    }
    const std::vector<LanczosOutcome> null_eig =
        SolveLockstep(null_family, targets, cancel, progress, stage);
    for (int i = 0; i < count; ++i) {
      if (null_eig[i].cancelled) return cancel_all();
      SpectrumReport& report = (*blocks)[members[i]].report;
      report.edge_solver = StatsOfLanczos(null_eig[i], analysis.null_tol);
      report.bulk_edge = null_eig[i].converged > 0 ? null_eig[i].values[0] : 0.0;
      if (progress != nullptr) progress->SolveDone(stage);
    }
  }

  const SampleDiagonalFamily family(samples.inputs, weights, nullptr);
  std::vector<LanczosTarget> targets;
  for (int i = 0; i < count; ++i) {
    const PendingBlock& b = (*blocks)[members[i]];
    targets.push_back(
        MakeTarget(b.target, analysis, b.report, margins[i], family.size(), seeds[i]));
  }
  std::vector<LanczosOutcome> eig = SolveLockstep(family, targets, cancel, progress, stage);
  for (int i = 0; i < count; ++i) {
    if (eig[i].cancelled) return cancel_all();
    PendingBlock& b = (*blocks)[members[i]];
    b.report.solver = StatsOfLanczos(eig[i], analysis.solver.tol);
    FinishReport(b.target, analysis, margins[i], eig[i].values, eig[i].vectors, &b.report);
    if (b.keep_vectors) b.vectors = std::move(eig[i].vectors);
    if (analysis.density_probes > 0) {
      const DiagonalMixing mixing(b.diagonal_weights);
      const SampleGramOperator op(samples.inputs, mixing, nullptr);
      if (!EstimateDensity(op, b.target, analysis, seeds[i], cancel, progress, &b.report)) {
        return cancel_all();
      }
    }
    if (progress != nullptr) progress->SolveDone(stage);
  }
}

// The block whose eigenvectors give the Gur-Ari overlap.
bool IsFullHessian(const BlockTarget& target) {
  return target.matrix == MatrixKind::kHessian && target.block == BlockKind::kFull;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<MatrixKind> AnalysedMatrices(const AnalysisSpec& analysis) {
  std::vector<MatrixKind> matrices{MatrixKind::kHessian};
  if (analysis.g_matrix) matrices.push_back(MatrixKind::kGMatrix);
  return matrices;
}

PendingBlock& AddSampleBlock(std::vector<PendingBlock>* blocks, const SampleSet& samples,
                             std::unique_ptr<SampleMixing> mixing) {
  blocks->emplace_back();
  PendingBlock& b = blocks->back();
  b.mixing = std::move(mixing);
  b.op = std::make_unique<SampleGramOperator>(samples.inputs, *b.mixing, nullptr);
  b.null_op = std::make_unique<SampleGramOperator>(samples.noise, *b.mixing, nullptr);
  b.target.op = b.op.get();
  b.target.null_op = b.null_op.get();
  b.target.num_samples = samples.size();
  b.target.dense_size = b.op->size();
  return b;
}

PendingBlock& AddDiagonalBlock(std::vector<PendingBlock>* blocks, const SampleSet& samples,
                               VectorXd weights) {
  blocks->emplace_back();
  PendingBlock& b = blocks->back();
  b.diagonal_weights = std::move(weights);
  b.samples = &samples;
  b.target.num_samples = samples.size();
  b.target.dense_size = samples.inputs.cols();
  return b;
}

PendingBlock& AddFixedEdgeBlock(std::vector<PendingBlock>* blocks, MatrixXd matrix,
                                long num_samples, double edge, double margin) {
  blocks->emplace_back();
  PendingBlock& b = blocks->back();
  b.op = std::make_unique<DenseSymmetricOperator>(std::move(matrix));
  b.target.op = b.op.get();
  b.target.num_samples = num_samples;
  b.target.dense_size = b.op->size();
  b.target.has_fixed_edge = true;
  b.target.fixed_edge = edge;
  b.target.fixed_margin = margin;
  return b;
}

void SetBlockTarget(const ExperimentSpec& spec, MatrixKind matrix, BlockKind block, int block_index,
                    VectorXd parameters, const MatrixXd* mean_reference,
                    SampleWeightMatrices bulk_weights, PendingBlock* b) {
  BlockTarget& target = b->target;
  target.matrix = matrix;
  target.block = block;
  target.block_index = block_index;
  target.parameters = std::move(parameters);
  target.mean_reference = mean_reference;
  target.bulk_weights = std::move(bulk_weights);
  target.noise_variance = spec.NoiseVariance();
  target.input_dim = spec.Dim();
  switch (block) {
    case BlockKind::kClass:
    case BlockKind::kNeuron:
      target.top_r = spec.ResolvedTopR();
      target.expected = spec.ExpectedClassOutliers();
      break;
    case BlockKind::kFull:
    case BlockKind::kFirstLayer:
      target.top_r = spec.ResolvedTopRFull();
      target.expected = spec.ExpectedFullOutliers();
      break;
    case BlockKind::kSecondLayer:
      target.top_r = spec.NumBlocks();  // K x K, solved dense: every pair at no extra cost
      target.expected = spec.ExpectedFullOutliers();
      break;
  }
  b->keep_vectors = IsFullHessian(target);
}

// A product cut short by the cancel hook is incomplete; it is kept all the same, because a
// cancelled run reports nothing more (the snapshot's solves see the same hook and stop).
const MatrixXd& SampleGramCache::Inputs(const SampleSet& samples, ThreadPool* pool) {
  if (inputs_.size() == 0) inputs_ = SampleInnerProducts(samples.inputs, pool, cancel_);
  return inputs_;
}

const MatrixXd& SampleGramCache::Noise(const SampleSet& samples, ThreadPool* pool) {
  if (noise_.size() == 0) noise_ = SampleInnerProducts(samples.noise, pool, cancel_);
  return noise_;
}

PendingBlock& AddGramBlock(std::vector<PendingBlock>* blocks, const SampleSet& samples,
                           SampleGramCache* cache, ThreadPool* pool, RowMatrix factors) {
  auto shared_factors = std::make_shared<const RowMatrix>(std::move(factors));
  blocks->emplace_back();
  PendingBlock& b = blocks->back();
  b.op = std::make_unique<DenseSymmetricOperator>(
      GramOfOuterProducts(cache->Inputs(samples, pool), *shared_factors));
  b.null_op = std::make_unique<DenseSymmetricOperator>(
      GramOfOuterProducts(cache->Noise(samples, pool), *shared_factors));
  b.target.op = b.op.get();
  b.target.null_op = b.null_op.get();
  b.target.num_samples = samples.size();
  b.target.dense_size = samples.inputs.cols() * shared_factors->cols();
  const RowMatrix* inputs = &samples.inputs;
  b.target.lift_vectors = [inputs, shared_factors](const VectorXd& values,
                                                   const MatrixXd& vectors) {
    return LiftGramEigenvectors(*inputs, *shared_factors, values, vectors);
  };
  return b;
}

void FinishSnapshotAnalysis(const std::vector<PendingBlock>& blocks,
                            const std::vector<BlockKind>& report_order, int overlap_rank,
                            const std::function<VectorXd()>& gradient,
                            std::chrono::steady_clock::time_point start, Snapshot* out) {
  for (BlockKind kind : report_order) {
    for (const PendingBlock& b : blocks) {
      if (b.target.block == kind) out->spectra.push_back(b.report);
    }
  }
  const auto full_hessian = std::find_if(
      blocks.begin(), blocks.end(), [](const PendingBlock& b) { return IsFullHessian(b.target); });
  if (full_hessian != blocks.end()) {
    const MatrixXd& eigenvectors = full_hessian->vectors;
    out->gradient_overlap_rank = std::min<int>(overlap_rank, static_cast<int>(eigenvectors.cols()));
    out->gradient_overlap = ProjectedFraction(eigenvectors, out->gradient_overlap_rank, gradient());
  }
  out->total_products = TotalProducts(out->spectra);
  out->analysis_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long TotalProducts(const std::vector<SpectrumReport>& spectra) {
  long total = 0;
  for (const SpectrumReport& s : spectra) total += s.solver.products + s.edge_solver.products;
  return total;
}

int CountSolves(const std::vector<PendingBlock>& blocks, const AnalysisSpec& analysis) {
  int solves = 0;
  for (const PendingBlock& b : blocks) solves += UsesNullSolve(b.target, analysis) ? 2 : 1;
  return solves;
}

AnalysisProgressTracker::AnalysisProgressTracker(
    int snapshot_index, int solves_total, long expected_products,
    std::function<void(const AnalysisProgress&)> report)
    : snapshot_index_(snapshot_index),
      solves_total_(solves_total),
      expected_products_(expected_products),
      report_(std::move(report)),
      start_(std::chrono::steady_clock::now()) {}

void AnalysisProgressTracker::AddProducts(long products, const char* stage) {
  std::lock_guard<std::mutex> lock(mutex_);
  products_ += products;
  MaybeReport(stage, false);
}

void AnalysisProgressTracker::SolveDone(const char* stage) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++solves_done_;
  MaybeReport(stage, false);
}

void AnalysisProgressTracker::MaybeReport(const char* stage, bool force) {
  // Every few seconds: a watcher of a long snapshot hears regularly, a short snapshot (most of
  // them) sends nothing, and a long job does not fill its event log with progress.
  constexpr double kReportEverySeconds = 5.0;
  const double elapsed = SecondsSince(start_);
  if (!report_ || (!force && elapsed - last_report_seconds_ < kReportEverySeconds)) return;
  last_report_seconds_ = elapsed;
  AnalysisProgress p;
  p.snapshot_index = snapshot_index_;
  p.solves_done = solves_done_;
  p.solves_total = solves_total_;
  p.products_done = products_;
  p.seconds_elapsed = elapsed;
  // The previous snapshot's product count at this snapshot's rate; unknown for the first.
  if (expected_products_ > 0 && products_ > 0) {
    p.seconds_left =
        std::max(0.0, elapsed * static_cast<double>(expected_products_ - products_) / products_);
  }
  p.stage = stage;
  report_(p);
}

std::vector<double> SecondsPerBlock(const std::vector<PendingBlock>& blocks) {
  std::vector<double> seconds;
  for (const PendingBlock& b : blocks) {
    seconds.push_back(b.report.solver.seconds + b.report.edge_solver.seconds);
  }
  return seconds;
}

namespace {

// One unit of a snapshot's work, run on one thread: a lockstep family or a single block.
struct AnalysisTask {
  double cost;  // orders the tasks; changes no result
  std::function<void()> run;
};

// The diagonal blocks grouped by their sample, each group in block order: one lockstep family
// per sample, so every product is one pass over it. The other blocks, which have operators of
// their own, go to *singles.
std::vector<std::vector<long>> GroupDiagonalFamilies(const std::vector<PendingBlock>& blocks,
                                                     std::vector<long>* singles) {
  std::vector<std::vector<long>> families;
  for (long n = 0; n < static_cast<long>(blocks.size()); ++n) {
    const PendingBlock& b = blocks[n];
    if (b.diagonal_weights.size() == 0) {
      singles->push_back(n);
      continue;
    }
    auto same_sample = [&](const std::vector<long>& f) {
      return blocks[f[0]].samples == b.samples;
    };
    auto it = std::find_if(families.begin(), families.end(), same_sample);
    if (it == families.end()) {
      families.push_back({n});
    } else {
      it->push_back(n);
    }
  }
  return families;
}

// The size model of a task's cost, for a run's first snapshot (no times measured yet): a
// product's flops. A family's product is about members x d x M.
double FamilyProductCost(const std::vector<PendingBlock>& blocks, const std::vector<long>& family) {
  const PendingBlock& first = blocks[family[0]];
  return static_cast<double>(family.size()) * first.samples->inputs.cols() *
         static_cast<double>(first.samples->size());
}

// A sample operator's product is about size x M, a dense (Gram form) one's size^2.
double SingleProductCost(const PendingBlock& b) {
  const double size = static_cast<double>(b.target.op->size());
  const bool dense = dynamic_cast<const DenseSymmetricOperator*>(b.target.op) != nullptr;
  return dense ? size * size : size * static_cast<double>(b.target.num_samples);
}

// What a family took in the previous snapshot: each member carries the family's time
// (SecondsPerBlock), so the largest is that time.
double FamilyPreviousSeconds(const std::vector<double>& previous_seconds,
                             const std::vector<long>& family) {
  double seconds = 0;
  for (long n : family) seconds = std::max(seconds, previous_seconds[n]);
  return seconds;
}

// Runs every task once, most expensive first, so that no long task starts last and runs alone
// while the other threads idle. Each task runs on one thread.
void RunLongestFirst(std::vector<AnalysisTask>* tasks, ThreadPool* pool) {
  std::stable_sort(tasks->begin(), tasks->end(),
                   [](const AnalysisTask& a, const AnalysisTask& b) { return a.cost > b.cost; });
  auto run_one = [&](long i) { (*tasks)[i].run(); };
  const long n = static_cast<long>(tasks->size());
  if (pool != nullptr) {
    pool->ParallelFor(n, run_one);
  } else {
    for (long i = 0; i < n; ++i) run_one(i);
  }
}

}  // namespace

bool AnalyzeBlocks(std::vector<PendingBlock>* blocks, const AnalysisSpec& analysis,
                   uint64_t run_seed, int snapshot_index, ThreadPool* pool, const CancelFn& cancel,
                   AnalysisProgressTracker* progress, const std::vector<double>* previous_seconds) {
  // Tasks are costed by the previous snapshot's times when there are any: the size model cannot
  // tell a block whose pairs converge fast from one whose pairs lie in the bulk.
  const bool measured = previous_seconds != nullptr && previous_seconds->size() == blocks->size();
  std::vector<long> singles;
  const std::vector<std::vector<long>> families = GroupDiagonalFamilies(*blocks, &singles);
  std::vector<AnalysisTask> tasks;
  for (const std::vector<long>& f : families) {
    const double cost =
        measured ? FamilyPreviousSeconds(*previous_seconds, f) : FamilyProductCost(*blocks, f);
    tasks.push_back({cost, [&, f] {
                       AnalyzeDiagonalFamily(blocks, f, analysis, run_seed, snapshot_index, cancel,
                                             progress);
                     }});
  }
  for (long n : singles) {
    const double cost = measured ? (*previous_seconds)[n] : SingleProductCost((*blocks)[n]);
    tasks.push_back({cost, [&, n] {
                       AnalyzeSingle(&(*blocks)[n], analysis,
                                     SolveSeed(run_seed, snapshot_index, static_cast<int>(n) + 1),
                                     cancel, progress);
                     }});
  }
  RunLongestFirst(&tasks, pool);
  for (const PendingBlock& b : *blocks) {
    if (b.cancelled) return false;
  }
  return true;
}

}  // namespace sgdspectra
