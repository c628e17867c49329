#!/usr/bin/env bash
# Installs every build, run and test dependency of Routelab from Debian 12 packages.
# Idempotent: packages already present are skipped by apt. Runs as root, or through sudo.
set -euo pipefail

PACKAGES=(
  cmake g++ ninja-build pkg-config git
  qt6-base-dev qt6-svg-dev libqcustomplot-dev
  libvulkan-dev mesa-vulkan-drivers vulkan-tools glslc spirv-tools
  libeigen3-dev libimgui-dev nlohmann-json3-dev
  xvfb xauth python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
