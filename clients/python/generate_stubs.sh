#!/usr/bin/env bash
# Generates the Python stubs of proto/sgdspectra/v1/jobs.proto into OUTDIR/sgdspectra/v1/.
# Use them with: SGDSPECTRA_STUBS_DIR=OUTDIR. (Without it, the package generates them itself into
# the git-ignored clients/python/_generated on first import.)
#
# Usage: clients/python/generate_stubs.sh OUTDIR [--proto-dir DIR]
# Needs protoc + grpc_python_plugin (Debian: protobuf-compiler, protobuf-compiler-grpc), or
# grpc_tools in the interpreter; $PYTHON picks the interpreter (default /usr/bin/python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUTDIR [--proto-dir DIR]" >&2
  exit 2
fi
exec "${PYTHON:-/usr/bin/python3}" "$here/sgdspectra/_stubs.py" "$@"
