#!/bin/bash
# Runs a command inside a chroot, in private mount + PID namespaces: the mounts (proc, sys,
# dev, the bind mounts) vanish and every process inside is killed when the command ends.
# usage (root): [OVERLAY=1] [OFFLINE=1] [BIND="HOST:GUEST[:ro] ..."] chroot-run.sh ROOT -- CMD...
#   OVERLAY=1  run on a throw-away overlay (lower = ROOT, upper = tmpfs): ROOT stays pristine
#   OFFLINE=1  an empty network namespace (only a down lo)
#   BIND       host folders to mount inside (GUEST paths are created in the chroot)
# Same approach as the trixie runner in shared/gimp-host (RECIPES.md section 2).
set -euo pipefail
ROOT=$(realpath "${1:?chroot root}"); shift
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || set -- /bin/bash
NS=(--mount --propagation private --pid --fork --kill-child)
[ "${OFFLINE:-0}" = 1 ] && NS+=(--net)
OVL=
if [ "${OVERLAY:-0}" = 1 ]; then
  OVL=$(mktemp -d "$(dirname "$ROOT")/overlay.XXXXXX")   # empty on the host; tmpfs only inside
  trap 'rmdir "$OVL"' EXIT
fi
unshare "${NS[@]}" /bin/bash -c '
  set -e
  R=$1 OVL=$2 BINDS=$3; shift 3
  if [ -n "$OVL" ]; then
    mount -t tmpfs tmpfs "$OVL"
    mkdir "$OVL/up" "$OVL/work" "$OVL/merged"
    mount -t overlay overlay -o "lowerdir=$R,upperdir=$OVL/up,workdir=$OVL/work" "$OVL/merged"
    R=$OVL/merged
  fi
  mount -t proc proc "$R/proc"
  mount -t sysfs sysfs "$R/sys"
  mount --rbind /dev "$R/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
  for b in $BINDS; do
    IFS=: read -r host guest opt <<<"$b"
    mkdir -p "$R$guest"
    mount --bind "$host" "$R$guest"
    [ "$opt" != ro ] || mount -o remount,bind,ro "$R$guest"
  done
  cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true   # DNS, for apt only
  exec chroot "$R" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
' chroot-run "$ROOT" "$OVL" "${BIND:-}" "$@"
