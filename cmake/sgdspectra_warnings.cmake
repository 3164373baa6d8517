# sgdspectra_target_warnings(TARGET [GENERATED])
#
# The project's warning flags, set on one target (PRIVATE: they never reach consumers of an
# installed sgdspectra::core, nor code from other projects built in the same tree). Every
# target of ours calls it after add_library / add_executable; GENERATED marks code written by
# protoc, which we do not edit and which gets the compiler's defaults only (its headers are still
# compiled with our flags wherever our own sources include them).
function(sgdspectra_target_warnings target)
  cmake_parse_arguments(ARG "GENERATED" "" "" ${ARGN})
  if(ARG_GENERATED)
    return()
  endif()
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  # GCC 12 reports a false "maybe-uninitialized" inside its own avx512fintrin.h when Eigen is
  # compiled for AVX-512 (-DSGDSPECTRA_NATIVE_ARCH=ON on such a CPU); the noise would hide real
  # warnings.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
