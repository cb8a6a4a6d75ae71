#!/bin/bash
# GUI test of the preset row in the GIMP 3 plug-in's GimpProcedureDialog, under Xvfb
# (natively, or in the chroot by gimp3-chroot.sh ... gui-presets): picking a preset fills the
# fields, "Save as Preset..." writes them to the profile, OK runs with them. Screenshots are
# kept in the artefact folder. usage: gimp3-gui-presets.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
PLUGIN=${1:-} MODEL=${2:-} VOCAB=${3:-} WORK=$(realpath -m "${4:?artefact dir}")
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
for t in gimp-3.0 xvfb-run xdotool xwininfo import dbus-run-session; do
  command -v $t >/dev/null || skip "$t is not installed"
done
[ -n "$PLUGIN" ] && [ -x "$PLUGIN" ] || skip "the GIMP 3 front end was not built (meson -Dgimp=3)"
python3 -c 'import PIL' 2>/dev/null || skip "python3-pil is not installed"

rm -rf "$WORK"; mkdir -p "$WORK"
export GIMP3_DIRECTORY=$WORK/profile NO_AT_BRIDGE=1 XDG_CONFIG_HOME=$WORK/config GD_WORK=$WORK
# the dialog's model field is empty: the plug-in must take the model from the environment
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB
if [ -d /opt/gimp3-profile-template ]; then
  cp -a /opt/gimp3-profile-template "$GIMP3_DIRECTORY"
else
  timeout 300 gimp-console-3.0 -i -d -f --quit >"$WORK/first-start.log" 2>&1
fi
mkdir -p "$GIMP3_DIRECTORY/plug-ins/gimp-diffusion"
install -m 755 "$PLUGIN" "$GIMP3_DIRECTORY/plug-ins/gimp-diffusion/gimp-diffusion"
# the first preset in the menu is the test's "Fast draft" (it overrides the shipped one)
mkdir -p "$GIMP3_DIRECTORY/diffusion/presets"
cp "$HERE"/presets/*.json "$GIMP3_DIRECTORY/diffusion/presets/"
python3 "$HERE/make_input.py" "$WORK/in.png"
# last values, as GIMP 3 keeps them (GimpConfig text, file named after the config type):
# the dialog must start from these,
# and they keep the run short (the defaults, 512 px and 20 steps, take minutes on a CPU)
mkdir -p "$GIMP3_DIRECTORY/plug-in-settings"
cat > "$GIMP3_DIRECTORY/plug-in-settings/GimpProcedureConfigRun-plug-in-diffusion-img2img.last" <<'LAST'
# settings

(prompt "a heron")
(negative-prompt "")
(strength 0.6)
(steps 4)
(cfg-scale 7.5)
(sampler "euler_a")
(seed 42)
(random-seed no)
(work-size 128)
(context-padding 16)
(feather 4.0)
(color-match no)
(model NULL)
(vocab NULL)

# end of settings
LAST
cat > "$GIMP3_DIRECTORY/plug-in-settings/GimpProcedureConfigRun-plug-in-diffusion-apply-preset.last" <<'LAST'
# settings

(preset "Test clean fill")
(subject "grass")
(mode "auto")
(model NULL)
(vocab NULL)

# end of settings
LAST

cat > "$WORK/inner.sh" <<INNER
#!/bin/bash
set -u
xwininfo -root >/dev/null 2>&1 || { echo "X display \$DISPLAY not usable"; exit 3; }
rm -f "$GIMP3_DIRECTORY"/backups/backup-*.xcf     # never block on crash recovery
gimp-3.0 --no-splash -d -f --batch-interpreter=python-fu-eval \
  -b "exec(open('$HERE/gui_gimp3_presets.py').read())" --quit >"$WORK/gimp.log" 2>&1 &
GIMP_PID=\$!
# a click on the preset menu (the top row; its label has no mnemonic) opens it on its first
# entry; Return chooses it
"$HERE/gui_drive_presets.sh" "$WORK" "Image to Image" gimp3 68 42 "\$GIMP_PID" click:150,28 Return
rc=\$?
for i in \$(seq 1 120); do kill -0 \$GIMP_PID 2>/dev/null || break; sleep 0.5; done
kill -0 \$GIMP_PID 2>/dev/null && { echo "GIMP still running: killing it"; kill -9 \$GIMP_PID; }
exit \$rc
INNER
chmod +x "$WORK/inner.sh"
t0=$(date +%s)
for try in 1 2 3; do      # a concurrent xvfb-run may grab the same display number
  rc=0
  timeout 600 xvfb-run -a -n $((100 + RANDOM % 800)) -s "-screen 0 1280x800x24" \
    dbus-run-session -- "$WORK/inner.sh" || rc=$?
  [ $rc = 3 ] || break
done
echo "GUI run: $(( $(date +%s) - t0 )) s"
grep -Ev 'CRITICAL|^$|resource name is invalid|Welcome to GIMP|stale context|list of contexts|Broken pipe|dbus-daemon|set device' "$WORK/gimp.log"
[ $rc = 0 ] || { echo "FAIL: driving the GUI failed ($rc)"; exit 1; }
python3 "$HERE/check_gui_presets.py" "$WORK" "$HERE/presets" \
  "$GIMP3_DIRECTORY/diffusion/presets/gui-saved.json"
