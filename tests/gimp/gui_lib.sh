# What the X drivers of the GUI tests share (gui_drive.sh, gui_drive_presets.sh,
# gui_drive_preview.sh source it): finding windows, clicking a button by its offset, waiting
# for the batch script's marker. Needs GIMP_PID and WORK set by the driver.

# win TITLE: the id of the first window whose xwininfo line contains TITLE
win() { xwininfo -root -tree 2>/dev/null | awk -v t="$1" 'index($0, t) { print $1; exit }'; }

# wait_win TITLE: waits (up to 2 min) for a window titled TITLE and prints its id; fails
# when GIMP ends first
wait_win() {
  local w
  for _ in $(seq 1 240); do
    w=$(win "\"$1\""); [ -n "$w" ] && { echo "$w"; return 0; }
    kill -0 "$GIMP_PID" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

# click WINDOW DX DY: a click at that offset from the window's bottom-right corner
click() {
  local WIDTH HEIGHT X Y SCREEN WINDOW
  eval "$(xdotool getwindowgeometry --shell "$1")"
  xdotool mousemove --window "$1" $((WIDTH - $2)) $((HEIGHT - $3)) click 1
  echo "clicked at ($((WIDTH - $2)), $((HEIGHT - $3))) of the ${WIDTH}x${HEIGHT} window $1"
}

# wait_marker VALUE TRIES: waits (TRIES x 0.5 s) until WORK/marker holds VALUE; fails when
# GIMP ends first or time runs out
wait_marker() {
  for _ in $(seq 1 "$2"); do
    [ "$(cat "$WORK/marker" 2>/dev/null)" = "$1" ] && return 0
    kill -0 "$GIMP_PID" 2>/dev/null || { echo "GIMP ended before the run finished"; return 1; }
    sleep 0.5
  done
  [ "$(cat "$WORK/marker" 2>/dev/null)" = "$1" ]
}
