// libFuzzer entry point: bytes as proto3 JSON of a JobSpec (spec_fuzz_target.h).
#include <cstddef>
#include <cstdint>

#include "spec_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sgdspectra::fuzz::FuzzJobSpecJson(data, size);
}
