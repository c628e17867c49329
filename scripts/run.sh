#!/usr/bin/env bash
# Sets up, builds and runs Routelab on its default preset. With no display (or when the desktop
# app is not built) it runs the headless demo: routelab-cli trains the default preset with a
# progress bar and writes its outputs to routelab-runs/. Extra arguments go to the program.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
. "$root/scripts/env.sh"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$root/build/routelab" ]; then
  exec "$root/build/routelab" "$@"
fi
cd "$root"
exec "$root/build/routelab-cli" train "$@"
