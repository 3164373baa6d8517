#include "client/sweep/sweep_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "client/file_output.h"

namespace sgdspectra::client {
namespace {

// Shortest text that reads back as the same double.
std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  for (int precision = 6; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) return shorter;
  }
  return buffer;
}

bool ReachedEnd(const JobOutcome& outcome) {
  return outcome.finished && outcome.final_event.has_rank();
}

bool IsSuccess(const JobOutcome& outcome, double success_accuracy) {
  return ReachedEnd(outcome) && outcome.final_event.state() == v1::SUCCEEDED &&
         outcome.final_event.final_test_accuracy() > success_accuracy;
}

// task, dim, num_classes_or_hidden, snr, ridge, sgd_steps of the resolved spec (the server's
// defaults filled in), so that every row says what ran; empty cells before acceptance.
std::string ResolvedTaskColumns(const JobOutcome& outcome) {
  const v1::JobSpec& spec = outcome.accepted.resolved_spec();
  std::ostringstream cells;
  if (spec.has_kgmm()) {
    cells << "kgmm," << spec.kgmm().dim() << "," << spec.kgmm().num_classes() << ","
          << Number(spec.kgmm().snr()) << "," << Number(spec.kgmm().ridge());
  } else if (spec.has_xor_task()) {
    cells << "xor," << spec.xor_task().dim() << "," << spec.xor_task().hidden() << ","
          << Number(spec.xor_task().snr()) << "," << Number(spec.xor_task().ridge());
  } else {
    return ",,,,,";
  }
  cells << "," << outcome.accepted.steps_total();
  return cells.str();
}

}  // namespace

void WilsonInterval(int successes, int trials, double z, double* low, double* high) {
  if (trials <= 0) {
    *low = 0;
    *high = 1;
    return;
  }
  const double n = trials;
  const double p = successes / n;
  const double z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  *low = std::max(0.0, centre - half);
  *high = std::min(1.0, centre + half);
}

std::vector<GroupStatistics> ComputeGroupStatistics(const std::vector<SweepJob>& jobs,
                                                    const std::vector<JobOutcome>& outcomes,
                                                    double success_accuracy) {
  std::vector<GroupStatistics> groups;
  std::map<std::string, std::size_t> position;
  std::vector<double> accuracy_sums;
  std::vector<int> deficient_counts;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto [it, inserted] = position.emplace(jobs[i].group, groups.size());
    if (inserted) {
      groups.emplace_back();
      groups.back().group = jobs[i].group;
      accuracy_sums.push_back(0);
      deficient_counts.push_back(0);
    }
    GroupStatistics& group = groups[it->second];
    ++group.jobs;
    const JobOutcome& outcome = outcomes[i];
    if (!ReachedEnd(outcome)) continue;
    ++group.finished;
    const bool success = IsSuccess(outcome, success_accuracy);
    group.successes += success;
    accuracy_sums[it->second] += outcome.final_event.final_test_accuracy();
    deficient_counts[it->second] += outcome.final_event.rank().rank_deficient();
    const int rank = std::max(0, outcome.final_event.rank().outlier_rank());
    if (static_cast<int>(group.joint.size()) <= rank) group.joint.resize(rank + 1, {0, 0});
    ++group.joint[rank][success ? 1 : 0];
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    GroupStatistics& group = groups[g];
    if (group.finished > 0) {
      group.success_fraction = static_cast<double>(group.successes) / group.finished;
      group.mean_accuracy = accuracy_sums[g] / group.finished;
      group.rank_deficient_fraction = static_cast<double>(deficient_counts[g]) / group.finished;
    }
    WilsonInterval(group.successes, group.finished, 1.959963984540054, &group.ci_low,
                   &group.ci_high);
  }
  return groups;
}

