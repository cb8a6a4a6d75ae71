#!/bin/bash
# Issue 9's comparison: stable-diffusion.cpp and this engine on the same machine, the same
# checkpoint and the same job, one right after the other (not part of `meson test`).
#
# stable-diffusion.cpp is built from source: the sdist of its Python bindings on PyPI
# (stable-diffusion-cpp-python, which vendors sd.cpp and ggml) is fetched with pip once
# and its sd-cli built with cmake (-DGGML_NATIVE=ON, i.e. for this CPU, as a user would),
# then kept in $BENCH_DIR/sdcpp. Both run the full-size random SD 1.5 fp16 checkpoint that
# run_bench.sh generates, strength 0.75, 20 steps, CFG 7.5, euler_a, all cores.
#
# usage: tests/bench/sdcpp_side_by_side.sh [--repeat R] [--only NAME] [--fa]
#                                          [BUILD_DIR [SHARED_DIR]]
#   --repeat R   runs of each engine per scenario, medians reported (default 1)
#   --only NAME  img2img512 | img2img256 | inpaint512 (default: all three)
#   --fa         also run sd.cpp with --fa (its flash attention; off by default in sd.cpp)
# Needs cmake, g++, python3 and pip (PyPI) the first time.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
repeat=1
only=
with_fa=0
while [ $# -gt 0 ]; do
    case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --fa) with_fa=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
build=${1:-$here/build-bench}   # run_bench.sh sets it up: a release build, as install.sh
shared=${2:-$here/../shared}
bench_dir=${BENCH_DIR:-/var/tmp/gimp-diffusion-bench}
model=$bench_dir/sd15-random-f16.safetensors
sdcpp_version=${SDCPP_PY_VERSION:-0.4.7}
sdcpp_dir=$bench_dir/sdcpp-$sdcpp_version
sd_cli=$sdcpp_dir/build/bin/sd-cli
threads=$(nproc)

# The checkpoint (and our bench binary): run_bench.sh makes both.
if [ ! -f "$model" ] || [ ! -f "$build/build.ninja" ]; then
    "$here/tests/bench/run_bench.sh" --only sgemm "$build" "$shared" >/dev/null
fi
ninja -C "$build" tests/bench >/dev/null

if [ ! -x "$sd_cli" ]; then
    echo "building stable-diffusion.cpp (stable-diffusion-cpp-python $sdcpp_version sdist, once)..." >&2
    mkdir -p "$sdcpp_dir.src"
    python3 -m pip download --quiet --no-deps --no-binary :all: \
        "stable-diffusion-cpp-python==$sdcpp_version" -d "$sdcpp_dir.src"
    tar -xzf "$sdcpp_dir.src"/stable_diffusion_cpp_python-*.tar.gz -C "$sdcpp_dir.src"
    rm -rf "$sdcpp_dir"
    mv "$sdcpp_dir.src"/stable_diffusion_cpp_python-*/vendor/stable-diffusion.cpp "$sdcpp_dir"
    rm -rf "$sdcpp_dir.src"
    cmake -S "$sdcpp_dir" -B "$sdcpp_dir/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        >"$sdcpp_dir/cmake.log" 2>&1
    cmake --build "$sdcpp_dir/build" -j"$threads" --target sd-cli >"$sdcpp_dir/build.log" 2>&1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The synthetic photo and centre-square mask of bench.c, as PNGs for sd-cli.
