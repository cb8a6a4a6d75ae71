#!/bin/bash
# Provides a Debian chroot with GIMP 3 in which the GIMP 3 plug-in is built and tested (Debian
# 12 has only GIMP 2.10): trixie has GIMP 3.0, sid GIMP 3.2. As root, on an x86_64 host with
# debootstrap:
#   [GIMP3_SUITE=trixie|sid] make-gimp3-chroot.sh [DIR]
#      DIR default: ${GIMP3_CHROOT:-/var/tmp/gimp-host/SUITE} (GIMP32_CHROOT for sid)
# 1. DIR already holds GIMP 3            -> nothing to do
# 2. the tarball exists (cache)          -> unpack it (15-30 s)
#      ${GIMP3_CHROOT_TAR:-DIR/../SUITE-gimp3.tar.zst}
# 3. otherwise build it (debootstrap + apt, ~1.5-5 min, 1.5 GB, needs the Debian mirror)
#    and write the tarball for the next time (~470 MiB).
set -euo pipefail
SUITE=${GIMP3_SUITE:-trixie}
case $SUITE in
  trixie) R=$(realpath -m "${1:-${GIMP3_CHROOT:-/var/tmp/gimp-host/trixie}}") ;;
  sid) R=$(realpath -m "${1:-${GIMP32_CHROOT:-/var/tmp/gimp-host/sid}}") ;;
  *) echo "make-gimp3-chroot.sh: GIMP3_SUITE is trixie (GIMP 3.0) or sid (GIMP 3.2)" >&2; exit 2 ;;
esac
TAR=${GIMP3_CHROOT_TAR:-$(dirname "$R")/$SUITE-gimp3.tar.zst}
HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# GIMP 3 + what the project needs to build (engine + plug-in) + what the tests use
PKGS="gimp libgimp-3.0-dev libgegl-dev libbabl-dev libopenblas-dev libcjson-dev
      zlib1g-dev libutf8proc-dev libpng-dev libjpeg-dev libwebp-dev meson ninja-build gcc pkg-config python3-pil
      xvfb xauth imagemagick x11-utils xdotool dbus procps"

# apt_in_chroot "CMD": CMD with apt's network inside a private mount + PID namespace:
# nothing stays mounted afterwards
apt_in_chroot() {
  cp -L /etc/resolv.conf "$R/etc/resolv.conf"
  unshare --mount --propagation private --pid --fork --kill-child /bin/bash -c '
    set -e; R=$1
    mount -t proc proc "$R/proc"; mount -t sysfs sysfs "$R/sys"; mount --rbind /dev "$R/dev"
    chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "set -e; $2"
  ' apt-in-chroot "$R" "$1"
}
cache() {
  tar --numeric-owner --xattrs --acls -I 'zstd -T0 -3' -cpf "$TAR.part" -C "$(dirname "$R")" "$(basename "$R")"
  mv "$TAR.part" "$TAR"
  echo "cached as $TAR ($(du -h "$TAR" | cut -f1))"
}
# A chroot (or tarball) made before PKGS grew gets what it lacks, and is cached again.
top_up() {
  local missing=() p
  for p in $PKGS; do
    chroot "$R" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "chroot $R lacks ${missing[*]}: installing"
  apt_in_chroot "apt-get update -q && apt-get install -y -q ${missing[*]} && apt-get clean"
  find "$R/tmp" -mindepth 1 -delete
  cache
}

if compgen -G "$R/usr/bin/gimp-console-3.[0-9]*" >/dev/null; then
  top_up; echo "chroot ready: $R"; exit 0
fi
[ ! -e "$R" ] || { echo "$R exists but has no GIMP 3: remove it first"; exit 1; }
if [ -f "$TAR" ]; then
  t=$(date +%s)
  mkdir -p "$(dirname "$R")"
  tar --numeric-owner --xattrs --acls -I zstd -xpf "$TAR" -C "$(dirname "$R")"
  [ "$(basename "$R")" = "$SUITE" ] || mv "$(dirname "$R")/$SUITE" "$R"
  echo "chroot unpacked from $TAR in $(( $(date +%s) - t )) s"
  top_up; exit 0
fi

t0=$(date +%s)
debootstrap --variant=minbase "$SUITE" "$R" "$MIRROR"
# the mirror's sid is a frozen snapshot: its Release file is past its Valid-Until date
[ "$SUITE" != sid ] || echo 'Acquire::Check-Valid-Until "false";' >"$R/etc/apt/apt.conf.d/99no-valid-until"
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > "$R/etc/apt/apt.conf.d/99norecommends"
apt_in_chroot "apt-get update -q && apt-get install -y -q $(echo $PKGS) && apt-get clean
  # a ready GIMP 3 profile (first start = user install + query of the stock plug-ins, 10-15 s)
  GIMP3_DIRECTORY=/opt/gimp3-profile-template timeout 300 gimp-console-3 -i -d -f --quit >/dev/null 2>&1 || true"
find "$R/tmp" -mindepth 1 -delete
echo "chroot built in $(( $(date +%s) - t0 )) s: $(du -sh "$R" | cut -f1)"
cache
