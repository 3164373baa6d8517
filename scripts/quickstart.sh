#!/usr/bin/env bash
# Sets up, builds and runs the main job: installs the Debian packages (idempotent), builds the
# server and the CLI, starts `sgdspectra-server` on a free loopback port with its data in a
# temporary folder, runs the default K1 job (examples/kgmm_k1.json) through `sgdspectra run`,
# shows the live stream and the final classifier rank, then stops the server.
#
# Usage: scripts/quickstart.sh [extra `sgdspectra run` flags, e.g. --output jsonl --lambda 100]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/build-service.sh
build_dir="${SGDSPECTRA_BUILD_DIR:-build}"

work="$(mktemp -d /tmp/sgdspectra-quickstart.XXXXXX)"
"$build_dir/server/sgdspectra-server" --listen 127.0.0.1:0 --port-file "$work/port" \
  --data-dir "$work/data" --threads "$(nproc)" 2>"$work/server.log" &
server_pid=$!
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  echo "server stopped; its data and log are in $work"
}
trap stop_server EXIT
for _ in $(seq 1 100); do
  [[ -s "$work/port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
address="127.0.0.1:$(cat "$work/port")"
echo "sgdspectra-server listening on $address (data in $work/data)"
"$build_dir/client/sgdspectra" --server "$address" run --spec examples/kgmm_k1.json "$@"
