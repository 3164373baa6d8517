#include "server/convert.h"

#include <algorithm>
#include <string>
#include <vector>

#include "sgdspectra/core/spec_fields.h"

namespace sgdspectra::server {
namespace {

// By value name through core's one table of them (spec_fields.h), as the spec's own
// analysis.outlier_method converts.
v1::OutlierMethod OutlierMethodToProto(OutlierMethod method) {
  const std::vector<std::string>& names = ProtoEnumValueNames(method);
  const size_t index = static_cast<size_t>(method);
  v1::OutlierMethod value = v1::OUTLIER_METHOD_UNSPECIFIED;
  if (index < names.size()) v1::OutlierMethod_Parse(names[index], &value);
  return value;
}

void DensityToProto(const SpectralDensityEstimate& density, v1::SpectralDensity* proto) {
  proto->mutable_node_values()->Assign(density.node_values.begin(), density.node_values.end());
  proto->mutable_node_weights()->Assign(density.node_weights.begin(), density.node_weights.end());
  proto->mutable_nodes_per_probe()->Assign(density.nodes_per_probe.begin(),
                                           density.nodes_per_probe.end());
  proto->set_trace(density.trace);
  proto->set_trace_stderr(density.trace_stderr);
  proto->set_products(density.products);
}

v1::RankVerdict RankVerdictToProto(RankVerdict verdict) {
  switch (verdict) {
    case RankVerdict::kFullRank:
      return v1::FULL_RANK;
    case RankVerdict::kRankDeficient:
      return v1::RANK_DEFICIENT;
    case RankVerdict::kUndetermined:
      return v1::UNDETERMINED;
  }
  return v1::UNDETERMINED;
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

}  // namespace

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
    spectrum->set_marginal_count(report.marginal_count);
    if (report.has_density) DensityToProto(report.density, spectrum->mutable_density());
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
  if (snapshot.has_theory) TheoryPointToProto(snapshot.theory, proto.mutable_theory());
  return proto;
}

void TheoryPointToProto(const TheoryPoint& point, v1::TheoryPoint* proto) {
  proto->set_time(point.time);
  proto->mutable_weight_mean_products()->Assign(point.weight_mean_products.begin(),
                                                point.weight_mean_products.end());
  proto->mutable_weight_norms()->Assign(point.weight_norms.begin(), point.weight_norms.end());
  proto->mutable_off_mean_norms()->Assign(point.off_mean_norms.begin(), point.off_mean_norms.end());
  proto->mutable_alignment()->Assign(point.alignment.begin(), point.alignment.end());
  proto->mutable_second_layer_weights()->Assign(point.second_layer_weights.begin(),
                                                point.second_layer_weights.end());
  proto->set_test_accuracy(point.test_accuracy);
  proto->set_test_loss(point.test_loss);
  proto->set_drift_norm(point.drift_norm);
}

v1::TheoryLimit TheoryLimitToProto(const TheoryTrack& track) {
  v1::TheoryLimit proto;
  TheoryPointToProto(track.limit, proto.mutable_limit());
  proto.set_converged(track.limit_converged);
  proto.set_quadrature_error(track.quadrature_error);
  proto.set_accuracy_error(track.accuracy_error);
  proto.set_seconds(track.seconds);
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
  proto.mutable_h_block_marginal()->Assign(rank.h_block_marginal.begin(),
                                           rank.h_block_marginal.end());
  proto.set_verdict(RankVerdictToProto(rank.verdict));
  proto.set_verdict_reason(rank.verdict_reason);
  return proto;
}

v1::JobState TerminalStateFor(const Status& status) {
  if (status.ok()) return v1::SUCCEEDED;
  if (status.code() == StatusCode::kCancelled) return v1::CANCELLED;
  return v1::FAILED;
}

v1::Finished FinishedFromResult(const ExperimentResult& result, v1::FinishReason reason) {
  v1::Finished finished;
  finished.set_state(TerminalStateFor(result.status));
  finished.set_reason(reason);
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
  if (result.has_theory) *finished.mutable_theory() = TheoryLimitToProto(result.theory);
  return finished;
}

v1::JobResult JobResultFromRun(const ExperimentResult& result, v1::FinishReason reason) {
  v1::JobResult proto;
  *proto.mutable_weights() = MatrixToProto(result.weights);
  *proto.mutable_means() = MatrixToProto(result.means);
  proto.mutable_second_layer()->Assign(result.second_layer.data(),
                                       result.second_layer.data() + result.second_layer.size());
  *proto.mutable_finished() = FinishedFromResult(result, reason);
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

v1::TestSampleChunk TestSampleChunkOfRows(int64_t first_row, int64_t total_rows,
                                          const RowMatrix& inputs, const std::vector<int>& labels) {
  v1::TestSampleChunk chunk;
  chunk.set_first_row(first_row);
  chunk.set_total_rows(total_rows);
  chunk.set_cols(inputs.cols());
  chunk.mutable_values()->Assign(inputs.data(), inputs.data() + inputs.size());
  chunk.mutable_labels()->Assign(labels.begin(), labels.end());
  return chunk;
}

}  // namespace sgdspectra::server
