#!/usr/bin/env bash
# Checks that every tracked C++ source (git ls-files '*.cc' '*.h') is formatted as .clang-format
# says (Google style, 100 columns), without changing anything: clang-format --dry-run -Werror.
# CTest runs it as `format_check` (label `format`).
#
# Usage: scripts/check-format.sh            (from anywhere inside a git clone)
# Env:   CLANG_FORMAT=/path/to/clang-format (default: clang-format on PATH; Debian's package
#        clang-format, version 14, which scripts/install-deps.sh installs)
#        FORMAT_CHECK_DIAGNOSTICS=40        lines of clang-format's diagnostics to show
# Exit status: 0 when every file is formatted, 1 when some are not (they are listed), 2 when
# clang-format or git is missing.
#
# Nothing is excluded: protoc's output lives in the build tree, and the generated tables inside
# core/src/random.cc are fenced with // clang-format off / on. To exclude a file, add a
# pathspec such as ':!third_party/' to `excludes` below.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
excludes=()

clang_format=${CLANG_FORMAT:-}
if [[ -z "$clang_format" || ! -x "$clang_format" ]]; then
  clang_format=$(command -v clang-format || true)
fi
if [[ -z "$clang_format" ]]; then
  echo "check-format: clang-format not found (Debian package clang-format, which" \
       "scripts/install-deps.sh installs; or set CLANG_FORMAT)" >&2
  exit 2
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-format: $root is not a git checkout (the files checked are git's tracked ones)" >&2
  exit 2
fi

mapfile -d '' files < <(git ls-files -z -- '*.cc' '*.h' "${excludes[@]}")
echo "check-format: $("$clang_format" --version | head -n 1), ${#files[@]} files"

diagnostics=$(mktemp)
trap 'rm -f "$diagnostics"' EXIT
unformatted=()
for f in "${files[@]}"; do
  if ! "$clang_format" --dry-run -Werror --style=file "$f" >/dev/null 2>>"$diagnostics"; then
    unformatted+=("$f")
  fi
done

if [[ ${#unformatted[@]} -eq 0 ]]; then
  echo "check-format: all ${#files[@]} files formatted"
  exit 0
fi
shown=${FORMAT_CHECK_DIAGNOSTICS:-40}
echo "check-format: first $shown lines of clang-format's diagnostics:"
head -n "$shown" "$diagnostics"
echo "check-format: ${#unformatted[@]} of ${#files[@]} files not formatted" \
     "(clang-format -i FILE... formats them):"
printf '  %s\n' "${unformatted[@]}"
exit 1
