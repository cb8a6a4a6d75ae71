#!/bin/bash
# End-to-end test of the GIMP 3 plug-in inside a real, headless GIMP 3 (natively, or in a
# chroot by gimp3-chroot.sh; common.sh says which GIMP 3 it takes).
# usage: gimp3-e2e.sh PLUGIN MODEL VOCAB WORKDIR
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
source "$(dirname "$0")/common.sh"
gd_start 3 gimp3 "pil model" "$@"
t0=$(date +%s.%N)
gd_profile 3 presets
t1=$(date +%s.%N)

rc=0
options=
gd_options_config && options=e2e_gimp3_options.py
# GD_SD2_TURBO_DIR (a folder holding ../golden-sd2's tiny models): one 1-step Turbo job with
# tiny-sd2 in the same session (check-bundle.sh: the Flatpak build runs SD 2.x too)
turbo=
if [ -n "${GD_SD2_TURBO_DIR:-}" ]; then
  turbo=e2e_gimp3_sd2.py
  export GD_SD2_MODELS=$GD_SD2_TURBO_DIR GD_SD2_JOBS=turbo-txt2img
fi
(gd3_batch "$WORK/gimp.log" e2e_gimp3.py e2e_gimp3_presets.py $options $turbo) || rc=$?
t2=$(date +%s.%N)
gd_show_log 3 "$WORK/gimp.log"
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "profile+install %.1f s, test batch %.1f s\n", b - a, c - b }'
[ $rc = 0 ] && grep -q E2E-GIMP3-OK "$WORK/gimp.log" || fail "the python-fu batch failed (exit status $rc)"
"$PY" "$HERE/check_e2e.py" "$WORK" img2img inpaint || exit 1
grep -q E2E-GIMP3-PRESETS-OK "$WORK/gimp.log" || fail "the Apply Preset batch failed"
"$PY" "$HERE/check_presets.py" "$WORK" "$HERE/presets" || exit 1
if [ -n "$options" ]; then
  grep -q E2E-GIMP3-OPTIONS-OK "$WORK/gimp.log" || fail "the options batch failed"
  "$PY" "$HERE/check_options.py" "$WORK" || exit 1
fi
if [ -n "$turbo" ]; then
  grep -q E2E-GIMP3-SD2-OK "$WORK/gimp.log" || fail "the SD 2.x Turbo job failed"
  "$PY" "$HERE/check_sd2.py" "$WORK" - "$VOCAB" turbo-txt2img || exit 1
fi

# Cancel = GIMP kills the plug-in: kill it mid-run, the image must be unchanged.
(GD_TIMEOUT=600 gd3_batch "$WORK/gimp-kill.log" e2e_gimp3_kill.py) &
GIMP_PID=$!
"$HERE/kill_plugin.sh" "$GIMP_PID" gimp-diffusion || { kill "$GIMP_PID"; exit 1; }
rc=0; wait "$GIMP_PID" || rc=$?
gd_show_log 3 "$WORK/gimp-kill.log"
[ $rc = 0 ] && grep -q E2E-GIMP3-KILL-OK "$WORK/gimp-kill.log" || fail "the kill test's batch failed"
"$PY" "$HERE/same_pixels.py" "$WORK/in.png" "$WORK/killed-out.png" "image after a killed run"
