#!/bin/bash
# The CLI's part of the bad-input matrix (issues 8 and 19), beside test_cli.sh (missing /
# corrupt / truncated model, missing vocab, bad numbers, memory budget): another model
# family, a model that produces NaN, a 16384 x 16384 image; and every way an --init or
# --mask file can be wrong (empty, truncated, damaged, text, another format, too large,
# another size than the init) or an --out that cannot be written; TAESD files for another
# latent space or none at all, the draft VAE without its files, an unwritable preview.
#   matrix_cli.sh DIFFUSE MODEL VOCAB INIT.png [TAESD_FIXTURES (golden-taesd)]
# Each case: non-zero exit, the expected message (naming the file where there is one), and
# nothing written: the output folder stays empty (no result, no temporary file).
set -u
DIFFUSE=$1 MODEL=$2 VOCAB=$3 INIT=$4 TAESD=${5:-}
[ -r "$MODEL" ] && [ -d "$VOCAB" ] ||
  { echo "SKIP: $MODEL or $VOCAB is missing (the shared fixtures; see tests/README.md)"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "SKIP: python3-pil is not installed"; exit 77; }
TMP=$(mktemp -d /tmp/matrix-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
OUT=$TMP/out   # holds nothing but what a run writes
mkdir -p "$OUT" "$TMP/img"
passed=0 failed=0

# expect_fail NAME SUBSTRING ARGS... ; with FILE=path set, the message must name it too
expect_fail() {
  local name=$1 want=$2; shift 2
  rm -rf "$OUT"; mkdir -p "$OUT"
  if "$DIFFUSE" "$@" --quiet --out "$OUT/out.png" 2>"$TMP/err"; then
    echo "FAIL $name (exit 0, expected failure)"; failed=$((failed + 1))
  elif ! grep -qF -- "$want" "$TMP/err" || { [ -n "${FILE:-}" ] && ! grep -qF -- "$FILE" "$TMP/err"; }; then
    echo "FAIL $name (message lacks '$want'${FILE:+ or the file name $FILE})"; sed 's/^/     | /' "$TMP/err"
    failed=$((failed + 1))
  elif [ -n "$(ls -A "$OUT")" ]; then
    echo "FAIL $name (wrote into the output folder: $(ls -A "$OUT"))"; failed=$((failed + 1))
  else
    echo "ok   $name: $(head -c 200 "$TMP/err")"; passed=$((passed + 1))
  fi
}

/usr/bin/python3 "$HERE/../gimp/make_bad_models.py" "$MODEL" "$TMP" || exit 1
ARGS=(--vocab "$VOCAB" --init "$INIT" --prompt x --steps 2 --seed 1)
expect_fail "SD 2.x names over an SD 1.x body" \
  "SD 2.x (OpenCLIP text encoder cond_stage_model.model.*): unsupported model: SD 1.x U-Net (conv proj_in" \
  img2img --model "$TMP/sd2.safetensors" "${ARGS[@]}"
expect_fail "SDXL checkpoint" "SDXL (conditioner.embedders" img2img --model "$TMP/sdxl.safetensors" "${ARGS[@]}"
# SD 2.x files (issue 14): truncated, one resblock missing, half an in_proj_weight
SD2=$(dirname "$MODEL")/../golden-sd2/tiny-sd2.safetensors
/usr/bin/python3 - "$SD2" "$TMP" <<'PY' || exit 1
import json, struct, sys
src, out = sys.argv[1:]
raw = open(src, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); d = raw[8 + n:]
def write(p, hh):
    b = json.dumps(hh).encode(); b += b" " * (-len(b) % 8)
    open(p, "wb").write(struct.pack("<Q", len(b)) + b + d)
open(f"{out}/sd2-truncated.safetensors", "wb").write(raw[:len(raw) * 2 // 3])
p = "cond_stage_model.model.transformer.resblocks.5."
write(f"{out}/sd2-noblock.safetensors", {k: v for k, v in h.items() if not k.startswith(p)})
k = "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"
t = dict(h[k]); t["shape"] = [t["shape"][0] // 3 * 2, t["shape"][1]]
a, b = t["data_offsets"]; t["data_offsets"] = [a, a + (b - a) // 3 * 2]
h2 = dict(h); h2[k] = t
write(f"{out}/sd2-inproj.safetensors", h2)
PY
FILE="$TMP/sd2-truncated.safetensors" expect_fail "SD 2.x file truncated" "truncated" \
  img2img --model "$TMP/sd2-truncated.safetensors" "${ARGS[@]}"
FILE="$TMP/sd2-noblock.safetensors" expect_fail "SD 2.x file without resblock 5" \
  "OpenCLIP text encoder with 5 blocks (ViT-H/14 has 24)" \
  img2img --model "$TMP/sd2-noblock.safetensors" "${ARGS[@]}"
expect_fail "SD 2.x inpainting checkpoint for img2img (was a crash)" \
  "inpainting checkpoint (9-channel U-Net): use it for inpainting, or load an ordinary SD 2.x" \
  img2img --model "$(dirname "$SD2")/tiny-sd2-inpaint.safetensors" "${ARGS[@]}"
FILE="$TMP/sd2-inproj.safetensors" expect_fail "SD 2.x fused in_proj of 2/3 its rows" \
  "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight" \
  img2img --model "$TMP/sd2-inproj.safetensors" "${ARGS[@]}"
expect_fail "NaN weights" "NaN or Inf" img2img --model "$TMP/nan.safetensors" "${ARGS[@]}"
expect_fail "txt2img 16384 x 16384" "--width/--height must be an integer in 8..8192" \
  txt2img --model "$MODEL" --vocab "$VOCAB" --prompt x --width 16384 --height 16384
# LoRA files (issue 15): each refused with its reason before anything runs
mkdir -p "$TMP/lora"
/usr/bin/python3 "$HERE/make_bad_loras.py" "$TMP/lora" || exit 1
FILE=$TMP/lora/truncated.safetensors expect_fail "truncated LoRA" "truncated.safetensors" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/lora/truncated.safetensors"
FILE=$TMP/lora/nan.safetensors expect_fail "LoRA with NaN weights" "holds NaN values" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/lora/nan.safetensors"
FILE=$TMP/lora/sdxl.safetensors expect_fail "SDXL LoRA on SD 1" "a LoRA for SDXL" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/lora/sdxl.safetensors"
FILE=$TMP/lora/loha.safetensors expect_fail "LoHa" "LoHa (LyCORIS Hadamard-product) weights are not supported" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/lora/loha.safetensors"
FILE=$TMP/lora/foreign.safetensors expect_fail "LoRA naming other layers" "1 of its 2 modules name no layer of this model" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/lora/foreign.safetensors:0.5"
FILE=$TMP/lora/shapes.safetensors expect_fail "LoRA of other shapes" "1 of its 1 modules do not fit this model's shapes" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/lora/shapes.safetensors"
FILE=$TMP/lora/no-such-lora.safetensors expect_fail "missing LoRA" "no-such-lora.safetensors" img2img --model "$MODEL" "${ARGS[@]}" --lora "$TMP/lora/no-such-lora.safetensors"

# ---- image inputs (issue 19) ----
/usr/bin/python3 "$HERE/make_bad_images.py" "$INIT" "$TMP/img" || exit 1
I=$TMP/img
IMG=(--model "$MODEL" --vocab "$VOCAB" --prompt x --steps 2 --seed 1)
bad_image() {   # NAME FILE REASON: the same file as --init (img2img) and as --mask (inpaint)
  FILE=$2 expect_fail "--init $1" "$3" img2img "${IMG[@]}" --init "$2"
  FILE=$2 expect_fail "--mask $1" "$3" inpaint "${IMG[@]}" --init "$INIT" --mask "$2"
}
bad_image "empty file" "$I/empty.png" "the file is empty"
bad_image "truncated PNG" "$I/truncated.png" "ends early (truncated"
bad_image "PNG cut before IEND" "$I/no-iend.png" "ends early (truncated"
bad_image "PNG with a CRC error" "$I/crc.png" "IDAT: CRC error"
bad_image "PNG with damaged pixel data" "$I/damaged.png" "damaged.png (PNG): "
bad_image "PNG header larger than its data" "$I/short-data.png" "Not enough image data"
bad_image "truncated JPEG" "$I/truncated.jpg" "Premature end of JPEG file"
bad_image "truncated WebP" "$I/truncated.webp" "ends early (truncated"
bad_image "text file named .png" "$I/text.png" "it is a text file, not an image"
bad_image "TIFF" "$I/image.tif" "it is a TIFF file; diffuse reads PNG, JPEG and WebP"
bad_image "GIF" "$I/image.gif" "it is a GIF file; diffuse reads PNG, JPEG and WebP"
bad_image "BMP" "$I/image.bmp" "it is a BMP file; diffuse reads PNG, JPEG and WebP"
bad_image "missing file" "$I/nothere.png" "No such file or directory"
bad_image "a folder" "$I" "it is a folder"
# wrong sizes: over the limit (refused from the header, before it is decoded: not killed
# for lack of memory), and a mask of another size than the init
bad_image "16384 x 16384" "$I/big.png" "16384x16384 pixels: at most 8192 pixels a side"
FILE=$I/mask-63.png expect_fail "--mask 63x64 for a 64x64 init" "is 63x64 but the image" \
  inpaint "${IMG[@]}" --init "$INIT" --mask "$I/mask-63.png"
FILE=$INIT expect_fail "--init 64x64 under a 63x64 mask names the init too" "is 63x64 but the image" \
  inpaint "${IMG[@]}" --init "$INIT" --mask "$I/mask-63.png"
# an --out that cannot be written is refused before the model is loaded
rm -rf "$OUT"; mkdir -p "$OUT"
if "$DIFFUSE" img2img "${IMG[@]}" --init "$INIT" --quiet --out "$TMP/no-such-folder/out.png" 2>"$TMP/err" ||
   ! grep -qF "$TMP/no-such-folder" "$TMP/err" || grep -q "^loading" "$TMP/err"; then
  echo "FAIL --out in a missing folder"; sed 's/^/     | /' "$TMP/err"; failed=$((failed + 1))
else echo "ok   --out in a missing folder: $(head -c 200 "$TMP/err")"; passed=$((passed + 1)); fi

# a failed run leaves an existing result as it was, and no temporary file beside it
rm -rf "$OUT"; mkdir -p "$OUT"
printf 'previous result' > "$OUT/out.png"
if "$DIFFUSE" img2img --model "$TMP/nan.safetensors" --vocab "$VOCAB" --init "$INIT" --prompt x \
     --steps 2 --quiet --out "$OUT/out.png" 2>"$TMP/err" ||
   [ "$(cat "$OUT/out.png")" != "previous result" ] || [ "$(ls -A "$OUT")" != out.png ]; then
  echo "FAIL failed run over an existing result: $(ls -A "$OUT")"; failed=$((failed + 1))
else echo "ok   failed run over an existing result leaves it untouched"; passed=$((passed + 1)); fi

# a run killed at any moment leaves either no result or a complete one, and no temporary file
for delay in 0.2 0.5 1 2; do
  rm -rf "$OUT"; mkdir -p "$OUT"
  "$DIFFUSE" img2img "${IMG[@]}" --steps 50 --init "$INIT" --quiet --out "$OUT/out.png" 2>/dev/null &
  pid=$!
  sleep "$delay"; kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  left=$(ls -A "$OUT")
  if [ -z "$left" ] || { [ "$left" = out.png ] &&
       /usr/bin/python3 -c "from PIL import Image; Image.open('$OUT/out.png').load()" 2>/dev/null; }; then
    echo "ok   killed after ${delay}s: ${left:-nothing written}"; passed=$((passed + 1))
  else echo "FAIL killed after ${delay}s left: $left"; failed=$((failed + 1)); fi
done

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
