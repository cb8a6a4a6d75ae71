#!/bin/bash
# The test command (README). With no argument it runs everything CI runs:
#   1. configure once, build, and every meson test (engine, golden parity, CLI, the plug-in
#      inside real GIMP 2.10 and GIMP 3, the hostile-input matrix, fuzz-corpus replays);
#   2. the libFuzzer targets for a bounded time (tests/fuzz/run_fuzzers.sh, needs clang);
#   3. the whole suite again under ASan + UBSan (tests/sanitize.sh);
#   4. two contexts at once under ThreadSanitizer (tests/tsan.sh).
# tests/run.sh --quick runs step 1 only. Under CI (CI=true) warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
QUICK=0
if [ "${1:-}" = --quick ]; then
    QUICK=1
    shift
fi
if [ ! -f "$BUILD/build.ninja" ]; then
    if [ "${CI:-}" = true ]; then
        meson setup "$BUILD" -Dwerror=true
    else
        meson setup "$BUILD"
    fi
fi
meson compile -C "$BUILD"
meson test -C "$BUILD" --print-errorlogs "$@"
[ "$QUICK" = 1 ] && exit 0

if ! command -v clang >/dev/null; then
    echo "tests/run.sh: clang is needed for the fuzzers and the sanitizer runs" \
         "(apt-get install clang libclang-rt-14-dev), or run tests/run.sh --quick" >&2
    exit 1
fi
echo "== fuzzers (bounded) =="
tests/fuzz/run_fuzzers.sh
echo "== ASan + UBSan suite =="
tests/sanitize.sh --print-errorlogs
echo "== ThreadSanitizer =="
tests/tsan.sh
echo "all test stages passed"
