#!/bin/bash
# Two model contexts generating at once (tests/unit/test_threads.c), built with
# ThreadSanitizer: any data race between the contexts fails the run.
#
#   tests/tsan.sh
#
# Environment: TSAN_BUILD (default build-tsan), TSAN_JOBS (default: all cores),
# SHARED_DIR (default ../shared beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TSAN_BUILD:-build-tsan}
JOBS=${TSAN_JOBS:-$(nproc)}
SHARED=${SHARED_DIR:-$(pwd)/../shared}

if [ ! -f "$BUILD/build.ninja" ]; then
  # the plug-in front ends are not needed: only tests/test-threads is built
  meson setup "$BUILD" -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized \
    -Dgimp=none
fi
ninja -C "$BUILD" -j "$JOBS" tests/test-threads

# halt_on_error: the first race fails the run (exit 66) with both stacks printed.
opts="halt_on_error=1 second_deadlock_stack=1 history_size=4 ${TSAN_EXTRA_OPTIONS:-}"

# 1. OpenBLAS on the calling thread (and so one ops worker): every access is ours and
#    every synchronisation is a pthread call, so TSan sees all; nothing is suppressed.
echo "== two contexts, single-threaded math"
OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="$opts" "$BUILD/tests/test-threads" "$SHARED"

# 2. Default threads: the ops' own worker threads too (each calling OpenBLAS, which runs
#    single-threaded inside them). tests/tsan.supp drops the reports with an OpenBLAS
#    frame, whose internals TSan cannot see (see there).
echo "== two contexts, multi-threaded math"
TSAN_OPTIONS="$opts suppressions=$(pwd)/tests/tsan.supp" "$BUILD/tests/test-threads" "$SHARED"
