// Every documented bound of JobSpec, checked end to end through SubmitJob: one row per
// constraint, each giving INVALID_ARGUMENT with a message that starts with the field path.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "child_server.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

struct InvalidSpecCase {
  std::string field;  // the message must start with this path
  std::function<void(v1::JobSpec*)> break_spec;
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<InvalidSpecCase> InvalidSpecCases() {
  auto kgmm = [](v1::JobSpec* s) { return s->mutable_kgmm(); };
  // An XOR spec at the tiny scale, with one field broken.
  auto xor_task = [](v1::JobSpec* s) {
    if (!s->has_xor_task()) *s = TinyXorSpec();
    return s->mutable_xor_task();
  };
  auto sgd = [](v1::JobSpec* s) { return s->mutable_sgd(); };
  auto schedule = [](v1::JobSpec* s) { return s->mutable_schedule(); };
  auto analysis = [](v1::JobSpec* s) { return s->mutable_analysis(); };
  return {
      {"name", [](v1::JobSpec* s) { s->set_name(std::string(201, 'x')); }},
      {"task", [](v1::JobSpec* s) { s->clear_kgmm(); }},
      {"kgmm.dim", [&](v1::JobSpec* s) { kgmm(s)->set_dim(1); }},
      {"kgmm.dim", [&](v1::JobSpec* s) { kgmm(s)->set_dim(100001); }},
      {"kgmm.dim", [&](v1::JobSpec* s) { kgmm(s)->set_dim(-5); }},
      {"kgmm.num_classes", [&](v1::JobSpec* s) { kgmm(s)->set_num_classes(1); }},
      {"kgmm.num_classes", [&](v1::JobSpec* s) { kgmm(s)->set_num_classes(65); }},
      {"kgmm.num_classes",
       [&](v1::JobSpec* s) {
         kgmm(s)->set_dim(2);
         kgmm(s)->set_num_classes(3);
       }},
      {"kgmm.snr", [&](v1::JobSpec* s) { kgmm(s)->set_snr(-1); }},
      {"kgmm.snr", [&](v1::JobSpec* s) { kgmm(s)->set_snr(kNaN); }},
      {"kgmm.snr", [&](v1::JobSpec* s) { kgmm(s)->set_snr(kInf); }},
      {"kgmm.snr", [&](v1::JobSpec* s) { kgmm(s)->set_snr(1.5e8); }},
      {"kgmm.class_probs",
       [&](v1::JobSpec* s) {  // k = 3 needs 3 entries
         kgmm(s)->add_class_probs(0.5);
         kgmm(s)->add_class_probs(0.5);
       }},
      {"kgmm.class_probs",
       [&](v1::JobSpec* s) {
         for (double p : {0.5, 0.6, -0.1}) kgmm(s)->add_class_probs(p);
       }},
      {"kgmm.class_probs",
       [&](v1::JobSpec* s) {
         for (double p : {0.3, 0.3, 0.3}) kgmm(s)->add_class_probs(p);
       }},
      {"kgmm.class_probs",
       [&](v1::JobSpec* s) {
         for (double p : {0.5, kNaN, 0.5}) kgmm(s)->add_class_probs(p);
       }},
      {"kgmm.mean_gram",
       [&](v1::JobSpec* s) {
         for (int i = 0; i < 4; ++i) kgmm(s)->add_mean_gram(1);
       }},
      {"kgmm.mean_gram",
       [&](v1::JobSpec* s) {  // symmetric, not positive definite
         for (double g : {1.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0}) kgmm(s)->add_mean_gram(g);
       }},
      {"kgmm.mean_gram",
       [&](v1::JobSpec* s) {  // not symmetric
         for (double g : {1.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0}) kgmm(s)->add_mean_gram(g);
       }},
      {"kgmm.ridge", [&](v1::JobSpec* s) { kgmm(s)->set_ridge(-0.1); }},
      {"kgmm.ridge", [&](v1::JobSpec* s) { kgmm(s)->set_ridge(1001); }},
      {"kgmm.ridge", [&](v1::JobSpec* s) { kgmm(s)->set_ridge(kNaN); }},
      {"xor_task.dim", [&](v1::JobSpec* s) { xor_task(s)->set_dim(3); }},
      {"xor_task.dim", [&](v1::JobSpec* s) { xor_task(s)->set_dim(100001); }},
      {"xor_task.hidden", [&](v1::JobSpec* s) { xor_task(s)->set_hidden(65); }},
      {"xor_task.hidden", [&](v1::JobSpec* s) { xor_task(s)->set_hidden(-1); }},
      {"xor_task.snr", [&](v1::JobSpec* s) { xor_task(s)->set_snr(kNaN); }},
      {"xor_task.snr", [&](v1::JobSpec* s) { xor_task(s)->set_snr(-2); }},
      {"xor_task.ridge", [&](v1::JobSpec* s) { xor_task(s)->set_ridge(-1); }},
      {"xor_task.second_layer_margin",
       [&](v1::JobSpec* s) { xor_task(s)->set_second_layer_margin(1001); }},
      {"xor_task.decoy_draws", [&](v1::JobSpec* s) { xor_task(s)->set_decoy_draws(65); }},
      {"sgd.c_delta", [&](v1::JobSpec* s) { sgd(s)->set_c_delta(-1); }},
      {"sgd.c_delta", [&](v1::JobSpec* s) { sgd(s)->set_c_delta(1001); }},
      {"sgd.c_delta", [&](v1::JobSpec* s) { sgd(s)->set_c_delta(kNaN); }},
      {"sgd.step_size", [&](v1::JobSpec* s) { sgd(s)->set_step_size(11); }},
      {"sgd.step_size", [&](v1::JobSpec* s) { sgd(s)->set_step_size(-0.5); }},
      // In range, but t_end / step_size is over 1e10 steps: the step size is what to change.
      {"sgd.step_size", [&](v1::JobSpec* s) { sgd(s)->set_step_size(1e-12); }},
      {"sgd.steps", [&](v1::JobSpec* s) { sgd(s)->set_steps(-1); }},
      {"sgd.steps", [&](v1::JobSpec* s) { sgd(s)->set_steps(10000000001LL); }},
      {"sgd.t_end", [&](v1::JobSpec* s) { sgd(s)->set_t_end(-1); }},
      {"sgd.t_end", [&](v1::JobSpec* s) { sgd(s)->set_t_end(1e6 + 1); }},
      {"sgd.t_end", [&](v1::JobSpec* s) { sgd(s)->set_t_end(kNaN); }},
      {"schedule.kind",
       [&](v1::JobSpec* s) { schedule(s)->set_kind(static_cast<v1::Schedule::Kind>(9)); }},
      {"schedule.every_steps", [&](v1::JobSpec* s) { schedule(s)->set_every_steps(0); }},
      {"schedule.every_steps", [&](v1::JobSpec* s) { schedule(s)->set_every_steps(-3); }},
      {"schedule.num_points",
       [&](v1::JobSpec* s) {
         schedule(s)->set_kind(v1::Schedule::LOG_SPACED_TIME);
         schedule(s)->set_num_points(1);
       }},
      {"schedule.num_points",
       [&](v1::JobSpec* s) {
         schedule(s)->set_kind(v1::Schedule::LOG_SPACED_TIME);
         schedule(s)->set_num_points(1001);
       }},
      {"schedule.t_first",
       [&](v1::JobSpec* s) {  // t_end is 3
         schedule(s)->set_kind(v1::Schedule::LOG_SPACED_TIME);
         schedule(s)->set_t_first(5);
       }},
      {"schedule.t_first",
       [&](v1::JobSpec* s) {
         schedule(s)->set_kind(v1::Schedule::LOG_SPACED_TIME);
         schedule(s)->set_t_first(-1);
       }},
      {"analysis.test_ratio", [&](v1::JobSpec* s) { analysis(s)->set_test_ratio(0.05); }},
      {"analysis.test_ratio", [&](v1::JobSpec* s) { analysis(s)->set_test_ratio(101); }},
      {"analysis.test_ratio", [&](v1::JobSpec* s) { analysis(s)->set_test_ratio(kNaN); }},
      {"analysis.top_r", [&](v1::JobSpec* s) { analysis(s)->set_top_r(-1); }},
      {"analysis.top_r", [&](v1::JobSpec* s) { analysis(s)->set_top_r(501); }},
      {"analysis.top_r", [&](v1::JobSpec* s) { analysis(s)->set_top_r(40); }},  // = d
      {"analysis.top_r_full", [&](v1::JobSpec* s) { analysis(s)->set_top_r_full(-1); }},
      {"analysis.top_r_full", [&](v1::JobSpec* s) { analysis(s)->set_top_r_full(2001); }},
      {"analysis.top_r_full", [&](v1::JobSpec* s) { analysis(s)->set_top_r_full(120); }},  // kd
      // The default 2k(k-1) + 4 = 2116 for k = 33 is above the bound (found by tests/fuzz).
      {"analysis.top_r_full",
       [&](v1::JobSpec* s) {
         s->mutable_kgmm()->set_dim(400);
         s->mutable_kgmm()->set_num_classes(33);
         analysis(s)->set_top_r_full(0);
       }},
      {"analysis.ncv", [&](v1::JobSpec* s) { analysis(s)->set_ncv(8); }},  // = top_r_full
      {"analysis.ncv", [&](v1::JobSpec* s) { analysis(s)->set_ncv(5001); }},
      {"analysis.tol", [&](v1::JobSpec* s) { analysis(s)->set_tol(0.5); }},
      {"analysis.certify_below", [&](v1::JobSpec* s) { analysis(s)->set_certify_below(101); }},
      {"analysis.certify_below", [&](v1::JobSpec* s) { analysis(s)->set_certify_below(-1); }},
      {"analysis.null_tol", [&](v1::JobSpec* s) { analysis(s)->set_null_tol(0.5); }},
      {"analysis.null_tol", [&](v1::JobSpec* s) { analysis(s)->set_null_tol(kNaN); }},
      {"analysis.solve_target",
       [&](v1::JobSpec* s) { analysis(s)->set_solve_target(static_cast<v1::SolveTarget>(7)); }},
      {"random_stream_version", [&](v1::JobSpec* s) { s->set_random_stream_version(3); }},
      {"random_stream_version", [&](v1::JobSpec* s) { s->set_random_stream_version(-1); }},
      {"analysis.tol", [&](v1::JobSpec* s) { analysis(s)->set_tol(-1e-6); }},
      {"analysis.tol", [&](v1::JobSpec* s) { analysis(s)->set_tol(kNaN); }},
      {"analysis.max_restarts", [&](v1::JobSpec* s) { analysis(s)->set_max_restarts(-1); }},
      {"analysis.max_restarts", [&](v1::JobSpec* s) { analysis(s)->set_max_restarts(100001); }},
      {"analysis.outlier_method",
       [&](v1::JobSpec* s) {
         analysis(s)->set_outlier_method(static_cast<v1::OutlierMethod>(42));
       }},
      {"analysis.outlier_method",
       [&](v1::JobSpec* s) { analysis(s)->set_outlier_method(v1::DECOY_NULL); }},
      {"analysis.outlier_margin", [&](v1::JobSpec* s) { analysis(s)->set_outlier_margin(-0.1); }},
      {"analysis.outlier_margin", [&](v1::JobSpec* s) { analysis(s)->set_outlier_margin(11); }},
      {"analysis.gap_ratio", [&](v1::JobSpec* s) { analysis(s)->set_gap_ratio(0.5); }},
      {"analysis.gap_ratio", [&](v1::JobSpec* s) { analysis(s)->set_gap_ratio(2e6); }},
      {"analysis.rank_tolerance", [&](v1::JobSpec* s) { analysis(s)->set_rank_tolerance(1); }},
      {"analysis.rank_tolerance", [&](v1::JobSpec* s) { analysis(s)->set_rank_tolerance(-0.1); }},
      {"analysis.threads", [&](v1::JobSpec* s) { analysis(s)->set_threads(-1); }},
      {"analysis.threads", [&](v1::JobSpec* s) { analysis(s)->set_threads(257); }},
      {"analysis.density_probes", [&](v1::JobSpec* s) { analysis(s)->set_density_probes(-1); }},
      {"analysis.density_probes", [&](v1::JobSpec* s) { analysis(s)->set_density_probes(101); }},
      {"analysis.density_steps", [&](v1::JobSpec* s) { analysis(s)->set_density_steps(1); }},
      {"analysis.density_steps", [&](v1::JobSpec* s) { analysis(s)->set_density_steps(301); }},
      {"analysis.theory",
       [&](v1::JobSpec* s) {  // the prediction takes k <= 8
         kgmm(s)->set_num_classes(9);
         analysis(s)->set_theory(true);
       }},
      {"analysis.theory",
       [&](v1::JobSpec* s) {  // and K <= 8
         xor_task(s)->set_hidden(9);
         analysis(s)->set_theory(true);
       }},
      {"progress_every_steps", [](v1::JobSpec* s) { s->set_progress_every_steps(-1); }},
      {"progress_every_steps",
       [](v1::JobSpec* s) { s->set_progress_every_steps(1000000000001LL); }},
      {"memory_budget_bytes", [](v1::JobSpec* s) { s->set_memory_budget_bytes(1000); }},
      {"memory_budget_bytes", [](v1::JobSpec* s) { s->set_memory_budget_bytes(2e12); }},
      {"memory_budget_bytes", [](v1::JobSpec* s) { s->set_memory_budget_bytes(kNaN); }},
      {"memory_budget_bytes",
       [&](v1::JobSpec* s) {  // valid budget, but the job needs more
         kgmm(s)->set_dim(100000);
         s->set_memory_budget_bytes(1 << 20);
       }},
  };
}

TEST(ValidationTest, EachInvalidFieldGivesInvalidArgumentNamingTheField) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  const std::vector<InvalidSpecCase> cases = InvalidSpecCases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const InvalidSpecCase& c = cases[i];
    v1::JobSpec spec = TinySpec();
    c.break_spec(&spec);
    v1::Job job;
    const grpc::Status status = Submit(server.stub(), spec, &job);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "row " << i << " (" << c.field << "): " << status.error_message();
    EXPECT_EQ(status.error_message().rfind(c.field + ":", 0), 0u)
        << "row " << i << ": message does not start with \"" << c.field
        << ":\": " << status.error_message();
  }
  // No invalid spec became a job.
  grpc::ClientContext context;
  v1::ListJobsResponse listed;
  ASSERT_TRUE(server.stub()->ListJobs(&context, v1::ListJobsRequest(), &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 0);
}

