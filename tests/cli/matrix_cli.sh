#!/bin/bash
# The CLI's part of the bad-input matrix (issue 8), beside test_cli.sh (missing / corrupt /
# truncated model, missing vocab, unreadable image, bad numbers, memory budget):
# another model family, a model that produces NaN, a 16384 x 16384 image, TAESD files for
# another latent space or none at all, the draft VAE without its files, an unwritable preview.
#   matrix_cli.sh DIFFUSE MODEL VOCAB INIT.png [TAESD_FIXTURES (golden-taesd)]
# Each case: non-zero exit, the expected message, no output file.
set -u
DIFFUSE=$1 MODEL=$2 VOCAB=$3 INIT=$4 TAESD=${5:-}
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
# a 16k picture: refused from its header, before it is decoded (not killed for lack of memory)
/usr/bin/python3 -c "from PIL import Image; Image.new('RGB', (16384, 16384), 'white').save('$TMP/big.png')"
expect_fail "img2img on a 16384 x 16384 image" "is 16384x16384: at most 8192 pixels a side" \
  img2img --model "$MODEL" "${ARGS[@]/$INIT/$TMP/big.png}"

# TAESD (--taesd, --draft-vae, --preview)
expect_fail "--draft-vae without a TAESD" "needs a TAESD" img2img --model "$MODEL" "${ARGS[@]}" --draft-vae
expect_fail "--taesd naming an SD checkpoint" "not a TAESD file" \
  img2img --model "$MODEL" "${ARGS[@]}" --taesd "$MODEL" --draft-vae
expect_fail "--taesd missing" "no-such-taesd" img2img --model "$MODEL" "${ARGS[@]}" --taesd "$TMP/no-such-taesd"
expect_fail "--preview-kind unknown" "--preview-kind must be auto, latent or taesd" \
  img2img --model "$MODEL" "${ARGS[@]}" --preview "$TMP/p.png" --preview-kind fancy
expect_fail "--preview into a missing folder" "preview" \
  img2img --model "$MODEL" "${ARGS[@]}" --preview "$TMP/no/such/folder/p.png"
if [ -n "$TAESD" ] && [ -d "$TAESD" ]; then
  cp "$TAESD/taesd_decoder.safetensors" "$TMP/taesdxl_decoder.safetensors"
  expect_fail "TAESDXL file (SDXL's latent space)" "SDXL (madebyollin/taesdxl)" \
    img2img --model "$MODEL" "${ARGS[@]}" --taesd "$TMP/taesdxl_decoder.safetensors" --draft-vae
  /usr/bin/python3 "$HERE/../fuzz/make_corpus.py" --taesd16 "$TMP/taesd3_decoder.safetensors"
  expect_fail "TAESD for 16 latent channels (TAESD3/TAEF1)" "16-channel latent space" \
    img2img --model "$MODEL" "${ARGS[@]}" --taesd "$TMP/taesd3_decoder.safetensors" --draft-vae
  head -c 4000 "$TAESD/taesd_decoder.safetensors" >"$TMP/cut_decoder.safetensors"
  expect_fail "truncated TAESD" "cut_decoder.safetensors" \
    img2img --model "$MODEL" "${ARGS[@]}" --taesd "$TMP/cut_decoder.safetensors" --draft-vae
  mkdir -p "$TMP/alone" && cp "$TAESD/taesd_decoder.safetensors" "$TMP/alone/"
  expect_fail "draft img2img with the TAESD decoder only" "needs the TAESD encoder too" \
    img2img --model "$MODEL" "${ARGS[@]}" --taesd "$TMP/alone" --draft-vae
else
  echo "note: no TAESD fixtures (5th argument): TAESD file cases not run"
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
