// libFuzzer entry point: bytes as a serialized SubmitJobRequest (spec_fuzz_target.h).
#include <cstddef>
#include <cstdint>

#include "spec_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sgdspectra::fuzz::FuzzSubmitJobRequest(data, size);
}
