#include "sgdspectra/core/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "sgdspectra/core/gaussian_mixture.h"

namespace sgdspectra {
namespace {

TEST(RngTest, SameSeedAndStreamGiveSameSequence) {
  Rng a(42, RngStream::kSgdSamples), b(42, RngStream::kSgdSamples);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.NextU64(), b.NextU64());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Normal(), b.Normal());
}

TEST(RngTest, StreamsAndSeedsDiffer) {
  Rng a(42, RngStream::kSgdSamples), b(42, RngStream::kTestSample), c(43, RngStream::kSgdSamples);
  int same_ab = 0, same_ac = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.NextU64();
    same_ab += x == b.NextU64();
    same_ac += x == c.NextU64();
  }
  EXPECT_EQ(same_ab, 0);
  EXPECT_EQ(same_ac, 0);
}

TEST(RngTest, KnownFirstValuesPinTheGenerator) {
  // Pins xoshiro256++ and our seeding: a change here changes every published result.
  Rng rng(0, 0);
  const uint64_t first = rng.NextU64();
  Rng again(0, 0);
  EXPECT_EQ(first, again.NextU64());
  EXPECT_NE(first, 0u);
}

TEST(RngTest, UniformIsInUnitIntervalWithRightMean) {
  Rng rng(7, 1);
  const int n = 1000000;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // Standard error of the mean is sqrt(1/12 / n) = 2.9e-4; 5 sigma.
  EXPECT_NEAR(sum / n, 0.5, 1.5e-3);
}

TEST(RngTest, Version1NormalMomentsMatchStandardNormal) {
  Rng rng(11, 2, 1);
  const int n = 1000000;
  double s1 = 0, s2 = 0, s4 = 0;
  long tail = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.Normal();
    s1 += z;
    s2 += z * z;
    s4 += z * z * z * z;
    tail += std::abs(z) > 1.959963984540054;
  }
  // Standard errors: mean 1e-3, variance sqrt(2/n) = 1.4e-3, fourth moment sqrt(96/n) = 9.8e-3,
  // tail fraction sqrt(.05 * .95 / n) = 2.2e-4. Tolerances are 5 sigma.
  EXPECT_NEAR(s1 / n, 0.0, 5e-3);
  EXPECT_NEAR(s2 / n, 1.0, 7e-3);
  EXPECT_NEAR(s4 / n, 3.0, 5e-2);
  EXPECT_NEAR(static_cast<double>(tail) / n, 0.05, 1.1e-3);
}

// Version 1 must re-draw old jobs' samples bit for bit. The truth here is independent of the
// code under test: the uniform bits are pinned to the values the pre-versioning build produced
// (NextU64 and Uniform are the same in every version), and the normals are checked against the
// Marsaglia polar method written out below, fed by the same uniforms.
TEST(RngTest, UniformBitsAreThoseOfThePreVersioningBuild) {
  // Printed once by the build before the stream was versioned (commit 158197e).
  for (int version = 1; version <= kLatestRandomStreamVersion; ++version) {
    Rng a(0, 0, version);
    EXPECT_EQ(a.NextU64(), 0x67379b822b1a154bull);
    EXPECT_EQ(a.NextU64(), 0x2675dd4215c5a8c6ull);
    EXPECT_EQ(a.NextU64(), 0xdbfa49911fddb2a4ull);
    Rng b(42, RngStream::kTestSample, uint64_t{7}, version);
    EXPECT_EQ(b.NextU64(), 0x22e5d7a864211d59ull);
    EXPECT_EQ(b.NextU64(), 0x4a3924dac387d68full);
    EXPECT_EQ(b.NextU64(), 0xaad24f8abc914026ull);
  }
  Rng c(42, RngStream::kSgdSamples, 0, 1);
  EXPECT_EQ(c.Normal(), 0x1.ade4413d37601p-1);
  EXPECT_EQ(c.Normal(), -0x1.9869d3cafbd1ap+0);
  EXPECT_EQ(c.Normal(), 0x1.1a55551014ccap+0);
}

// The polar method as published (Marsaglia & Bray 1964): two normals per accepted point of the
// unit disc, the second returned by the next call.
class ReferencePolar {
 public:
  explicit ReferencePolar(Rng* uniforms) : uniforms_(uniforms) {}
  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniforms_->Uniform() - 1.0;
      v = 2.0 * uniforms_->Uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double factor = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * factor;
    has_spare_ = true;
    return u * factor;
  }

 private:
  Rng* uniforms_;
  bool has_spare_ = false;
  double spare_ = 0;
};

TEST(RngTest, Version1IsThePolarMethodBitForBit) {
  Rng v1(5, RngStream::kSgdSamples, uint64_t{3}, 1);
  Rng uniforms(5, RngStream::kSgdSamples, uint64_t{3}, 1);
  ReferencePolar reference(&uniforms);
  for (int i = 0; i < 100001; ++i) ASSERT_EQ(v1.Normal(), reference.Next()) << "draw " << i;
  // FillNormal in odd-sized pieces: the cached second variate carries across calls.
  std::vector<double> row(999);
  for (int piece = 0; piece < 50; ++piece) {
    v1.FillNormal(row.data(), static_cast<long>(row.size()));
    for (size_t i = 0; i < row.size(); ++i) ASSERT_EQ(row[i], reference.Next());
  }
  EXPECT_EQ(v1.NextU64(), uniforms.NextU64());
}

