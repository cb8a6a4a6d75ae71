#!/bin/bash
# Kills a plug-in of a running GIMP once it has been busy for a while (what GIMP does when
# the user presses Cancel on its progress). usage: kill_plugin.sh GIMP_PID PLUGIN_NAME [SECONDS]
set -u
GIMP_PID=$1 NAME=$2 BUSY=${3:-2}
for _ in $(seq 1 600); do
  # a child of GIMP, or of the GIMP that `timeout` started
  PARENTS=$(pgrep -P "$GIMP_PID" | tr '\n' ,)$GIMP_PID
  PID=$(pgrep -P "$PARENTS" -x "$NAME" | head -1)
  [ -n "$PID" ] && break
  kill -0 "$GIMP_PID" 2>/dev/null || { echo "FAIL: GIMP ended before $NAME started"; exit 1; }
  sleep 0.1
done
[ -n "${PID:-}" ] || { echo "FAIL: $NAME never started"; exit 1; }
sleep "$BUSY"
kill -0 "$PID" 2>/dev/null || { echo "FAIL: $NAME finished within $BUSY s: nothing to cancel"; exit 1; }
kill -9 "$PID"
echo "killed $NAME (pid $PID) after $BUSY s"
