# SGDSPECTRA_PYTHON: the Python interpreter of the tests that run Python (the client tests, the
# plot render test, the deployment checks). It must import grpc (and, for those tests, numpy,
# matplotlib, PIL and yaml: Debian's python3-* packages, scripts/install-deps.sh). A python3 that
# comes first on PATH (pyenv, a virtualenv) often does not see Debian's packages, so the first
# interpreter named python3 or python, in CMake's program search order (PATH, then the system
# prefixes' bin directories), that can `import grpc` is chosen. Override with
# -DSGDSPECTRA_PYTHON=/path/to/python; NOTFOUND skips those tests with a message.
function(_sgdspectra_python_imports_grpc result candidate)
  execute_process(COMMAND "${candidate}" -c "import grpc"
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET TIMEOUT 60)
  if(NOT rc EQUAL 0)
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()

if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.25)
  find_program(SGDSPECTRA_PYTHON NAMES python3 python
               VALIDATOR _sgdspectra_python_imports_grpc
               DOC "Python that can import grpc (Python client, render and deploy tests)")
else()
  # No VALIDATOR before CMake 3.25: try each python3 on PATH and in the system prefixes in turn.
  if(NOT SGDSPECTRA_PYTHON)  # unset or NOTFOUND: search (again), as find_program would
    set(_candidates)
    file(TO_CMAKE_PATH "$ENV{PATH}" _path)
    foreach(_dir IN LISTS CMAKE_PROGRAM_PATH _path)
      list(APPEND _candidates "${_dir}/python3")
    endforeach()
    foreach(_prefix IN LISTS CMAKE_PREFIX_PATH CMAKE_SYSTEM_PREFIX_PATH)
      list(APPEND _candidates "${_prefix}/bin/python3")
    endforeach()
    set(_found "SGDSPECTRA_PYTHON-NOTFOUND")
    foreach(_candidate IN LISTS _candidates)
      if(EXISTS "${_candidate}" AND NOT IS_DIRECTORY "${_candidate}")
        set(_ok TRUE)
        _sgdspectra_python_imports_grpc(_ok "${_candidate}")
        if(_ok)
          set(_found "${_candidate}")
          break()
        endif()
      endif()
    endforeach()
    set(SGDSPECTRA_PYTHON "${_found}" CACHE FILEPATH
        "Python that can import grpc (Python client, render and deploy tests)" FORCE)
  endif()
endif()

if(SGDSPECTRA_PYTHON)
  message(STATUS "Python for the tests (imports grpc): ${SGDSPECTRA_PYTHON}")
else()
  message(STATUS "No Python interpreter that imports grpc (Debian: python3-grpcio): "
                 "the Python client, render and deploy tests are skipped")
endif()
