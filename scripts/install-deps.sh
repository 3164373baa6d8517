#!/usr/bin/env bash
# Installs the Debian (bookworm) packages sgdspectra needs to build, test and run.
# Idempotent: packages already installed are skipped, and apt is not touched at all
# when nothing is missing. Runs as root, or through sudo otherwise.
#
# Usage: scripts/install-deps.sh [--with-containers]
#   --with-containers  also install podman, buildah and debootstrap (docker/test-image.sh)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libeigen3-dev libspectra-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev libcli11-dev nlohmann-json3-dev prometheus-cpp-dev
  python3-grpcio python3-protobuf python3-numpy python3-scipy python3-matplotlib
  python3-pandas python3-pip python3-venv python3-setuptools python3-wheel
  chromium python3-pil python3-yaml
  python3-nbclient python3-nbconvert python3-nbformat python3-ipykernel
  clang-format
  libssl-dev openssl  # token digests, TLS file checks (libcrypto); test certificates
  clang libclang-rt-14-dev  # libFuzzer + ASan/UBSan runtimes (tests/fuzz, scripts/sanitize.sh)
)
if [[ "${1:-}" == "--with-containers" ]]; then
  packages+=(podman buildah debootstrap)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
