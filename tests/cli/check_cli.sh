#!/bin/bash
# `diffuse check` on every family the fixtures hold, and the load errors of broken files
# (each layer's noun once: "FILE: VAE: missing tensor ...").
#   check_cli.sh DIFFUSE SHARED_DIR
set -u
DIFFUSE=$1 SHARED=$2
SD1=$SHARED/golden SD2=$SHARED/golden-sd2
for f in "$SD1/tiny-sd1.safetensors" "$SD2/tiny-sd2.safetensors"; do
  [ -f "$f" ] || { echo "SKIP: $f is missing (the shared fixtures)"; exit 77; }
done
TMP=$(mktemp -d /tmp/check-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; sed 's/^/     | /' "$TMP/out" "$TMP/err" | tail -12; }

# expect_check NAME STATUS FILE LINE...: exit status, and each LINE in stdout+stderr
expect_check() {
  local name=$1 want_rc=$2 file=$3; shift 3
  local rc=0
  "$DIFFUSE" check "$file" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [ "$rc" = "$want_rc" ] || { bad "$name (exit $rc, want $want_rc)"; return; }
  local line
  for line in "$@"; do
    cat "$TMP/out" "$TMP/err" | grep -qF -- "$line" || { bad "$name (no '$line')"; return; }
  done
  ok "$name"
}

expect_check "sd1" 0 "$SD1/tiny-sd1.safetensors" "family        sd1 (SD 1.x)" \
  "prediction    eps (family)" "status        ok" "tensors       999" "F32 998, I64 1"
expect_check "sd1 fp16" 0 "$SD1/tiny-sd1-fp16.safetensors" "family        sd1 " "F16 998"
expect_check "sd1-inpaint" 0 "$SD1/tiny-sd1-inpaint.safetensors" "family        sd1-inpaint" \
  "U-Net         9 input channels"
expect_check "sd2 (eps by the norm1.bias rule)" 0 "$SD2/tiny-sd2.safetensors" \
  "family        sd2 (SD 2.x)" "prediction    eps (output_blocks.11.1.transformer_blocks.0.norm1.bias std 0.050" \
  "defaults      512x512" "OpenCLIP ViT-H/14" "status        ok"
expect_check "sd2-v (v_pred key)" 0 "$SD2/tiny-sd2-v.safetensors" \
  "family        sd2-v" "prediction    v (v_pred key)" "defaults      768x768" "F32 1, F16 1240"
expect_check "sd2-inpaint" 0 "$SD2/tiny-sd2-inpaint.safetensors" "family        sd2-inpaint" \
  "prediction    eps (family)"
expect_check "missing file" 1 "$TMP/nope.safetensors" "cannot open $TMP/nope.safetensors" \
  "family        unknown"
rc=0; "$DIFFUSE" check >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] && ok "no file: usage error" || { : >"$TMP/out"; : >"$TMP/err"; bad "no file: exit $rc"; }

# Edited copies of the tiny SD 1.x checkpoint (header rewritten, data kept).
/usr/bin/python3 - "$SD1/tiny-sd1.safetensors" "$SD2/tiny-sd2.safetensors" "$TMP" <<'PY' || exit 1
import json, struct, sys
def read(p):
    raw = open(p, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]
def write(p, h, d):
    b = json.dumps(h).encode(); b += b" " * (-len(b) % 8)
    open(p, "wb").write(struct.pack("<Q", len(b)) + b + d)
def renamed(h, old, new):
    return {(new + k[len(old):] if k.startswith(old) else k): v for k, v in h.items()}
sd1, sd2, out = sys.argv[1:]
h, d = read(sd1)
write(f"{out}/novae-bias.safetensors", {k: v for k, v in h.items() if k != "first_stage_model.decoder.conv_out.bias"}, d)
write(f"{out}/nounet.safetensors", {k: v for k, v in h.items() if not k.startswith("model.diffusion_model.")}, d)
write(f"{out}/sdxl.safetensors", renamed(h, "cond_stage_model.transformer.", "conditioner.embedders.0.transformer."), d)
h2, d2 = read(sd2)
write(f"{out}/turbo.safetensors", renamed(h2, "cond_stage_model.model.", "conditioner.embedders.0.model."), d2)
PY
expect_check "no U-Net" 1 "$TMP/nounet.safetensors" "no model.diffusion_model.* tensors" "family        unknown"
expect_check "SDXL-like keys" 1 "$TMP/sdxl.safetensors" "family        sdxl" "unsupported model: SDXL (conditioner.embedders"
expect_check "SD-Turbo (SGM layout)" 0 "$TMP/turbo.safetensors" "family        sd-turbo" \
  "defaults      512x512, 1 step, CFG 0" "status        ok"

