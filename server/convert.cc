#include "server/convert.h"

#include <algorithm>
#include <string>

namespace sgdspectra::server {
namespace {

// Server-side bound of analysis.threads as the proto states it; 0 is "the server's --threads",
// which the core never sees.
constexpr int kMaxThreads = 256;

OutlierMethod OutlierMethodFromProto(v1::OutlierMethod method) {
  switch (method) {
    case v1::MARCHENKO_PASTUR:
      return OutlierMethod::kMarchenkoPastur;
    case v1::LARGEST_GAP:
      return OutlierMethod::kLargestGap;
    case v1::DECOY_NULL:
      return OutlierMethod::kDecoyNull;
    default:  // OUTLIER_METHOD_UNSPECIFIED and NULL_MODEL
      return OutlierMethod::kNullModel;
  }
}

v1::OutlierMethod OutlierMethodToProto(OutlierMethod method) {
  switch (method) {
    case OutlierMethod::kNullModel:
      return v1::NULL_MODEL;
    case OutlierMethod::kMarchenkoPastur:
      return v1::MARCHENKO_PASTUR;
    case OutlierMethod::kLargestGap:
      return v1::LARGEST_GAP;
    case OutlierMethod::kDecoyNull:
      return v1::DECOY_NULL;
  }
  return v1::OUTLIER_METHOD_UNSPECIFIED;
}

v1::MatrixKind MatrixKindToProto(MatrixKind kind) {
  return kind == MatrixKind::kHessian ? v1::HESSIAN : v1::G_MATRIX;
}

v1::BlockKind BlockKindToProto(BlockKind kind) {
  switch (kind) {
    case BlockKind::kClass:
      return v1::CLASS_BLOCK;
    case BlockKind::kFull:
      return v1::FULL;
    case BlockKind::kNeuron:
      return v1::NEURON;
    case BlockKind::kFirstLayer:
      return v1::FIRST_LAYER;
    case BlockKind::kSecondLayer:
      return v1::SECOND_LAYER;
  }
  return v1::BLOCK_KIND_UNSPECIFIED;
}

void SolverStatsToProto(const SolverStats& stats, v1::SolverStats* out) {
  out->set_requested(stats.requested);
  out->set_converged(stats.converged);
  out->set_products(stats.products);
  out->set_restarts(stats.restarts);
  out->set_seconds(stats.seconds);
  out->set_method(SolverMethodName(stats.method));
  out->set_tol(stats.tol);
}

// Checks of what only the proto has: the task oneof, open enums, the name's length, and the
// "0 = server default" of analysis.threads.
Status CheckProtoOnlyFields(const v1::JobSpec& proto) {
  if (proto.name().size() > kMaxJobNameBytes) {
    return Status::InvalidArgument("name: must be at most " + std::to_string(kMaxJobNameBytes) +
                                   " bytes, got " + std::to_string(proto.name().size()));
  }
  if (proto.task_case() == v1::JobSpec::TASK_NOT_SET) {
    return Status::InvalidArgument("task: must be set (kgmm or xor_task)");
  }
  if (!v1::Schedule_Kind_IsValid(proto.schedule().kind())) {
    return Status::InvalidArgument("schedule.kind: unknown value " +
                                   std::to_string(proto.schedule().kind()));
  }
  if (!v1::OutlierMethod_IsValid(proto.analysis().outlier_method())) {
    return Status::InvalidArgument("analysis.outlier_method: unknown value " +
                                   std::to_string(proto.analysis().outlier_method()));
  }
  if (!v1::SolveTarget_IsValid(proto.analysis().solve_target())) {
    return Status::InvalidArgument("analysis.solve_target: unknown value " +
                                   std::to_string(proto.analysis().solve_target()));
  }
  const int threads = proto.analysis().threads();
  if (threads < 0 || threads > kMaxThreads) {
    return Status::InvalidArgument("analysis.threads: must be in [0, " +
                                   std::to_string(kMaxThreads) + "], got " +
                                   std::to_string(threads));
  }
  return Status::Ok();
}

// Copies value into *field unless it is 0, the proto's "use the default". NaN is not 0, so it
// reaches the core's bound check.
template <typename T, typename U>
void CopyUnlessZero(U value, T* field) {
  if (value != 0) *field = static_cast<T>(value);
}

}  // namespace

Status JobSpecFromProto(const v1::JobSpec& proto, int default_threads, ExperimentSpec* spec) {
  Status status = CheckProtoOnlyFields(proto);
  if (!status.ok()) return status;

  ExperimentSpec out;
  out.name = proto.name();
  out.seed = proto.seed();
  if (proto.has_kgmm()) {
    out.task = TaskKind::kKgmm;
    const v1::KgmmTask& kgmm = proto.kgmm();
    CopyUnlessZero(kgmm.dim(), &out.kgmm.dim);
    CopyUnlessZero(kgmm.num_classes(), &out.kgmm.num_classes);
    CopyUnlessZero(kgmm.snr(), &out.kgmm.snr);
    out.kgmm.class_probs.assign(kgmm.class_probs().begin(), kgmm.class_probs().end());
    out.kgmm.mean_gram.assign(kgmm.mean_gram().begin(), kgmm.mean_gram().end());
    if (kgmm.has_ridge()) out.kgmm.ridge = kgmm.ridge();
  } else {
    out.task = TaskKind::kXor;
    const v1::XorTask& xor_task = proto.xor_task();
    CopyUnlessZero(xor_task.dim(), &out.xor_task.dim);
    CopyUnlessZero(xor_task.hidden(), &out.xor_task.hidden);
    CopyUnlessZero(xor_task.snr(), &out.xor_task.snr);
    if (xor_task.has_ridge()) out.xor_task.ridge = xor_task.ridge();
    if (xor_task.has_second_layer_margin()) {
      out.xor_task.second_layer_margin = xor_task.second_layer_margin();
    }
    CopyUnlessZero(xor_task.decoy_draws(), &out.xor_task.decoy_draws);
  }

  const v1::SgdSettings& sgd = proto.sgd();
  CopyUnlessZero(sgd.c_delta(), &out.sgd.c_delta);
  out.sgd.step_size = sgd.step_size();  // 0 already means c_delta / d in the core
  out.sgd.steps = sgd.steps();          // 0 already means "derive from t_end"
  if (sgd.has_t_end()) out.sgd.t_end = sgd.t_end();

  const v1::Schedule& schedule = proto.schedule();
  out.schedule.kind = schedule.kind() == v1::Schedule::EVERY_STEPS ? ScheduleKind::kEverySteps
                                                                   : ScheduleKind::kLogSpacedTime;
  out.schedule.every_steps = schedule.every_steps();
  CopyUnlessZero(schedule.num_points(), &out.schedule.num_points);
  CopyUnlessZero(schedule.t_first(), &out.schedule.t_first);

  const v1::AnalysisSettings& analysis = proto.analysis();
  CopyUnlessZero(analysis.test_ratio(), &out.analysis.test_ratio);
  out.analysis.top_r = analysis.top_r();            // 0 = 2k + 4 in the core too
  out.analysis.top_r_full = analysis.top_r_full();  // 0 = 2k(k-1) + 4 in the core too
  if (analysis.has_class_blocks()) out.analysis.class_blocks = analysis.class_blocks();
  if (analysis.has_full_matrices()) out.analysis.full_matrices = analysis.full_matrices();
  if (analysis.has_g_matrix()) out.analysis.g_matrix = analysis.g_matrix();
  out.analysis.solver.ncv = analysis.ncv();  // 0 = max(2r + 1, 20) per block in the core
  CopyUnlessZero(analysis.tol(), &out.analysis.solver.tol);
  CopyUnlessZero(analysis.max_restarts(), &out.analysis.solver.max_restarts);
  out.analysis.outliers.method = OutlierMethodFromProto(analysis.outlier_method());
  if (analysis.has_outlier_margin()) out.analysis.outliers.margin = analysis.outlier_margin();
  CopyUnlessZero(analysis.gap_ratio(), &out.analysis.outliers.gap_ratio);
  CopyUnlessZero(analysis.rank_tolerance(), &out.analysis.rank_tolerance);
  out.analysis.threads = analysis.threads() == 0 ? default_threads : analysis.threads();
  out.analysis.solve_target =
      analysis.solve_target() == v1::TOP_R ? SolveTarget::kTopR : SolveTarget::kOutliers;
  CopyUnlessZero(analysis.certify_below(), &out.analysis.certify_below);
  CopyUnlessZero(analysis.null_tol(), &out.analysis.null_tol);

  out.progress_every_steps = proto.progress_every_steps();  // 0 = about 50 per run
  CopyUnlessZero(proto.random_stream_version(), &out.random_stream_version);
  CopyUnlessZero(proto.memory_budget_bytes(), &out.memory_budget_bytes);

  status = out.Validate();
  if (!status.ok()) return status;
  *spec = std::move(out);
  return Status::Ok();
}

v1::JobSpec ResolvedJobSpecToProto(const ExperimentSpec& spec) {
  v1::JobSpec proto;
  proto.set_name(spec.name);
  proto.set_seed(spec.seed);

  if (spec.task == TaskKind::kKgmm) {
    v1::KgmmTask* kgmm = proto.mutable_kgmm();
    kgmm->set_dim(spec.kgmm.dim);
    kgmm->set_num_classes(spec.kgmm.num_classes);
    kgmm->set_snr(spec.kgmm.snr);
    kgmm->mutable_class_probs()->Assign(spec.kgmm.class_probs.begin(), spec.kgmm.class_probs.end());
    kgmm->mutable_mean_gram()->Assign(spec.kgmm.mean_gram.begin(), spec.kgmm.mean_gram.end());
    kgmm->set_ridge(spec.kgmm.ridge);
  } else {
    v1::XorTask* xor_task = proto.mutable_xor_task();
    xor_task->set_dim(spec.xor_task.dim);
    xor_task->set_hidden(spec.xor_task.hidden);
    xor_task->set_snr(spec.xor_task.snr);
    xor_task->set_ridge(spec.xor_task.ridge);
    xor_task->set_second_layer_margin(spec.xor_task.second_layer_margin);
    xor_task->set_decoy_draws(spec.xor_task.decoy_draws);
  }

  v1::SgdSettings* sgd = proto.mutable_sgd();
  sgd->set_c_delta(spec.sgd.c_delta);
  sgd->set_step_size(spec.sgd.step_size);
  sgd->set_steps(spec.sgd.steps);
  sgd->set_t_end(spec.sgd.t_end);

  v1::Schedule* schedule = proto.mutable_schedule();
  schedule->set_kind(spec.schedule.kind == ScheduleKind::kEverySteps
                         ? v1::Schedule::EVERY_STEPS
                         : v1::Schedule::LOG_SPACED_TIME);
  schedule->set_every_steps(spec.schedule.every_steps);
  schedule->set_num_points(spec.schedule.num_points);
  schedule->set_t_first(spec.schedule.t_first);

  v1::AnalysisSettings* analysis = proto.mutable_analysis();
  analysis->set_test_ratio(spec.analysis.test_ratio);
  analysis->set_top_r(spec.ResolvedTopR());
  analysis->set_top_r_full(spec.ResolvedTopRFull());
  analysis->set_class_blocks(spec.analysis.class_blocks);
  analysis->set_full_matrices(spec.analysis.full_matrices);
  analysis->set_g_matrix(spec.analysis.g_matrix);
  analysis->set_ncv(spec.analysis.solver.ncv);
  analysis->set_tol(spec.analysis.solver.tol);
  analysis->set_max_restarts(spec.analysis.solver.max_restarts);
  analysis->set_outlier_method(OutlierMethodToProto(spec.analysis.outliers.method));
  analysis->set_outlier_margin(spec.analysis.outliers.margin);
  analysis->set_gap_ratio(spec.analysis.outliers.gap_ratio);
  analysis->set_rank_tolerance(spec.analysis.rank_tolerance);
  analysis->set_threads(spec.analysis.threads);
  analysis->set_solve_target(spec.analysis.solve_target == SolveTarget::kTopR ? v1::TOP_R
                                                                              : v1::OUTLIERS);
  analysis->set_certify_below(spec.analysis.certify_below);
  analysis->set_null_tol(spec.analysis.null_tol);

  proto.set_progress_every_steps(spec.ResolvedProgressEvery());
  proto.set_memory_budget_bytes(spec.memory_budget_bytes);
  proto.set_random_stream_version(spec.random_stream_version);
  return proto;
}

v1::Accepted AcceptedFor(const ExperimentSpec& spec, const std::string& build_version) {
  v1::Accepted accepted;
  *accepted.mutable_resolved_spec() = ResolvedJobSpecToProto(spec);
  accepted.set_build_version(build_version);
  accepted.set_steps_total(spec.ResolvedSteps());
  for (long step : spec.SnapshotSteps()) accepted.add_snapshot_steps(step);
  accepted.set_test_sample_size(spec.TestSampleSize());
  accepted.set_step_size(spec.ResolvedStepSize());
  *accepted.mutable_cost_estimate() = JobCostEstimateToProto(EstimateJobCost(spec));
  return accepted;
}

v1::JobCostEstimate JobCostEstimateToProto(const JobCostEstimate& estimate) {
  v1::JobCostEstimate proto;
  proto.set_snapshots(estimate.snapshots);
  proto.set_solves_per_snapshot(estimate.solves_per_snapshot);
  proto.set_products_per_snapshot(estimate.products_per_snapshot);
  proto.set_flops_per_snapshot(estimate.flops_per_snapshot);
  proto.set_sgd_flops(estimate.sgd_flops);
  proto.set_total_flops(estimate.total_flops);
  proto.set_estimated_seconds(estimate.estimated_seconds);
  proto.set_nominal_flops_per_second(kNominalProductFlopsPerSecond);
  proto.set_peak_bytes(estimate.peak_bytes);
  return proto;
}

v1::AnalysisProgress AnalysisProgressToProto(const AnalysisProgress& progress) {
  v1::AnalysisProgress proto;
  proto.set_snapshot_index(progress.snapshot_index);
  proto.set_step(progress.step);
  proto.set_solves_done(progress.solves_done);
  proto.set_solves_total(progress.solves_total);
  proto.set_products_done(progress.products_done);
  proto.set_seconds_elapsed(progress.seconds_elapsed);
  // The proto's one "unknown" value; NaN counts as unknown too.
  proto.set_seconds_left(progress.seconds_left >= 0 ? progress.seconds_left : -1.0);
  proto.set_stage(progress.stage);
  return proto;
}

v1::Snapshot SnapshotToProto(const Snapshot& snapshot) {
  v1::Snapshot proto;
  proto.set_index(snapshot.index);
  proto.set_step(snapshot.step);
  proto.set_time(snapshot.time);
  for (const SpectrumReport& report : snapshot.spectra) {
    v1::Spectrum* spectrum = proto.add_spectra();
    spectrum->set_matrix(MatrixKindToProto(report.matrix));
    spectrum->set_block(BlockKindToProto(report.block));
    spectrum->set_block_index(report.block_index);
    spectrum->mutable_top_eigenvalues()->Assign(report.top_eigenvalues.begin(),
                                                report.top_eigenvalues.end());
    spectrum->set_bulk_edge(report.bulk_edge);
    spectrum->set_edge_method(OutlierMethodToProto(report.edge_method));
    spectrum->set_outlier_count(report.outlier_count);
    spectrum->set_expected_outliers(report.expected_outliers);
    spectrum->set_alignment_at_outliers(report.alignment_at_outliers);
    spectrum->set_alignment_at_expected(report.alignment_at_expected);
    spectrum->set_overlap_with_means(report.overlap_with_means);
    SolverStatsToProto(report.solver, spectrum->mutable_solver());
    SolverStatsToProto(report.edge_solver, spectrum->mutable_edge_solver());
    spectrum->set_outlier_threshold(report.outlier_threshold);
    spectrum->set_count_certified(report.count_certified);
  }
  proto.set_train_loss(snapshot.train_loss);
  proto.set_train_accuracy(snapshot.train_accuracy);
  proto.set_train_window(snapshot.train_window);
  proto.set_test_loss(snapshot.test_loss);
  proto.set_test_accuracy(snapshot.test_accuracy);
  proto.set_gradient_overlap(snapshot.gradient_overlap);
  proto.set_gradient_overlap_rank(snapshot.gradient_overlap_rank);
  proto.set_num_classes(snapshot.num_classes);
  proto.mutable_weight_mean_products()->Assign(snapshot.weight_mean_products.begin(),
                                               snapshot.weight_mean_products.end());
  proto.mutable_off_mean_norms()->Assign(snapshot.off_mean_norms.begin(),
                                         snapshot.off_mean_norms.end());
  proto.mutable_weight_norms()->Assign(snapshot.weight_norms.begin(), snapshot.weight_norms.end());
  proto.set_num_means(snapshot.num_means);
  proto.mutable_second_layer_weights()->Assign(snapshot.second_layer_weights.begin(),
                                               snapshot.second_layer_weights.end());
  proto.set_sgd_seconds(snapshot.sgd_seconds);
  proto.set_analysis_seconds(snapshot.analysis_seconds);
  proto.set_total_products(snapshot.total_products);
  return proto;
}

v1::ClassifierRank ClassifierRankToProto(const ClassifierRank& rank) {
  v1::ClassifierRank proto;
  proto.mutable_h_block_outliers()->Assign(rank.h_block_outliers.begin(),
                                           rank.h_block_outliers.end());
  proto.mutable_g_block_outliers()->Assign(rank.g_block_outliers.begin(),
                                           rank.g_block_outliers.end());
  proto.set_outlier_rank(rank.outlier_rank);
  proto.set_weight_rank(rank.weight_rank);
  proto.mutable_weight_singular_values()->Assign(rank.weight_singular_values.begin(),
                                                 rank.weight_singular_values.end());
  proto.set_expected_rank(rank.expected_rank);
  proto.set_rank_deficient(rank.rank_deficient);
  proto.mutable_covered_clusters()->Assign(rank.covered_clusters.begin(),
                                           rank.covered_clusters.end());
  return proto;
}

v1::JobState TerminalStateFor(const Status& status) {
  if (status.ok()) return v1::SUCCEEDED;
  if (status.code() == StatusCode::kCancelled) return v1::CANCELLED;
  return v1::FAILED;
}

v1::Finished FinishedFromResult(const ExperimentResult& result) {
  v1::Finished finished;
  finished.set_state(TerminalStateFor(result.status));
  if (!result.status.ok()) {
    finished.set_error_message(result.status.message().empty()
                                   ? StatusCodeName(result.status.code())
                                   : result.status.message());
  }
  if (result.has_rank) *finished.mutable_rank() = ClassifierRankToProto(result.final_rank);
  finished.set_final_test_accuracy(result.final_test_accuracy);
  finished.set_final_test_loss(result.final_test_loss);
  finished.set_steps_done(result.steps_done);
  finished.set_time_done(result.time_done);
  return finished;
}

v1::JobResult JobResultFromRun(const ExperimentResult& result) {
  v1::JobResult proto;
  *proto.mutable_weights() = MatrixToProto(result.weights);
  *proto.mutable_means() = MatrixToProto(result.means);
  proto.mutable_second_layer()->Assign(result.second_layer.data(),
                                       result.second_layer.data() + result.second_layer.size());
  *proto.mutable_finished() = FinishedFromResult(result);
  return proto;
}

v1::Matrix MatrixToProto(const RowMatrix& matrix) {
  v1::Matrix proto;
  proto.set_rows(matrix.rows());
  proto.set_cols(matrix.cols());
  proto.mutable_values()->Assign(matrix.data(), matrix.data() + matrix.size());
  return proto;
}

void AddTestSampleToResult(const SampleSet& sample, v1::JobResult* result) {
  *result->mutable_test_inputs() = MatrixToProto(sample.inputs);
  result->mutable_test_labels()->Assign(sample.labels.begin(), sample.labels.end());
}

v1::TestSampleChunk TestSampleChunkOf(const SampleSet& sample, int64_t first_row,
                                      int64_t num_rows) {
  const int64_t total_rows = sample.inputs.rows();
  const int64_t cols = sample.inputs.cols();
  first_row = std::clamp<int64_t>(first_row, 0, total_rows);
  const int64_t end_row = std::min(total_rows, first_row + std::max<int64_t>(num_rows, 0));
  v1::TestSampleChunk chunk;
  chunk.set_first_row(first_row);
  chunk.set_total_rows(total_rows);
  chunk.set_cols(cols);
  const double* begin = sample.inputs.data() + first_row * cols;
  chunk.mutable_values()->Assign(begin, begin + (end_row - first_row) * cols);
  chunk.mutable_labels()->Assign(sample.labels.begin() + first_row,
                                 sample.labels.begin() + end_row);
  return chunk;
}

}  // namespace sgdspectra::server
