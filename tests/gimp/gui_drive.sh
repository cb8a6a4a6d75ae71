#!/bin/bash
# Drives a GIMP GUI test under X (gimp2-gui.sh, gimp3-gui.sh): waits for the plug-in's
# dialog, screenshots it, clicks OK, waits for the run, screenshots the result, presses
# Ctrl+Z in the image window and tells the batch script (marker files in WORK).
# usage: gui_drive.sh GIMP_PID WORK DIALOG_TITLE PREFIX OK_DX OK_DY
#   OK_DX/OK_DY: the OK button's offset from the dialog's bottom-right corner
set -u
GIMP_PID=$1 WORK=$2 TITLE=$3 PRE=$4 DX=$5 DY=$6
win() { xwininfo -root -tree 2>/dev/null | awk -v t="$1" 'index($0, t) { print $1; exit }'; }
for _ in $(seq 1 240); do
  WID=$(win "\"$TITLE\""); [ -n "$WID" ] && break
  kill -0 "$GIMP_PID" 2>/dev/null || { echo "GIMP ended before the dialog appeared"; exit 1; }
  sleep 0.5
done
[ -n "$WID" ] || { echo "the dialog '$TITLE' did not appear"; exit 1; }
sleep 2                                               # let it draw
import -window root "$WORK/$PRE-dialog.png"
import -window "$WID" "$WORK/$PRE-dialog-window.png"
eval "$(xdotool getwindowgeometry --shell "$WID")"
xdotool mousemove --window "$WID" $((WIDTH - DX)) $((HEIGHT - DY)) click 1
echo "clicked OK at ($((WIDTH - DX)), $((HEIGHT - DY))) of the ${WIDTH}x${HEIGHT} dialog"
for _ in $(seq 1 600); do
  [ "$(cat "$WORK/marker" 2>/dev/null)" = RAN ] && break
  kill -0 "$GIMP_PID" 2>/dev/null || { echo "GIMP ended before the run finished"; exit 1; }
  sleep 0.5
done
[ "$(cat "$WORK/marker" 2>/dev/null)" = RAN ] || { echo "the run did not finish"; exit 1; }
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
