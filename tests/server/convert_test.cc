// proto <-> core translation: defaults, the resolved spec round trip, field-by-field copies.
#include "server/convert.h"

#include <gtest/gtest.h>

#include <limits>

#include "server/status_map.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using server::JobSpecFromProto;
using server::ResolvedJobSpecToProto;

// Everything a run depends on, through the spec's own accessors.
void ExpectSameRun(const ExperimentSpec& a, const ExperimentSpec& b) {
  ExpectSameMessage(ResolvedJobSpecToProto(a), ResolvedJobSpecToProto(b), "resolved spec");
  EXPECT_EQ(a.ResolvedSteps(), b.ResolvedSteps());
  EXPECT_EQ(a.ResolvedStepSize(), b.ResolvedStepSize());
  EXPECT_EQ(a.SnapshotSteps(), b.SnapshotSteps());
  EXPECT_EQ(a.TestSampleSize(), b.TestSampleSize());
  EXPECT_EQ(a.ResolvedTopR(), b.ResolvedTopR());
  EXPECT_EQ(a.ResolvedTopRFull(), b.ResolvedTopRFull());
  EXPECT_EQ(a.ResolvedNcv(a.ResolvedTopR(), a.Dim()), b.ResolvedNcv(b.ResolvedTopR(), b.Dim()));
  EXPECT_EQ(a.ResolvedProgressEvery(), b.ResolvedProgressEvery());
  EXPECT_EQ(a.kgmm.class_probs, b.kgmm.class_probs);
  EXPECT_EQ(a.kgmm.mean_gram, b.kgmm.mean_gram);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.task, b.task);
  EXPECT_EQ(a.xor_task.ridge, b.xor_task.ridge);
  EXPECT_EQ(a.xor_task.second_layer_margin, b.xor_task.second_layer_margin);
  EXPECT_EQ(a.xor_task.decoy_draws, b.xor_task.decoy_draws);
  EXPECT_EQ(a.analysis.threads, b.analysis.threads);
}

TEST(ConvertTest, ResolvedSpecConvertsBackToTheSameRun) {
  v1::JobSpec log_spaced;
  log_spaced.mutable_kgmm()->set_dim(123);
  log_spaced.mutable_kgmm()->set_num_classes(5);
  log_spaced.mutable_sgd()->set_c_delta(0.7);
  log_spaced.mutable_schedule()->set_num_points(17);
  v1::JobSpec weighted = TinySpec(99);
  for (double p : {0.2, 0.3, 0.5}) weighted.mutable_kgmm()->add_class_probs(p);
  for (double g : {2.0, 0.5, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0, 1.0}) {
    weighted.mutable_kgmm()->add_mean_gram(g);
  }
  weighted.mutable_analysis()->set_outlier_method(v1::LARGEST_GAP);
  weighted.mutable_analysis()->set_ncv(30);
  weighted.mutable_sgd()->set_steps(77);
  v1::JobSpec xor_defaults;
  xor_defaults.mutable_xor_task();
  v1::JobSpec xor_explicit = TinyXorSpec();
  xor_explicit.mutable_xor_task()->set_ridge(0);
  xor_explicit.mutable_xor_task()->set_second_layer_margin(1.5);
  xor_explicit.mutable_xor_task()->set_decoy_draws(2);
  for (const v1::JobSpec& request :
       {TinySpec(), log_spaced, weighted, xor_defaults, xor_explicit}) {
    ExperimentSpec first;
    ASSERT_TRUE(JobSpecFromProto(request, 3, &first).ok()) << request.DebugString();
    const v1::JobSpec resolved = ResolvedJobSpecToProto(first);
    ExperimentSpec second;
    const Status status = JobSpecFromProto(resolved, 1, &second);
    ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << resolved.DebugString();
    ExpectSameRun(first, second);
  }
}

TEST(ConvertTest, ZeroThreadsMeansTheServerDefaultAndExplicitValuesWin) {
  v1::JobSpec request = TinySpec();
  ExperimentSpec spec;
  ASSERT_TRUE(JobSpecFromProto(request, 6, &spec).ok());
  EXPECT_EQ(spec.analysis.threads, 6);
  request.mutable_analysis()->set_threads(2);
  ASSERT_TRUE(JobSpecFromProto(request, 6, &spec).ok());
  EXPECT_EQ(spec.analysis.threads, 2);
  request.mutable_schedule()->set_kind(v1::Schedule::KIND_UNSPECIFIED);
  ASSERT_TRUE(JobSpecFromProto(request, 6, &spec).ok());
  EXPECT_EQ(spec.schedule.kind, ScheduleKind::kLogSpacedTime);
  request.mutable_analysis()->set_outlier_method(v1::MARCHENKO_PASTUR);
  ASSERT_TRUE(JobSpecFromProto(request, 6, &spec).ok());
  EXPECT_EQ(spec.analysis.outliers.method, OutlierMethod::kMarchenkoPastur);
}

