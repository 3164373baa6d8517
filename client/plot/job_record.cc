#include "client/plot/job_record.h"

#include <set>

#include "client/render.h"
#include "client/text_util.h"

namespace sgdspectra::client::plot {
Status CollectJob(const std::vector<v1::JobEvent>& events, JobRecord* job) {
  *job = JobRecord();
  std::set<std::int64_t> seqs;
  for (const v1::JobEvent& event : events) {
    if (job->job_id.empty()) job->job_id = event.job_id();
    if (!event.job_id().empty() && event.job_id() != job->job_id) {
      return Status(google::protobuf::util::StatusCode::kInvalidArgument,
                    "events of more than one job (" + job->job_id + ", " + event.job_id() +
                        "); plot one job at a time");
    }
    if (event.seq() != 0 && !seqs.insert(event.seq()).second) {
      return Status(google::protobuf::util::StatusCode::kInvalidArgument,
                    "event seq " + std::to_string(event.seq()) +
                        " appears twice; are two streams of job " + job->job_id + " concatenated?");
    }
    switch (event.kind_case()) {
      case v1::JobEvent::kAccepted:
        job->accepted = event.accepted();
        break;
      case v1::JobEvent::kSnapshot:
        job->snapshots.push_back(event.snapshot());
        break;
      case v1::JobEvent::kFinished:
        job->finished = event.finished();
        break;
      default:
        break;  // progress, or a kind newer than this client
    }
  }
  return Status();
}

std::string TaskDescription(const v1::JobSpec& spec) {
  if (spec.has_kgmm()) {
    const v1::KgmmTask& kgmm = spec.kgmm();
    return StringFormat("k-GMM d=%lld k=%d lambda=%g beta=%g", static_cast<long long>(kgmm.dim()),
                        kgmm.num_classes(), kgmm.snr(), kgmm.ridge());
  }
  if (spec.has_xor_task()) {
    const v1::XorTask& xor_task = spec.xor_task();
    return StringFormat("XOR d=%lld K=%d lambda=%g alpha=%g",
                        static_cast<long long>(xor_task.dim()), xor_task.hidden(), xor_task.snr(),
                        xor_task.ridge());
  }
  return "task ?";
}

std::string JobHeadline(const JobRecord& job) {
  const std::string id = job.job_id.empty() ? "?" : job.job_id;
  if (!job.accepted) return "job " + id;
  const v1::JobSpec& spec = job.accepted->resolved_spec();
  return TaskDescription(spec) + ", seed " + std::to_string(spec.seed()) + ", job " + id;
}

std::string EdgeMethodName(v1::OutlierMethod method) {
  switch (method) {
    case v1::OUTLIER_METHOD_UNSPECIFIED:
    case v1::NULL_MODEL:
      return "null model";
    case v1::MARCHENKO_PASTUR:
      return "Marchenko-Pastur";
    case v1::LARGEST_GAP:
      return "largest gap";
    case v1::DECOY_NULL:
      return "decoy null";
    default:
      return "method " + std::to_string(static_cast<int>(method));
  }
}

std::vector<std::pair<std::string, std::string>> JobParameters(const JobRecord& job) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("job", job.job_id.empty() ? "?" : job.job_id);
  if (job.accepted) {
    const v1::Accepted& accepted = *job.accepted;
    const v1::JobSpec& spec = accepted.resolved_spec();
    if (!spec.name().empty()) rows.emplace_back("name", spec.name());
    rows.emplace_back("task", TaskDescription(spec));
    rows.emplace_back("seed", std::to_string(spec.seed()));
    const double t_end = accepted.steps_total() * accepted.step_size();
    rows.emplace_back("SGD", StringFormat("%lld steps of size %g (t from 0 to %g)",
                                          static_cast<long long>(accepted.steps_total()),
                                          accepted.step_size(), t_end));
    rows.emplace_back("snapshots",
                      StringFormat("%d scheduled, %zu received", accepted.snapshot_steps_size(),
                                   job.snapshots.size()));
    rows.emplace_back(
        "test sample",
        StringFormat("M_test = %lld", static_cast<long long>(accepted.test_sample_size())));
    const v1::AnalysisSettings& analysis = spec.analysis();
    rows.emplace_back(
        "analysis",
        StringFormat("top_r %d, top_r_full %d, bulk edge: %s, outlier margin %g", analysis.top_r(),
                     analysis.top_r_full(), EdgeMethodName(analysis.outlier_method()).c_str(),
                     analysis.outlier_margin()));
    if (spec.has_xor_task()) {
      rows.emplace_back("second layer", StringFormat("decoy null, margin %g, %d decoy draws",
                                                     spec.xor_task().second_layer_margin(),
                                                     spec.xor_task().decoy_draws()));
    }
    if (!accepted.build_version().empty())
      rows.emplace_back("server build", accepted.build_version());
  } else {
    rows.emplace_back("snapshots", std::to_string(job.snapshots.size()) + " received");
    rows.emplace_back("note", "no Accepted event: the job's parameters are unknown");
  }
  if (!job.finished) {
    rows.emplace_back("state", "not finished (no Finished event yet)");
    return rows;
  }
  const v1::Finished& finished = *job.finished;
  std::string state = v1::JobState_Name(finished.state());
  if (!finished.error_message().empty()) state += ": " + finished.error_message();
  rows.emplace_back("state", state);
  rows.emplace_back(
      "final", StringFormat("step %lld, t %g, test accuracy %.4f, test loss %.4f",
                            static_cast<long long>(finished.steps_done()), finished.time_done(),
                            finished.final_test_accuracy(), finished.final_test_loss()));
  if (finished.has_rank()) {
    const v1::ClassifierRank& rank = finished.rank();
    rows.emplace_back("classifier rank",
                      StringFormat("%d (expected %d, rank-deficient: %s), weight rank %d",
                                   rank.outlier_rank(), rank.expected_rank(),
                                   rank.rank_deficient() ? "yes" : "no", rank.weight_rank()));
    rows.emplace_back("block outliers", "H " + JoinRanks(rank.h_block_outliers()) + ", G " +
                                            JoinRanks(rank.g_block_outliers()));
    if (rank.covered_clusters_size() > 0) {
      rows.emplace_back("covered clusters", CoveredClusters(rank.covered_clusters()));
    }
  }
  return rows;
}

}  // namespace sgdspectra::client::plot
