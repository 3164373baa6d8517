#!/usr/bin/env bash
# Runs the Node client's tests against a live server: installs the locked dependencies with
# `npm ci` when node_modules is missing or older than package-lock.json, then `node --test`.
#
# Usage: clients/node/run_tests.sh SERVER_BINARY
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -ne 1 ]]; then
  echo "usage: $0 SERVER_BINARY" >&2
  exit 2
fi
server_binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
cd "$here"
# npm writes node_modules/.package-lock.json on every install: it is the marker of a complete one.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "run_tests: npm ci"
  npm ci --no-audit --no-fund
fi
SGDSPECTRA_SERVER_BINARY="$server_binary" exec node --test test/
