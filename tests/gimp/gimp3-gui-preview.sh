#!/bin/bash
# GUI test of the live preview (GIMP 3, natively or in the chroot by gimp3-chroot.sh): an
# interactive Image to Image run long enough to watch (many steps), the preview window
# screenshotted mid-run (WORK/gimp3-preview-window.png, kept as an artefact), Cancel clicked:
# the run must stop, answer CANCEL, close the window and leave the image byte-identical.
# usage: gimp3-gui-preview.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
source "$(dirname "$0")/common.sh"
gd_start 3 gui3-preview "gui pil" "$@"
gd_profile 3
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB
# 150 denoise steps (the most the dialog takes) at 384 px in fp32: long enough that the
# screenshot ~6 s in never comes after the end (bf16 at 256 px had got down to ~10 s on the
# tiny model), cancelled then
gd3_last_values plug-in-diffusion-img2img <<LAST
(prompt "a red barn in a field")
(negative-prompt "")
(strength 1.0)
(steps 150)
(cfg-scale 7.5)
(sampler "euler_a")
(seed 42)
(random-seed no)
(work-size 384)
(context-padding 16)
(feather 4.0)
(color-match no)
(model NULL)
(vocab NULL)
(precision "fp32")
LAST

# OK: as gimp3-gui.sh; Cancel: the preview window's only button, bottom right
gd_gui_run "$GIMP3_GUI" --no-splash -d -f --batch-interpreter=python-fu-eval \
  -b "exec(open('$HERE/gui_gimp3_preview.py').read())" --quit \
  -- "$HERE/gui_drive_preview.sh" "$WORK" "Image to Image" gimp3 68 42 52 29
gd_show_log 3 "$WORK/gimp.log"
[ $rc = 0 ] || fail "driving the GUI failed ($rc)"
[ "$(cat "$WORK/marker")" = RAN ] || fail "the GUI batch stopped at: $(cat "$WORK/marker")"
status=$(cat "$WORK/status.txt")
[ "$status" = "cancel layers=1 dirty=False" ] ||
  fail "after Cancel: $status (want the CANCEL status, no new layer, a clean image)"
echo "ok   Cancel from the preview: $status"
cmp -s "$WORK/preview-before.xcf" "$WORK/preview-after.xcf" ||
  fail "the image changed: preview-after.xcf differs from preview-before.xcf"
echo "ok   the image is byte-identical after Cancel (XCF before = after)"
[ -s "$WORK/gimp3-preview-window.png" ] || fail "no screenshot of the preview window"
echo "ok   screenshot: $WORK/gimp3-preview-window.png"
