#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time.
#
#   tests/fuzz/run_fuzzers.sh            replay regressions + corpus, then fuzz each target
#   tests/fuzz/run_fuzzers.sh --replay   only replay tests/fuzz/regressions and the corpus
#
# Environment: FUZZ_SECONDS (per target, default 45), FUZZ_BUILD (default build-fuzz in
# the repository), SD_FUZZ_CLIP_DIR (default ../shared/clip beside the repository),
# FUZZ_TARGETS (default: all seven), FUZZ_JOBS (build jobs), CC (default clang).
# Fails on any crash, sanitizer report, leak or timeout. A crashing input is kept in
# $FUZZ_BUILD/artifacts/; copy it into tests/fuzz/regressions/<target>/ once fixed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ="$ROOT/tests/fuzz"
BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-45}
CC=${CC:-clang}
export SD_FUZZ_CLIP_DIR=${SD_FUZZ_CLIP_DIR:-$ROOT/../shared/clip}
export SD_FUZZ_MODEL=${SD_FUZZ_MODEL:-$ROOT/../shared/golden/tiny-sd1.safetensors}
TARGETS=${FUZZ_TARGETS:-fuzz_safetensors fuzz_tokenizer fuzz_vocab fuzz_preset fuzz_image fuzz_taesd fuzz_lora}
REPLAY_ONLY=0
[ "${1:-}" = "--replay" ] && REPLAY_ONLY=1

# Bigger inputs than libFuzzer's default 4 KiB where the seeds are bigger (model skeletons;
# for images, room for several chunks, scans or a 16-bit PNG).
declare -A MAX_LEN=([fuzz_safetensors]=32768 [fuzz_tokenizer]=2048 [fuzz_vocab]=16384
                    [fuzz_preset]=4096 [fuzz_image]=16384 [fuzz_taesd]=32768 [fuzz_lora]=16384)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# A meson build of the whole engine with clang: coverage-instrumented (fuzzer-no-link),
# ASan + UBSan; tests/fuzz/meson.build adds the libFuzzer executables in such a build.
# f16c=disabled: the SIMD kernels do not read hostile input, and clang 14 does not know
# __builtin_cpu_supports("f16c").
if [ ! -f "$BUILD/build.ninja" ]; then
  CC="$CC" meson setup "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dgimp=none -Df16c=disabled \
    -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer"
fi
bins=()
for t in $TARGETS; do bins+=("tests/fuzz/$t"); done
echo "== build ${TARGETS}"
ninja -C "$BUILD" -j "${FUZZ_JOBS:-$(nproc)}" "${bins[@]}"
mkdir -p "$BUILD/artifacts"

failed=0
bad_targets=""
fail() { failed=$((failed + 1)); case " $bad_targets " in *" $1 "*) ;; *) bad_targets="$bad_targets $1";; esac; }
for t in $TARGETS; do
  inputs=("$FUZZ/corpus/$t")
  [ -d "$FUZZ/regressions/$t" ] && inputs+=("$FUZZ/regressions/$t")
  echo "== replay $t"
  files=()
  for d in "${inputs[@]}"; do
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f -print0 | sort -z)
  done
  if ! "$BUILD/tests/fuzz/$t" -runs=1 -detect_leaks=1 "${files[@]}" >"$BUILD/$t.replay.log" 2>&1; then
    echo "FAIL: $t crashes on a saved input:"; tail -n 60 "$BUILD/$t.replay.log"
    fail "$t"
  fi
done

if [ "$REPLAY_ONLY" = 0 ]; then
  for t in $TARGETS; do
    # libFuzzer adds what it finds to the first folder: a scratch copy, not the repository
    work="$BUILD/corpus/$t"
    mkdir -p "$work"
    cp -n "$FUZZ/corpus/$t"/* "$work"/ 2>/dev/null || true
    echo "== fuzz $t for ${SECONDS_EACH}s"
    start=$(date +%s)
    if "$BUILD/tests/fuzz/$t" "$work" -max_total_time="$SECONDS_EACH" -max_len="${MAX_LEN[$t]}" \
         -timeout=20 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
         -artifact_prefix="$BUILD/artifacts/$t-" >"$BUILD/$t.fuzz.log" 2>&1; then
      echo "   ok: $(grep -E '^stat::number_of_executed_units' "$BUILD/$t.fuzz.log" | awk '{print $2}') runs in $(( $(date +%s) - start ))s"
    else
      echo "FAIL: $t:"; grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$BUILD/$t.fuzz.log" | head -n 20
      tail -n 60 "$BUILD/$t.fuzz.log"
      fail "$t"
    fi
  done
fi

n=$(echo $TARGETS | wc -w)
nbad=$(echo $bad_targets | wc -w)
[ -n "$bad_targets" ] && echo "failing targets:$bad_targets"
echo "fuzz: $((n - nbad)) passed, $nbad failed"
[ "$failed" = 0 ]
