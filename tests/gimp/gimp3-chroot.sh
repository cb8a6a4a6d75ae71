#!/bin/bash
# Builds the GIMP 3 front end inside the trixie chroot (make-gimp3-chroot.sh) from this
# source tree and runs gimp3-e2e.sh there, offline, on a throw-away overlay of the chroot.
# usage (root): gimp3-chroot.sh SOURCE_ROOT MODEL VOCAB OUTDIR [e2e|e2e-sd2|gui|gui-presets|matrix|...]
#   OUTDIR keeps the chroot build (OUTDIR/build) and the test's artefacts (OUTDIR/TEST).
#   TEST (default e2e) runs tests/gimp/gimp3-TEST.sh inside the chroot.
#   GD_GIMP3_SUITE=sid takes the sid chroot (GIMP 3.2, GIMP32_CHROOT) instead of trixie's
#   (GIMP 3.0, GIMP3_CHROOT); the drivers are the same (common.sh finds gimp-console-3.2).
# Exit 0 = pass, 1 = fail, 77 = skipped (no chroot, or not root).
set -u
SRC=$(realpath "${1:?source root}") MODEL=$(realpath -m "${2:?model}") VOCAB=$(realpath -m "${3:?vocab}")
OUT=$(realpath -m "${4:?outdir}") TEST=${5:-e2e}
# GD_GIMP3_SUITE picks the chroot as make-gimp3-chroot.sh names them: trixie (GIMP 3.0,
# GIMP3_CHROOT) or sid (GIMP 3.2, GIMP32_CHROOT)
case ${GD_GIMP3_SUITE:-trixie} in
  sid) R=$(realpath -m "${GIMP32_CHROOT:-/var/tmp/gimp-host/sid}") ;;
  *) R=$(realpath -m "${GIMP3_CHROOT:-/var/tmp/gimp-host/trixie}") ;;
esac
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for the chroot (unshare + mount)"
# any GIMP 3.x: the drivers take its console's name from common.sh
compgen -G "$R/usr/bin/gimp-console-3.[0-9]*" >/dev/null ||
  skip "no GIMP 3 chroot at $R: run GIMP3_SUITE=${GD_GIMP3_SUITE:-trixie} tests/gimp/make-gimp3-chroot.sh (or set GIMP3_CHROOT / GIMP32_CHROOT)"
[ -r "$MODEL" ] || { echo "FAIL: model $MODEL not readable"; exit 1; }
mkdir -p "$OUT"

# --net: an empty network namespace, proving the chroot needs nothing from outside
unshare --mount --propagation private --pid --fork --kill-child --net /bin/bash -c '
  set -e
  R=$1 SRC=$2 OUT=$3 MODEL=$4 VOCAB=$5 TEST=$6
  OVL=$OUT/overlay; mkdir -p "$OVL"
  mount -t tmpfs tmpfs "$OVL"                       # writes to the chroot vanish on exit
  mkdir "$OVL/up" "$OVL/work" "$OVL/root"
  mount -t overlay overlay -o "lowerdir=$R,upperdir=$OVL/up,workdir=$OVL/work" "$OVL/root"
  C=$OVL/root
  mount -t proc proc "$C/proc"; mount -t sysfs sysfs "$C/sys"; mount --rbind /dev "$C/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$C/dev/shm"
  mkdir -p "$C/gd/src" "$C/gd/out" "$C/gd/model" "$C/gd/vocab"
  mount --bind -o ro "$SRC" "$C/gd/src"
  mount --bind "$OUT" "$C/gd/out"
  mount --bind -o ro "$(dirname "$MODEL")" "$C/gd/model"
  mount --bind -o ro "$VOCAB" "$C/gd/vocab"
  # the LoRA and TAESD fixtures beside the model folder, where the drivers look for them
  for f in golden-lora golden-taesd; do
    [ -d "$(dirname "$MODEL")/../$f" ] || continue
    mkdir -p "$C/gd/$f"; mount --bind -o ro "$(dirname "$MODEL")/../$f" "$C/gd/$f"
  done
  # e2e-sd2 re-runs its jobs with the diffuse CLI (check_sd2.py): built beside the plug-in
  T=plugin/gimp-diffusion
  [ "$TEST" != e2e-sd2 ] || T="$T engine/tools/diffuse"
  exec chroot "$C" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "
      set -e
      [ -f /gd/out/build/build.ninja ] ||
        meson setup /gd/out/build /gd/src -Dgimp=3 -Dshared_dir=/gd/shared-unused >/gd/out/meson-setup.log
      t=\$(date +%s)
      ninja -C /gd/out/build $T >/gd/out/ninja.log || { cat /gd/out/ninja.log; exit 1; }
      echo \"chroot build of the GIMP 3 front end: \$(( \$(date +%s) - t )) s\"
      exec /gd/src/tests/gimp/gimp3-$TEST.sh /gd/out/build/plugin/gimp-diffusion \
        /gd/model/$(basename "$MODEL") /gd/vocab /gd/out/$TEST
    "
' gimp3-chroot "$R" "$SRC" "$OUT" "$MODEL" "$VOCAB" "$TEST"