namespace {

// summary.csv: one row per job, one column per swept field, the resolved task, the outcome.
std::string SummaryCsv(const std::vector<SweepAxis>& axes, const std::vector<SweepJob>& jobs,
                       const std::vector<JobOutcome>& outcomes, double success_accuracy) {
  std::ostringstream summary;
  summary << "index,group,seed";
  for (const SweepAxis& axis : axes) summary << "," << axis.path;
  summary << ",task,dim,num_classes_or_hidden,snr,ridge,sgd_steps";
  summary << ",job_id,server,attempts,state,final_test_accuracy,final_test_loss,outlier_rank,"
             "weight_rank,expected_rank,rank_deficient,num_covered,covered_clusters,success,"
             "events_file\n";
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const SweepJob& job = jobs[i];
    const JobOutcome& outcome = outcomes[i];
    summary << job.index << "," << job.group << "," << job.seed;
    for (const auto& setting : job.settings) summary << "," << setting.second;
    summary << "," << ResolvedTaskColumns(outcome);
    summary << "," << outcome.job_id << "," << outcome.endpoint << "," << outcome.attempts << ",";
    if (!outcome.finished) {
      summary << "NOT_FINISHED,,,,,,,,,0,\n";
      continue;
    }
    const v1::Finished& finished = outcome.final_event;
    summary << v1::JobState_Name(finished.state()) << ",";
    if (ReachedEnd(outcome)) {
      const v1::ClassifierRank& rank = finished.rank();
      int covered = 0;
      std::string clusters;
      for (const int c : rank.covered_clusters()) {
        covered += c;
        clusters += (clusters.empty() ? "" : " ") + std::to_string(c);
      }
      summary << Number(finished.final_test_accuracy()) << "," << Number(finished.final_test_loss())
              << "," << rank.outlier_rank() << "," << rank.weight_rank() << ","
              << rank.expected_rank() << "," << (rank.rank_deficient() ? 1 : 0) << ","
              << (rank.covered_clusters_size() > 0 ? std::to_string(covered) : "") << ","
              << clusters << ",";
    } else {
      summary << ",,,,,,,,";
    }
    summary << (IsSuccess(outcome, success_accuracy) ? 1 : 0) << ","
            << JobEventsPath("jobs", job.index) << "\n";
  }
  return summary.str();
}

}  // namespace

bool WriteSweepTables(const std::string& dir, const std::vector<SweepAxis>& axes,
                      const std::vector<SweepJob>& jobs, const std::vector<JobOutcome>& outcomes,
                      double success_accuracy, std::string* error) {
  if (!WriteFileAtomically(dir + "/summary.csv", SummaryCsv(axes, jobs, outcomes, success_accuracy),
                           error)) {
    return false;
  }
  const std::vector<GroupStatistics> groups =
      ComputeGroupStatistics(jobs, outcomes, success_accuracy);
  std::ostringstream aggregates;
  aggregates << "group,jobs,finished,successes,success_fraction,ci_low,ci_high,mean_accuracy,"
                "rank_deficient_fraction\n";
  std::ostringstream joint;
  joint << "group,outlier_rank,success,count\n";
  for (const GroupStatistics& group : groups) {
    aggregates << group.group << "," << group.jobs << "," << group.finished << ","
               << group.successes << "," << Number(group.success_fraction) << ","
               << Number(group.ci_low) << "," << Number(group.ci_high) << ","
               << Number(group.mean_accuracy) << "," << Number(group.rank_deficient_fraction)
               << "\n";
    for (std::size_t rank = 0; rank < group.joint.size(); ++rank) {
      for (int success = 0; success < 2; ++success) {
        joint << group.group << "," << rank << "," << success << "," << group.joint[rank][success]
              << "\n";
      }
    }
  }
  return WriteFileAtomically(dir + "/aggregates.csv", aggregates.str(), error) &&
         WriteFileAtomically(dir + "/outlier_success.csv", joint.str(), error);
}

void PrintGroupStatistics(const std::vector<GroupStatistics>& groups, double success_accuracy,
                          std::ostream* out) {
  for (const GroupStatistics& group : groups) {
    *out << "group " << group.group << ": " << group.jobs << " jobs, " << group.finished
         << " reached the end\n";
    if (group.finished == 0) continue;
    *out << std::fixed << std::setprecision(3) << "  success (test accuracy > " << success_accuracy
         << "): " << group.successes << "/" << group.finished << " = " << group.success_fraction
         << ", 95% Wilson interval [" << group.ci_low << ", " << group.ci_high << "]\n"
         << "  mean test accuracy " << group.mean_accuracy << ", rank-deficient fraction "
         << group.rank_deficient_fraction << std::defaultfloat << "\n"
         << "  outlier rank  success  failure\n";
    for (std::size_t rank = 0; rank < group.joint.size(); ++rank) {
      if (group.joint[rank][0] + group.joint[rank][1] == 0) continue;
      *out << "  " << std::setw(12) << rank << "  " << std::setw(7) << group.joint[rank][1] << "  "
           << std::setw(7) << group.joint[rank][0] << "\n";
    }
  }
  out->flush();
}

}  // namespace sgdspectra::client
