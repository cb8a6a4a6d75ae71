#!/bin/bash
# Provides the Debian trixie chroot with GIMP 3.0 in which the GIMP 3 plug-in is built and
# tested (Debian 12 has only GIMP 2.10). As root, on an x86_64 host with debootstrap:
#   make-gimp3-chroot.sh [DIR]        DIR default: ${GIMP3_CHROOT:-/var/tmp/gimp-host/trixie}
# 1. DIR already holds GIMP 3            -> nothing to do
# 2. the tarball exists (cache)          -> unpack it (15-30 s)
#      ${GIMP3_CHROOT_TAR:-DIR/../trixie-gimp3.tar.zst}
# 3. otherwise build it (debootstrap + apt, ~1.5-5 min, 1.5 GB, needs the Debian mirror)
#    and write the tarball for the next time (~470 MiB).
set -euo pipefail
R=$(realpath -m "${1:-${GIMP3_CHROOT:-/var/tmp/gimp-host/trixie}}")
TAR=${GIMP3_CHROOT_TAR:-$(dirname "$R")/trixie-gimp3.tar.zst}
HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# GIMP 3 + what the project needs to build (engine + plug-in) + what the tests use
PKGS="gimp libgimp-3.0-dev libgegl-dev libbabl-dev libopenblas-dev libcjson-dev
      zlib1g-dev libutf8proc-dev libpng-dev libjpeg-dev libwebp-dev meson ninja-build gcc pkg-config python3-pil
      xvfb xauth imagemagick x11-utils xdotool dbus procps"

if [ -x "$R/usr/bin/gimp-console-3.0" ]; then
  echo "chroot ready: $R"; exit 0
fi
[ ! -e "$R" ] || { echo "$R exists but has no GIMP 3: remove it first"; exit 1; }
if [ -f "$TAR" ]; then
  t=$(date +%s)
  mkdir -p "$(dirname "$R")"
  tar --numeric-owner --xattrs --acls -I zstd -xpf "$TAR" -C "$(dirname "$R")"
  [ "$(basename "$R")" = trixie ] || mv "$(dirname "$R")/trixie" "$R"
  echo "chroot unpacked from $TAR in $(( $(date +%s) - t )) s"; exit 0
fi

t0=$(date +%s)
debootstrap --variant=minbase trixie "$R" "$MIRROR"
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > "$R/etc/apt/apt.conf.d/99norecommends"
# apt inside a private mount + PID namespace: nothing stays mounted afterwards
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
unshare --mount --propagation private --pid --fork --kill-child /bin/bash -c '
  set -e; R=$1; PKGS=$2
  mount -t proc proc "$R/proc"; mount -t sysfs sysfs "$R/sys"; mount --rbind /dev "$R/dev"
  chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "apt-get update -q && apt-get install -y -q $PKGS && apt-get clean"
  # a ready GIMP 3 profile (first start = user install + query of the stock plug-ins, 10-15 s)
  chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 GIMP3_DIRECTORY=/opt/gimp3-profile-template \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin timeout 300 gimp-console-3.0 -i -d -f --quit >/dev/null 2>&1 || true
' make-chroot "$R" "$(echo $PKGS)"
find "$R/tmp" -mindepth 1 -delete
echo "chroot built in $(( $(date +%s) - t0 )) s: $(du -sh "$R" | cut -f1)"
tar --numeric-owner --xattrs --acls -I 'zstd -T0 -3' -cpf "$TAR.part" -C "$(dirname "$R")" "$(basename "$R")"
mv "$TAR.part" "$TAR"
echo "cached as $TAR ($(du -h "$TAR" | cut -f1))"
