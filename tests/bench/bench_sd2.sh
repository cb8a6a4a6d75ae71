#!/bin/bash
# SD 2.x / SD-Turbo benchmark of issue 14 (not part of `meson test`).
#
# Makes (once, in $BENCH_DIR, default /var/tmp/gimp-diffusion-bench) a full-size SD 2.1-shaped
# fp16 checkpoint with random weights from golden-sd2/sd21-fullsize.keys.txt (~2.6 GB), and its
# SD-Turbo twin: the same tensors with the text encoder under Stability's SGM prefix
# (conditioner.embedders.0.model.*), which the engine detects as SD-Turbo (1 step, CFG 0,
# euler_a, trailing by default). Then, each a whole `diffuse` process on a warm page cache
# (one unmeasured run first), `--timings` giving the phases and the peak RSS:
#   turbo-txt2img   SD-Turbo 512² txt2img, its defaults (1 step, no CFG)
#   turbo-img2img   SD-Turbo 512² img2img, 2 steps x strength 0.5 (1 step run)
# and for SD 2.1 at 768², img2img 20 steps x 0.75, CFG 7.5, euler_a: `bench run --quick K`
# (K U-Net steps, per-step time and the extrapolated total) and its peak RSS.
#
# usage: tests/bench/bench_sd2.sh [--repeat R] [--quick K] [--only NAME] [BUILD_DIR [SHARED_DIR]]
#   --repeat R  runs per scenario (default 3; the medians are what to quote)
#   --quick K   768² U-Net steps measured (default 2)
#   --only NAME turbo-txt2img | turbo-img2img | sd21-768
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
repeat=3
quick=2
only=
while [ $# -gt 0 ]; do
    case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --quick) quick=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
build=${1:-$here/build-bench}
shared=${2:-$here/../shared}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$here" -Dbuildtype=release -Dgimp=none >/dev/null
fi
ninja -C "$build" tests/bench engine/tools/make-checkpoint engine/tools/diffuse >/dev/null
diffuse=$build/engine/tools/diffuse
bench_dir=${BENCH_DIR:-/var/tmp/gimp-diffusion-bench}
sd21=$bench_dir/sd21-random-f16.safetensors
turbo=$bench_dir/sd-turbo-random-f16.safetensors
mkdir -p "$bench_dir"
if [ ! -f "$sd21" ]; then
    echo "generating $sd21 (once)..." >&2
    "$build/engine/tools/make-checkpoint" --keys "$shared/golden-sd2/sd21-fullsize.keys.txt" \
        --dtype f16 --seed 1 --out "$sd21.part" >/dev/null
    mv "$sd21.part" "$sd21"
fi
if [ ! -f "$turbo" ]; then
    echo "writing $turbo (the same tensors, SGM text-encoder prefix; once)..." >&2
    python3 - "$sd21" "$turbo.part" <<'PY'
import json, shutil, struct, sys
src, dst = sys.argv[1:]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
    old, new = "cond_stage_model.model.", "conditioner.embedders.0.model."
    h = {(new + k[len(old):] if k.startswith(old) else k): v for k, v in h.items()}
    b = json.dumps(h).encode(); b += b" " * (-len(b) % 8)
    with open(dst, "wb") as g:
        g.write(struct.pack("<Q", len(b)) + b)
        shutil.copyfileobj(f, g, 1 << 24)
PY
    mv "$turbo.part" "$turbo"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /== cpu: /'
"$diffuse" check "$turbo" | grep -E 'family|defaults'

# One `diffuse` process: prints "wall <s>" and the --timings lines.
one() {   # label args...
    local label=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$diffuse" "$@" --vocab "$shared/clip" --prompt "a cinematic photo of a red panda" \
        --seed 1 --timings --quiet 2>"$tmp/err"
    t1=$(date +%s.%N)
    printf '%s: wall %.2f s | %s\n' "$label" "$(echo "$t1 - $t0" | bc)" \
        "$(tr '\n' ' ' <"$tmp/err" | sed 's/timings (s): //')"
}
scenario() {   # name label args...
    local name=$1; shift
    [ -z "$only" ] || [ "$only" = "$name" ] || return 0
    one "$1 (warm-up)" "${@:2}" >/dev/null
    for i in $(seq "$repeat"); do one "$1 #$i" "${@:2}"; done
}
scenario turbo-txt2img "SD-Turbo txt2img 512² defaults" txt2img --model "$turbo" --out "$tmp/t2i.png"
if [ -z "$only" ] || [ "$only" = turbo-img2img ]; then
    [ -f "$tmp/t2i.png" ] || one "init image" txt2img --model "$turbo" --out "$tmp/t2i.png" >/dev/null
    scenario turbo-img2img "SD-Turbo img2img 512² 2 x 0.5" img2img --model "$turbo" \
        --init "$tmp/t2i.png" --steps 2 --strength 0.5 --out "$tmp/i2i.png"
fi
if [ -z "$only" ] || [ "$only" = sd21-768 ]; then
    "$build/tests/bench" run --model "$sd21" --vocab "$shared/clip" --mode img2img --size 768 \
        --steps 20 --strength 0.75 --repeat "$repeat" --quick "$quick"
fi
