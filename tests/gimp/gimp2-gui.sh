#!/bin/bash
# GUI test of the GIMP 2.10 plug-in under Xvfb: screenshots of the dialog (kept as
# artefacts), OK clicked with xdotool, the result checked, then Ctrl+Z must restore the
# image. usage: gimp2-gui.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped (no GIMP 2.10 / X tools, or plug-in not built for it).
set -u
source "$(dirname "$0")/common.sh"
gd_start 2 gui2 "gui pil" "$@"
gd_profile 2
# the dialog's model field is empty: the plug-in must take the model from the environment
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB

# the dialog's first LoRA chooser holds the LoRA fixture (when there is one)
gd_options_config || LORA=
gd_gui_run gimp-2.10 --no-splash -d -f \
  -b "(begin (load \"$HERE/gui-gimp2.scm\") (gd-gui \"$WORK\" \"$MODEL\" \"$VOCAB\" \"$LORA\"))" \
  -b '(gimp-quit 1)' -- "$HERE/gui_drive.sh" "$WORK" "Image to Image" gimp2 55 28
gd_show_log 2 "$WORK/gimp.log"
[ $rc = 0 ] || fail "driving the GUI failed ($rc)"
gd_check_gui_undo
gd_check_gui_lora
gd_check_gui_precision
