#!/bin/bash
# Drives a GIMP GUI test under X (gimp2-gui.sh, gimp3-gui.sh): waits for the plug-in's
# dialog, screenshots it, clicks OK, waits for the run, screenshots the result, presses
# Ctrl+Z in the image window and tells the batch script (marker files in WORK).
# usage: gui_drive.sh GIMP_PID WORK DIALOG_TITLE PREFIX OK_DX OK_DY
#   OK_DX/OK_DY: the OK button's offset from the dialog's bottom-right corner
set -u
GIMP_PID=$1 WORK=$2 TITLE=$3 PRE=$4 DX=$5 DY=$6
. "$(dirname "$0")/gui_lib.sh"
WID=$(wait_win "$TITLE") || { echo "the dialog '$TITLE' did not appear"; exit 1; }
sleep 2                                               # let it draw
import -window root "$WORK/$PRE-dialog.png"
import -window "$WID" "$WORK/$PRE-dialog-window.png"
click "$WID" "$DX" "$DY"
wait_marker RAN 600 || { echo "the run did not finish"; exit 1; }
sleep 1
import -window root "$WORK/$PRE-result.png"
# the image window: "*in.png-2.0 (RGB color ...) 200x150 – GIMP" ("*" = dirty)
IMG=$(win "– GIMP\"")
[ -n "$IMG" ] || { echo "no image window among:"; xwininfo -root -tree | grep -o "\"[^\"]*\"" | sort -u | head -40; exit 1; }
xdotool windowfocus --sync "$IMG" 2>/dev/null || xdotool windowfocus "$IMG"
sleep 0.5
xdotool key --clearmodifiers ctrl+z
sleep 1
import -window root "$WORK/$PRE-undone.png"
touch "$WORK/undone"
echo "pressed Ctrl+Z in window $IMG"
