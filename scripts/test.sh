#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (CTest). GUI tests need a display: under xvfb-run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
. "$root/scripts/env.sh"
cd "$root/build"
exec xvfb-run -a -s "-screen 0 1600x1000x24" ctest --output-on-failure -j2 "$@"
