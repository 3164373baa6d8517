// Random numbers we own: xoshiro256++ seeded through SplitMix64, with our own uniform and
// normal transforms, so the same seed gives the same numbers bit for bit on every standard
// library (std::normal_distribution is implementation-defined and is never used).
//
// Independent streams: Rng(seed, stream) derives a generator for a named purpose (means,
// initialisation, SGD samples, test sample rows, ...). Derivation is a pure function of
// (seed, stream), so a parallel producer that gives each fixed chunk its own stream is
// deterministic whatever the thread count.
//
// Stream versions: the normal transform is versioned, so a job re-draws exactly the samples it
// drew when it ran. NextU64() and Uniform() are the same in every version.
//   1: scalar Marsaglia polar normals, caching the second variate of each pair (jobs from
//      before the versioned stream).
//   2: a 256-layer ziggurat (Marsaglia & Tsang 2000) with independent bits for layer, sign and
//      abscissa: one NextU64() per normal on the fast path (98.5 %), tables compiled in as
//      exact hex-float constants (scripts/ziggurat_tables.py), std::exp/std::log only on the
//      wedge and tail paths. Exact: it samples the uniform point under the density.
//
// Thread-safety: an Rng is a plain value; one instance must not be used by two threads at
// once. Distinct instances are independent.
#ifndef SGDSPECTRA_CORE_RANDOM_H_
#define SGDSPECTRA_CORE_RANDOM_H_

#include <cstdint>

namespace sgdspectra {

// The stream version new jobs use; a job's resolved spec records the version it ran with
// (ExperimentSpec::random_stream_version). Valid versions are 1..kLatestRandomStreamVersion.
constexpr int kLatestRandomStreamVersion = 2;

// Named stream ids. Values are part of the reproducibility contract: never renumber.
enum class RngStream : uint64_t {
  kMeans = 1,
  kInit = 2,
  kSgdSamples = 3,
  kTestSample = 4,   // combined with the row-block index
  kSolverStart = 5,  // Krylov starting vectors
  kDecoyDirections = 6,
  kDensityProbes = 7,  // Rademacher probes of the spectral density (spectral_density.h)
};

class Rng {
 public:
  // version: the normal transform, in [1, kLatestRandomStreamVersion] (the state and the
  // uniform bits do not depend on it).
  Rng(uint64_t seed, uint64_t stream, int version = kLatestRandomStreamVersion);
  Rng(uint64_t seed, RngStream stream, uint64_t substream = 0,
      int version = kLatestRandomStreamVersion);
  // An int third argument is almost always a stream version landing in the substream slot
  // (Rng(seed, stream, spec.random_stream_version)), which would silently pick the wrong
  // stream: spell it Rng(seed, stream, 0, version), or pass a uint64_t substream.
  Rng(uint64_t seed, RngStream stream, int substream_or_version) = delete;

  int version() const { return version_; }

  uint64_t NextU64();
  // Uniform in [0, 1), 53 random bits.
  double Uniform();
  // One standard normal of this Rng's version.
  double Normal();
  // Fills out[0..n) with standard normals: exactly the values (and the state afterwards) of n
  // calls of Normal(), only faster. Use it for whole rows.
  void FillNormal(double* out, long n);

 private:
  double PolarNormal();     // version 1
  double ZigguratNormal();  // version 2

  uint64_t s_[4];
  int version_ = kLatestRandomStreamVersion;
  bool has_spare_ = false;  // version 1 only
  double spare_ = 0.0;
};

// SplitMix64 finaliser, used to derive stream seeds.
uint64_t MixBits(uint64_t x);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_RANDOM_H_
