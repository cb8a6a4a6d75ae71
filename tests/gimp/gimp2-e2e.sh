#!/bin/bash
# End-to-end test of the GIMP 2.10 plug-in inside a real, headless GIMP 2.10.
# usage: gimp2-e2e.sh PLUGIN MODEL VOCAB [ARTEFACT_DIR]
#   PLUGIN: the built GIMP 2.10 plug-in ("" when the build chose another front end)
# Exit 0 = pass, 1 = fail, 77 = skipped (no GIMP 2.10 here, or plug-in not built for it).
set -u
PLUGIN=${1:-} MODEL=${2:-} VOCAB=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }

command -v gimp-console-2.10 >/dev/null || skip "gimp-console-2.10 is not installed (apt-get install gimp)"
[ -n "$PLUGIN" ] && [ -x "$PLUGIN" ] || skip "the GIMP 2.10 front end was not built (meson -Dgimp=2)"
/usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "python3-pil is not installed"
[ -r "$MODEL" ] || { echo "FAIL: model $MODEL not readable"; exit 1; }

WORK=${4:-$(mktemp -d "${TMPDIR:-/tmp}/gd-gimp2.XXXXXX")}
WORK=$(realpath -m "$WORK")
rm -rf "$WORK"; mkdir -p "$WORK/tmp"
export TMPDIR=$WORK/tmp                       # GIMP 2.10 writes $TMPDIR/gimp/2.10
export GIMP2_DIRECTORY=$WORK/profile          # a fresh profile; the user's is never touched
unset GIMP_DIFFUSION_MODEL GIMP_DIFFUSION_VOCAB
export XDG_CONFIG_HOME=$WORK/config           # no config file: the arguments must be used

/usr/bin/python3 "$HERE/make_input.py" "$WORK/in.png"
t0=$(date +%s.%N)
timeout 300 gimp-console-2.10 -i -d -f -b '(gimp-quit 0)' >"$WORK/first-start.log" 2>&1
mkdir -p "$GIMP2_DIRECTORY/plug-ins"
install -m 755 "$PLUGIN" "$GIMP2_DIRECTORY/plug-ins/gimp-diffusion"
# user presets for Apply Preset (one overrides a shipped preset of the same name)
mkdir -p "$GIMP2_DIRECTORY/diffusion/presets"
cp "$HERE"/presets/*.json "$GIMP2_DIRECTORY/diffusion/presets/"
t1=$(date +%s.%N)

# gimp-console-2.10 always exits 0: judge by the marker and the log (see RECIPES.md)
timeout 600 gimp-console-2.10 -i -d -f \
  -b "(begin (load \"$HERE/e2e-gimp2.scm\") (load \"$HERE/e2e-gimp2-presets.scm\")
         (gd-e2e \"$WORK\" \"$MODEL\" \"$VOCAB\") (gd-presets-e2e \"$WORK\" \"$MODEL\" \"$VOCAB\"))" \
  -b '(gimp-quit 0)' >"$WORK/gimp.log" 2>&1
rc=$?
t2=$(date +%s.%N)
grep -v 'Gtk-WARNING\|^$' "$WORK/gimp.log"
printf 'first start %.1f s, test batch %.1f s\n' "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
if [ $rc != 0 ] || grep -q 'execution error' "$WORK/gimp.log" || [ "$(cat "$WORK/marker" 2>/dev/null)" != OK ]; then
  echo "FAIL: the Script-Fu batch did not finish (marker: $(cat "$WORK/marker" 2>/dev/null), rc $rc)"
  exit 1
fi
for msg in "model file /nonexistent/model.safetensors cannot be read" \
           "in.png is not a Stable Diffusion 1.x checkpoint" \
           "Indexed images are not supported" \
           "There is no preset named \"No such preset\""; do
  grep -q "$msg" "$WORK/gimp.log" || { echo "FAIL: no clear error message: $msg"; exit 1; }
  echo "ok   error message: ...$msg..."
done
/usr/bin/python3 "$HERE/check_e2e.py" "$WORK" img2img inpaint || exit 1
/usr/bin/python3 "$HERE/check_presets.py" "$WORK" "$HERE/presets" || exit 1
/usr/bin/python3 "$HERE/same_pixels.py" "$WORK/gray-in.png" "$WORK/gray-out.png" \
  "grayscale image outside the selection" 40 30 80 60 || exit 1

# Cancel = GIMP kills the plug-in: kill it mid-run, the image must be unchanged.
timeout 600 gimp-console-2.10 -i -d -f \
  -b "(begin (load \"$HERE/e2e-gimp2.scm\") (gd-kill-case \"$WORK\" \"$MODEL\" \"$VOCAB\"))" \
  -b '(gimp-quit 0)' >"$WORK/gimp-kill.log" 2>&1 &
GIMP_PID=$!
"$HERE/kill_plugin.sh" "$GIMP_PID" gimp-diffusion || { kill "$GIMP_PID"; exit 1; }
wait "$GIMP_PID"
grep -v 'Gtk-WARNING\|^$' "$WORK/gimp-kill.log"
[ "$(cat "$WORK/marker" 2>/dev/null)" = OK ] || { echo "FAIL: the kill test's batch failed"; exit 1; }
/usr/bin/python3 "$HERE/same_pixels.py" "$WORK/in.png" "$WORK/killed-out.png" "image after a killed run"
