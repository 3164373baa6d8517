// The k-class Gaussian mixture of docs/SCIENCE.md, Task A: class a with probability p_a,
// input Y = mu_a + Z / sqrt(lambda), Z ~ N(0, I_d).
//
// Means are rows of a k x d matrix. MakeMeans builds them from the seed as
// mu = L Q^T with Q a random orthonormal d x k frame and L the Cholesky factor of the
// requested Gram matrix (identity by default), so mu_a . mu_b = Gram_ab exactly up to rounding.
//
// Random stream version: a mixture remembers the version it was made with (means, sample sets)
// and draws its inputs with Rngs of that version, so an old job re-draws its old samples.
//
// Thread-safety: a GaussianMixture is immutable after construction; Draw takes the caller's Rng.
#ifndef SGDSPECTRA_CORE_GAUSSIAN_MIXTURE_H_
#define SGDSPECTRA_CORE_GAUSSIAN_MIXTURE_H_

#include <cstdint>
#include <vector>

#include "sgdspectra/core/random.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/core/thread_pool.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

// A fixed sample from a mixture, as analysed at snapshots.
struct SampleSet {
  RowMatrix inputs;           // M x d; row j is the input Y_j
  RowMatrix noise;            // M x d; row j is Y_j minus its cluster mean (null-model inputs)
  std::vector<int> labels;    // class label of each row (k-GMM: class; XOR: y in {0,1})
  std::vector<int> clusters;  // mixture component of each row (k-GMM: = label; XOR: 0..3)
  long size() const { return static_cast<long>(labels.size()); }
};

// Random orthonormal d x k frame (columns) from the seed's kMeans stream of the given version:
// Gaussian matrix (filled column by column), then Householder QR with signs fixed so R has a
// positive diagonal.
MatrixXd RandomOrthonormalFrame(long d, int k, uint64_t seed, int version);

class GaussianMixture {
 public:
  GaussianMixture() = default;  // empty; assign from MakeKgmm before use
  // centers: c x d, one cluster mean per row; cluster_probs: c entries summing to 1;
  // cluster_labels: the class label of each cluster; snr = lambda > 0; version: the random
  // stream version of the inputs drawn from it.
  GaussianMixture(RowMatrix centers, std::vector<double> cluster_probs,
                  std::vector<int> cluster_labels, double snr, int version);

  // k-GMM: classes = clusters, label = cluster index. gram: k*k row-major SPD, or empty for
  // the identity. Fails with InvalidArgument if gram is not symmetric positive definite.
  // version: the random stream version of the means and of every later draw.
  static Status MakeKgmm(long d, int k, const std::vector<double>& gram,
                         const std::vector<double>& class_probs, double snr, uint64_t seed,
                         int version, GaussianMixture* out);

  // XOR-type mixture (Task B): clusters +mu, -mu (label 1), +nu, -nu (label 0), probability
  // 1/4 each; mu, nu the columns of a random orthonormal d x 2 frame from the seed.
  static GaussianMixture MakeXor(long d, double snr, uint64_t seed, int version);

  long dim() const { return centers_.cols(); }
  int num_clusters() const { return static_cast<int>(centers_.rows()); }
  double snr() const { return snr_; }
  int version() const { return version_; }
  const RowMatrix& centers() const { return centers_; }
  const std::vector<int>& cluster_labels() const { return cluster_labels_; }

  // Draws one input into y[0..d) and returns its cluster: one Uniform() for the cluster, then
  // the whole row's noise with one rng.FillNormal(y, d). rng must have the mixture's version.
  int Draw(Rng& rng, double* y) const;

  // Draws m samples. Rows come in fixed blocks of kRowsPerSampleBlock, each from its own
  // stream Rng(seed, stream, block, version()), so the result does not depend on the pool's
  // thread count. A cancel hook that returns true stops the draw between blocks (the sample
  // is then incomplete: check the hook after the call).
  SampleSet DrawSampleSet(long m, uint64_t seed, RngStream stream, ThreadPool* pool,
                          const CancelFn& cancel = nullptr) const;

  // Part of the reproducibility contract: changing it changes every sample set.
  static constexpr long kRowsPerSampleBlock = 256;
  // Block `block` of DrawSampleSet(m, seed, stream, ...), bit for bit: rows
  // [block * kRowsPerSampleBlock, min(m, (block + 1) * kRowsPerSampleBlock)), inputs into
  // *inputs (resized to rows x d) and labels into *labels. Lets a caller produce a large
  // sample a block at a time, holding one block.
  void DrawSampleBlock(long m, uint64_t seed, RngStream stream, long block, RowMatrix* inputs,
                       std::vector<int>* labels) const;

 private:
  RowMatrix centers_;
  std::vector<double> cumulative_probs_;
  std::vector<int> cluster_labels_;
  double snr_ = 1.0;
  double noise_scale_ = 1.0;  // 1 / sqrt(snr)

  // Draws `count` rows of one block from rng: inputs row-major into inputs[0..count*d), each
  // row's cluster into clusters[0..count).
  void DrawRows(Rng& rng, long count, double* inputs, int* clusters) const;
  int version_ = kLatestRandomStreamVersion;
};

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_GAUSSIAN_MIXTURE_H_
