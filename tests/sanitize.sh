#!/bin/bash
# The whole meson test suite built with AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   tests/sanitize.sh [meson test arguments...]
#
# Any sanitizer report fails the test that triggered it: UBSan halts on the first
# error, ASan checks for leaks at exit. tests/lsan.supp silences leaks inside
# third-party libraries only (GEGL/GLib/fontconfig keep caches until exit).
# Environment: SAN_BUILD (default build-asan), SAN_JOBS (default: all cores),
# SAN_SUITES (default: every suite but 'gimp'; "all" runs that too).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${SAN_BUILD:-build-asan}
JOBS=${SAN_JOBS:-$(nproc)}

if [ ! -f "$BUILD/build.ninja" ]; then
  # b_lundef=false: sanitizer runtimes are linked into executables, not shared objects.
  # -O1 keeps the U-Net/VAE tests affordable under ASan while keeping exact stack traces.
  meson setup "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
    -Doptimization=1 -Ddebug=true -Dc_args=-fno-omit-frame-pointer \
    ${SAN_MESON_ARGS:-}
fi
meson compile -C "$BUILD" -j "$JOBS"

# fast_unwind_on_malloc=0: GEGL/GLib are built without frame pointers, and only full
# stacks name the library that tests/lsan.supp matches.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0

args=(--print-errorlogs --timeout-multiplier "${SAN_TIMEOUT_MULTIPLIER:-3}")
if [ "${SAN_SUITES:-}" != all ]; then
  # the GIMP end-to-end suite drives GIMP itself, which is not built with sanitizers
  args+=(--no-suite gimp)
fi
meson test -C "$BUILD" "${args[@]}" "$@"
