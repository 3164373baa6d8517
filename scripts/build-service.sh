#!/usr/bin/env bash
# Installs the Debian packages (idempotent) and builds sgdspectra-server and the sgdspectra CLI
# in $SGDSPECTRA_BUILD_DIR (default build/). The set-up step of quickstart.sh and notebook.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
build_dir="${SGDSPECTRA_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j2 --target sgdspectra-server sgdspectra