TEST(ValidationTest, ZeroAndUnsetFieldsTakeTheDocumentedDefaults) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::JobSpec spec;
  spec.mutable_kgmm();  // everything else 0 or unset
  v1::Job job;
  const grpc::Status status = Submit(server.stub(), spec, &job);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::JobSpec& resolved = job.resolved_spec();
  EXPECT_EQ(resolved.kgmm().dim(), 400);
  EXPECT_EQ(resolved.kgmm().num_classes(), 4);
  EXPECT_EQ(resolved.kgmm().snr(), 20);
  EXPECT_EQ(resolved.kgmm().ridge(), 0.1);
  EXPECT_EQ(resolved.sgd().c_delta(), 1);
  EXPECT_EQ(resolved.sgd().t_end(), 20);
  EXPECT_EQ(resolved.schedule().kind(), v1::Schedule::LOG_SPACED_TIME);
  EXPECT_EQ(resolved.schedule().num_points(), 12);
  EXPECT_EQ(resolved.schedule().t_first(), 0.5);
  EXPECT_EQ(resolved.analysis().test_ratio(), 2);
  EXPECT_EQ(resolved.analysis().top_r(), 2 * 4 + 4);
  EXPECT_EQ(resolved.analysis().top_r_full(), 2 * 4 * 3 + 4);
  EXPECT_TRUE(resolved.analysis().class_blocks());
  EXPECT_TRUE(resolved.analysis().full_matrices());
  EXPECT_TRUE(resolved.analysis().g_matrix());
  EXPECT_EQ(resolved.analysis().tol(), 1e-10);
  EXPECT_EQ(resolved.analysis().max_restarts(), 1000);
  EXPECT_EQ(resolved.analysis().outlier_method(), v1::NULL_MODEL);
  EXPECT_EQ(resolved.analysis().outlier_margin(), 0.05);
  EXPECT_EQ(resolved.analysis().gap_ratio(), 2);
  EXPECT_EQ(resolved.analysis().rank_tolerance(), 1e-3);
  EXPECT_EQ(resolved.analysis().threads(), 1);  // the server's --threads
  EXPECT_EQ(resolved.progress_every_steps(), 8000 / 50);
  EXPECT_EQ(resolved.memory_budget_bytes(), 8.0 * (1ull << 30));
  EXPECT_EQ(job.steps_total(), 8000);  // t_end 20 / step (1 / 400)

  // An explicit 0 where 0 is meaningful (optional fields) is kept.
  v1::JobSpec zero_ridge = TinySpec();
  zero_ridge.mutable_kgmm()->set_ridge(0);
  zero_ridge.mutable_analysis()->set_outlier_margin(0);
  zero_ridge.mutable_analysis()->set_g_matrix(false);
  ASSERT_TRUE(Submit(server.stub(), zero_ridge, &job).ok());
  EXPECT_EQ(job.resolved_spec().kgmm().ridge(), 0);
  EXPECT_EQ(job.resolved_spec().analysis().outlier_margin(), 0);
  EXPECT_FALSE(job.resolved_spec().analysis().g_matrix());
  server.Stop();
}

}  // namespace
}  // namespace sgdspectra::server_test
