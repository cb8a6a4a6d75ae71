#!/bin/sh
# The test command (README): configure once, build, run every test with meson.
# Under CI (CI=true) warnings are errors.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
    if [ "${CI:-}" = true ]; then
        meson setup "$BUILD" -Dwerror=true
    else
        meson setup "$BUILD"
    fi
fi
meson compile -C "$BUILD"
meson test -C "$BUILD" --print-errorlogs "$@"