TEST(ConvertTest, XorTaskFieldsTakeTheirDefaultsAndExplicitValues) {
  v1::JobSpec request;
  request.mutable_xor_task();
  ExperimentSpec spec;
  ASSERT_TRUE(JobSpecFromProto(request, 1, &spec).ok());
  EXPECT_EQ(spec.task, TaskKind::kXor);
  EXPECT_EQ(spec.xor_task.dim, 250);
  EXPECT_EQ(spec.xor_task.hidden, 4);
  EXPECT_EQ(spec.xor_task.snr, 1000);
  EXPECT_EQ(spec.xor_task.ridge, 0.1);
  EXPECT_EQ(spec.xor_task.second_layer_margin, 3);
  EXPECT_EQ(spec.xor_task.decoy_draws, 4);
  const v1::JobSpec resolved = ResolvedJobSpecToProto(spec);
  ASSERT_TRUE(resolved.has_xor_task());
  EXPECT_FALSE(resolved.has_kgmm());
  EXPECT_EQ(resolved.xor_task().dim(), 250);
  EXPECT_TRUE(resolved.xor_task().has_ridge());
  EXPECT_EQ(resolved.analysis().top_r(), 8);        // 2 x 2 + 4
  EXPECT_EQ(resolved.analysis().top_r_full(), 12);  // 2 x 4 + 4

  request.mutable_xor_task()->set_dim(64);
  request.mutable_xor_task()->set_hidden(2);
  request.mutable_xor_task()->set_snr(50);
  request.mutable_xor_task()->set_ridge(0);  // optional: an explicit 0 is kept
  request.mutable_xor_task()->set_second_layer_margin(0);
  request.mutable_xor_task()->set_decoy_draws(7);
  ASSERT_TRUE(JobSpecFromProto(request, 1, &spec).ok());
  EXPECT_EQ(spec.xor_task.dim, 64);
  EXPECT_EQ(spec.xor_task.hidden, 2);
  EXPECT_EQ(spec.xor_task.snr, 50);
  EXPECT_EQ(spec.xor_task.ridge, 0);
  EXPECT_EQ(spec.xor_task.second_layer_margin, 0);
  EXPECT_EQ(spec.xor_task.decoy_draws, 7);
}

TEST(ConvertTest, EveryBlockKindHasItsProtoValue) {
  const std::pair<BlockKind, v1::BlockKind> pairs[] = {{BlockKind::kClass, v1::CLASS_BLOCK},
                                                       {BlockKind::kFull, v1::FULL},
                                                       {BlockKind::kNeuron, v1::NEURON},
                                                       {BlockKind::kFirstLayer, v1::FIRST_LAYER},
                                                       {BlockKind::kSecondLayer, v1::SECOND_LAYER}};
  for (const auto& [core_kind, proto_kind] : pairs) {
    Snapshot snapshot;
    snapshot.spectra.emplace_back();
    snapshot.spectra[0].block = core_kind;
    EXPECT_EQ(server::SnapshotToProto(snapshot).spectra(0).block(), proto_kind);
  }
}