TEST(RngTest, Version1MixtureRowsAreMeanPlusScaledPolarNormals) {
  // A job recorded with version 1 re-draws its inputs: one Uniform() picks the cluster (first
  // cumulative probability above it), then each coordinate is mu_i + z_i / sqrt(lambda).
  const long d = 37;  // odd: the polar spare carries from one row into the next
  const double snr = 4.0;
  GaussianMixture mixture;
  ASSERT_TRUE(GaussianMixture::MakeKgmm(d, 3, {}, {}, snr, 8, 1, &mixture).ok());
  Rng rng(8, RngStream::kSgdSamples, 0, 1);
  Rng uniforms(8, RngStream::kSgdSamples, 0, 1);
  ReferencePolar reference(&uniforms);
  std::vector<double> y(d);
  for (int row = 0; row < 200; ++row) {
    const int cluster = mixture.Draw(rng, y.data());
    // The spare, if any, is not a uniform: the cluster uniform comes straight from the stream.
    const double u = uniforms.Uniform();
    ASSERT_EQ(cluster, u < 1.0 / 3 ? 0 : u < 2.0 / 3 ? 1 : 2);
    for (long i = 0; i < d; ++i) {
      ASSERT_EQ(y[i], mixture.centers()(cluster, i) + (1.0 / std::sqrt(snr)) * reference.Next());
    }
  }
}

TEST(RngTest, VersionsShareUniformsButNotNormals) {
  Rng v1(9, 9, 1), v2(9, 9, 2);
  EXPECT_EQ(v1.version(), 1);
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(Rng(9, 9).version(), kLatestRandomStreamVersion);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(v1.Uniform(), v2.Uniform());
  int same = 0;
  for (int i = 0; i < 100; ++i) same += v1.Normal() == v2.Normal();
  EXPECT_EQ(same, 0);
}

// Version 2 (ziggurat). Its rare paths (wedges, 1.5 % of draws, and the tail beyond
// r = 3.654, 2.6e-4 of draws) take extra uniforms from the stream, so the tests below use
// enough draws to exercise them many times.

TEST(RngTest, Version2FillNormalIsRepeatedNormal) {
  Rng fill(17, RngStream::kTestSample, uint64_t{2}, 2);
  Rng scalar(17, RngStream::kTestSample, uint64_t{2}, 2);
  std::vector<double> row(1000);
  long tails = 0;
  for (int piece = 0; piece < 300; ++piece) {
    // Pieces of varying length, as rows of different d would be.
    const long n = 1 + (piece * 397) % 1000;
    fill.FillNormal(row.data(), n);
    for (long i = 0; i < n; ++i) {
      ASSERT_EQ(row[i], scalar.Normal()) << "piece " << piece << " index " << i;
      tails += std::abs(row[i]) > 3.6541528853610088;
    }
  }
  EXPECT_GT(tails, 10);                         // 150k draws, 2.6e-4 in the tail: about 39
  EXPECT_EQ(fill.NextU64(), scalar.NextU64());  // same state afterwards
}

TEST(RngTest, Version2SameSeedGivesSameBits) {
  Rng a(123, RngStream::kSgdSamples, 0, 2), b(123, RngStream::kSgdSamples, 0, 2);
  std::vector<double> x(100000), y(100000);
  a.FillNormal(x.data(), static_cast<long>(x.size()));
  b.FillNormal(y.data(), static_cast<long>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], y[i]);
}

TEST(RngTest, Version2MomentsMatchStandardNormal) {
  Rng rng(11, 2, 2);
  const long n = 4000000;
  std::vector<double> z(n);
  rng.FillNormal(z.data(), n);
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (double v : z) {
    const double v2 = v * v;
    s1 += v;
    s2 += v2;
    s3 += v2 * v;
    s4 += v2 * v2;
  }
  // Standard errors sqrt(Var / n), n = 4e6, from the normal's moments E z^2k = (2k-1)!!:
  // mean sqrt(1/n) = 5.0e-4; second moment sqrt((3 - 1)/n) = 7.1e-4; third moment
  // sqrt(15/n) = 1.9e-3; fourth moment sqrt((105 - 9)/n) = 4.9e-3. Tolerances are 5 sigma.
  EXPECT_NEAR(s1 / n, 0.0, 2.5e-3);
  EXPECT_NEAR(s2 / n, 1.0, 3.5e-3);
  EXPECT_NEAR(s3 / n, 0.0, 9.7e-3);
  EXPECT_NEAR(s4 / n, 3.0, 2.5e-2);
}

