#!/bin/sh
# Real-size loader check (not part of `meson test`: it writes a ~2 GB file).
#
# Generates an SD 1.5-shaped checkpoint with random weights from the golden key list (once;
# the file is kept in the build folder, never committed), then opens it with sd_weights_open
# + sd_model_config_detect and prints the family, the widths and the time taken, which must
# stay under 2 s. With --bind-all it also converts every tensor to fp32 and reports the peak
# memory against the fp32 size (the bar: at most ~1.2x).
#
# usage: tests/fullsize_check.sh [--bind-all] [--inpaint] [BUILD_DIR [SHARED_DIR]]
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bind_all=
inpaint=
while [ $# -gt 0 ]; do
    case "$1" in
    --bind-all) bind_all=--bind-all; shift ;;
    --inpaint) inpaint=--inpaint; shift ;;
    *) break ;;
    esac
done
build=${1:-$here/build}
shared=${2:-$here/../shared}
tool=$build/engine/tools/make-checkpoint
keys=$shared/golden/sd15-fullsize.keys.txt
out=$build/fullsize/sd15-random-f16${inpaint:+-inpaint}.safetensors

[ -x "$tool" ] || { echo "no $tool: build first (ninja -C $build)" >&2; exit 2; }
[ -f "$keys" ] || { echo "no $keys" >&2; exit 2; }
mkdir -p "$build/fullsize"
if [ ! -f "$out" ]; then
    "$tool" --keys "$keys" --dtype f16 $inpaint --seed 1 --out "$out.part"
    mv "$out.part" "$out"
fi

report=$("$tool" --check "$out" $bind_all)
echo "$report"
seconds=$(echo "$report" | sed -n 's/.*detected in \([0-9.]*\) s.*/\1/p')
want_family=sd1${inpaint:+-inpaint}
echo "$report" | grep -q "family $want_family," || { echo "FAIL: family is not $want_family" >&2; exit 1; }
echo "$report" | grep -q "widths 320 640 1280 1280" || { echo "FAIL: U-Net widths" >&2; exit 1; }
echo "$report" | grep -q "clip: hidden 768, 12 layers, 12 heads" || { echo "FAIL: CLIP" >&2; exit 1; }
awk -v s="$seconds" 'BEGIN { exit !(s != "" && s < 2.0) }' ||
    { echo "FAIL: detection took ${seconds:-?} s (limit 2 s)" >&2; exit 1; }
echo "OK: full-size checkpoint detected in $seconds s"