TEST(ConvertTest, SnapshotCopiesEveryField) {
  Snapshot snapshot;
  snapshot.index = 2;
  snapshot.step = 80;
  snapshot.time = 2.0;
  SpectrumReport report;
  report.matrix = MatrixKind::kGMatrix;
  report.block = BlockKind::kFull;
  report.block_index = -1;
  report.top_eigenvalues = {5.0, 3.0, 1.0};
  report.bulk_edge = 1.5;
  report.edge_method = OutlierMethod::kMarchenkoPastur;
  report.outlier_count = 2;
  report.expected_outliers = 6;
  report.alignment_at_outliers = 0.9;
  report.alignment_at_expected = 0.95;
  report.overlap_with_means = 0.8;
  report.marginal_count = 1;
  report.solver.requested = 3;
  report.solver.converged = 3;
  report.solver.products = 40;
  report.solver.restarts = 2;
  report.solver.seconds = 0.01;
  report.solver.method = SolverMethod::kDense;
  snapshot.spectra.push_back(report);
  snapshot.train_loss = 0.5;
  snapshot.train_accuracy = 0.75;
  snapshot.train_window = 40;
  snapshot.test_loss = 0.6;
  snapshot.test_accuracy = 0.7;
  snapshot.gradient_overlap = 0.3;
  snapshot.gradient_overlap_rank = 3;
  snapshot.num_classes = 3;
  snapshot.weight_mean_products = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  snapshot.off_mean_norms = {0.1, 0.2, 0.3};
  snapshot.weight_norms = {1.1, 1.2, 1.3};
  snapshot.num_means = 3;
  snapshot.second_layer_weights = {0.5, -0.5};
  snapshot.sgd_seconds = 0.25;
  snapshot.analysis_seconds = 0.5;
  snapshot.total_products = 123;

  const v1::Snapshot proto = server::SnapshotToProto(snapshot);
  EXPECT_EQ(proto.index(), 2);
  EXPECT_EQ(proto.step(), 80);
  EXPECT_EQ(proto.time(), 2.0);
  ASSERT_EQ(proto.spectra_size(), 1);
  const v1::Spectrum& spectrum = proto.spectra(0);
  EXPECT_EQ(spectrum.matrix(), v1::G_MATRIX);
  EXPECT_EQ(spectrum.block(), v1::FULL);
  EXPECT_EQ(spectrum.block_index(), -1);
  EXPECT_EQ(
      std::vector<double>(spectrum.top_eigenvalues().begin(), spectrum.top_eigenvalues().end()),
      report.top_eigenvalues);
  EXPECT_EQ(spectrum.bulk_edge(), 1.5);
  EXPECT_EQ(spectrum.edge_method(), v1::MARCHENKO_PASTUR);
  EXPECT_EQ(spectrum.outlier_count(), 2);
  EXPECT_EQ(spectrum.expected_outliers(), 6);
  EXPECT_EQ(spectrum.alignment_at_outliers(), 0.9);
  EXPECT_EQ(spectrum.alignment_at_expected(), 0.95);
  EXPECT_EQ(spectrum.overlap_with_means(), 0.8);
  EXPECT_EQ(spectrum.marginal_count(), 1);
  EXPECT_EQ(spectrum.solver().requested(), 3);
  EXPECT_EQ(spectrum.solver().converged(), 3);
  EXPECT_EQ(spectrum.solver().products(), 40);
  EXPECT_EQ(spectrum.solver().restarts(), 2);
  EXPECT_EQ(spectrum.solver().seconds(), 0.01);
  EXPECT_EQ(spectrum.solver().method(), "dense");
  EXPECT_EQ(spectrum.edge_solver().method(), "lanczos");
  EXPECT_EQ(proto.train_loss(), 0.5);
  EXPECT_EQ(proto.train_accuracy(), 0.75);
  EXPECT_EQ(proto.train_window(), 40);
  EXPECT_EQ(proto.test_loss(), 0.6);
  EXPECT_EQ(proto.test_accuracy(), 0.7);
  EXPECT_EQ(proto.gradient_overlap(), 0.3);
  EXPECT_EQ(proto.gradient_overlap_rank(), 3);
  EXPECT_EQ(proto.num_classes(), 3);
  EXPECT_EQ(proto.weight_mean_products_size(), 9);
  EXPECT_EQ(proto.weight_mean_products(8), 9);
  EXPECT_EQ(proto.off_mean_norms(2), 0.3);
  EXPECT_EQ(proto.weight_norms(1), 1.2);
  EXPECT_EQ(proto.num_means(), 3);
  ASSERT_EQ(proto.second_layer_weights_size(), 2);
  EXPECT_EQ(proto.second_layer_weights(1), -0.5);
  EXPECT_EQ(proto.sgd_seconds(), 0.25);
  EXPECT_EQ(proto.analysis_seconds(), 0.5);
  EXPECT_EQ(proto.total_products(), 123);
}

