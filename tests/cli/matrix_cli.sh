#!/bin/bash
# The CLI's part of the bad-input matrix (issue 8), beside test_cli.sh (missing / corrupt /
# truncated model, missing vocab, unreadable image, bad numbers, memory budget):
# another model family, a model that produces NaN, a 16384 x 16384 image.
#   matrix_cli.sh DIFFUSE MODEL VOCAB INIT.png
# Each case: non-zero exit, the expected message, no output file.
set -u
DIFFUSE=$1 MODEL=$2 VOCAB=$3 INIT=$4
HERE=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "SKIP: python3-pil is not installed"; exit 77; }
TMP=$(mktemp -d /tmp/matrix-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

expect_fail() {   # NAME SUBSTRING ARGS...
  local name=$1 want=$2; shift 2
  rm -f "$TMP/out.png"
  if "$DIFFUSE" "$@" --quiet --out "$TMP/out.png" 2>"$TMP/err"; then
    echo "FAIL $name (exit 0, expected failure)"; failed=$((failed + 1))
  elif ! grep -qF -- "$want" "$TMP/err" || [ -e "$TMP/out.png" ]; then
    echo "FAIL $name (message lacks '$want', or an output file was written)"; sed 's/^/     | /' "$TMP/err"
    failed=$((failed + 1))
  else
    echo "ok   $name: $(head -c 160 "$TMP/err")"; passed=$((passed + 1))
  fi
}

/usr/bin/python3 "$HERE/../gimp/make_bad_models.py" "$MODEL" "$TMP" || exit 1
ARGS=(--vocab "$VOCAB" --init "$INIT" --prompt x --steps 2 --seed 1)
expect_fail "SD 2.x checkpoint" "SD 2.x (OpenCLIP text encoder" img2img --model "$TMP/sd2.safetensors" "${ARGS[@]}"
expect_fail "SDXL checkpoint" "SDXL (conditioner.embedders" img2img --model "$TMP/sdxl.safetensors" "${ARGS[@]}"
expect_fail "NaN weights" "NaN or Inf" img2img --model "$TMP/nan.safetensors" "${ARGS[@]}"
expect_fail "txt2img 16384 x 16384" "--width/--height must be an integer in 8..8192" \
  txt2img --model "$MODEL" --vocab "$VOCAB" --prompt x --width 16384 --height 16384
# LoRA files (issue 15): each refused with its reason before anything runs
/usr/bin/python3 "$HERE/make_bad_loras.py" "$TMP" || exit 1
expect_fail "truncated LoRA" "truncated.safetensors" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/truncated.safetensors"
expect_fail "LoRA with NaN weights" "holds NaN values" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/nan.safetensors"
expect_fail "SDXL LoRA on SD 1" "a LoRA for SDXL" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/sdxl.safetensors"
expect_fail "LoHa" "LoHa (LyCORIS Hadamard-product) weights are not supported" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/loha.safetensors"
expect_fail "LoRA naming other layers" "1 of its 2 modules name no layer of this model" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/foreign.safetensors:0.5"
expect_fail "LoRA of other shapes" "1 of its 1 modules do not fit this model's shapes" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/shapes.safetensors"
expect_fail "missing LoRA" "no-such-lora.safetensors" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/no-such-lora.safetensors"
# a 16k picture: refused from its header, before it is decoded (not killed for lack of memory)
/usr/bin/python3 -c "from PIL import Image; Image.new('RGB', (16384, 16384), 'white').save('$TMP/big.png')"
expect_fail "img2img on a 16384 x 16384 image" "is 16384x16384: at most 8192 pixels a side" \
  img2img --model "$MODEL" "${ARGS[@]/$INIT/$TMP/big.png}"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
