# Tests of sgdspectra.plot (the figures and reports, clients/python/sgdspectra/plot) and of
# docs/REPRODUCTION.md's pipeline, which uses them. Included by clients/CMakeLists.txt inside its
# Python block: SGDSPECTRA_CLIENTS_PYTHON is the interpreter, _python_dir clients/python and
# _python_env the environment with SGDSPECTRA_STUBS_DIR (the stubs made by the target
# sgdspectra-python-stubs). Each test starts its own sgdspectra-server (loopback, port 0,
# temporary data dir) and makes its jobs and sweeps with the CLI.
if(NOT (TARGET sgdspectra-server AND TARGET sgdspectra))
  message(STATUS "clients: no sgdspectra-server or sgdspectra target, plot tests skipped")
  return()
endif()

set(_plot_binaries --server-binary $<TARGET_FILE:sgdspectra-server>
                   --cli-binary $<TARGET_FILE:sgdspectra>)

# Figure content on real events: t axes, one line per series with the frame's numbers, legends,
# styles, every theory overlay against its formula, sweep statistics, the command line and its
# SVG / PNG / PDF files (about 30 s on a 2-core machine).
add_test(NAME python_plot_figures
         COMMAND "${SGDSPECTRA_CLIENTS_PYTHON}" "${_python_dir}/tests/test_plot.py"
                 ${_plot_binaries})
set_tests_properties(python_plot_figures PROPERTIES
                     LABELS clients TIMEOUT 300 ENVIRONMENT "${_python_env}")

# report.html of a job and of a sweep rendered by headless Chromium and checked with Pillow and
# the DOM (label `render`; needs chromium and python3-pil; about 25 s).
add_test(NAME python_plot_render
         COMMAND "${SGDSPECTRA_CLIENTS_PYTHON}" "${_python_dir}/tests/test_plot_render.py"
                 ${_plot_binaries})
set_tests_properties(python_plot_render PROPERTIES
                     LABELS render TIMEOUT 300 ENVIRONMENT "${_python_env}")

# docs/REPRODUCTION.md's commands at toy scale: sweeps of the shipped paper specs, measure.py's
# tables checked against the sweeps' CSVs, and the figures (about 15 s).
add_test(NAME reproduction_pipeline
         COMMAND bash "${PROJECT_SOURCE_DIR}/docs/reproduction/pipeline_test.sh"
                 "$<TARGET_FILE:sgdspectra>" "$<TARGET_FILE:sgdspectra-server>"
                 "${SGDSPECTRA_CLIENTS_PYTHON}")
set_tests_properties(reproduction_pipeline PROPERTIES TIMEOUT 300 ENVIRONMENT "${_python_env}")