TEST(ConvertTest, FinishedCarriesTheTerminalStateTheMessageAndTheRank) {
  ExperimentResult result;
  result.steps_done = 500;
  result.time_done = 12.5;
  result.has_rank = true;
  result.final_rank.h_block_outliers = {3, 3, 2};
  result.final_rank.g_block_outliers = {3, 3, 3};
  result.final_rank.outlier_rank = 2;
  result.final_rank.weight_rank = 3;
  result.final_rank.weight_singular_values = {2.0, 1.0, 0.5};
  result.final_rank.expected_rank = 3;
  result.final_rank.rank_deficient = true;
  result.final_rank.covered_clusters = {1, 0, 1, 1};
  result.final_rank.h_block_marginal = {0, 2};
  result.final_rank.verdict = RankVerdict::kUndetermined;
  result.final_rank.verdict_reason = "because";
  result.weights = RowMatrix::Ones(2, 3);
  result.means = RowMatrix::Zero(2, 3);
  result.second_layer = VectorXd::Constant(2, 0.25);
  result.final_test_accuracy = 0.9;
  result.final_test_loss = 0.3;
  v1::Finished finished = server::FinishedFromResult(result, v1::COMPLETED);
  EXPECT_EQ(finished.state(), v1::SUCCEEDED);
  EXPECT_EQ(finished.reason(), v1::COMPLETED);
  EXPECT_TRUE(finished.error_message().empty());
  ASSERT_TRUE(finished.has_rank());
  EXPECT_EQ(finished.rank().h_block_outliers(2), 2);
  EXPECT_EQ(finished.rank().outlier_rank(), 2);
  EXPECT_EQ(finished.rank().weight_rank(), 3);
  EXPECT_EQ(finished.rank().weight_singular_values(2), 0.5);
  EXPECT_TRUE(finished.rank().rank_deficient());
  EXPECT_EQ(finished.rank().covered_clusters_size(), 4);
  EXPECT_EQ(finished.rank().covered_clusters(1), 0);
  EXPECT_EQ(finished.rank().h_block_marginal(1), 2);
  EXPECT_EQ(finished.rank().verdict(), v1::UNDETERMINED);
  EXPECT_EQ(finished.rank().verdict_reason(), "because");
  const v1::JobResult stored = server::JobResultFromRun(result, v1::COMPLETED);
  EXPECT_EQ(stored.weights().rows(), 2);
  EXPECT_EQ(stored.weights().values_size(), 6);
  EXPECT_EQ(stored.means().cols(), 3);
  ASSERT_EQ(stored.second_layer_size(), 2);
  EXPECT_EQ(stored.second_layer(0), 0.25);
  ExpectSameMessage(stored.finished(), finished, "finished in the stored result");
  EXPECT_EQ(finished.steps_done(), 500);
  EXPECT_EQ(finished.time_done(), 12.5);
  EXPECT_EQ(finished.final_test_accuracy(), 0.9);
  EXPECT_EQ(finished.final_test_loss(), 0.3);

  result.has_rank = false;
  result.status = Status::Cancelled("stopped at step 500");
  finished = server::FinishedFromResult(result, v1::SERVER_SHUTDOWN);
  EXPECT_EQ(finished.state(), v1::CANCELLED);
  EXPECT_EQ(finished.reason(), v1::SERVER_SHUTDOWN);  // as the caller says
  EXPECT_EQ(finished.error_message(), "stopped at step 500");
  EXPECT_FALSE(finished.has_rank());

  result.status = Status::NumericalError("NaN in the weights at step 17");
  finished = server::FinishedFromResult(result, v1::RUN_FAILED);
  EXPECT_EQ(finished.state(), v1::FAILED);
  EXPECT_EQ(finished.reason(), v1::RUN_FAILED);
  EXPECT_EQ(finished.error_message(), "NaN in the weights at step 17");
}

TEST(ConvertTest, MatricesAndSampleChunksAreRowMajor) {
  RowMatrix matrix(2, 3);
  matrix << 1, 2, 3, 4, 5, 6;
  const v1::Matrix proto = server::MatrixToProto(matrix);
  EXPECT_EQ(proto.rows(), 2);
  EXPECT_EQ(proto.cols(), 3);
  EXPECT_EQ(std::vector<double>(proto.values().begin(), proto.values().end()),
            (std::vector<double>{1, 2, 3, 4, 5, 6}));

  SampleSet sample;
  sample.inputs = RowMatrix(5, 2);
  sample.inputs << 0, 1, 10, 11, 20, 21, 30, 31, 40, 41;
  sample.labels = {0, 1, 2, 0, 1};
  const v1::TestSampleChunk last = server::TestSampleChunkOf(sample, 3, 4);  // clipped
  EXPECT_EQ(last.first_row(), 3);
  EXPECT_EQ(last.total_rows(), 5);
  EXPECT_EQ(last.cols(), 2);
  EXPECT_EQ(std::vector<double>(last.values().begin(), last.values().end()),
            (std::vector<double>{30, 31, 40, 41}));
  EXPECT_EQ(std::vector<int>(last.labels().begin(), last.labels().end()), (std::vector<int>{0, 1}));
}

