// Random numbers we own: xoshiro256++ seeded through SplitMix64, with our own uniform and
// normal transforms, so the same seed gives the same numbers bit for bit on every standard
// library (std::normal_distribution is implementation-defined and is never used).
//
// Independent streams: Rng(seed, stream) derives a generator for a named purpose (means,
// initialisation, SGD samples, test sample rows, ...). Derivation is a pure function of
// (seed, stream), so a parallel producer that gives each fixed chunk its own stream is
// deterministic whatever the thread count.
//
// Thread-safety: an Rng is a plain value; one instance must not be used by two threads at
// once. Distinct instances are independent.
#ifndef SGDSPECTRA_CORE_RANDOM_H_
#define SGDSPECTRA_CORE_RANDOM_H_

#include <cstdint>

namespace sgdspectra {

// Named stream ids. Values are part of the reproducibility contract: never renumber.
enum class RngStream : uint64_t {
  kMeans = 1,
  kInit = 2,
  kSgdSamples = 3,
  kTestSample = 4,   // combined with the row-block index
  kSolverStart = 5,  // Krylov starting vectors
  kDecoyDirections = 6,
};

class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream);
  Rng(uint64_t seed, RngStream stream, uint64_t substream = 0);

  uint64_t NextU64();
  // Uniform in [0, 1), 53 random bits.
  double Uniform();
  // Standard normal via the Marsaglia polar method, caching the second variate.
  double Normal();
  // Fills n standard normals.
  void FillNormal(double* out, long n);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// SplitMix64 finaliser, used to derive stream seeds.
uint64_t MixBits(uint64_t x);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_RANDOM_H_
