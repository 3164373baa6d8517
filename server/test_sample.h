// The test sample of a job, rebuilt from its spec: the same mixture and the same M_test x d
// inputs the run analysed (both are deterministic functions of the spec and seed), so a
// client can recompute the spectra independently without the server storing the sample.
//
// Pure functions of their arguments; thread-safe. This is numerical work: call it from the
// server's own threads, never from a gRPC callback.
#ifndef SGDSPECTRA_SERVER_TEST_SAMPLE_H_
#define SGDSPECTRA_SERVER_TEST_SAMPLE_H_

#include <cstdint>

#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/status.h"

namespace sgdspectra::server {

// spec must be valid (it came from a recorded job).
Status RegenerateTestSample(const ExperimentSpec& spec, SampleSet* sample);

// Bytes the sample takes in a message: 8 per input value, up to 5 per label, plus framing.
int64_t TestSampleWireBytes(const ExperimentSpec& spec);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_TEST_SAMPLE_H_
