#!/bin/bash
# GUI test of the preset row in the GIMP 3 plug-in's GimpProcedureDialog, under Xvfb
# (natively, or in the chroot by gimp3-chroot.sh ... gui-presets): picking a preset fills the
# fields, "Save as Preset..." writes them to the profile, OK runs with them. Screenshots are
# kept in the artefact folder. usage: gimp3-gui-presets.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u
source "$(dirname "$0")/common.sh"
gd_start 3 gui3-presets "gui pil" "$@"
GD_ONLY_OVERRIDDEN_SHIPPED=1 gd_profile 3 presets  # the first preset in the menu is the test's "Fast draft"
# the dialog's model field is empty: the plug-in must take the model from the environment
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB
gd3_img2img_last "a heron"             # the dialogs must start from these
gd3_last_values plug-in-diffusion-apply-preset <<'LAST'
(preset "Test clean fill")
(subject "grass")
(mode "auto")
(model NULL)
(vocab NULL)
LAST

# a click on the preset menu (the top row; its label has no mnemonic) opens it on its first
# entry; Return chooses it
gd_gui_run "$GIMP3_GUI" --no-splash -d -f --batch-interpreter=python-fu-eval \
  -b "exec(open('$HERE/gui_gimp3_presets.py').read())" --quit \
  -- "$HERE/gui_drive_presets.sh" "$WORK" "Image to Image" gimp3 68 42 click:150,28 Return
gd_show_log 3 "$WORK/gimp.log"
[ $rc = 0 ] || fail "driving the GUI failed ($rc)"
"$PY" "$HERE/check_gui_presets.py" "$WORK" "$HERE/presets" \
  "$GIMP3_DIRECTORY/diffusion/presets/gui-saved.json"
