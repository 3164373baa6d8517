#!/usr/bin/env bash
# Generates the Python stubs of proto/sgdspectra/v1/jobs.proto into OUTDIR/sgdspectra/v1/, for
# running the package from a checkout without installing it:
#
#   clients/python/generate_stubs.sh /tmp/sgdspectra-stubs
#   SGDSPECTRA_STUBS_DIR=/tmp/sgdspectra-stubs PYTHONPATH=clients/python /usr/bin/python3 ...
#
# (An installed package carries its own stubs; the CMake target sgdspectra-python-stubs does the
# same as this script into the build tree.)
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
exec "${PYTHON:-/usr/bin/python3}" "$here/stubgen.py" "$@"