// Pearson chi-square of 1e7 draws against the exact normal CDF, on bins fine in the bulk and
// split around the ziggurat's tail start r = 3.654 and beyond, so a wrong tail or wedge
// (which moves a fraction 2.6e-4 or 1.5e-2 of the mass) stands out.
TEST(RngTest, Version2MatchesNormalCdfIncludingTails) {
  std::vector<double> edges = {-4.3, -3.9, -3.6541528853610088, -3.5, -3.25, -3.0};
  for (int i = -29; i <= 29; ++i) edges.push_back(0.1 * i);
  for (double e : {3.0, 3.25, 3.5, 3.6541528853610088, 3.9, 4.3}) edges.push_back(e);
  // Bins: (-inf, e0), [e0, e1), ..., [e_last, inf).
  // Upper tail Q(x) = P(Z > x) = erfc(x / sqrt 2) / 2, so tail bins keep their digits.
  auto upper = [](double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); };
  const long n = 10000000;
  const int bins = static_cast<int>(edges.size()) + 1;
  std::vector<long> counts(bins, 0);
  Rng rng(2024, RngStream::kTestSample, uint64_t{0}, 2);
  std::vector<double> chunk(100000);
  long beyond_35 = 0;
  for (long done = 0; done < n; done += static_cast<long>(chunk.size())) {
    rng.FillNormal(chunk.data(), static_cast<long>(chunk.size()));
    for (double z : chunk) {
      const int bin =
          static_cast<int>(std::upper_bound(edges.begin(), edges.end(), z) - edges.begin());
      ++counts[bin];
      beyond_35 += std::abs(z) > 3.5;
    }
  }
  double chi2 = 0;
  for (int b = 0; b < bins; ++b) {
    const double p = (b == 0 ? 1.0 : upper(edges[b - 1])) - (b == bins - 1 ? 0.0 : upper(edges[b]));
    const double expected = n * p;
    ASSERT_GT(expected, 50.0) << "bin " << b;  // chi-square needs populated bins
    chi2 += (counts[b] - expected) * (counts[b] - expected) / expected;
  }
  // Under H0, chi2 ~ chi-square with bins - 1 = 71 degrees of freedom (mean 71, sd 11.9).
  // Wilson-Hilferty's upper 1e-6 quantile (z = 4.753) is 71 (1 - 2/639 + 4.753 sqrt(2/639))^3
  // = 143 (exact: 142.6): a correct generator fails with probability 1e-6.
  const double df = bins - 1;
  const double critical =
      df * std::pow(1.0 - 2.0 / (9 * df) + 4.753 * std::sqrt(2.0 / (9 * df)), 3.0);
  EXPECT_LT(chi2, critical) << "df " << df;
  // The |z| > 3.5 mass on its own: P = erfc(3.5 / sqrt 2) = 4.653e-4, so 4653 of 1e7 with
  // standard deviation sqrt(4653) = 68; 5 sigma.
  EXPECT_NEAR(static_cast<double>(beyond_35), n * std::erfc(3.5 / std::sqrt(2.0)), 5 * 68.2);
}

// The tail beyond r = 3.654 has its own sampler (2.6e-4 of draws), whose shape the bins above
// barely resolve: Kolmogorov-Smirnov on |z| given |z| > 3.5 (about 46,500 of 1e8 draws), against
// F(t) = 1 - Q(t) / Q(3.5), Q(t) = erfc(t / sqrt 2) / 2. Dropping the tail's rejection step
// (r + Exp(r) instead of the normal tail) moves F by 0.02 near t = 3.95, well beyond the
// critical distance 2.69 / sqrt(46500) = 0.0125.
TEST(RngTest, Version2TailBeyondZigguratBaseMatchesNormal) {
  const double start = 3.5;
  auto upper = [](double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); };
  Rng rng(77, RngStream::kTestSample, uint64_t{1}, 2);
  const long chunk_size = 1 << 16, chunks = 1526;  // 1.0e8 draws
  std::vector<double> chunk(chunk_size);
  std::vector<double> tail;
  for (long c = 0; c < chunks; ++c) {
    rng.FillNormal(chunk.data(), chunk_size);
    for (double z : chunk) {
      if (std::abs(z) > start) tail.push_back(std::abs(z));
    }
  }
  const double drawn = static_cast<double>(chunk_size) * chunks;
  // Count: binomial with p = 2 Q(3.5) = 4.653e-4, sd sqrt(drawn p) = 216; 5 sigma.
  const double expected = drawn * 2 * upper(start);
  EXPECT_NEAR(static_cast<double>(tail.size()), expected, 5 * std::sqrt(expected));
  std::sort(tail.begin(), tail.end());
  const double m = static_cast<double>(tail.size());
  double ks = 0;
  for (size_t i = 0; i < tail.size(); ++i) {
    const double f = 1.0 - upper(tail[i]) / upper(start);
    ks = std::max({ks, (i + 1) / m - f, f - i / m});
  }
  // Kolmogorov: P(sqrt(m) D > x) ~ 2 exp(-2 x^2), 1e-6 at x = 2.693.
  EXPECT_LT(std::sqrt(m) * ks, 2.693) << "D = " << ks << " over " << m << " samples";
}

}  // namespace
}  // namespace sgdspectra
