// SweepResults: the tables of a finished (or partly finished) sweep, written into its folder.
//
//   summary.csv          one row per job: index, group, seed, one column per --set field, what
//                        ran (task, dim, num_classes_or_hidden, snr, ridge, sgd_steps, from
//                        the server's resolved spec), job_id,
//                        server, attempts, state, final_test_accuracy, final_test_loss,
//                        outlier_rank, weight_rank, expected_rank, rank_deficient (1/0),
//                        num_covered, covered_clusters ("1 0 1 1", XOR), success (1/0),
//                        events_file (relative to the folder). Cells of a job that did not reach
//                        its end are empty; state NOT_FINISHED when no terminal event exists.
//   aggregates.csv       one row per group: jobs, finished (reached the end, so have a rank),
//                        successes, success_fraction, ci_low, ci_high (Wilson score interval,
//                        95%), mean_accuracy, rank_deficient_fraction
//   outlier_success.csv  the joint table: group, outlier_rank, success, count
//
// "success" is the paper's criterion: the run reached its end with test accuracy above
// `success_accuracy` (0.99 for X1).
//
// Thread-safety: plain functions over caller-owned values.
#ifndef SGDSPECTRA_CLIENT_SWEEP_SWEEP_RESULTS_H_
#define SGDSPECTRA_CLIENT_SWEEP_SWEEP_RESULTS_H_

#include <array>
#include <ostream>
#include <string>
#include <vector>

#include "client/sweep/sweep_plan.h"
#include "client/sweep/sweep_runner.h"

namespace sgdspectra::client {

// Wilson score interval for `successes` out of `trials` at normal quantile z (1.96 = 95%).
// trials = 0 gives [0, 1].
void WilsonInterval(int successes, int trials, double z, double* low, double* high);

struct GroupStatistics {
  std::string group;
  int jobs = 0;
  int finished = 0;  // reached the end of the run (have a final rank)
  int successes = 0;
  double success_fraction = 0;
  double ci_low = 0;
  double ci_high = 1;
  double mean_accuracy = 0;
  double rank_deficient_fraction = 0;
  // joint[r][s]: finished runs with outlier rank r and success s (0/1); r up to the largest seen.
  std::vector<std::array<int, 2>> joint;
};

// Statistics per group, in the order groups first appear in `jobs`.
std::vector<GroupStatistics> ComputeGroupStatistics(const std::vector<SweepJob>& jobs,
                                                    const std::vector<JobOutcome>& outcomes,
                                                    double success_accuracy);

// Writes summary.csv, aggregates.csv and outlier_success.csv into `dir` (each through a
// temporary file and a rename). `axes` gives the --set columns. False with *error on I/O.
bool WriteSweepTables(const std::string& dir, const std::vector<SweepAxis>& axes,
                      const std::vector<SweepJob>& jobs, const std::vector<JobOutcome>& outcomes,
                      double success_accuracy, std::string* error);

// The statistics as text for people: per group the success fraction with its interval and the
// outlier-rank x success table.
void PrintGroupStatistics(const std::vector<GroupStatistics>& groups, double success_accuracy,
                          std::ostream* out);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SWEEP_SWEEP_RESULTS_H_
