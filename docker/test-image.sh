#!/usr/bin/env bash
# docker/test-image.sh: build the sgdspectra image with podman and check it end to end.
#
#   docker/test-image.sh [HOST_CLI]        (run as root; HOST_CLI default: build/client/sgdspectra)
#
# 1. Base image: localhost/debian:bookworm from Debian's archive with debootstrap (no registry is
#    reachable here); skipped when that image already exists.
# 2. podman build of docker/Dockerfile (layer cache on: an unchanged source rebuilds nothing).
# 3. Checks the image config (non-root USER, EXPOSE 50051, VOLUME, HEALTHCHECK, STOPSIGNAL).
# 4. buildah from the image; starts the server inside (buildah run --isolation chroot
#    --network host, so it listens on the host loopback) with its data dir on a host directory;
#    runs a small k-GMM job from the HOST CLI and expects exit 0 and a SUCCEEDED finished event;
#    runs `sgdspectra health` inside the container; checks the process runs as the image's
#    non-root user and that the store was written; sends SIGTERM and expects the server to
#    drain and exit 0.
# 5. Removes the container and temporary files (the images stay, as cache).
#
# Environment:
#   SGDSPECTRA_CLI                 host CLI (when no argument is given)
#   SGDSPECTRA_IMAGE               image tag to build (default localhost/sgdspectra:test)
#   SGDSPECTRA_TEST_IMAGE_NO_CACHE=1    podman build --no-cache (base image still reused)
#   SGDSPECTRA_TEST_IMAGE_FRESH_BASE=1  debootstrap the base again even if it exists
# Exit status: 0 when every check passed, non-zero (with a "test-image: FAIL:" line) otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cli=${1:-${SGDSPECTRA_CLI:-$root/build/client/sgdspectra}}
image=${SGDSPECTRA_IMAGE:-localhost/sgdspectra:test}
base_image=localhost/debian:bookworm
container=sgdspectra-test-image
data_in_image=/var/lib/sgdspectra
SECONDS=0

log() { printf 'test-image: [%3ds] %s\n' "$SECONDS" "$*"; }
fail() { printf 'test-image: FAIL: %s\n' "$*" >&2; exit 1; }