python3 - "$work" <<'EOF'
import math, struct, sys, zlib
def png(path, w, h, channels, pixel):
    rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in pixel(x, y)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    color = 2 if channels == 3 else 0
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
for s in (256, 512):
    def photo(x, y, s=s):
        u, v = x / s, y / s
        d = math.hypot(u - 0.5, v - 0.5)
        ring = 1.0 if abs(d - 0.3) < 0.05 else 0.0
        return [int(255 * min(1.0, max(0.0, c))) for c in (u, v, 0.5 * (1 - u) + 0.5 * ring)]
    png(f"{sys.argv[1]}/init{s}.png", s, s, 3, photo)
    png(f"{sys.argv[1]}/mask{s}.png", s, s, 1,
        lambda x, y, s=s: [255 if s // 4 <= x < 3 * s // 4 and s // 4 <= y < 3 * s // 4 else 0])
EOF

# Runs a command, prints its peak RSS in MiB on the last line of its own log.
rss_run() {   # log cmd...
    local log=$1
    shift
    python3 - "$log" "$@" <<'EOF'
import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    rc = subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
with open(sys.argv[1], "a") as log:
    log.write("\nPEAK_RSS_MIB %.0f\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))
sys.exit(rc)
EOF
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# sd.cpp's own timings: text, encode, time per sampling iteration, decode, generate
# total, peak RSS, iterations (its progress bar's count).
sdcpp_figures() {   # log
    tr '\r' '\n' <"$1" | awk '
        match($0, /[|] [0-9]+\/[0-9]+ - /) { split(substr($0, RSTART + 2, RLENGTH - 2), q, "/"); iters = q[2] + 0 }
        /get_learned_condition completed, taking/ { sub(/s$/, "", $NF); text = $NF }
        /encode_first_stage completed, taking/    { sub(/s$/, "", $NF); enc = $NF }
        /sampling completed, taking/              { sub(/s$/, "", $NF); samp = $NF }
        /decode_first_stage completed, taking/    { sub(/s$/, "", $NF); dec = $NF }
        /generate_image completed in/             { sub(/s$/, "", $NF); total = $NF }
        /PEAK_RSS_MIB/                             { rss = $2 }
        END { print text, enc, (iters > 0 ? samp / iters : 0), dec, total, rss, iters }'
}

# Ours, from bench.c run output.
ours_figures() {   # log
    awk '
        /^  text encode/          { text = $3 }
        /^  VAE encode/           { enc = $3 }
        /^  U-Net step/           { step = $5 }
        /^  VAE decode/           { dec = $3 }
        /^  total/                { total = $2 }
        /^  peak RSS/             { rss = $3 }
        END { print text, enc, step, dec, total, rss }' "$1"
}

scenario() {   # name mode size
    local name=$1 mode=$2 size=$3
    [ -z "$only" ] || [ "$only" = "$name" ] || return 0
    local steps_run=15 extra=() variants=(plain)
    [ "$mode" = inpaint ] && extra=(--mask "$work/mask$size.png")
    [ "$with_fa" = 1 ] && variants+=(fa)
    for variant in "${variants[@]}"; do
        local flags=()
        [ "$variant" = fa ] && flags=(--fa)
        : >"$work/sd.$variant"
        for r in $(seq "$repeat"); do
            echo "sd.cpp $name ${flags[*]} run $r/$repeat..." >&2
            rss_run "$work/sd.log" "$sd_cli" -m "$model" -p "a lighthouse on a cliff at sunset" \
                -i "$work/init$size.png" "${extra[@]}" --strength 0.75 --steps 20 --cfg-scale 7.5 \
                --sampling-method euler_a -W "$size" -H "$size" --seed 1 -t "$threads" \
                "${flags[@]}" -o "$work/sd.png"
            sdcpp_figures "$work/sd.log" >>"$work/sd.$variant"
        done
    done
    echo "ours $name: $repeat run(s)..." >&2
    "$build/tests/bench" run --model "$model" --vocab "$shared/clip" --mode "$mode" --size "$size" \
        --repeat "$repeat" --threads 0 >"$work/ours.log"
    read -r o_text o_enc o_step o_dec o_total o_rss < <(ours_figures "$work/ours.log")

    printf '\n%s: %s %dx%d, strength 0.75, 20 steps (%d run), CFG 7.5, euler_a, %d threads; medians of %d\n' \
        "$name" "$mode" "$size" "$size" "$steps_run" "$threads" "$repeat"
    printf '  %-22s %12s' "" "ours"
    for variant in "${variants[@]}"; do
        printf ' %12s %8s' "sd.cpp$([ "$variant" = fa ] && echo ' --fa')" "ratio"
    done
    printf '\n'
    row() {   # label ours-value field(1-based in sd figures) unit
        local label=$1 ours=$2 field=$3 unit=$4
        local fmt='%10.2f %s'
        [ "$unit" = MiB ] && fmt='%8.0f %s'
        printf "  %-22s $fmt" "$label" "$ours" "$unit"
        for variant in "${variants[@]}"; do
            local v
            v=$(awk -v f="$field" '{print $f}' "$work/sd.$variant" | median)
            printf " $fmt %7.2fx" "$v" "$unit" "$(awk -v a="$ours" -v b="$v" 'BEGIN {print (b > 0 ? a / b : 0)}')"
        done
        printf '\n'
    }
    row "text encode" "$o_text" 1 s
    row "VAE encode" "$o_enc" 2 s
    row "U-Net step (CFG x2)" "$o_step" 3 s
    row "VAE decode" "$o_dec" 4 s
    row "total" "$o_total" 5 s
    row "peak RSS" "$o_rss" 6 MiB
    echo "  (ratio = ours / sd.cpp: below 1 is faster or smaller. sd.cpp's step is its sampling" \
         "time over the $(awk '{print $7}' "$work/sd.plain" | head -1) U-Net iterations its" \
         "progress bar counts; ours runs $steps_run)"
}

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $threads cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /== cpu: /'
echo "== stable-diffusion.cpp from stable-diffusion-cpp-python $sdcpp_version, GGML_NATIVE=ON"
scenario img2img512 img2img 512
scenario img2img256 img2img 256
scenario inpaint512 inpaint 512
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
