# SGDSPECTRA_FUZZ: build the libFuzzer targets of tests/fuzz (clang only). Instruments every
# target of the tree for libFuzzer's coverage and with ASan + UBSan (UB aborts), so that what
# the fuzzer reaches in core and server code is checked too. Meant for a build dir of its own
# that builds only spec_fuzz_json and spec_fuzz_request (scripts/test.sh does).
option(SGDSPECTRA_FUZZ "Build the libFuzzer targets (clang; instruments the whole tree)" OFF)
if(SGDSPECTRA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SGDSPECTRA_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # -O1 after the build type's -O3: the usual fuzzing trade (fast enough to run, much faster
  # to compile under the sanitizers).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g -O1)
  add_link_options(-fsanitize=address,undefined)
endif()
