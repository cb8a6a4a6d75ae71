#!/bin/bash
# gimp-diffusion installer.
#   ./install.sh --deps-only    install the build and test dependencies (apt), nothing else
set -euo pipefail

APT_PACKAGES=(
  build-essential meson ninja-build pkg-config
  libopenblas-dev libcjson-dev zlib1g-dev libutf8proc-dev
  libgegl-dev libbabl-dev
)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_deps() {
  if ! command -v apt-get >/dev/null; then
    echo "install.sh: apt-get not found; install the equivalents of: ${APT_PACKAGES[*]}" >&2
    exit 1
  fi
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  fi
}

case "${1:-}" in
  --deps-only) install_deps ;;
  *) echo "usage: $0 --deps-only" >&2; exit 2 ;;
esac
