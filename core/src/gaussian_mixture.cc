#include "sgdspectra/core/gaussian_mixture.h"

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <cassert>
#include <cmath>

namespace sgdspectra {
namespace {

// Test-sample rows are drawn in blocks of this many, each block from its own stream.
constexpr long kRowsPerStreamBlock = GaussianMixture::kRowsPerSampleBlock;

}  // namespace

MatrixXd RandomOrthonormalFrame(long d, int k, uint64_t seed, int version) {
  Rng rng(seed, RngStream::kMeans, 0, version);
  MatrixXd g(d, k);  // column-major: column j is normals j*d .. j*d + d - 1 of the stream
  rng.FillNormal(g.data(), d * k);
  Eigen::HouseholderQR<MatrixXd> qr(g);
  MatrixXd q = qr.householderQ() * MatrixXd::Identity(d, k);
  const MatrixXd& r = qr.matrixQR();
  for (int j = 0; j < k; ++j) {
    if (r(j, j) < 0) q.col(j) = -q.col(j);
  }
  return q;
}

GaussianMixture::GaussianMixture(RowMatrix centers, std::vector<double> cluster_probs,
                                 std::vector<int> cluster_labels, double snr, int version)
    : centers_(std::move(centers)),
      cluster_labels_(std::move(cluster_labels)),
      snr_(snr),
      noise_scale_(1.0 / std::sqrt(snr)),
      version_(version) {
  double total = 0;
  for (double p : cluster_probs) {
    total += p;
    cumulative_probs_.push_back(total);
  }
  for (double& c : cumulative_probs_) c /= total;
  cumulative_probs_.back() = 1.0;
}

Status GaussianMixture::MakeKgmm(long d, int k, const std::vector<double>& gram,
                                 const std::vector<double>& class_probs, double snr, uint64_t seed,
                                 int version, GaussianMixture* out) {
  MatrixXd frame = RandomOrthonormalFrame(d, k, seed, version);  // d x k
  RowMatrix centers = frame.transpose();                         // orthonormal rows
  if (!gram.empty()) {
    if (static_cast<long>(gram.size()) != static_cast<long>(k) * k) {
      return Status::InvalidArgument("kgmm.mean_gram: must have k*k entries");
    }
    MatrixXd g = Eigen::Map<const RowMatrix>(gram.data(), k, k);
    Eigen::LLT<MatrixXd> llt(g);
    if (llt.info() != Eigen::Success) {
      return Status::InvalidArgument("kgmm.mean_gram: must be symmetric positive definite");
    }
    // mu = L Q^T: rows of L are coordinates in the orthonormal frame, so mu mu^T = L L^T = G.
    MatrixXd l = llt.matrixL();
    centers = l * frame.transpose();
  }
  std::vector<double> probs = class_probs;
  if (probs.empty()) probs.assign(k, 1.0 / k);
  std::vector<int> labels(k);
  for (int a = 0; a < k; ++a) labels[a] = a;
  *out = GaussianMixture(std::move(centers), std::move(probs), std::move(labels), snr, version);
  return Status::Ok();
}

GaussianMixture GaussianMixture::MakeXor(long d, double snr, uint64_t seed, int version) {
  const MatrixXd frame = RandomOrthonormalFrame(d, 2, seed, version);
  RowMatrix centers(4, d);
  centers.row(0) = frame.col(0).transpose();
  centers.row(1) = -frame.col(0).transpose();
  centers.row(2) = frame.col(1).transpose();
  centers.row(3) = -frame.col(1).transpose();
  return GaussianMixture(std::move(centers), {0.25, 0.25, 0.25, 0.25}, {1, 1, 0, 0}, snr, version);
}

int GaussianMixture::Draw(Rng& rng, double* y) const {
  assert(rng.version() == version_);
  const double u = rng.Uniform();
  int cluster = 0;
  while (cluster + 1 < num_clusters() && u >= cumulative_probs_[cluster]) ++cluster;
  const long d = dim();
  const double* mean = centers_.row(cluster).data();
  // One FillNormal for the row (version 1: the same normals, in the same order, as d scalar
  // calls), then the same y = mean + scale * z as before, so version 1 rows are unchanged.
  rng.FillNormal(y, d);
  for (long i = 0; i < d; ++i) y[i] = mean[i] + noise_scale_ * y[i];
  return cluster;
}

void GaussianMixture::DrawRows(Rng& rng, long count, double* inputs, int* clusters) const {
  const long d = dim();
  for (long j = 0; j < count; ++j) clusters[j] = Draw(rng, inputs + j * d);
}

void GaussianMixture::DrawSampleBlock(long m, uint64_t seed, RngStream stream, long block,
                                      RowMatrix* inputs, std::vector<int>* labels) const {
  const long begin = std::min(m, block * kRowsPerStreamBlock);
  const long rows = std::min(m, begin + kRowsPerStreamBlock) - begin;
  inputs->resize(rows, dim());
  labels->resize(rows);
  Rng rng(seed, stream, static_cast<uint64_t>(block), version_);
  DrawRows(rng, rows, inputs->data(), labels->data());
  for (int& label : *labels) label = cluster_labels_[label];  // clusters -> labels
}

SampleSet GaussianMixture::DrawSampleSet(long m, uint64_t seed, RngStream stream, ThreadPool* pool,
                                         const CancelFn& cancel) const {
  const long d = dim();
  SampleSet set;
  set.inputs.resize(m, d);
  set.noise.resize(m, d);
  set.labels.resize(m);
  set.clusters.resize(m);
  const long num_blocks = (m + kRowsPerStreamBlock - 1) / kRowsPerStreamBlock;
  auto draw_block = [&](long block) {
    if (cancel && cancel()) return;
    Rng rng(seed, stream, static_cast<uint64_t>(block), version_);
    const long begin = block * kRowsPerStreamBlock;
    const long end = std::min(m, begin + kRowsPerStreamBlock);
    DrawRows(rng, end - begin, set.inputs.row(begin).data(), set.clusters.data() + begin);
    for (long j = begin; j < end; ++j) {
      const int cluster = set.clusters[j];
      set.labels[j] = cluster_labels_[cluster];
      set.noise.row(j) = set.inputs.row(j) - centers_.row(cluster);
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(num_blocks, draw_block);
  } else {
    for (long b = 0; b < num_blocks; ++b) draw_block(b);
  }
  return set;
}

}  // namespace sgdspectra
