#include "sgdspectra/core/random.h"

#include <cmath>

namespace sgdspectra {
namespace {

inline uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t MixBits(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

Rng::Rng(uint64_t seed, uint64_t stream) {
  // SplitMix64 over a key that mixes seed and stream, so nearby (seed, stream) pairs give
  // unrelated states; xoshiro's state must not be all zero, which SplitMix64 output never is
  // for four consecutive draws.
  uint64_t key = MixBits(seed) ^ MixBits(stream + 0x632be59bd9b4e019ull);
  for (uint64_t& word : s_) {
    key += 0x9e3779b97f4a7c15ull;
    word = MixBits(key);
  }
}

Rng::Rng(uint64_t seed, RngStream stream, uint64_t substream)
    : Rng(seed, (static_cast<uint64_t>(stream) << 40) ^ substream) {}

uint64_t Rng::NextU64() {
  // xoshiro256++ (Blackman & Vigna).
  const uint64_t result = RotateLeft(s_[0] + s_[3], 23) + s_[0];
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = RotateLeft(s_[3], 45);
  return result;
}

double Rng::Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // Marsaglia polar method: two normals per accepted point in the unit disc.
  double u, v, s;
  do {
    u = 2.0 * Uniform() - 1.0;
    v = 2.0 * Uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * factor;
  has_spare_ = true;
  return u * factor;
}

void Rng::FillNormal(double* out, long n) {
  for (long i = 0; i < n; ++i) out[i] = Normal();
}

}  // namespace sgdspectra
