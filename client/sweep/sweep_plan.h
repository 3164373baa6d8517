// SweepPlan: the jobs of `sgdspectra sweep`, the grid of seeds x --set values over a base spec.
//
//   --seeds 0:128          seeds 0, 1, ..., 127 (half-open, like Python's range)
//   --seeds 1,5,9 / 0:4,10 lists and ranges, comma-separated
//   --set lambda=20,100    one axis per --set; its values comma-separated (see client/spec_names.h
//                          for the names); the grid is the product of the axes and the seeds
//
// Jobs are numbered 0, 1, ... with the seeds innermost, so the jobs of one setting (a "group":
// every axis value fixed, any seed) are adjacent. A group's label is "path=value ..." in axis
// order ("kgmm.snr=20"), or "all" without axes.
//
// Thread-safety: plain values and free functions.
#ifndef SGDSPECTRA_CLIENT_SWEEP_SWEEP_PLAN_H_
#define SGDSPECTRA_CLIENT_SWEEP_SWEEP_PLAN_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {

// The most jobs one sweep may hold (a typo such as 0:1000000 fails before anything is sent).
inline constexpr std::size_t kMaxSweepJobs = 100000;

struct SweepAxis {
  std::string path;                 // canonical field path, e.g. "kgmm.snr"
  std::vector<std::string> values;  // as given, e.g. {"20", "100"}
};

struct SweepJob {
  int index = 0;
  std::uint64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> settings;  // (path, value), axis order
  std::string group;                                          // see above
  v1::JobSpec spec;                                           // base + settings + seed + name
};

// Parses a --seeds value. False with *error for empty items, bad numbers, empty ranges
// (a:b needs a < b) or more than kMaxSweepJobs seeds.
bool ParseSeedList(const std::string& text, std::vector<std::uint64_t>* seeds, std::string* error);

// Parses one --set value "NAME=V1,V2,..." against the base spec (the name resolves as in
// client/spec_names.h, and every value must parse as the field's type).
bool ParseSweepAxis(const v1::JobSpec& base, const std::string& text, SweepAxis* axis,
                    std::string* error);

// The grid: every combination of axis values x every seed. False with *error when two axes set
// the same field or the grid exceeds kMaxSweepJobs.
bool BuildSweepPlan(const v1::JobSpec& base, const std::vector<std::uint64_t>& seeds,
                    const std::vector<SweepAxis>& axes, std::vector<SweepJob>* jobs,
                    std::string* error);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SWEEP_SWEEP_PLAN_H_
