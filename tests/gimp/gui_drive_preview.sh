#!/bin/bash
# Drives the preview GUI test under X (gimp3-gui-preview.sh): waits for the plug-in's
# dialog and clicks OK, waits for the preview window, lets the picture form for a few
# steps, screenshots it (the whole screen and the window), clicks its Cancel, then waits
# for the batch script to record the outcome (marker files in WORK).
# usage: gui_drive_preview.sh GIMP_PID WORK DIALOG_TITLE PREFIX OK_DX OK_DY CANCEL_DX CANCEL_DY
#   *_DX/*_DY: the button's offset from its window's bottom-right corner
set -u
GIMP_PID=$1 WORK=$2 TITLE=$3 PRE=$4 DX=$5 DY=$6 CDX=$7 CDY=$8
. "$(dirname "$0")/gui_lib.sh"
WID=$(wait_win "$TITLE") || { echo "the dialog '$TITLE' did not appear"; exit 1; }
sleep 2                                               # let it draw
click "$WID" "$DX" "$DY"
PW=$(wait_win "$TITLE: preview") || { echo "the preview window did not appear"; exit 1; }
# a few steps' pictures (the run lasts far longer: its last values ask for many steps)
sleep 6
[ "$(cat "$WORK/marker" 2>/dev/null)" = RAN ] && { echo "the run ended before the screenshot"; exit 1; }
import -window root "$WORK/$PRE-preview.png"
import -window "$PW" "$WORK/$PRE-preview-window.png"
click "$PW" "$CDX" "$CDY"
wait_marker RAN 240 || { echo "the run did not stop after Cancel"; exit 1; }
[ -z "$(win "\"$TITLE: preview\"")" ] || { echo "the preview window is still open"; exit 1; }
echo "the preview window closed"
