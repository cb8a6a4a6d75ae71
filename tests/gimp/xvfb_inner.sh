#!/bin/bash
# Inside xvfb-run and dbus-run-session (common.sh gd_gui_run): starts GIMP, runs the driver
# that works its dialogs, then waits for GIMP to end (kills it after a minute).
# usage: xvfb_inner.sh LOG PROFILE GIMP_ARGS... -- DRIVER DRIVER_ARGS...
#   the driver is called as DRIVER GIMP_PID DRIVER_ARGS...
# Exit: the driver's status; 3 = the X display was not usable (the caller retries).
set -u
LOG=$1 PROFILE=$2
shift 2
gimp=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do gimp+=("$1"); shift; done
shift
xwininfo -root >/dev/null 2>&1 || { echo "X display $DISPLAY not usable"; exit 3; }
rm -f "$PROFILE"/backups/backup-*.xcf     # never block on crash recovery
"${gimp[@]}" >"$LOG" 2>&1 &
GIMP_PID=$!
driver=$1
shift
"$driver" "$GIMP_PID" "$@"
rc=$?
for _ in $(seq 1 120); do kill -0 $GIMP_PID 2>/dev/null || break; sleep 0.5; done
kill -0 $GIMP_PID 2>/dev/null && { echo "GIMP still running: killing it"; kill -9 $GIMP_PID; }
exit $rc
