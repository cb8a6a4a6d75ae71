#!/bin/bash
# The tiny SD 2.x models through the GIMP 3 plug-in inside a real, headless GIMP 3 (natively,
# or in a chroot by gimp3-chroot.sh; issue 14): one GIMP session runs SD 2 img2img, 9-channel
# inpaint, v-prediction detected and 1-step Turbo txt2img / img2img (e2e_gimp3_sd2.py), then
# check_sd2.py checks each layer and parasite and re-runs each job with the diffuse CLI.
# usage: gimp3-e2e-sd2.sh PLUGIN MODEL VOCAB WORKDIR
#   MODEL: ../golden-sd2/tiny-sd2.safetensors (tiny-sd2-v, tiny-sd2-inpaint beside it);
#   the CLI: GD_DIFFUSE, else engine/tools/diffuse in the plug-in's build tree.
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
source "$(dirname "$0")/common.sh"
gd_start 3 gimp3-sd2 "pil model" "$@"
gd_sd2_config || fail "this scenario needs ../golden-sd2's tiny-sd2 as MODEL"
t0=$(date +%s.%N)
gd_profile 3
t1=$(date +%s.%N)

rc=0
(gd3_batch "$WORK/gimp.log" e2e_gimp3_sd2.py) || rc=$?
t2=$(date +%s.%N)
gd_show_log 3 "$WORK/gimp.log"
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "profile+install %.1f s, test batch %.1f s\n", b - a, c - b }'
[ $rc = 0 ] && grep -q E2E-GIMP3-SD2-OK "$WORK/gimp.log" || fail "the python-fu batch failed (exit status $rc)"
"$PY" "$HERE/check_sd2.py" "$WORK" "$DIFFUSE" "$VOCAB"
