// Benchmarks for the performance targets of issue 2 (results in docs/PERFORMANCE.md):
//   BM_SgdStep          online SGD steps/s (sampling + softmax step), k = 10
//   BM_*Product         one matrix-free H or G product over a d = 2000, M = 4000 test sample
//                       (and d = 1000, M = 2000, the snapshot's size); bytes/s counts one stream
//                       of the M x d test matrix
//   BM_Triad            a STREAM-like triad, to measure the memory bandwidth in the same run
//   BM_DenseGemm        a square Eigen matrix product: the compute roof for the full products
//   BM_Snapshot         one full k-GMM snapshot analysis (d = 1000, k = 10, M = 2000): the
//                       core's k-GMM TaskRun::Analyze, as RunExperiment calls it
//
// Extra flag, handled before Google Benchmark sees the command line:
//   --dump PATH   write the snapshot problem (test sample, null inputs, labels, weights) and the
//                 C++ eigenvalues of every analysed matrix to PATH, then exit. Read by
//                 bench/numpy_snapshot.py, which redoes the snapshot in NumPy/SciPy on the very
//                 same data and checks its eigenvalues against these.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/softmax_model.h"
#include "sgdspectra/core/thread_pool.h"
#include "task_run.h"

namespace sgdspectra {
namespace {

constexpr int kClasses = 10;
constexpr uint64_t kSeed = 20240601;
// Weights are trained for t = kTrainTime (kTrainTime * d steps at c_delta = 1) before any
// product or snapshot is timed: at t = 0 the softmax outputs are nearly uniform, which is not
// the matrix a run spends its time on.
constexpr double kTrainTime = 2.0;

// Sizes named in the issue.
constexpr long kProductDim = 2000;  // products: d = 2000, M = 4000
constexpr double kProductRatio = 2.0;
constexpr long kSnapshotDim = 1000;  // snapshot: d = 1000, M = 2000
constexpr double kSnapshotRatio = 2.0;

// The triad's arrays: 3 x 80 MB, far beyond any cache level this machine reports per core.
constexpr long kTriadLength = 10 * 1000 * 1000;

// A k-GMM problem as a run would hold it at one snapshot.
struct Problem {
  ExperimentSpec spec;
  GaussianMixture mixture;
  SampleSet test;
  RowMatrix weights;
  SoftmaxEvaluation eval;
  RowMatrix residual;  // pi - y, M x k
};

ExperimentSpec SnapshotSpec(long d, double ratio, double tol) {
  ExperimentSpec spec;
  spec.seed = kSeed;
  spec.kgmm.dim = d;
  spec.kgmm.num_classes = kClasses;
  spec.kgmm.snr = 20.0;
  spec.analysis.test_ratio = ratio;
  spec.analysis.solver.tol = tol;
  spec.sgd.steps = static_cast<long>(kTrainTime * d);
  return spec;
}

// Built once per (d, ratio) and shared by every benchmark that needs it: drawing the sample
// and training are not what we time.
const Problem& GetProblem(long d, double ratio) {
  static std::map<std::pair<long, double>, std::unique_ptr<Problem>> cache;
  auto& slot = cache[{d, ratio}];
  if (slot) return *slot;
  slot = std::make_unique<Problem>();
  Problem& p = *slot;
  p.spec = SnapshotSpec(d, ratio, SolverSettings().tol);
  const Status status = BuildMixture(p.spec, &p.mixture);
  if (!status.ok()) {
    std::fprintf(stderr, "BuildMixture: %s\n", status.message().c_str());
    std::abort();
  }
  ThreadPool pool(1);
  p.test = DrawTestSample(p.spec, p.mixture, &pool);
  // Same initialisation and SGD streams as RunExperiment.
  p.weights.resize(kClasses, d);
  Rng init_rng(p.spec.seed, RngStream::kInit);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (int c = 0; c < kClasses; ++c) {
    for (long i = 0; i < d; ++i) p.weights(c, i) = scale * init_rng.Normal();
  }
  Rng sgd_rng(p.spec.seed, RngStream::kSgdSamples);
  VectorXd input(d), logits(kClasses), probs(kClasses);
  for (long s = 0; s < p.spec.ResolvedSteps(); ++s) {
    const int label = p.mixture.Draw(sgd_rng, input.data());
    SoftmaxSgdStep(p.weights, input.data(), label, p.spec.ResolvedStepSize(), p.spec.kgmm.ridge,
                   logits.data(), probs.data());
  }
  p.eval = EvaluateSoftmax(p.weights, p.test);
  p.residual = p.eval.probs;
  for (long j = 0; j < p.test.size(); ++j) p.residual(j, p.test.labels[j]) -= 1.0;
  return p;
}

// The core's own k-GMM run (what RunExperiment drives) over the problem's data, trained with
// the same SGD stream as the problem's weights, ready for Analyze. spec must outlive the run.
std::unique_ptr<TaskRun> MakeTrainedRun(const ExperimentSpec& spec, const Problem& p,
                                        ThreadPool* pool, const CancelFn& cancel) {
  std::unique_ptr<TaskRun> run = MakeKgmmRun(spec, p.mixture, p.test, pool, cancel);
  Rng sgd_rng(spec.seed, RngStream::kSgdSamples);
  for (long s = 0; s < spec.ResolvedSteps(); ++s) run->Step(sgd_rng);
  return run;
}

// ---------------------------------------------------------------------------------------
// SGD: one fresh sample (d normals) and one softmax step (O(kd)) per iteration.

void BM_SgdStep(benchmark::State& state) {
  const long d = state.range(0);
  GaussianMixture mixture;
  if (!GaussianMixture::MakeKgmm(d, kClasses, {}, {}, 20.0, kSeed, kLatestRandomStreamVersion,
                                 &mixture)
           .ok()) {
    state.SkipWithError("MakeKgmm failed");
    return;
  }
  RowMatrix weights = RowMatrix::Constant(kClasses, d, 1.0 / std::sqrt(static_cast<double>(d)));
  Rng rng(kSeed, RngStream::kSgdSamples);
  VectorXd input(d), logits(kClasses), probs(kClasses);
  const double step = 1.0 / static_cast<double>(d);
  for (auto _ : state) {
    const int label = mixture.Draw(rng, input.data());
    const StepOutcome out =
        SoftmaxSgdStep(weights, input.data(), label, step, 0.1, logits.data(), probs.data());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["d"] = static_cast<double>(d);
}
BENCHMARK(BM_SgdStep)->ArgName("d")->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------------------
// Products over M = 2d test rows. Args: threads, d (2000 is the size; 1000 is the
// snapshot's, to relate the two). Real time, since the work is spread over a pool and CPU time
// of the calling thread would undercount it.

enum class ProductKind { kClassH, kClassG, kFullH, kFullG };

void RunProduct(benchmark::State& state, ProductKind kind) {
  const Problem& p = GetProblem(state.range(1), kProductRatio);
  const int threads = static_cast<int>(state.range(0));
  ThreadPool pool(threads);
  const long m = p.test.size();
  const long d = p.mixture.dim();
  std::unique_ptr<SampleMixing> mixing;
  // Class 0's block: weights from the real softmax outputs of the trained model.
  VectorXd w(m);
  switch (kind) {
    case ProductKind::kClassH:
      for (long j = 0; j < m; ++j) w[j] = p.eval.probs(j, 0) * (1.0 - p.eval.probs(j, 0));
      mixing = std::make_unique<DiagonalMixing>(w);
      break;
    case ProductKind::kClassG:
      for (long j = 0; j < m; ++j) w[j] = p.residual(j, 0) * p.residual(j, 0);
      mixing = std::make_unique<DiagonalMixing>(w);
      break;
    case ProductKind::kFullH:
      mixing = std::make_unique<SoftmaxHessianMixing>(p.eval.probs);
      break;
    case ProductKind::kFullG:
      mixing = std::make_unique<OuterProductMixing>(p.residual);
      break;
  }
  SampleGramOperator op(p.test.inputs, *mixing, &pool);
  VectorXd x(op.size()), y(op.size());
  Rng rng(kSeed, RngStream::kSolverStart);
  rng.FillNormal(x.data(), x.size());
  for (auto _ : state) {
    op.Apply(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double bytes_per_product = 8.0 * static_cast<double>(m) * static_cast<double>(d);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_product));
  state.counters["threads"] = threads;
  state.counters["M"] = static_cast<double>(m);
  state.counters["d"] = static_cast<double>(d);
  // Flops of the two matrix products Z = Y V and Y^T R (width m each).
  state.counters["GFlop/s"] = benchmark::Counter(
      4.0 * m * d * mixing->width() * static_cast<double>(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}

void BM_ClassBlockHProduct(benchmark::State& s) { RunProduct(s, ProductKind::kClassH); }
void BM_ClassBlockGProduct(benchmark::State& s) { RunProduct(s, ProductKind::kClassG); }
void BM_FullHProduct(benchmark::State& s) { RunProduct(s, ProductKind::kFullH); }
void BM_FullGProduct(benchmark::State& s) { RunProduct(s, ProductKind::kFullG); }
void ProductArgs(benchmark::internal::Benchmark* b) {
  for (long d : {kProductDim, kSnapshotDim}) {
    for (long threads : {1, 2}) b->Args({threads, d});
  }
  b->ArgNames({"threads", "d"})->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_ClassBlockHProduct)->Apply(ProductArgs);
BENCHMARK(BM_ClassBlockGProduct)->Apply(ProductArgs);
BENCHMARK(BM_FullHProduct)->Apply(ProductArgs);
BENCHMARK(BM_FullGProduct)->Apply(ProductArgs);

// ---------------------------------------------------------------------------------------
// STREAM triad a[i] = b[i] + s c[i]. Bytes counted the STREAM way: 3 x 8 per element (the
// write-allocate read of a[] is real traffic but not counted, as in STREAM). Arg: threads;
// each thread owns one contiguous slice and first-touches it.

void BM_Triad(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  ThreadPool pool(threads);
  const long n = kTriadLength;
  std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
  auto slice = [&](long t, auto&& body) {
    const long begin = t * n / threads;
    const long end = (t + 1) * n / threads;
    body(begin, end);
  };
  pool.ParallelFor(threads, [&](long t) {
    slice(t, [&](long begin, long end) {
      for (long i = begin; i < end; ++i) {
        a[i] = 0.0;
        b[i] = 1.0;
        c[i] = 2.0;
      }
    });
  });
  const double s = 3.0;
  double* __restrict pa = a.get();
  const double* __restrict pb = b.get();
  const double* __restrict pc = c.get();
  for (auto _ : state) {
    pool.ParallelFor(threads, [&](long t) {
      slice(t, [&](long begin, long end) {
        for (long i = begin; i < end; ++i) pa[i] = pb[i] + s * pc[i];
      });
    });
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(pa[n / 2]);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 24.0 * n));
  state.counters["threads"] = threads;
}
BENCHMARK(BM_Triad)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(
    benchmark::kMillisecond);

// Square C = A B with n = 1000 on one thread (Eigen is built without OpenMP): what Eigen's
// blocked kernels reach on this core. The full-matrix products (width k = 10) are compute-bound,
// so this, not the bandwidth, is their roof.
void BM_DenseGemm(benchmark::State& state) {
  const long n = state.range(0);
  MatrixXd a(n, n), b(n, n), c(n, n);
  Rng rng(kSeed, RngStream::kSolverStart);
  rng.FillNormal(a.data(), a.size());
  rng.FillNormal(b.data(), b.size());
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFlop/s"] = benchmark::Counter(
      2.0 * n * n * n * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DenseGemm)->Arg(1000)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------
// One full snapshot: the k-GMM TaskRun's Analyze with the default analysis (every class
// block of H and G, the full H and G, null-model edges) at trained weights.
// Args: threads, -log10(tol) (10 = the core's default; 6 = the 1e-6 accuracy the NumPy
// reference is run at).

void BM_Snapshot(benchmark::State& state) {
  const Problem& p = GetProblem(kSnapshotDim, kSnapshotRatio);
  const int threads = static_cast<int>(state.range(0));
  ExperimentSpec spec = p.spec;
  spec.analysis.threads = threads;
  spec.analysis.solver.tol = std::pow(10.0, -static_cast<double>(state.range(1)));
  ThreadPool pool(threads);
  const CancelFn no_cancel;
  const std::unique_ptr<TaskRun> run = MakeTrainedRun(spec, p, &pool, no_cancel);
  long products = 0;
  for (auto _ : state) {
    Snapshot snapshot;
    const Status status = run->Analyze(0, &snapshot);
    if (!status.ok()) {
      state.SkipWithError(status.message().c_str());
      return;
    }
    products = snapshot.total_products;
    benchmark::DoNotOptimize(snapshot.spectra.data());
  }
  state.counters["threads"] = threads;
  state.counters["tol"] = spec.analysis.solver.tol;
  state.counters["products"] = static_cast<double>(products);
}
BENCHMARK(BM_Snapshot)
    ->ArgNames({"threads", "tol_exp"})
    ->Args({1, 10})
    ->Args({2, 10})
    ->Args({1, 6})
    ->Args({2, 6})
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

// ---------------------------------------------------------------------------------------
// --dump: the snapshot problem and the C++ eigenvalues, little-endian binary:
//   char[8] "SGDSNAP1"; int64 d, k, M, num_spectra;
//   double inputs[M*d] (row-major); double noise[M*d]; int64 labels[M]; double weights[k*d];
//   per spectrum: int64 matrix (0 = H, 1 = G), block (0 = class, 1 = full), block_index, r;
//                 double values[r]; double bulk_edge.

bool WriteAll(std::FILE* f, const void* data, size_t bytes) {
  return std::fwrite(data, 1, bytes, f) == bytes;
}
bool WriteI64(std::FILE* f, int64_t v) { return WriteAll(f, &v, sizeof v); }

int DumpSnapshot(const std::string& path) {
  const Problem& p = GetProblem(kSnapshotDim, kSnapshotRatio);
  ThreadPool pool(1);
  const CancelFn no_cancel;
  const std::unique_ptr<TaskRun> run = MakeTrainedRun(p.spec, p, &pool, no_cancel);
  Snapshot snapshot;
  const Status status = run->Analyze(0, &snapshot);
  ExperimentResult exported;
  run->Export(&exported);
  if (!status.ok()) {
    std::fprintf(stderr, "Analyze: %s\n", status.message().c_str());
    return 1;
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::perror(path.c_str());
    return 1;
  }
  const long d = p.mixture.dim();
  const long m = p.test.size();
  std::vector<int64_t> labels(p.test.labels.begin(), p.test.labels.end());
  bool ok = WriteAll(f, "SGDSNAP1", 8) && WriteI64(f, d) && WriteI64(f, kClasses) &&
            WriteI64(f, m) && WriteI64(f, static_cast<int64_t>(snapshot.spectra.size())) &&
            WriteAll(f, p.test.inputs.data(), sizeof(double) * m * d) &&
            WriteAll(f, p.test.noise.data(), sizeof(double) * m * d) &&
            WriteAll(f, labels.data(), sizeof(int64_t) * m) &&
            WriteAll(f, exported.weights.data(), sizeof(double) * kClasses * d);
  for (const SpectrumReport& s : snapshot.spectra) {
    ok = ok && WriteI64(f, static_cast<int64_t>(s.matrix)) &&
         WriteI64(f, static_cast<int64_t>(s.block)) && WriteI64(f, s.block_index) &&
         WriteI64(f, static_cast<int64_t>(s.top_eigenvalues.size())) &&
         WriteAll(f, s.top_eigenvalues.data(), sizeof(double) * s.top_eigenvalues.size()) &&
         WriteAll(f, &s.bulk_edge, sizeof(double));
  }
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "failed to write %s\n", path.c_str());
    return 1;
  }
  std::printf("wrote %s: d=%ld k=%d M=%ld, %zu spectra, %ld products, %.3f s (1 thread)\n",
              path.c_str(), d, kClasses, m, snapshot.spectra.size(), snapshot.total_products,
              snapshot.analysis_seconds);
  // Where a snapshot's time goes: per matrix, its own solve and its null-model solve.
  std::printf("%-8s %5s %4s %9s %9s %9s %9s %9s %9s\n", "matrix", "n", "r", "products", "restarts",
              "seconds", "s/prod", "null_prod", "null_s");
  for (const SpectrumReport& s : snapshot.spectra) {
    const std::string name =
        std::string(s.matrix == MatrixKind::kHessian ? "H" : "G") +
        (s.block == BlockKind::kClass ? "_" + std::to_string(s.block_index) : std::string("_full"));
    const long n = s.block == BlockKind::kClass ? d : d * kClasses;
    std::printf("%-8s %5ld %4d %9ld %9ld %9.3f %9.5f %9ld %9.3f\n", name.c_str(), n,
                s.solver.requested, s.solver.products, s.solver.restarts, s.solver.seconds,
                s.solver.seconds / std::max(1L, s.solver.products), s.edge_solver.products,
                s.edge_solver.seconds);
  }
  return 0;
}

}  // namespace
}  // namespace sgdspectra

int main(int argc, char** argv) {
  // Take --dump out before Google Benchmark parses (and rejects) unknown flags.
  std::vector<char*> args;
  std::string dump_path;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
      dump_path = argv[++i];
    } else if (std::strncmp(argv[i], "--dump=", 7) == 0) {
      dump_path = argv[i] + 7;
    } else {
      args.push_back(argv[i]);
    }
  }
  if (!dump_path.empty()) return sgdspectra::DumpSnapshot(dump_path);
  int bench_argc = static_cast<int>(args.size());
  benchmark::Initialize(&bench_argc, args.data());
  if (benchmark::ReportUnrecognizedArguments(bench_argc, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
