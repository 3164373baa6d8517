// experiment_dump: runs one whole experiment (RunExperiment, as the server does) and writes
// every snapshot's spectra as JSON, so two builds can be checked against each other on the
// paper's settings (bench/compare_snapshots.py). Like snapshot_timer it compiles against
// older cores; with a core that has random-stream versions the data are drawn with
// --stream-version (default 1, what older cores draw), so both builds see the same samples.
//
//   experiment_dump --task kgmm --d 400 --k 4 --snr 20 --ratio 4 --t-end 20 --out k1.json
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/snapshot.h"
#include "snapshot_json.h"

#if __has_include("sgdspectra/core/lockstep_lanczos.h")
#define SGDSPECTRA_HAS_STREAM_VERSIONS 1
#endif

namespace sgdspectra {
namespace {

class JsonRecorder : public ExperimentObserver {
 public:
  bool OnSnapshot(const Snapshot& snapshot) override {
    nlohmann::json s;
    s["index"] = snapshot.index;
    s["step"] = snapshot.step;
    s["analysis_seconds"] = snapshot.analysis_seconds;
    s["products"] = snapshot.total_products;
    s["gradient_overlap"] = snapshot.gradient_overlap;
    for (const SpectrumReport& r : snapshot.spectra) s["spectra"].push_back(SpectrumJson(r));
    snapshots.push_back(s);
    return true;
  }
  nlohmann::json snapshots = nlohmann::json::array();
};

}  // namespace
}  // namespace sgdspectra

int main(int argc, char** argv) {
  using namespace sgdspectra;
  CLI::App app{"Run one experiment and write every snapshot's spectra as JSON"};
  std::string task = "kgmm", out_path;
  long d = 400;
  int k = 4, threads = 1, num_points = 12, stream_version = 1;
  double snr = 20, ratio = 2, t_end = 20;
  uint64_t seed = 1;
  bool full = true;
  app.add_option("--task", task, "kgmm | xor");
  app.add_option("--d", d, "dimension");
  app.add_option("--k", k, "classes (kgmm) or hidden width (xor)");
  app.add_option("--snr", snr, "lambda");
  app.add_option("--ratio", ratio, "M_test / d");
  app.add_option("--t-end", t_end, "end time");
  app.add_option("--num-points", num_points, "snapshots");
  app.add_option("--seed", seed, "seed");
  app.add_option("--threads", threads, "analysis threads");
  app.add_option("--full-matrices", full, "analyse the full matrices");
  app.add_option("--stream-version", stream_version, "random stream version (new cores only)");
  int outlier_method = 0;
  app.add_option("--outlier-method", outlier_method,
                 "OutlierMethod as a number: 0 null model, 1 Marchenko-Pastur, 2 largest gap");
  app.add_option("--out", out_path, "JSON")->required();
  CLI11_PARSE(app, argc, argv);

  ExperimentSpec spec;
  spec.seed = seed;
  if (task == "xor") {
    spec.task = TaskKind::kXor;
    spec.xor_task.dim = d;
    spec.xor_task.hidden = k;
    spec.xor_task.snr = snr;
  } else {
    spec.kgmm.dim = d;
    spec.kgmm.num_classes = k;
    spec.kgmm.snr = snr;
  }
  spec.sgd.t_end = t_end;
  spec.schedule.num_points = num_points;
  spec.analysis.test_ratio = ratio;
  spec.analysis.threads = threads;
  spec.analysis.full_matrices = full;
  spec.analysis.outliers.method = static_cast<OutlierMethod>(outlier_method);
#ifdef SGDSPECTRA_HAS_STREAM_VERSIONS
  spec.random_stream_version = stream_version;
#endif
  JsonRecorder recorder;
  const ExperimentResult result = RunExperiment(spec, &recorder, nullptr);
  if (!result.status.ok()) {
    std::fprintf(stderr, "RunExperiment: %s\n", result.status.message().c_str());
    return 1;
  }
  nlohmann::json out;
  out["snapshots"] = recorder.snapshots;
  out["final_accuracy"] = result.final_test_accuracy;
  std::ofstream(out_path) << out.dump(1) << "\n";
  double seconds = 0;
  long products = 0;
  for (const auto& s : recorder.snapshots) {
    seconds += s["analysis_seconds"].get<double>();
    products += s["products"].get<long>();
  }
  std::printf("%s d=%ld k=%d: %zu snapshots, analysis %.2f s, %ld products, final acc %.4f\n",
              task.c_str(), d, k, recorder.snapshots.size(), seconds, products,
              result.final_test_accuracy);
  return 0;
}
