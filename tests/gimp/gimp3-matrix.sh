#!/bin/bash
# Bad-input matrix and kill safety of the GIMP 3 plug-in inside a real, headless GIMP 3
# (natively, or in a chroot by gimp3-chroot.sh with the kind "matrix"; common.sh says which
# GIMP 3 it takes). The cases are in matrix_gimp3.py.
# Kill safety: the plug-in is SIGKILLed while it opens the model (a FIFO that never
# delivers: it stays in sd_model_load), while it denoises and while it writes the layer
# (stopped there by the LD_PRELOAD shim stop_on_write.c); the image must be untouched
# (XCF before/after) and no file left behind in $TMPDIR or the profile.
# usage: gimp3-matrix.sh PLUGIN MODEL VOCAB WORKDIR
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
source "$(dirname "$0")/common.sh"
gd_start 3 matrix3 "model" "$@"
failed=0

gd_profile 3
mkdir -p "$WORK/bad"
"$PY" "$HERE/make_bad_models.py" "$MODEL" "$WORK/bad" || fail "make_bad_models.py"

t0=$(date +%s.%N)
(gd3_batch "$WORK/gimp.log" matrix_gimp3.py)
t1=$(date +%s.%N)
gd_show_log 3 "$WORK/gimp.log"
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "matrix batch %.1f s\n", b - a }'
grep -q MATRIX-GIMP3-OK "$WORK/gimp.log" || { echo "FAIL: the matrix batch failed"; failed=1; }

# ---- kill safety ----
listing() { (cd "$WORK" && find tmp profile -path profile/sessionrc -prune -o -print | sort); }
listing >"$WORK/files-before-kill"
# loading: the model comes from the environment (GIMP 3 checks a file argument itself) and
# is a FIFO nobody writes to, so the plug-in waits inside sd_model_load until it is killed
mkfifo "$WORK/bad/fifo.safetensors"
for phase in load:"$WORK/bad/fifo.safetensors":1 denoise:"":2; do
  IFS=: read -r name envmodel busy <<<"$phase"
  (export GD_KILL_NAME=$name ${envmodel:+GIMP_DIFFUSION_MODEL=$envmodel}
   gd3_batch "$WORK/gimp-kill-$name.log" matrix_gimp3_kill.py) &
  GIMP_PID=$!
  "$HERE/kill_plugin.sh" "$GIMP_PID" gimp-diffusion "$busy" || { failed=1; kill "$GIMP_PID"; }
  wait "$GIMP_PID"
  gd_show_log 3 "$WORK/gimp-kill-$name.log" | grep 'kill-'
  grep -q "^ok   kill-$name" "$WORK/gimp-kill-$name.log" || { echo "FAIL: kill-$name"; failed=1; }
done
# writing: stop_on_write.so stops the plug-in at its first gegl_buffer_set (the result's
# pixels), and it is killed there
if cc -shared -fPIC -o "$WORK/stop_on_write.so" "$HERE/stop_on_write.c" -ldl 2>"$WORK/cc.log"; then
  (export GD_KILL_NAME=write GD_KILL_FAST=1 LD_PRELOAD="$WORK/stop_on_write.so"
   gd3_batch "$WORK/gimp-kill-write.log" matrix_gimp3_kill.py) &
  GIMP_PID=$!
  stopped=
  for _ in $(seq 1 600); do
    PARENTS=$(pgrep -P "$GIMP_PID" | tr '\n' ,)$GIMP_PID
    for pid in $(pgrep -P "$PARENTS" -x gimp-diffusion); do
      [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = T ] && stopped=$pid
    done
    [ -n "$stopped" ] && break
    kill -0 "$GIMP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$stopped" ]; then
    kill -9 "$stopped"; echo "killed gimp-diffusion (pid $stopped) while it wrote the layer"
  else
    echo "FAIL: the plug-in never reached the write phase"; failed=1
  fi
  wait "$GIMP_PID"
  gd_show_log 3 "$WORK/gimp-kill-write.log" | grep 'kill-'
  grep -q "^ok   kill-write" "$WORK/gimp-kill-write.log" || { echo "FAIL: kill-write"; failed=1; }
else
  echo "SKIP kill-write: no C compiler for stop_on_write.so"; cat "$WORK/cc.log"
fi
listing >"$WORK/files-after-kill"
left=$(comm -13 "$WORK/files-before-kill" "$WORK/files-after-kill" | grep -v -- '-before.xcf$\|-after.xcf$')
if [ -z "$left" ]; then echo "ok   no files left behind in \$TMPDIR or the profile after the kills"
else echo "FAIL files left behind after the kills: $left"; failed=1; fi

[ $failed = 0 ] && echo PASS
[ $failed = 0 ]