TEST(ConvertTest, AcceptedCarriesTheCostEstimate) {
  ExperimentSpec spec;
  ASSERT_TRUE(JobSpecFromProto(TinySpec(), 1, &spec).ok());
  const v1::Accepted accepted = server::AcceptedFor(spec, "test-build");
  ASSERT_TRUE(accepted.has_cost_estimate());
  const JobCostEstimate expected = EstimateJobCost(spec);
  const v1::JobCostEstimate& cost = accepted.cost_estimate();
  EXPECT_EQ(cost.snapshots(), accepted.snapshot_steps_size());
  EXPECT_EQ(cost.snapshots(), expected.snapshots);
  EXPECT_EQ(cost.solves_per_snapshot(), expected.solves_per_snapshot);
  EXPECT_EQ(cost.products_per_snapshot(), expected.products_per_snapshot);
  EXPECT_EQ(cost.flops_per_snapshot(), expected.flops_per_snapshot);
  EXPECT_EQ(cost.sgd_flops(), expected.sgd_flops);
  EXPECT_EQ(cost.total_flops(), expected.total_flops);
  EXPECT_EQ(cost.estimated_seconds(), expected.estimated_seconds);
  EXPECT_EQ(cost.nominal_flops_per_second(), kNominalProductFlopsPerSecond);
  EXPECT_EQ(cost.peak_bytes(), spec.EstimatedBytes());
  EXPECT_GT(cost.solves_per_snapshot(), 0);
  EXPECT_GT(cost.products_per_snapshot(), 0);
  EXPECT_GT(cost.total_flops(), 0);
  EXPECT_GT(cost.estimated_seconds(), 0);
}

TEST(ConvertTest, AnalysisProgressCopiesEveryFieldAndUnknownTimeIsMinusOne) {
  AnalysisProgress progress;
  progress.snapshot_index = 3;
  progress.step = 4500;
  progress.solves_done = 5;
  progress.solves_total = 44;
  progress.products_done = 1234;
  progress.seconds_elapsed = 12.25;
  progress.seconds_left = 40.5;
  progress.stage = "full H";
  v1::AnalysisProgress proto = server::AnalysisProgressToProto(progress);
  EXPECT_EQ(proto.snapshot_index(), 3);
  EXPECT_EQ(proto.step(), 4500);
  EXPECT_EQ(proto.solves_done(), 5);
  EXPECT_EQ(proto.solves_total(), 44);
  EXPECT_EQ(proto.products_done(), 1234);
  EXPECT_EQ(proto.seconds_elapsed(), 12.25);
  EXPECT_EQ(proto.seconds_left(), 40.5);
  EXPECT_EQ(proto.stage(), "full H");
  for (double unknown : {-1.0, -0.5, std::numeric_limits<double>::quiet_NaN()}) {
    progress.seconds_left = unknown;
    EXPECT_EQ(server::AnalysisProgressToProto(progress).seconds_left(), -1.0) << unknown;
  }
  progress.seconds_left = 0;  // about to finish: a known value
  EXPECT_EQ(server::AnalysisProgressToProto(progress).seconds_left(), 0.0);
}

TEST(StatusMapTest, CoreCodesMapToTheDocumentedGrpcCodesWithTheMessageIntact) {
  EXPECT_TRUE(server::ToGrpcStatus(Status::Ok()).ok());
  const grpc::Status invalid =
      server::ToGrpcStatus(Status::InvalidArgument("kgmm.dim: must be in [2, 100000], got 1"));
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(invalid.error_message(), "kgmm.dim: must be in [2, 100000], got 1");
  EXPECT_EQ(server::ToGrpcStatus(Status::Cancelled("x")).error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(server::ToGrpcStatus(Status::ResourceExhausted("x")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(server::ToGrpcStatus(Status::FailedPrecondition("x")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(server::ToGrpcStatus(Status::NumericalError("x")).error_code(),
            grpc::StatusCode::INTERNAL);
  EXPECT_EQ(server::ToGrpcStatus(Status::Internal("x")).error_code(), grpc::StatusCode::INTERNAL);
}

}  // namespace
}  // namespace sgdspectra::server_test
