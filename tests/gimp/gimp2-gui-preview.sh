#!/bin/bash
# GUI test of the live preview (GIMP 2.10) under Xvfb: an interactive Image to Image run
# long enough to watch (150 steps at 256 px in fp32, the last values a first run left: bf16
# at 192 px had got so fast that the run could end before the screenshot 6 s in), the
# preview window screenshotted mid-run (WORK/gimp2-preview-window.png, kept as an
# artefact), Cancel clicked: the run must stop, close the window, add no layer and leave
# the image byte-identical.
# usage: gimp2-gui-preview.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped (no GIMP 2.10 / X tools, or plug-in not built for it).
set -u
source "$(dirname "$0")/common.sh"
gd_start 2 gui2-preview "gui pil" "$@"
gd_profile 2
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB

# OK: as gimp2-gui.sh; Cancel: the preview window's only button, bottom right
gd_gui_run gimp-2.10 --no-splash -d -f \
  -b "(begin (load \"$HERE/gui-gimp2-preview.scm\") (gd-gui-preview \"$WORK\" \"$MODEL\" \"$VOCAB\"))" \
  -b '(gimp-quit 1)' -- "$HERE/gui_drive_preview.sh" "$WORK" "Image to Image" gimp2 55 28 52 29
gd_show_log 2 "$WORK/gimp.log"
[ $rc = 0 ] || fail "driving the GUI failed ($rc)"
[ "$(cat "$WORK/marker")" = RAN ] || fail "the GUI batch stopped at: $(cat "$WORK/marker")"
status=$(cat "$WORK/status.txt")
# "cancel": the call returned no values (a success returns the layer, an error raises)
[ "$status" = "cancel layers=1 dirty=False" ] ||
  fail "after Cancel: $status (want cancel, no new layer, a clean image)"
echo "ok   Cancel from the preview: $status"
cmp -s "$WORK/preview-before.xcf" "$WORK/preview-after.xcf" ||
  fail "the image changed: preview-after.xcf differs from preview-before.xcf"
echo "ok   the image is byte-identical after Cancel (XCF before = after)"
[ -s "$WORK/gimp2-preview-window.png" ] || fail "no screenshot of the preview window"
echo "ok   screenshot: $WORK/gimp2-preview-window.png"
