#!/usr/bin/env bash
# Lists C++ functions longer than a limit (default 60 lines), longest first, from universal-ctags'
# start and end lines: `scripts/function_lengths.sh [LIMIT] [PATH...]` (default: core server client).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
limit="${1:-60}"
shift || true
paths=("$@")
[ ${#paths[@]} -eq 0 ] && paths=(core server client)
ctags -R --languages=C++ --kinds-C++=f --fields=+ne --output-format=json -o - "${paths[@]}" |
  python3 -c '
import json, sys
limit = int(sys.argv[1])
rows = []
for line in sys.stdin:
    tag = json.loads(line)
    if "end" in tag:
        n = tag["end"] - tag["line"] + 1
        if n > limit:
            scope = tag.get("scope", "").split("::")[-1]
            name = (scope + "::" if scope and not scope.startswith("__anon") else "") + tag["name"]
            rows.append((n, name, "%s:%d" % (tag["path"], tag["line"])))
for n, name, where in sorted(rows, reverse=True):
    print("%5d  %-40s %s" % (n, name, where))
' "$limit"
