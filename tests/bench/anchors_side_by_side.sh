#!/bin/bash
# Issue 17's comparison in one window: our U-Net step (512², CFG batch 2) and VAE decode
# (64² → 512²) in fp32 and bf16 (tests/bench-precision, same process), then the anchors
# (../shared/anchors/bench_anchors.py: OpenVINO's default — bf16 on CPUs with bf16 matrix
# instructions —, OpenVINO f32, PyTorch bf16 autocast) on the same shapes, then ours again,
# so a change of load between the two shows. Medians of REPS, load averages printed with
# each block. Not a test: prints figures.
#
# usage: tests/bench/anchors_side_by_side.sh [BUILD_DIR [REPS [ENGINES]]]
#   BUILD_DIR  default build;  REPS default 3;  ENGINES default ov_default,ov_f32,torch_bf16
# environment:
#   ANCHORS_PYTHON  the anchors venv's python (default /var/tmp/anchors-venv-bf16/bin/python)
#   ANCHOR_MODELS   the exported anchor models (default /var/tmp/anchor-models-bf16)
#   BENCH_MODEL     our checkpoint (default the random SD 1.5 of tests/bench/run_bench.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
reps=${2:-3}
engines=${3:-ov_default,ov_f32,torch_bf16}
python=${ANCHORS_PYTHON:-/var/tmp/anchors-venv-bf16/bin/python}
export ANCHOR_MODELS=${ANCHOR_MODELS:-/var/tmp/anchor-models-bf16}
model=${BENCH_MODEL:-/var/tmp/gimp-diffusion-bench/sd15-random-f16.safetensors}
shared=$here/../shared

for f in "$python" "$model" "$shared/anchors/bench_anchors.py"; do
    [ -e "$f" ] || { echo "anchors_side_by_side: $f is missing (see the usage)" >&2; exit 1; }
done
ninja -C "$build" tests/bench-precision >/dev/null

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores;" \
     "bf16: $(grep -o -w -m1 'amx_bf16\|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
ours() {
    echo "== ours ($1), $(date -u +%H:%M:%S)"
    "$build/tests/bench-precision" "$model" "$shared/clip" "$reps"
}
ours first
echo "== anchors, $(date -u +%H:%M:%S)"
"$python" "$shared/anchors/bench_anchors.py" --size full --engines "$engines" \
    --models unet,vae --reps "$reps" | sed -n '/^engine /,$p'
ours again
