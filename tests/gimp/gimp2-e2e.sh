#!/bin/bash
# End-to-end test of the GIMP 2.10 plug-in inside a real, headless GIMP 2.10.
# usage: gimp2-e2e.sh PLUGIN MODEL VOCAB [ARTEFACT_DIR]
#   PLUGIN: the built GIMP 2.10 plug-in ("" when the build chose another front end)
# With ../golden-sd2's tiny-sd2 as MODEL the same GIMP session also runs the SD 2.x jobs
# (e2e-gimp2-sd2.scm: SD 2 img2img, 9-channel inpaint, v-prediction, 1-step Turbo), checked
# against the diffuse CLI by check_sd2.py.
# Exit 0 = pass, 1 = fail, 77 = skipped (no GIMP 2.10 here, or plug-in not built for it).
set -u
source "$(dirname "$0")/common.sh"
gd_start 2 gimp2 "pil model" "$@"
t0=$(date +%s.%N)
gd_profile 2 presets
t1=$(date +%s.%N)

options=
gd_options_config &&
  options="(load \"$HERE/e2e-gimp2-options.scm\") (gd-options-e2e \"$WORK\" \"$MODEL\" \"$VOCAB\" \"$LORA\")"
sd2=
gd_sd2_config &&
  sd2="(load \"$HERE/e2e-gimp2-sd2.scm\") (gd-sd2-e2e \"$WORK\" \"$SD2_DIR\" \"$VOCAB\")"
(gd2_batch "$WORK/gimp.log" \
  "(begin (load \"$HERE/e2e-gimp2.scm\") (load \"$HERE/e2e-gimp2-presets.scm\")
          (gd-e2e \"$WORK\" \"$MODEL\" \"$VOCAB\") (gd-presets-e2e \"$WORK\" \"$MODEL\" \"$VOCAB\")
          $options $sd2)")
rc=$?
t2=$(date +%s.%N)
gd_show_log 2 "$WORK/gimp.log"
printf 'first start %.1f s, test batch %.1f s\n' "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
if [ $rc != 0 ] || grep -q 'execution error' "$WORK/gimp.log" || [ "$(cat "$WORK/marker" 2>/dev/null)" != OK ]; then
  fail "the Script-Fu batch did not finish (marker: $(cat "$WORK/marker" 2>/dev/null), rc $rc)"
fi
for msg in "model file /nonexistent/model.safetensors cannot be read" \
           "in.png is not a checkpoint this plug-in can run (it runs SD 1.x, SD 1.x inpainting, SD 2.x, SD 2.x inpainting and SD-Turbo checkpoints" \
           "Indexed images are not supported" \
           "There is no preset named \"No such preset\""; do
  grep -q "$msg" "$WORK/gimp.log" || fail "no clear error message: $msg"
  echo "ok   error message: ...$msg..."
done
"$PY" "$HERE/check_e2e.py" "$WORK" img2img inpaint || exit 1
"$PY" "$HERE/check_presets.py" "$WORK" "$HERE/presets" || exit 1
[ -z "$options" ] || "$PY" "$HERE/check_options.py" "$WORK" || exit 1
if [ -n "$sd2" ]; then
  grep -q "leaves no denoising step to run" "$WORK/gimp.log" ||
    fail "no clear error for a 1-step img2img at strength 0.5"
  echo "ok   error message: ...leaves no denoising step to run..."
  "$PY" "$HERE/check_sd2.py" "$WORK" "$DIFFUSE" "$VOCAB" || exit 1
fi
"$PY" "$HERE/same_pixels.py" "$WORK/gray-in.png" "$WORK/gray-out.png" \
  "grayscale image outside the selection" 40 30 80 60 || exit 1

# Cancel = GIMP kills the plug-in: kill it mid-run, the image must be unchanged.
(gd2_batch "$WORK/gimp-kill.log" \
  "(begin (load \"$HERE/e2e-gimp2.scm\") (gd-kill-case \"$WORK\" \"$MODEL\" \"$VOCAB\"))") &
GIMP_PID=$!
"$HERE/kill_plugin.sh" "$GIMP_PID" gimp-diffusion || { kill "$GIMP_PID"; exit 1; }
wait "$GIMP_PID"
gd_show_log 2 "$WORK/gimp-kill.log"
[ "$(cat "$WORK/marker" 2>/dev/null)" = OK ] || fail "the kill test's batch failed"
"$PY" "$HERE/same_pixels.py" "$WORK/in.png" "$WORK/killed-out.png" "image after a killed run"
