#!/bin/bash
# End-to-end test of the GIMP 3 plug-in inside a real, headless GIMP 3 (run where
# gimp-console-3.0 is installed: natively, or in the trixie chroot by gimp3-chroot.sh).
# usage: gimp3-e2e.sh PLUGIN MODEL VOCAB WORKDIR
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
PLUGIN=${1:-} MODEL=${2:-} VOCAB=${3:-} WORK=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
command -v gimp-console-3.0 >/dev/null || skip "gimp-console-3.0 is not installed"
[ -n "$PLUGIN" ] && [ -x "$PLUGIN" ] || skip "the GIMP 3 front end was not built (meson -Dgimp=3)"
python3 -c 'import PIL' 2>/dev/null || skip "python3-pil is not installed"
[ -r "$MODEL" ] || { echo "FAIL: model $MODEL not readable"; exit 1; }
WORK=$(realpath -m "${WORK:-$(mktemp -d /tmp/gd-gimp3.XXXXXX)}")
rm -rf "$WORK"; mkdir -p "$WORK"

export GIMP3_DIRECTORY=$WORK/profile NO_AT_BRIDGE=1 XDG_CONFIG_HOME=$WORK/config
unset GIMP_DIFFUSION_MODEL GIMP_DIFFUSION_VOCAB
# harmless GIMP 3.0.4 console noise (RECIPES.md)
NOISE='CRITICAL|^$|resource name is invalid|cannot open display|unexpected EOF|Welcome to GIMP|stale context|list of contexts|Broken pipe'

t0=$(date +%s.%N)
if [ -d /opt/gimp3-profile-template ]; then      # made by make-gimp3-chroot.sh: saves 10-15 s
  cp -a /opt/gimp3-profile-template "$GIMP3_DIRECTORY"
else
  timeout 300 gimp-console-3.0 -i -d -f --quit >"$WORK/first-start.log" 2>&1
fi
mkdir -p "$GIMP3_DIRECTORY/plug-ins/gimp-diffusion"    # GIMP 3: plug-ins/<name>/<name>
install -m 755 "$PLUGIN" "$GIMP3_DIRECTORY/plug-ins/gimp-diffusion/gimp-diffusion"
# user presets for Apply Preset (one overrides a shipped preset of the same name)
mkdir -p "$GIMP3_DIRECTORY/diffusion/presets"
cp "$HERE"/presets/*.json "$GIMP3_DIRECTORY/diffusion/presets/"
python3 "$HERE/make_input.py" "$WORK/in.png"
t1=$(date +%s.%N)

rc=0
GD_WORK=$WORK GD_MODEL=$MODEL GD_VOCAB=$VOCAB timeout 600 gimp-console-3.0 -i -d -f \
  --batch-interpreter=python-fu-eval -b "exec(open('$HERE/e2e_gimp3.py').read())" \
  -b "exec(open('$HERE/e2e_gimp3_presets.py').read())" --quit \
  >"$WORK/gimp.log" 2>&1 || rc=$?
t2=$(date +%s.%N)
grep -Ev "$NOISE" "$WORK/gimp.log"
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "profile+install %.1f s, test batch %.1f s\n", b - a, c - b }'
[ $rc = 0 ] && grep -q E2E-GIMP3-OK "$WORK/gimp.log" || { echo "FAIL: the python-fu batch failed (exit status $rc)"; exit 1; }
python3 "$HERE/check_e2e.py" "$WORK" img2img inpaint || exit 1
grep -q E2E-GIMP3-PRESETS-OK "$WORK/gimp.log" || { echo "FAIL: the Apply Preset batch failed"; exit 1; }
python3 "$HERE/check_presets.py" "$WORK" "$HERE/presets" || exit 1

# Cancel = GIMP kills the plug-in: kill it mid-run, the image must be unchanged.
GD_WORK=$WORK GD_MODEL=$MODEL GD_VOCAB=$VOCAB timeout 600 gimp-console-3.0 -i -d -f \
  --batch-interpreter=python-fu-eval -b "exec(open('$HERE/e2e_gimp3_kill.py').read())" --quit \
  >"$WORK/gimp-kill.log" 2>&1 &
GIMP_PID=$!
"$HERE/kill_plugin.sh" "$GIMP_PID" gimp-diffusion || { kill "$GIMP_PID"; exit 1; }
rc=0; wait "$GIMP_PID" || rc=$?
grep -Ev "$NOISE" "$WORK/gimp-kill.log"
[ $rc = 0 ] && grep -q E2E-GIMP3-KILL-OK "$WORK/gimp-kill.log" || { echo "FAIL: the kill test's batch failed"; exit 1; }
python3 "$HERE/same_pixels.py" "$WORK/in.png" "$WORK/killed-out.png" "image after a killed run"
