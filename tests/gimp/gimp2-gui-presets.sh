#!/bin/bash
# GUI test of the preset row in the GIMP 2.10 plug-in's dialog, under Xvfb: picking a preset
# fills the fields, "Save as Preset..." writes them to the profile, OK runs with them.
# Screenshots are kept in the artefact folder. usage: gimp2-gui-presets.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped (no GIMP 2.10 / X tools, or plug-in not built for it).
set -u
PLUGIN=${1:-} MODEL=${2:-} VOCAB=${3:-} WORK=$(realpath -m "${4:?artefact dir}")
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
for t in gimp-2.10 gimp-console-2.10 xvfb-run xdotool xwininfo import dbus-run-session; do
  command -v $t >/dev/null || skip "$t is not installed"
done
[ -n "$PLUGIN" ] && [ -x "$PLUGIN" ] || skip "the GIMP 2.10 front end was not built (meson -Dgimp=2)"

rm -rf "$WORK"; mkdir -p "$WORK/tmp"
export TMPDIR=$WORK/tmp GIMP2_DIRECTORY=$WORK/profile XDG_CONFIG_HOME=$WORK/config
# the dialog's model field is empty: the plug-in takes the model from the environment
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB
timeout 300 gimp-console-2.10 -i -d -f -b '(gimp-quit 0)' >"$WORK/first-start.log" 2>&1
mkdir -p "$GIMP2_DIRECTORY/plug-ins" "$GIMP2_DIRECTORY/diffusion/presets"
install -m 755 "$PLUGIN" "$GIMP2_DIRECTORY/plug-ins/gimp-diffusion"
# the first preset in the menu is the test's "Fast draft" (it overrides the shipped one)
cp "$HERE"/presets/*.json "$GIMP2_DIRECTORY/diffusion/presets/"
/usr/bin/python3 "$HERE/make_input.py" "$WORK/in.png"

cat > "$WORK/inner.sh" <<INNER
#!/bin/bash
set -u
xwininfo -root >/dev/null 2>&1 || { echo "X display \$DISPLAY not usable"; exit 3; }
rm -f "$GIMP2_DIRECTORY"/backups/backup-*.xcf     # never block on crash recovery
gimp-2.10 --no-splash -d -f \
  -b '(begin (load "$HERE/gui-gimp2-presets.scm") (gd-gui-presets "$WORK" "$MODEL" "$VOCAB"))' \
  -b '(gimp-quit 1)' >"$WORK/gimp.log" 2>&1 &
GIMP_PID=\$!
# Alt+S: the preset menu's mnemonic ("Pre_set"); Down: its first entry
"$HERE/gui_drive_presets.sh" "$WORK" "Image to Image" gimp2 55 28 "\$GIMP_PID" alt+s Down
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
grep -v 'Gtk-WARNING\|^$\|dbus-daemon' "$WORK/gimp.log"
[ $rc = 0 ] || { echo "FAIL: driving the GUI failed ($rc)"; exit 1; }
/usr/bin/python3 "$HERE/check_gui_presets.py" "$WORK" "$HERE/presets" \
  "$GIMP2_DIRECTORY/diffusion/presets/gui-saved.json"