# Picking a Turbo checkpoint just works: its defaults (1 step, CFG 0, euler_a, trailing)
# apply when the user gives none; what the user gives wins.
run_timed() {  # NAME WANT ARGS...: txt2img on the SGM-layout file, --timings
  local name=$1 want=$2; shift 2
  local rc=0
  "$DIFFUSE" txt2img --model "$TMP/turbo.safetensors" --vocab "$SHARED/clip" --prompt "a red panda" \
    --width 64 --height 64 --timings --quiet --out "$TMP/turbo.png" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ $rc = 0 ] && grep -qF -- "$want" "$TMP/err" && [ -s "$TMP/turbo.png" ]; then ok "$name"
  else bad "$name (exit $rc, want '$want')"; fi
}
run_timed "SD-Turbo txt2img: 1 step by default" "(1 steps)"
run_timed "SD-Turbo txt2img: --steps 3 wins" "(3 steps)" --steps 3
run_timed "SD-Turbo txt2img: Turbo draft preset" "(1 steps)" --preset "Turbo draft"

# The load names the file once, the network once, then what is wrong.
rc=0
"$DIFFUSE" txt2img --model "$TMP/novae-bias.safetensors" --vocab "$SHARED/clip" --quiet \
  --steps 1 --out "$TMP/o.png" >"$TMP/out" 2>"$TMP/err" || rc=$?
want="diffuse: $TMP/novae-bias.safetensors: VAE: missing tensor first_stage_model.decoder.conv_out.bias"
if [ $rc != 0 ] && [ "$(cat "$TMP/err")" = "$want" ] && [ ! -e "$TMP/o.png" ]; then ok "load error: each noun once"
else bad "load error: want '$want'"; fi

# Clip skip: the flag admits SD 2.x's 23 layers (SD_CLIP_SKIP_MAX), the job the loaded
# model's own count, refused beyond it naming the value and the layers.
clip_skip() {  # NAME MODEL N RC WANT: txt2img 1 step at 64x64 with --clip-skip N
  local name=$1 model=$2 n=$3 want_rc=$4 want=$5 rc=0
  rm -f "$TMP/cs.png"
  "$DIFFUSE" txt2img --model "$model" --vocab "$SHARED/clip" --prompt "a red panda" --steps 1 \
    --width 64 --height 64 --clip-skip "$n" --quiet --out "$TMP/cs.png" >"$TMP/out" 2>"$TMP/err" || rc=$?
  local out_ok; if [ "$want_rc" = 0 ]; then [ -s "$TMP/cs.png" ]; else [ ! -e "$TMP/cs.png" ]; fi
  out_ok=$?
  if [ $rc = "$want_rc" ] && [ $out_ok = 0 ] && { [ -z "$want" ] || grep -qF -- "$want" "$TMP/err"; }
  then ok "clip skip: $name"; else bad "clip skip: $name (exit $rc, want $want_rc '$want')"; fi
}
clip_skip "SD 2.x takes 23" "$SD2/tiny-sd2.safetensors" 23 0 ""
clip_skip "SD 2.x refuses 24 (flag range)" "$SD2/tiny-sd2.safetensors" 24 2 "1..23"
clip_skip "tiny SD 1.x takes 3" "$SD1/tiny-sd1.safetensors" 3 0 ""
clip_skip "tiny SD 1.x refuses 4 (its 3 layers)" "$SD1/tiny-sd1.safetensors" 4 1 \
  "clip skip 4 does not fit this model: its text encoder (CLIP ViT-L/14) runs 3 layers"

# install.sh's model check is `diffuse check` once the build made it, file checks before.
HERE=$(cd "$(dirname "$0")" && pwd)
source <(sed -n '/^checkpoint_problem() {/,/^}/p' "$HERE/../../install.sh")
check_install() {  # NAME FILE DIFFUSE WANT ("" = accepted)
  local got; got=$(DIFFUSE=$3 checkpoint_problem "$2")
  if { [ -z "$4" ] && [ -z "$got" ]; } || { [ -n "$4" ] && [[ $got == *"$4"* ]]; }; then ok "install.sh: $1"
  else : >"$TMP/out"; echo "$got" >"$TMP/err"; bad "install.sh: $1 (want '${4:-accepted}')"; fi
}
check_install "sd1 accepted" "$SD1/tiny-sd1.safetensors" "$DIFFUSE" ""
check_install "sd2 accepted" "$SD2/tiny-sd2-v.safetensors" "$DIFFUSE" ""
check_install "SDXL refused" "$TMP/sdxl.safetensors" "$DIFFUSE" "unsupported model: SDXL"
check_install "before the build: file checks only" "$SD2/tiny-sd2.safetensors" "" ""
check_install "missing file" "$TMP/nope.safetensors" "$DIFFUSE" "does not exist"
head -c 4 "$SD1/tiny-sd1.safetensors" >"$TMP/short.safetensors"
check_install "not a safetensors file" "$TMP/short.safetensors" "" "not a safetensors file"

echo "$passed passed, $failed failed"
[ $failed = 0 ]
