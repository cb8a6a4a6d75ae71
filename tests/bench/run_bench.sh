#!/bin/bash
# Speed benchmark of issue 9 (not part of `meson test`).
#
# Builds tests/bench, generates (once) a full-size SD 1.5-shaped fp16 checkpoint with random
# weights (~2.1 GB, kept in $BENCH_DIR, default /var/tmp/gimp-diffusion-bench), measures the
# machine's sgemm rate, then runs each scenario in its own process (so each peak RSS is its
# own): 512² img2img, 256² img2img, 512² inpaint (4-channel U-Net, centre square masked), all
# strength 0.75, 20 steps (15 run), CFG 7.5, euler_a.
#
# usage: tests/bench/run_bench.sh [--quick K] [--repeat R] [--only NAME] [--threads T]
#                                 [BUILD_DIR [SHARED_DIR]] [-- BENCH_RUN_OPTIONS]
#   --quick K    run K U-Net steps per scenario and extrapolate to 15 (default: full runs)
#   --repeat R   runs per scenario, medians reported (default 1; noisy machines want 3)
#   --only NAME  img2img512 | img2img256 | inpaint512 | sgemm | ops | taesd
#   --threads T  engine threads (default: all cores)
#   after --, options for every `bench run`: --sampler NAME, --cfg X, --steps N,
#   --strength X, --vae-tile PX (the speed/quality options of the README's table)
#
# stable-diffusion.cpp on the same machine and job: tests/bench/sdcpp_side_by_side.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
quick=
repeat=1
only=
threads=0
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick="--quick $2"; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
positional=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    positional+=("$1")
    shift
done
[ "${1:-}" = -- ] && shift
extra=("$@")
# What users run: install.sh builds with -Dbuildtype=release (-O3), so the bench does too,
# in a build folder of its own (the test build is debugoptimized, -O2: ~10 % slower).
build=${positional[0]:-$here/build-bench}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$here" -Dbuildtype=release -Dgimp=none >/dev/null
fi
shared=${positional[1]:-$here/../shared}
bench_dir=${BENCH_DIR:-/var/tmp/gimp-diffusion-bench}
keys=$shared/golden/sd15-fullsize.keys.txt
model=$bench_dir/sd15-random-f16.safetensors

ninja -C "$build" tests/bench engine/tools/make-checkpoint >/dev/null
bench=$build/tests/bench

# TAESD (issue 16): full-size (width 64) random weights in taesd.py's two files, made once
# from tests/bench/taesd_*.keys.txt; encode / decode at 512² and 1024², a preview's cost.
taesd_bench() {
    local dir=$bench_dir/taesd-random h
    for h in encoder decoder; do
        [ -f "$dir/taesd_$h.safetensors" ] && continue
        mkdir -p "$dir"
        "$build/engine/tools/make-checkpoint" --keys "$here/tests/bench/taesd_$h.keys.txt" \
            --dtype f32 --seed 1 --out "$dir/taesd_$h.safetensors" >/dev/null
    done
    echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    # the full VAE of the SD 1.5-shaped checkpoint (made below when absent) for the ratio
    local vae=()
    [ ! -f "$model" ] || vae=(--vae "$model")
    "$bench" taesd --taesd "$dir/taesd_decoder.safetensors" --repeat "$repeat" --threads "$threads" "${vae[@]}"
}
if [ "$only" = taesd ]; then taesd_bench; exit 0; fi
if [ ! -f "$model" ]; then
    mkdir -p "$bench_dir"
    echo "generating $model (once)..." >&2
    "$build/engine/tools/make-checkpoint" --keys "$keys" --dtype f16 --seed 1 --out "$model.part"
    mv "$model.part" "$model"
fi

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /== cpu: /'
if [ -z "$only" ] || [ "$only" = sgemm ] || [ "$only" = ops ]; then
    [ "$only" = ops ] || "$bench" sgemm --repeat 5
    [ "$only" = sgemm ] || "$bench" ops --repeat 3
    [ -n "$only" ] && exit 0
fi
rate=$("$bench" sgemm --repeat 3 | sed -n 's/.*: \([0-9.]*\) GFLOP\/s with.*/\1/p')

run() {   # name mode size
    [ -z "$only" ] || [ "$only" = "$1" ] || return 0
    "$bench" run --model "$model" --vocab "$shared/clip" --mode "$2" --size "$3" \
        --repeat "$repeat" --threads "$threads" --sgemm-gflops "$rate" $quick "${extra[@]}"
}
run img2img512 img2img 512
run img2img256 img2img 256
run inpaint512 inpaint 512
echo "== stable-diffusion.cpp on this machine: tests/bench/sdcpp_side_by_side.sh"
