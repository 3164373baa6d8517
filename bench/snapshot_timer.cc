// snapshot_timer: times one k-GMM snapshot analysis (the core's TaskRun::Analyze, exactly what
// RunExperiment calls) at any size, and writes what it reported as JSON, so two builds (this
// tree and an older one) can be timed on the same data in one sitting and their outputs
// compared number by number (bench/compare_snapshots.py).
//
// It compiles against older cores too (no random-stream versions, no progress hook): with a
// core that has stream versions, the data are drawn with --stream-version (default 1, the
// version older cores draw), so both builds analyse bit-identical samples and weights.
//
//   snapshot_timer --d 1000 --k 10 --threads 1 --repeats 3 --out new.json
//   peak RSS of the process (VmHWM) is reported: sample, test matrices, bases and all.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/thread_pool.h"
#include "snapshot_json.h"
#include "task_run.h"

#if __has_include("sgdspectra/core/lockstep_lanczos.h")
#define SGDSPECTRA_HAS_STREAM_VERSIONS 1
#endif

namespace sgdspectra {
namespace {

long PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
  }
  return -1;
}

}  // namespace
}  // namespace sgdspectra

int main(int argc, char** argv) {
  using namespace sgdspectra;
  CLI::App app{"Time one k-GMM snapshot analysis and write its report as JSON"};
  long d = 1000;
  int k = 10, threads = 1, repeats = 3, stream_version = 1, ncv = 0;
  double ratio = 2.0, train_t = 2.0, snr = 20.0, tol = 1e-10;
  uint64_t seed = 20240601;
  std::string out_path, solve_target = "outliers";
  app.add_option("--d", d, "dimension");
  app.add_option("--k", k, "classes");
  app.add_option("--ratio", ratio, "M_test / d");
  app.add_option("--snr", snr, "lambda");
  app.add_option("--train-t", train_t, "weights trained to this t (c_delta = 1) before timing");
  app.add_option("--threads", threads, "analysis threads");
  app.add_option("--repeats", repeats, "timed analyses (the median is reported)");
  app.add_option("--tol", tol, "Lanczos tolerance");
  app.add_option("--seed", seed, "seed");
  app.add_option("--stream-version", stream_version, "random stream version (new cores only)");
  app.add_option("--solve-target", solve_target, "outliers | top_r (new cores only)");
  app.add_option("--ncv", ncv, "Krylov basis size (0 = auto)");
  app.add_option("--out", out_path, "JSON report")->required();
  CLI11_PARSE(app, argc, argv);

  ExperimentSpec spec;
  spec.seed = seed;
  spec.kgmm.dim = d;
  spec.kgmm.num_classes = k;
  spec.kgmm.snr = snr;
  spec.analysis.test_ratio = ratio;
  spec.analysis.threads = threads;
  spec.analysis.solver.tol = tol;
  spec.analysis.solver.ncv = ncv;
  spec.sgd.steps = std::max(1L, static_cast<long>(std::llround(train_t * d)));
  spec.memory_budget_bytes = 1099511627776.0;
#ifdef SGDSPECTRA_HAS_STREAM_VERSIONS
  spec.random_stream_version = stream_version;
  spec.analysis.solve_target =
      solve_target == "top_r" ? SolveTarget::kTopR : SolveTarget::kOutliers;
  Rng sgd_rng(spec.seed, RngStream::kSgdSamples, 0, stream_version);
  const char* engine = "this tree";
#else
  Rng sgd_rng(spec.seed, RngStream::kSgdSamples);
  const char* engine = "older core";
#endif
  const Status valid = spec.Validate();
  if (!valid.ok()) {
    std::fprintf(stderr, "spec: %s\n", valid.message().c_str());
    return 2;
  }
  GaussianMixture mixture;
  if (!BuildMixture(spec, &mixture).ok()) return 1;
  ThreadPool pool(threads);
  const SampleSet test = DrawTestSample(spec, mixture, &pool);
  const CancelFn no_cancel;
  std::unique_ptr<TaskRun> run = MakeKgmmRun(spec, mixture, test, &pool, no_cancel);
  const auto train_start = std::chrono::steady_clock::now();
  for (long s = 0; s < spec.ResolvedSteps(); ++s) run->Step(sgd_rng);
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();

  std::vector<double> seconds;
  Snapshot snapshot;
  for (int rep = 0; rep < repeats; ++rep) {
    snapshot = Snapshot();
    const auto start = std::chrono::steady_clock::now();
    const Status status = run->Analyze(0, &snapshot);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!status.ok()) {
      std::fprintf(stderr, "Analyze: %s\n", status.message().c_str());
      return 1;
    }
    std::fprintf(stderr, "  run %d: %.3f s, %ld products\n", rep, seconds.back(),
                 snapshot.total_products);
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());

  nlohmann::json out;
  out["engine"] = engine;
  out["d"] = d;
  out["k"] = k;
  out["M"] = test.size();
  out["threads"] = threads;
  out["train_t"] = train_t;
  out["tol"] = tol;
  out["train_seconds"] = train_seconds;
  out["seconds"] = seconds;
  out["median_seconds"] = sorted[sorted.size() / 2];
  out["products"] = snapshot.total_products;
  out["peak_rss_bytes"] = PeakRssBytes();
  out["estimated_bytes"] = spec.EstimatedBytes();
  out["test_accuracy"] = snapshot.test_accuracy;
  out["gradient_overlap"] = snapshot.gradient_overlap;
  for (const SpectrumReport& s : snapshot.spectra) out["spectra"].push_back(SpectrumJson(s));
  std::ofstream(out_path) << out.dump(1) << "\n";
  std::printf(
      "%s: d=%ld k=%d M=%ld threads=%d: median %.3f s over %d, %ld products, peak RSS "
      "%.2f GiB (estimate %.2f GiB)\n",
      engine, d, k, test.size(), threads, sorted[sorted.size() / 2], repeats,
      snapshot.total_products, PeakRssBytes() / 1073741824.0, spec.EstimatedBytes() / 1073741824.0);
  return 0;
}
