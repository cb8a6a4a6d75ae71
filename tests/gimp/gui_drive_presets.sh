#!/bin/bash
# Drives the preset row of a plug-in dialog under X (gimp2-gui-presets.sh,
# gimp3-gui-presets.sh): waits for the dialog, picks the first preset with the keyboard,
# saves the dialog's values with "Save as Preset..." under the name "GUI saved", clicks OK;
# then clicks OK in the Apply Preset dialog the batch opens next, and waits for the batch
# script to finish (marker file in WORK). Screenshots each step.
# usage: gui_drive_presets.sh GIMP_PID WORK DIALOG_TITLE PREFIX OK_DX OK_DY PICK...
#   OK_DX/OK_DY: the OK button's offset from the dialog's bottom-right corner
#   PICK: the steps that focus the preset menu and choose its first entry: xdotool key
#         names, or click:X,Y for a click at X,Y of the dialog
set -u
GIMP_PID=$1 WORK=$2 TITLE=$3 PRE=$4 DX=$5 DY=$6
shift 6
. "$(dirname "$0")/gui_lib.sh"
WID=$(wait_win "$TITLE") || { echo "the dialog '$TITLE' did not appear"; exit 1; }
sleep 2                                               # let it draw
import -window "$WID" "$WORK/$PRE-1-opened.png"
xdotool windowfocus --sync "$WID" 2>/dev/null || xdotool windowfocus "$WID"
for step in "$@"; do
  case $step in
    click:*) xy=${step#click:}
             xdotool mousemove --window "$WID" "${xy%,*}" "${xy#*,}" click 1 ;;
    *) xdotool key --clearmodifiers "$step" ;;
  esac
  sleep 0.5
done
sleep 1
import -window "$WID" "$WORK/$PRE-2-picked.png"
# the "Save as Preset..." button follows the menu in the focus chain
xdotool key --clearmodifiers Tab Return
SID=$(wait_win "Save as Preset") || { echo "the Save as Preset dialog did not appear"; exit 1; }
sleep 1
xdotool windowfocus --sync "$SID" 2>/dev/null || xdotool windowfocus "$SID"
xdotool key --clearmodifiers ctrl+a
xdotool type --delay 20 "GUI saved"
import -window "$SID" "$WORK/$PRE-3-save-dialog.png"
xdotool key --clearmodifiers Return
for _ in $(seq 1 20); do [ -z "$(win "\"Save as Preset\"")" ] && break; sleep 0.5; done
[ -z "$(win "\"Save as Preset\"")" ] || { echo "the Save as Preset dialog did not close"; exit 1; }
sleep 1
import -window "$WID" "$WORK/$PRE-4-saved.png"
click "$WID" "$DX" "$DY"

# then the batch opens Apply Preset (from its last values): OK
AID=$(wait_win "Apply Preset") || { echo "the Apply Preset dialog did not appear"; exit 1; }
sleep 2
import -window "$AID" "$WORK/$PRE-5-apply-preset.png"
click "$AID" "$DX" "$DY"
wait_marker OK 600 && exit 0
echo "the runs did not finish"
exit 1
