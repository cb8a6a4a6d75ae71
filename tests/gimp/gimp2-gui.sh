#!/bin/bash
# GUI test of the GIMP 2.10 plug-in under Xvfb: screenshots of the dialog (kept as
# artefacts), OK clicked with xdotool, the result checked, then Ctrl+Z must restore the
# image. usage: gimp2-gui.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped (no GIMP 2.10 / X tools, or plug-in not built for it).
set -u
PLUGIN=${1:-} MODEL=${2:-} VOCAB=${3:-} WORK=$(realpath -m "${4:?artefact dir}")
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
for t in gimp-2.10 gimp-console-2.10 xvfb-run xdotool xwininfo import dbus-run-session; do
  command -v $t >/dev/null || skip "$t is not installed"
done
[ -n "$PLUGIN" ] && [ -x "$PLUGIN" ] || skip "the GIMP 2.10 front end was not built (meson -Dgimp=2)"
/usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "python3-pil is not installed"

rm -rf "$WORK"; mkdir -p "$WORK/tmp"
export TMPDIR=$WORK/tmp GIMP2_DIRECTORY=$WORK/profile XDG_CONFIG_HOME=$WORK/config
# the dialog's model field is empty: the plug-in must take the model from the environment
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB
timeout 300 gimp-console-2.10 -i -d -f -b '(gimp-quit 0)' >"$WORK/first-start.log" 2>&1
mkdir -p "$GIMP2_DIRECTORY/plug-ins"
install -m 755 "$PLUGIN" "$GIMP2_DIRECTORY/plug-ins/gimp-diffusion"
/usr/bin/python3 "$HERE/make_input.py" "$WORK/in.png"

cat > "$WORK/inner.sh" <<INNER
#!/bin/bash
set -u
xwininfo -root >/dev/null 2>&1 || { echo "X display \$DISPLAY not usable"; exit 3; }
rm -f "$GIMP2_DIRECTORY"/backups/backup-*.xcf     # never block on crash recovery
gimp-2.10 --no-splash -d -f \
  -b '(begin (load "$HERE/gui-gimp2.scm") (gd-gui "$WORK" "$MODEL" "$VOCAB"))' \
  -b '(gimp-quit 1)' >"$WORK/gimp.log" 2>&1 &
GIMP_PID=\$!
"$HERE/gui_drive.sh" "$WORK" "Image to Image" gimp2 55 28 "\$GIMP_PID"
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
[ "$(cat "$WORK/marker")" = OK ] || { echo "FAIL: the GUI batch stopped at: $(cat "$WORK/marker")"; exit 1; }
name=$(cat "$WORK/layer-name.txt")
[ "$name" = "a red barn in a field" ] || { echo "FAIL: layer '$name': the dialog did not start from the last values"; exit 1; }
echo "ok   dialog started from the last values (layer '$name')"
/usr/bin/python3 "$HERE/same_pixels.py" "$WORK/in.png" "$WORK/undone-out.png" "image after Ctrl+Z"
