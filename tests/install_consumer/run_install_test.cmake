# CTest `install_consumer` (label `install`): installs this build into a fresh prefix and uses it
# from a separate project, as a packager or a downstream user would.
#   1. cmake --install BUILD_DIR --component development --prefix WORK_DIR/prefix
#      (the library, headers and sgdspectraConfig*.cmake: the component must stand alone);
#   2. with RUNTIME_PROGRAMS (comma-separated): cmake --install --component runtime into the same
#      prefix, and each bin/PROGRAM --version must print PROJECT_VERSION;
#   3. tests/install_consumer configured with CMAKE_PREFIX_PATH=WORK_DIR/prefix
#      (find_package(sgdspectra)), built, and run: it checks numbers from the core's public API.
# Usage: cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_SOURCE_DIR=... [-DCONFIG=...]
#              [-DCXX_COMPILER=...] [-DGENERATOR=...] [-DRUNTIME_PROGRAMS=a,b]
#              [-DPROJECT_VERSION=...] -P run_install_test.cmake
cmake_minimum_required(VERSION 3.18)
foreach(var BUILD_DIR WORK_DIR CONSUMER_SOURCE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()

# Runs a command, shows its output, stops the test when it fails.
function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("---- ${what}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${rc})")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

run_step("install of component development"
         "${CMAKE_COMMAND}" --install "${BUILD_DIR}" ${config_args}
         --component development --prefix "${prefix}")

if(RUNTIME_PROGRAMS)
  run_step("install of component runtime"
           "${CMAKE_COMMAND}" --install "${BUILD_DIR}" ${config_args}
           --component runtime --prefix "${prefix}")
  string(REPLACE "," ";" programs "${RUNTIME_PROGRAMS}")
  foreach(program IN LISTS programs)
    if(NOT EXISTS "${prefix}/bin/${program}")
      message(FATAL_ERROR "install test: ${prefix}/bin/${program} was not installed")
    endif()
    run_step("${program} --version" "${prefix}/bin/${program}" --version)
    if(PROJECT_VERSION AND NOT step_output MATCHES "${PROJECT_VERSION}")
      message(FATAL_ERROR "install test: ${program} --version does not print ${PROJECT_VERSION}")
    endif()
  endforeach()
endif()

set(generator_args)
if(GENERATOR)
  set(generator_args -G "${GENERATOR}")
endif()
set(compiler_args)
if(CXX_COMPILER)
  set(compiler_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
run_step("configure the consumer"
         "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build"
         ${generator_args} ${compiler_args} -DCMAKE_BUILD_TYPE=Release
         "-DCMAKE_PREFIX_PATH=${prefix}" "-DSGDSPECTRA_EXPECTED_PREFIX=${prefix}")
run_step("build the consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --config Release)
set(consumer "${WORK_DIR}/build/install_consumer")
if(NOT EXISTS "${consumer}" AND EXISTS "${WORK_DIR}/build/Release/install_consumer")
  set(consumer "${WORK_DIR}/build/Release/install_consumer")  # multi-config generators
endif()
run_step("run the consumer" "${consumer}")
