#!/bin/bash
# GUI test of the GIMP 3 plug-in under Xvfb (natively, or in the chroot by gimp3-chroot.sh):
# screenshots of the GimpProcedureDialog (kept as artefacts), OK clicked with xdotool, the
# result checked, then Ctrl+Z must restore the image.
# usage: gimp3-gui.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
source "$(dirname "$0")/common.sh"
gd_start 3 gui3 "gui pil" "$@"
gd_profile 3
# the dialog's model field is empty: the plug-in must take the model from the environment
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB
# the dialog must start from these; its first LoRA chooser holds the LoRA fixture (when
# there is one)
gd_options_config || LORA=
gd3_img2img_last "a red barn in a field" "$LORA"

gd_gui_run "$GIMP3_GUI" --no-splash -d -f --batch-interpreter=python-fu-eval \
  -b "exec(open('$HERE/gui_gimp3.py').read())" --quit \
  -- "$HERE/gui_drive.sh" "$WORK" "Image to Image" gimp3 68 42
gd_show_log 3 "$WORK/gimp.log"
[ $rc = 0 ] || fail "driving the GUI failed ($rc)"
gd_check_gui_undo
gd_check_gui_lora
gd_check_gui_precision
