#include "client/sweep/sweep_plan.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include "client/spec_names.h"
#include "client/text_util.h"

namespace sgdspectra::client {
namespace {

bool ParseSeed(const std::string& text, std::uint64_t* seed) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  char* end = nullptr;
  *seed = std::strtoull(text.c_str(), &end, 10);
  return errno == 0 && end == text.c_str() + text.size();
}

}  // namespace

bool ParseSeedList(const std::string& text, std::vector<std::uint64_t>* seeds, std::string* error) {
  seeds->clear();
  for (const std::string& item : SplitString(text, ',')) {
    const size_t colon = item.find(':');
    std::uint64_t first = 0;
    std::uint64_t end = 0;
    if (colon == std::string::npos) {
      if (!ParseSeed(item, &first)) {
        *error = "--seeds: '" + item + "' is not a seed (a non-negative integer) or a range A:B";
        return false;
      }
      end = first + 1;
    } else if (!ParseSeed(item.substr(0, colon), &first) ||
               !ParseSeed(item.substr(colon + 1), &end) || end <= first) {
      *error = "--seeds: '" + item + "' is not a range A:B with A < B (B excluded)";
      return false;
    }
    if (end - first > kMaxSweepJobs || seeds->size() + (end - first) > kMaxSweepJobs) {
      *error = "--seeds: more than " + std::to_string(kMaxSweepJobs) + " seeds";
      return false;
    }
    for (std::uint64_t seed = first; seed < end; ++seed) seeds->push_back(seed);
  }
  return true;
}

bool ParseSweepAxis(const v1::JobSpec& base, const std::string& text, SweepAxis* axis,
                    std::string* error) {
  const size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    *error = "--set: '" + text + "' is not NAME=VALUE[,VALUE...]";
    return false;
  }
  const std::string name = text.substr(0, equals);
  if (!ResolveSpecFieldPath(base, name, &axis->path, error)) return false;
  axis->values = SplitString(text.substr(equals + 1), ',');
  for (const std::string& value : axis->values) {
    v1::JobSpec probe = base;
    if (value.empty() || !SetSpecField(axis->path, value, &probe, error)) {
      if (value.empty())
        *error = "--set " + name + ": empty value in '" + text + "'";
      else
        *error = "--set " + *error;
      return false;
    }
  }
  return true;
}

bool BuildSweepPlan(const v1::JobSpec& base, const std::vector<std::uint64_t>& seeds,
                    const std::vector<SweepAxis>& axes, std::vector<SweepJob>* jobs,
                    std::string* error) {
  jobs->clear();
  std::set<std::string> paths;
  std::size_t settings = 1;
  for (const SweepAxis& axis : axes) {
    if (!paths.insert(axis.path).second) {
      *error = "--set: " + axis.path + " is given twice";
      return false;
    }
    settings *= axis.values.size();
    if (settings > kMaxSweepJobs) break;
  }
  if (seeds.empty() || settings * seeds.size() > kMaxSweepJobs || settings > kMaxSweepJobs) {
    *error = seeds.empty() ? "--seeds: no seeds"
                           : "the grid holds more than " + std::to_string(kMaxSweepJobs) + " jobs";
    return false;
  }
  for (std::size_t setting = 0; setting < settings; ++setting) {
    // Mixed-radix digits of `setting`, the last axis fastest.
    std::vector<std::pair<std::string, std::string>> values(axes.size());
    std::size_t rest = setting;
    for (std::size_t a = axes.size(); a-- > 0;) {
      values[a] = {axes[a].path, axes[a].values[rest % axes[a].values.size()]};
      rest /= axes[a].values.size();
    }
    std::string group;
    for (const auto& [path, value] : values) {
      group += (group.empty() ? "" : " ") + path + "=" + value;
    }
    if (group.empty()) group = "all";
    for (const std::uint64_t seed : seeds) {
      SweepJob job;
      job.index = static_cast<int>(jobs->size());
      job.seed = seed;
      job.settings = values;
      job.group = group;
      job.spec = base;
      for (const auto& [path, value] : values) {
        if (!SetSpecField(path, value, &job.spec, error)) return false;  // checked by the parse
      }
      job.spec.set_seed(seed);
      std::string name = "sweep #" + std::to_string(job.index) + " seed=" + std::to_string(seed) +
                         (values.empty() ? "" : " " + group);
      if (!base.name().empty()) name = base.name() + " " + name;
      if (name.size() > 200) name.resize(200);  // the server's bound on names
      job.spec.set_name(name);
      jobs->push_back(std::move(job));
    }
  }
  return true;
}

}  // namespace sgdspectra::client
