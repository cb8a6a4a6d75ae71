#!/bin/bash
# GUI test of the preset row in the GIMP 2.10 plug-in's dialog, under Xvfb: picking a preset
# fills the fields, "Save as Preset..." writes them to the profile, OK runs with them.
# Screenshots are kept in the artefact folder. usage: gimp2-gui-presets.sh PLUGIN MODEL VOCAB ARTEFACT_DIR
# Exit 0 = pass, 1 = fail, 77 = skipped (no GIMP 2.10 / X tools, or plug-in not built for it).
set -u
source "$(dirname "$0")/common.sh"
gd_start 2 gui2-presets "gui" "$@"
GD_ONLY_OVERRIDDEN_SHIPPED=1 gd_profile 2 presets  # the first preset in the menu is the test's "Fast draft"
# the dialog's model field is empty: the plug-in takes the model from the environment
export GIMP_DIFFUSION_MODEL=$MODEL GIMP_DIFFUSION_VOCAB=$VOCAB

# Alt+S: the preset menu's mnemonic ("Pre_set"); Down: its first entry
gd_gui_run gimp-2.10 --no-splash -d -f \
  -b "(begin (load \"$HERE/gui-gimp2-presets.scm\") (gd-gui-presets \"$WORK\" \"$MODEL\" \"$VOCAB\"))" \
  -b '(gimp-quit 1)' -- "$HERE/gui_drive_presets.sh" "$WORK" "Image to Image" gimp2 55 28 alt+s Down
gd_show_log 2 "$WORK/gimp.log"
[ $rc = 0 ] || fail "driving the GUI failed ($rc)"
"$PY" "$HERE/check_gui_presets.py" "$WORK" "$HERE/presets" \
  "$GIMP2_DIRECTORY/diffusion/presets/gui-saved.json"
