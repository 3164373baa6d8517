#!/usr/bin/env bash
# From a fresh clone to the example notebook with its figures: installs the Debian packages
# (idempotent), builds the server and the CLI, installs the Python package into a venv that sees
# Debian's grpcio/numpy/pandas/matplotlib (build/venv), executes
# examples/notebooks/quickstart.ipynb against a server it starts, and writes the executed
# notebook and an HTML copy (figures inline) to build/notebooks/.
#
# Usage: scripts/notebook.sh            then open build/notebooks/quickstart.html in a browser
#        (or build/notebooks/quickstart.ipynb in Jupyter).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/build-service.sh
build_dir="${SGDSPECTRA_BUILD_DIR:-build}"

venv="$build_dir/venv"
[[ -x "$venv/bin/python" ]] || /usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q --no-build-isolation --no-deps --no-index ./clients/python
venv_python="$(cd "$venv" && pwd)/bin/python"

out="$build_dir/notebooks"
mkdir -p "$out"
# The kernel runs the venv's interpreter, which has the installed package.
"$venv_python" examples/notebooks/run_notebook.py \
  examples/notebooks/quickstart.ipynb --server-binary "$build_dir/server/sgdspectra-server" \
  --cli-binary "$build_dir/client/sgdspectra" --out "$out/quickstart.ipynb" --kernel-python \
  "$venv_python"
"$venv/bin/python" -m nbconvert --to html --log-level WARN "$out/quickstart.ipynb" \
  --output-dir "$out"
echo "executed notebook: $out/quickstart.ipynb; with its figures as a web page: $out/quickstart.html"
