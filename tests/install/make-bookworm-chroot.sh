#!/bin/bash
# Provides the fresh Debian 12 machine of the install test: a minimal bookworm chroot with
# GIMP 2.10 from apt (what a user has before installing us), sudo, and a desktop user
# "tester" (password-less sudo). The packages install.sh will ask apt for are downloaded
# into apt's cache but NOT installed, so the test proves install.sh installs them itself,
# and runs without network.  As root, on an x86_64 host with debootstrap:
#   make-bookworm-chroot.sh SOURCE_ROOT [DIR]     DIR default: $GD_INSTALL_WORKDIR/bookworm
# 1. DIR holds the chroot and its package cache matches install.sh's list -> nothing to do
# 2. the tarball (DIR.tar.zst) is there and matches                          -> unpack it
# 3. otherwise debootstrap + apt (network to the Debian mirror, ~4-6 min), write the tarball.
set -euo pipefail
SRC=$(realpath "${1:?source root}")
W=${GD_INSTALL_WORKDIR:-/var/tmp/gimp-diffusion-install}
R=$(realpath -m "${2:-$W/bookworm}")
TAR=$R.tar.zst
HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
STAMP=/var/lib/gd-install-test/deps   # inside the chroot: the package list that is cached
run() { BIND="$SRC:/src:ro" "$HERE/chroot-run.sh" "$R" -- "$@"; }
deps_now() { OVERLAY=1 OFFLINE=1 BIND="$SRC:/src:ro" "$HERE/chroot-run.sh" "$R" -- /src/install.sh --print-deps; }
cache_ok() { [ -f "$R$STAMP" ] && [ "$(cat "$R$STAMP")" = "$(deps_now)" ]; }

t0=$(date +%s)
if [ ! -x "$R/usr/bin/gimp-console-2.10" ] && [ -f "$TAR" ]; then
  rm -rf "$R"; mkdir -p "$R"
  tar --numeric-owner --xattrs --acls -I zstd -xpf "$TAR" -C "$R"
  echo "chroot unpacked from $TAR in $(( $(date +%s) - t0 )) s"
fi
if [ -x "$R/usr/bin/gimp-console-2.10" ] && cache_ok; then
  echo "chroot ready: $R"; exit 0
fi

if [ ! -x "$R/usr/bin/gimp-console-2.10" ]; then
  rm -rf "$R"; mkdir -p "$(dirname "$R")"
  debootstrap --variant=minbase bookworm "$R" "$MIRROR"
  echo "debootstrap: $(( $(date +%s) - t0 )) s"
  printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$R/etc/apt/apt.conf.d/99norecommends"
  # what the user has: GIMP 2.10 and sudo; nothing of ours
  run bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gimp sudo &&
    apt-get clean && useradd -m -s /bin/bash tester &&
    echo "tester ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/tester && chmod 440 /etc/sudoers.d/tester'
  echo "gimp + sudo: $(( $(date +%s) - t0 )) s"
fi

# the packages install.sh (and --deps-only) will want, downloaded only
deps=$(deps_now)
run bash -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only $deps &&
  mkdir -p $(dirname $STAMP) && echo '$deps' >$STAMP"
echo "package cache: $(( $(date +%s) - t0 )) s, $(du -sh "$R" | cut -f1)"

find "$R/tmp" -mindepth 1 -delete
tar --numeric-owner --xattrs --acls -I 'zstd -T0 -3' -cpf "$TAR.tmp" -C "$R" .
mv "$TAR.tmp" "$TAR"
echo "tarball $TAR ($(du -h "$TAR" | cut -f1)); total $(( $(date +%s) - t0 )) s"
