#include "server/test_sample.h"

#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra::server {

Status RegenerateTestSample(const ExperimentSpec& spec, SampleSet* sample) {
  GaussianMixture mixture;
  Status status = BuildMixture(spec, &mixture);
  if (!status.ok()) return status;
  // One thread: the sample does not depend on the thread count, and this runs on a request
  // thread, which should not take all cores from the jobs.
  ThreadPool pool(1);
  *sample = DrawTestSample(spec, mixture, &pool);
  return Status::Ok();
}

int64_t TestSampleWireBytes(const ExperimentSpec& spec) {
  const int64_t rows = spec.TestSampleSize();
  constexpr int64_t kFraming = 64;
  return rows * spec.Dim() * 8 + rows * 5 + kFraming;
}

}  // namespace sgdspectra::server
