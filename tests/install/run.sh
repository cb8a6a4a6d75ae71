#!/bin/bash
# The fresh-machine install test (issue 7). Not part of `meson test`: it needs root, builds or
# unpacks chroots (1-2 GB each) and takes several minutes.
#   tests/install/run.sh [--gimp 2|3|3.2] [--no-tests] [--tests-in-trixie]
# GIMP 2.10: a clean Debian 12 chroot (make-bookworm-chroot.sh; cached as a tarball), run
#   offline: fresh-user.sh 2 as the desktop user "tester".
# GIMP 3: the trixie chroot of the GIMP 3 tests (tests/gimp/make-gimp3-chroot.sh,
#   $GIMP3_CHROOT, default /var/tmp/gimp-host/trixie) on a throw-away overlay, so it stays
#   clean; apt needs the Debian mirror there (build-essential is not in that chroot).
# GIMP 3.2: the same in the sid chroot ($GIMP32_CHROOT, default /var/tmp/gimp-host/sid).
# Both start from a copy of what git would commit (tracked + untracked, not ignored files),
# with the fixtures folder (../shared) mounted read-only beside it.
# --no-tests: skip the README's test command (tests/run.sh) in the chroots; by default it runs
# in the bookworm one only (--tests-in-trixie: there too).
# Exit 0 = pass, 1 = fail, 77 = skipped (not root). Logs: $GD_INSTALL_WORKDIR/out/<time>/.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$SRC/tests/install
W=${GD_INSTALL_WORKDIR:-/var/tmp/gimp-diffusion-install}
SHARED=$(realpath "${GD_SHARED:-$SRC/../shared}")
TRIXIE=${GIMP3_CHROOT:-/var/tmp/gimp-host/trixie}
SID=${GIMP32_CHROOT:-/var/tmp/gimp-host/sid}
WHICH="2 3 3.2" TESTS2=1 TESTS3=0
while [ $# -gt 0 ]; do
  case $1 in
    --gimp) WHICH=${2:?}; shift ;;
    --no-tests) TESTS2=0 TESTS3=0 ;;
    --tests-in-trixie) TESTS3=1 ;;
    *) echo "usage: $0 [--gimp 2|3|3.2] [--no-tests] [--tests-in-trixie]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (debootstrap, chroot, mounts)"; exit 77; }
[ -d "$SHARED/golden" ] || { echo "FAIL: no fixtures at $SHARED (set GD_SHARED)"; exit 1; }

T0=$(date +%s)
OUT=$W/out/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
echo "logs: $OUT"

# what git would commit, no build folders
COPY=$W/src
rm -rf "$COPY"; mkdir -p "$COPY"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$SRC" && git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf -) |
    tar -xf - -C "$COPY"
else
  tar -C "$SRC" --exclude='./build*' -cf - . | tar -xf - -C "$COPY"
fi
echo "source copy: $(find "$COPY" -type f | wc -l) files"

result=()
inside() {  # inside ROOT USER GIMP OUTDIR [--no-tests]: copy the repo in, run fresh-user.sh
  local root=$1 user=$2 gv=$3 out=$4 extra=${5:-}
  local home=/root; [ "$user" = root ] || home=/home/$user
  mkdir -p "$out"; chmod 777 "$out"
  BIND="$COPY:/mnt/src:ro $SHARED:/mnt/shared:ro $out:/mnt/out" "$HERE/chroot-run.sh" "$root" -- \
    /bin/bash -c "
      set -e
      grep -qs \" \$(hostname)\$\" /etc/hosts || echo \"127.0.1.1 \$(hostname)\" >>/etc/hosts  # for sudo
      cp -a /mnt/src $home/gimp-diffusion && chown -R $user: $home/gimp-diffusion
      ln -s /mnt/shared $home/shared
      exec runuser -u $user -- env HOME=$home USER=$user LOGNAME=$user LANG=C.UTF-8 \
        PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        $home/gimp-diffusion/tests/install/fresh-user.sh $gv /mnt/out $extra"
}

rc_all=0
if [[ " $WHICH " == *" 2 "* ]]; then
  echo; echo "##### GIMP 2.10 on a fresh Debian 12 (offline)"
  t=$(date +%s)
  "$HERE/make-bookworm-chroot.sh" "$COPY" "$W/bookworm" 2>&1 | tail -n 3
  echo "chroot: $(( $(date +%s) - t )) s"
  t=$(date +%s)
  rc=0
  OVERLAY=1 OFFLINE=1 inside "$W/bookworm" tester 2 "$OUT/gimp2" \
    "$([ $TESTS2 = 1 ] || echo --no-tests)" 2>&1 | tee "$OUT/gimp2.log" || rc=$?
  [ "$rc" = 0 ] && grep -q '^=== PASS' "$OUT/gimp2.log" || rc_all=1
  result+=("GIMP 2.10 / Debian 12: $([ "$rc" = 0 ] && echo PASS || echo FAIL), $(( $(date +%s) - t )) s")
fi

if [[ " $WHICH " == *" 3 "* ]]; then
  echo; echo "##### GIMP 3 on Debian 13 (overlay of $TRIXIE)"
  if [ ! -x "$TRIXIE/usr/bin/gimp-console-3.0" ]; then
    echo "SKIP: no GIMP 3 chroot at $TRIXIE (tests/gimp/make-gimp3-chroot.sh makes it)"
    result+=("GIMP 3 / Debian 13: SKIP (no chroot)")
  else
    t=$(date +%s)
    rc=0
    OVERLAY=1 inside "$TRIXIE" root 3 "$OUT/gimp3" \
      "$([ $TESTS3 = 1 ] || echo --no-tests)" 2>&1 | tee "$OUT/gimp3.log" || rc=$?
    [ "$rc" = 0 ] && grep -q '^=== PASS' "$OUT/gimp3.log" || rc_all=1
    result+=("GIMP 3 / Debian 13: $([ "$rc" = 0 ] && echo PASS || echo FAIL), $(( $(date +%s) - t )) s")
  fi
fi

if [[ " $WHICH " == *" 3.2 "* ]]; then
  echo; echo "##### GIMP 3.2 on Debian sid (overlay of $SID)"
  if [ ! -x "$SID/usr/bin/gimp-console-3.2" ]; then
    echo "SKIP: no GIMP 3.2 chroot at $SID (GIMP3_SUITE=sid tests/gimp/make-gimp3-chroot.sh makes it)"
    result+=("GIMP 3.2 / Debian sid: SKIP (no chroot)")
  else
    t=$(date +%s)
    rc=0
    OVERLAY=1 inside "$SID" root 3 "$OUT/gimp32" --no-tests 2>&1 | tee "$OUT/gimp32.log" || rc=$?
    [ "$rc" = 0 ] && grep -q '^=== PASS' "$OUT/gimp32.log" || rc_all=1
    result+=("GIMP 3.2 / Debian sid: $([ "$rc" = 0 ] && echo PASS || echo FAIL), $(( $(date +%s) - t )) s")
  fi
fi

echo; echo "##### install test: $(( $(date +%s) - T0 )) s"
printf '  %s\n' "${result[@]}"
exit $rc_all