# ---- preconditions --------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || fail "must run as root (debootstrap, podman and buildah need it here)"
[[ "$cli" == /* ]] || cli="$PWD/$cli"
[[ -x "$cli" ]] || fail "host CLI '$cli' not found; build it (cmake --build build --target sgdspectra) or pass its path"
if ! command -v podman >/dev/null || ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  log "podman/buildah/debootstrap missing: running scripts/install-deps.sh --with-containers"
  bash "$root/scripts/install-deps.sh" --with-containers || fail "install-deps.sh --with-containers failed"
fi

# One run at a time on this machine (fixed container name, shared image tags).
lock_dir=/run/lock; [[ -d $lock_dir && -w $lock_dir ]] || lock_dir=/tmp
exec 9>"$lock_dir/sgdspectra-test-image.lock"
flock 9

workdir=$(mktemp -d /var/tmp/sgdspectra-test-image.XXXXXX)
rootfs=""
bpid=""      # the `buildah run` process of the server
spid=""      # the server process itself (host pid)
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$spid" ]] && kill -0 "$spid" 2>/dev/null; then
    kill -TERM "$spid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$spid" 2>/dev/null
  fi
  if [[ -n "$bpid" ]]; then
    kill -0 "$bpid" 2>/dev/null && kill -TERM "$bpid" 2>/dev/null
    wait "$bpid" 2>/dev/null
  fi
  if [[ $rc -ne 0 && -s "$workdir/server.log" ]]; then
    echo "test-image: server log (tail):" >&2
    tail -n 20 "$workdir/server.log" | sed 's/^/  | /' >&2
  fi
  buildah rm "$container" >/dev/null 2>&1
  [[ -n "$rootfs" ]] && rm -rf "$rootfs"
  rm -rf "$workdir"
  if [[ $rc -eq 0 ]]; then log "PASS"; else echo "test-image: failed after ${SECONDS}s" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. base image --------------------------------------------------------------------------
if [[ "${SGDSPECTRA_TEST_IMAGE_FRESH_BASE:-0}" != 1 ]] && podman image exists "$base_image"; then
  log "base image $base_image cached"
else
  mirror=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z "$mirror" && -r /etc/apt/sources.list ]]; then
    mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  [[ -n "$mirror" ]] || fail "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  log "debootstrap --variant=minbase bookworm from $mirror"
  rootfs=$(mktemp -d /var/tmp/sgdspectra-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$workdir/debootstrap.log" 2>&1 \
    || { tail -n 20 "$workdir/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import - "$base_image" >/dev/null || fail "podman import of the base failed"
  rm -rf "$rootfs"; rootfs=""
  log "base image $base_image imported"
fi

# ---- 2. image -------------------------------------------------------------------------------
# --format=docker: the OCI format has no HEALTHCHECK. --jobs=2: the runtime stage's apt step
# runs while the build stage compiles.
common_args=(--isolation=chroot --network=host --format=docker --layers
             --build-arg "BASE=$base_image" -f "$here/Dockerfile")
build_args=("${common_args[@]}" --jobs=2 -t "$image")
[[ "${SGDSPECTRA_TEST_IMAGE_NO_CACHE:-0}" == 1 ]] && build_args+=(--no-cache)
log "podman build ${build_args[*]} $root"
# Step lines get the elapsed time, to see where a slow build spends it.
stamp_steps() {
  local line
  while IFS= read -r line; do
    case "$line" in
      *"] STEP "*|*"] COMMIT"*) printf '[%3ds] %s\n' "$SECONDS" "$line" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
}
podman build "${build_args[@]}" "$root" 2>&1 | stamp_steps || fail "podman build failed"
# Tag the build stage too (all cache hits, a few seconds) so that pruning the leftovers of earlier
# builds (untagged images nothing depends on) keeps what the next build can reuse.
podman build "${common_args[@]}" --target=build -t "$image-build" "$root" >/dev/null 2>&1 || true
podman image prune -f >/dev/null 2>&1 || true
log "image built: $(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12), $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

# ---- 3. image config ------------------------------------------------------------------------
inspect() { podman image inspect --format "$1" "$image"; }
user=$(inspect '{{.Config.User}}')
uid=${user%%:*}
[[ -n "$uid" && "$uid" != 0 && "$uid" != root ]] || fail "image USER is '$user', expected a non-root user"
inspect '{{json .Config.ExposedPorts}}' | grep -q '"50051/tcp"' || fail "image does not EXPOSE 50051"
inspect '{{json .Config.Volumes}}' | grep -q "\"$data_in_image\"" || fail "image has no VOLUME $data_in_image"
inspect '{{json .Config.Healthcheck}}' | grep -q 'health' \
  || fail "image has no HEALTHCHECK (podman must build with --format docker)"
[[ "$(inspect '{{.Config.StopSignal}}')" == SIGTERM ]] || fail "image STOPSIGNAL is not SIGTERM"
log "image config: USER $user, EXPOSE 50051, VOLUME $data_in_image, HEALTHCHECK, STOPSIGNAL SIGTERM"

# ---- 4. run it ------------------------------------------------------------------------------
buildah rm "$container" >/dev/null 2>&1 || true
buildah from --name "$container" "$image" >/dev/null || fail "buildah from $image failed"
in_container() { buildah run --isolation chroot --network host "$container" -- "$@"; }

ctr_uid=$(in_container id -u) || fail "buildah run id -u failed"
[[ "$ctr_uid" == "$uid" && "$ctr_uid" != 0 ]] || fail "container runs as uid '$ctr_uid', expected $uid (non-root)"
if in_container sh -c 'command -v g++ || command -v cmake' >/dev/null 2>&1; then
  fail "runtime image contains a compiler or cmake (the runtime stage should hold libraries only)"
fi
log "container runs as uid $ctr_uid; no toolchain in the runtime image"

mkdir -p "$workdir/data"
chown "$user" "$workdir/data"
buildah run --isolation chroot --network host -v "$workdir/data:$data_in_image" "$container" -- \
  sgdspectra-server --listen=127.0.0.1:0 --port-file="$data_in_image/port" \
  --data-dir="$data_in_image" --shutdown-timeout-ms=5000 > "$workdir/server.log" 2>&1 &
bpid=$!

for _ in $(seq 150); do
  [[ -s "$workdir/data/port" ]] && break
  kill -0 "$bpid" 2>/dev/null || fail "server exited before serving"
  sleep 0.2
done
[[ -s "$workdir/data/port" ]] || fail "server did not write its port file within 30 s"
port=$(cat "$workdir/data/port")
[[ "$port" =~ ^[0-9]+$ ]] || fail "bad port file content '$port'"

# The server's host pid: the sgdspectra-server descendant of the buildah run process.
find_server() {
  local p c
  for c in $(pgrep -P "$1" || true); do
    if [[ "$(cat "/proc/$c/comm" 2>/dev/null)" == sgdspectra-serv* ]]; then echo "$c"; return 0; fi
    p=$(find_server "$c") && { echo "$p"; return 0; }
  done
  return 1
}
spid=$(find_server "$bpid") || fail "could not find the server process under buildah run (pid $bpid)"
[[ "$(stat -c %u "/proc/$spid")" == "$uid" ]] || fail "server process $spid does not run as uid $uid"
log "server in container: 127.0.0.1:$port, host pid $spid, uid $uid"

"$cli" --server "127.0.0.1:$port" health || fail "host CLI health check failed (exit $?)"
in_container sgdspectra --server "127.0.0.1:$port" health \
  || fail "health check from inside the container failed (exit $?)"
log "health: SERVING (host CLI and the image's CLI)"

set +e
"$cli" --server "127.0.0.1:$port" run --name test-image --seed 7 --task kgmm --d 60 --k 3 \
  --lambda 50 --t-end 2 --every-steps 60 -o jsonl > "$workdir/run.jsonl"
run_rc=$?
set -e
[[ $run_rc -eq 0 ]] || { tail -n 3 "$workdir/run.jsonl" >&2; fail "host CLI run exited $run_rc, expected 0"; }
tail -n 1 "$workdir/run.jsonl" | grep -Eq '"finished": *\{ *"state": *"SUCCEEDED"' \
  || { tail -n 1 "$workdir/run.jsonl" >&2; fail "last event is not a SUCCEEDED finished event"; }
log "job: $(wc -l < "$workdir/run.jsonl") events, finished SUCCEEDED"

ls "$workdir/data" | grep -q . || fail "server wrote nothing to its data dir"
[[ -z "$(find "$workdir/data" ! -uid "$uid" -print -quit)" ]] \
  || fail "files in the data dir not owned by uid $uid"

kill -TERM "$spid"
for _ in $(seq 100); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$bpid" 2>/dev/null && fail "server still running 20 s after SIGTERM"
set +e; wait "$bpid"; server_rc=$?; set -e
bpid=""; spid=""
[[ $server_rc -eq 0 ]] || fail "server exited $server_rc after SIGTERM, expected 0"
grep -q 'draining' "$workdir/server.log" || fail "server log has no drain message after SIGTERM"
log "SIGTERM: server drained and exited 0"
