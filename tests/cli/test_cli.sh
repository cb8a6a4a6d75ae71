#!/bin/bash
# End-to-end tests of the diffuse command line with the tiny model:
#   test_cli.sh DIFFUSE SHARED_DIR FIXTURES_DIR
# Each case checks the exit status and, for failures, the message. Prints
# "N passed, M failed" and exits non-zero on any failure.
set -u
DIFFUSE=$1
SHARED=$2
FIX=$3
MODEL=$SHARED/golden/tiny-sd1.safetensors
INPAINT_MODEL=$SHARED/golden/tiny-sd1-inpaint.safetensors
VOCAB=$SHARED/clip
[ -r "$MODEL" ] && [ -d "$VOCAB" ] ||
  { echo "SKIP: $MODEL or $VOCAB is missing (the shared fixtures; see tests/README.md)"; exit 77; }
TMP=$(mktemp -d /tmp/test-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$TMP/err" ] && sed 's/^/     | /' "$TMP/err" | tail -5; }

# png_size FILE → "WxH" (reads the IHDR chunk)
png_size() {
  od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'
}

# expect_ok NAME ARGS... : exit 0 and a PNG of the expected size in $TMP/out.png
expect_ok() {
  local name=$1 size=$2; shift 2
  rm -f "$TMP/out.png"
  if "$DIFFUSE" "$@" --quiet --out "$TMP/out.png" 2>"$TMP/err" && [ -s "$TMP/out.png" ] &&
     [ "$(png_size "$TMP/out.png")" = "$size" ]; then ok "$name"
  else bad "$name (expected a $size PNG, got $( [ -f "$TMP/out.png" ] && png_size "$TMP/out.png" || echo none))"; fi
}

# expect_fail NAME SUBSTRING ARGS... : non-zero exit, message contains SUBSTRING, no output file
expect_fail() {
  local name=$1 want=$2; shift 2
  rm -f "$TMP/out.png"
  if "$DIFFUSE" "$@" --quiet --out "$TMP/out.png" 2>"$TMP/err"; then
    bad "$name (exit 0, expected failure)"
  elif ! grep -qF -- "$want" "$TMP/err"; then
    bad "$name (message lacks '$want')"
  elif [ -e "$TMP/out.png" ]; then
    bad "$name (wrote an output file on failure)"
  else ok "$name"; fi
}

COMMON=(--model "$MODEL" --vocab "$VOCAB" --steps 4 --seed 7)

expect_ok "img2img 64x64" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a red fox"
cp "$TMP/out.png" "$TMP/first.png"
expect_ok "img2img same seed again" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a red fox"
if cmp -s "$TMP/out.png" "$TMP/first.png"; then ok "same seed, same image"; else bad "same seed, same image"; fi
expect_ok "img2img other seed" 64x64 img2img --model "$MODEL" --vocab "$VOCAB" --steps 4 --seed 8 --init "$FIX/init-64.png" --prompt "a red fox"
if cmp -s "$TMP/out.png" "$TMP/first.png"; then bad "other seed, other image"; else ok "other seed, other image"; fi
expect_ok "img2img 61x47 (not a multiple of 8)" 61x47 img2img "${COMMON[@]}" --init "$FIX/init-61x47.png" --prompt "a boat" --sampler ddim
expect_ok "img2img philox noise" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "x" --rng philox
for s in ddim pndm euler euler_a dpmpp_2m dpmpp_2m_karras lms lcm; do
  expect_ok "img2img sampler $s" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox" --sampler "$s"
done
expect_ok "txt2img SD-Turbo style: 1 step, trailing, no guidance" 64x64 txt2img "${COMMON[@]}" --prompt "a fox" --steps 1 --cfg 0 --sampler euler_a --spacing trailing --width 64 --height 64
expect_ok "img2img 2 x 0.5, trailing, v prediction" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox" --steps 2 --strength 0.5 --spacing trailing --prediction v
expect_ok "img2img linspace, eps" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox" --sampler dpmpp_2m --spacing linspace --prediction eps
expect_ok "inpaint 4-channel" 64x64 inpaint "${COMMON[@]}" --init "$FIX/init-64.png" --mask "$FIX/mask-64.png" --prompt "a cat"
expect_ok "inpaint fill" 64x64 inpaint "${COMMON[@]}" --init "$FIX/init-64.png" --mask "$FIX/mask-64.png" --prompt "a cat" --masked-content fill
expect_ok "inpaint latent noise" 64x64 inpaint "${COMMON[@]}" --init "$FIX/init-64.png" --mask "$FIX/mask-64.png" --prompt "a cat" --masked-content noise --strength 0.6
expect_ok "inpaint 9-channel" 64x64 inpaint --model "$INPAINT_MODEL" --vocab "$VOCAB" --steps 4 --init "$FIX/init-64.png" --mask "$FIX/mask-64.png" --prompt "a cat" --strength 1
expect_ok "txt2img 60x44" 60x44 txt2img "${COMMON[@]}" --prompt "a lighthouse" --width 60 --height 44
expect_ok "preset by name" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox" --preset Watercolour --steps 3
expect_ok "timings" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "x" --timings
if grep -q "peak RSS" "$TMP/err" && grep -q "per step" "$TMP/err"; then ok "timings printed"; else bad "timings printed"; fi
expect_ok "txt2img 128x96 in VAE tiles of 64" 128x96 txt2img "${COMMON[@]}" --prompt "a lighthouse" --width 128 --height 96 --vae-tile 64
cp "$TMP/out.png" "$TMP/big.png" 2>/dev/null
expect_ok "img2img 128x96 in VAE tiles of 64" 128x96 img2img "${COMMON[@]}" --init "$TMP/big.png" --prompt "a boat" --vae-tile 64
expect_ok "img2img VAE tiles off" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "x" --vae-tile off

# LoRA and the A1111 prompt syntax (issue 15)
LORAS=$SHARED/golden-lora
if [ -f "$LORAS/lora_a_kohya.safetensors" ]; then
  expect_ok "img2img with --lora FILE:0.8" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox" --lora "$LORAS/lora_a_kohya.safetensors:0.8"
  cp "$TMP/out.png" "$TMP/lora-flag.png"
  expect_ok "img2img with <lora:name:0.8> from --lora-dir" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox<lora:lora_a_kohya:0.8>" --lora-dir "$LORAS"
  if cmp -s "$TMP/out.png" "$TMP/lora-flag.png"; then ok "--lora and <lora:…> give the same image"; else bad "--lora and <lora:…> give the same image"; fi
  expect_ok "img2img without LoRA" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox"
  if ! cmp -s "$TMP/out.png" "$TMP/lora-flag.png"; then ok "a LoRA changes the image"; else bad "a LoRA changes the image"; fi
  # The GIMP options scenario once gave the prompt's LoRA other pixels (issue 15): both ways,
  # repeated, on 1 and 2 threads, in fp32 and (where the CPU has it) bf16, all bit-identical
  # within a precision.
  precisions=fp32
  "$DIFFUSE" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt x --steps 2 --precision bf16 \
    --quiet --out "$TMP/probe.png" 2>/dev/null && precisions="fp32 bf16"
  for p in $precisions; do
    same=1 runs=0
    for threads in 1 2; do
      for rep in 1 2; do
        for way in flag tag; do
          args=(--lora "$LORAS/lora_a_kohya.safetensors:0.8" --prompt "a red barn")
          [ $way = tag ] && args=(--lora-dir "$LORAS" --prompt "a red barn <lora:lora_a_kohya:0.8>")
          rm -f "$TMP/out.png"
          "$DIFFUSE" img2img "${COMMON[@]}" --init "$FIX/init-61x47.png" --strength 0.6 --steps 3 \
            --sampler euler --precision "$p" --threads "$threads" "${args[@]}" --quiet \
            --out "$TMP/out.png" 2>"$TMP/err" || same=0
          runs=$((runs + 1))
          [ -f "$TMP/lora-$p.png" ] || cp "$TMP/out.png" "$TMP/lora-$p.png" 2>/dev/null
          cmp -s "$TMP/out.png" "$TMP/lora-$p.png" || same=0
        done
      done
    done
    if [ $same = 1 ]; then ok "$p: --lora and <lora:…> give the same PNG in $runs runs (1 and 2 threads)"
    else bad "$p: --lora and <lora:…> give the same PNG in $runs runs (1 and 2 threads)"; fi
  done
  expect_ok "two LoRAs (kohya + PEFT)" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox" --lora "$LORAS/lora_b_kohya.safetensors:0.5" --lora "$LORAS/lora_a_peft.safetensors"
  expect_fail "<lora:…> missing from the folder" "nothere.safetensors" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "<lora:nothere>" --lora-dir "$LORAS"
  expect_fail "<lora:…> with a path" "not a path" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "<lora:../x>" --lora-dir "$LORAS"
fi
expect_ok "A1111 emphasis, BREAK and a 3-chunk prompt" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" \
  --prompt "a (red:1.3) fox, [blurry], ((sharp)) BREAK $(printf 'word%d, ' $(seq 1 90))" --negative "(ugly:1.2)"
expect_fail "prompt weight that is not a number" "is not a number" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "(cat:1.2.3)"
# Every format diffuse reads, known by its contents (the bad ones are in matrix_cli.sh).
mkdir -p "$TMP/img"
if /usr/bin/python3 "$(dirname "$0")/make_bad_images.py" "$FIX/init-64.png" "$TMP/img" --no-big 2>"$TMP/err"; then
  expect_ok "img2img JPEG init" 64x64 img2img "${COMMON[@]}" --init "$TMP/img/good.jpg" --prompt "a fox"
  expect_ok "img2img WebP init" 64x64 img2img "${COMMON[@]}" --init "$TMP/img/good.webp" --prompt "a fox"
  expect_ok "img2img PNG named .jpg" 64x64 img2img "${COMMON[@]}" --init "$TMP/img/png-named.jpg" --prompt "a fox"
  cp "$TMP/out.png" "$TMP/named.png"
  expect_ok "img2img same PNG named .png" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a fox"
  if cmp -s "$TMP/out.png" "$TMP/named.png"; then ok "the name does not change the result"; else bad "the name does not change the result"; fi
  expect_ok "inpaint RGB JPEG mask" 64x64 inpaint "${COMMON[@]}" --init "$FIX/init-64.png" --mask "$TMP/img/mask.jpg" --prompt "a cat"
else
  echo "SKIP image formats: make_bad_images.py needs python3-pil"; sed 's/^/     | /' "$TMP/err" | tail -2
fi
if [ -z "$(find "$TMP" -name '.out.png.*')" ]; then ok "no temporary file left"; else bad "no temporary file left"; fi

# Bad input: each gets its message and a non-zero status.
printf 'not a model' > "$TMP/junk.safetensors"
head -c 1000000 "$MODEL" > "$TMP/truncated.safetensors"
printf 'not a png' > "$TMP/junk.png"
expect_fail "VAE tile not a multiple of 64" "multiple of 64" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt x --vae-tile 100
expect_fail "missing model" "no-such-model" img2img --model "$TMP/no-such-model.safetensors" --vocab "$VOCAB" --init "$FIX/init-64.png" --prompt x
expect_fail "corrupt model" "junk.safetensors" img2img --model "$TMP/junk.safetensors" --vocab "$VOCAB" --init "$FIX/init-64.png" --prompt x
expect_fail "truncated model" "truncated.safetensors" img2img --model "$TMP/truncated.safetensors" --vocab "$VOCAB" --init "$FIX/init-64.png" --prompt x
expect_fail "missing vocab" "no-such-vocab" img2img --model "$MODEL" --vocab "$TMP/no-such-vocab" --init "$FIX/init-64.png" --prompt x
expect_fail "unreadable image" "junk.png" img2img "${COMMON[@]}" --init "$TMP/junk.png" --prompt x
expect_fail "missing image" "nothere.png" img2img "${COMMON[@]}" --init "$TMP/nothere.png" --prompt x
expect_fail "mask size mismatch" "mask" inpaint "${COMMON[@]}" --init "$FIX/init-64.png" --mask "$FIX/mask-32.png" --prompt x
expect_fail "inpaint without mask" "--mask" inpaint "${COMMON[@]}" --init "$FIX/init-64.png" --prompt x
expect_fail "img2img without init" "--init" img2img "${COMMON[@]}" --prompt x
expect_fail "steps 0" "--steps" img2img --model "$MODEL" --vocab "$VOCAB" --init "$FIX/init-64.png" --steps 0
expect_fail "strength > 1" "--strength" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --strength 1.5
expect_fail "strength 0" "--strength" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --strength 0
expect_fail "strength too small for the steps" "strength" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --strength 0.1
expect_fail "bad cfg" "--cfg" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --cfg abc
expect_fail "unknown sampler" "unknown sampler" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --sampler warp
expect_fail "unknown spacing" "--spacing must be leading, trailing or linspace" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --spacing even
expect_fail "unknown prediction" "--prediction must be auto, eps or v" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prediction x0
expect_fail "steps x strength < 1" "at least 2 steps" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --steps 1 --strength 0.5
expect_fail "unknown option" "unknown option" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --frobnicate 1
expect_fail "unknown command" "unknown command" paint "${COMMON[@]}"
expect_fail "inpainting model for img2img" "inpainting checkpoint" img2img --model "$INPAINT_MODEL" --vocab "$VOCAB" --init "$FIX/init-64.png" --prompt x
expect_fail "memory budget too small" "needs about" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt x --memory 1
expect_fail "unknown preset" "no preset named" img2img "${COMMON[@]}" --init "$FIX/init-64.png" --preset "No Such Preset"

# presets subcommands
if "$DIFFUSE" presets list 2>"$TMP/err" | grep -q "Watercolour"; then ok "presets list"; else bad "presets list"; fi
if "$DIFFUSE" presets show "Line art" 2>"$TMP/err" | grep -q '"name":[[:space:]]*"Line art"'; then ok "presets show"; else bad "presets show"; fi
printf '{"version":1,"name":"x","prompt":"p","steps":-1}' > "$TMP/badpreset.json"
if ! "$DIFFUSE" presets validate "$TMP/badpreset.json" 2>"$TMP/err" && grep -q 'badpreset.json: key "steps"' "$TMP/err"; then
  ok "presets validate names file and key"; else bad "presets validate names file and key"; fi
printf '{"version":1,"name":"x","prompt":"p","vae_tile":100}' > "$TMP/badtile.json"
if ! "$DIFFUSE" presets validate "$TMP/badtile.json" 2>"$TMP/err" && grep -q 'badtile.json: key "vae_tile"' "$TMP/err"; then
  ok "presets validate: vae_tile off the 64 grid"; else bad "presets validate: vae_tile off the 64 grid"; fi
# a preset's rng, masked_content and vae_tile reach the job when no flag gives them, as the
# flags do; a flag wins over the preset
printf '{"version":1,"name":"Opts","prompt":"{prompt}","rng":"philox","masked_content":"fill","vae_tile":64}' \
  > "$TMP/opts.json"
INP=(inpaint "${COMMON[@]}" --init "$FIX/init-64.png" --mask "$FIX/mask-64.png" --prompt "a fox")
expect_ok "inpaint --rng philox --masked-content fill --vae-tile 64" 64x64 "${INP[@]}" --rng philox \
  --masked-content fill --vae-tile 64
cp "$TMP/out.png" "$TMP/opts-flags.png"
expect_ok "inpaint --preset with rng, masked_content, vae_tile" 64x64 "${INP[@]}" --preset "$TMP/opts.json"
if cmp -s "$TMP/out.png" "$TMP/opts-flags.png"; then ok "the preset's job options = the flags"
else bad "the preset's job options = the flags"; fi
expect_ok "inpaint --preset --rng torch" 64x64 "${INP[@]}" --preset "$TMP/opts.json" --rng torch
if ! cmp -s "$TMP/out.png" "$TMP/opts-flags.png"; then ok "--rng wins over the preset's rng"
else bad "--rng wins over the preset's rng"; fi
if "$DIFFUSE" --help | grep -q -- "--masked-content"; then ok "--help"; else bad "--help"; fi
if "$DIFFUSE" --help | grep -q -- "--spacing S" && "$DIFFUSE" --help | grep -q "dpmpp_2m_karras, lms, lcm"; then
  ok "--help lists --spacing and the samplers of the table"; else bad "--help lists --spacing and the samplers"; fi

# Precision (issue 17). A CPU without bf16 instructions (forced with SD_NO_BF16=1) runs
# auto as fp32: the very same image as --precision fp32.
P=(img2img "${COMMON[@]}" --init "$FIX/init-64.png" --prompt "a red fox")
expect_ok "precision fp32" 64x64 "${P[@]}" --precision fp32
cp "$TMP/out.png" "$TMP/fp32.png"
SD_NO_BF16=1 expect_ok "precision auto without bf16" 64x64 "${P[@]}"
if cmp -s "$TMP/out.png" "$TMP/fp32.png"; then ok "auto without bf16 = fp32, bit for bit"
else bad "auto without bf16 = fp32, bit for bit"; fi
SD_NO_BF16=1 expect_fail "precision bf16 without bf16" "neither AMX-BF16 nor AVX512-BF16" "${P[@]}" --precision bf16
expect_fail "precision bad value" "--precision must be auto, fp32 or bf16" "${P[@]}" --precision fp16
if SD_NO_BF16=1 "$DIFFUSE" "${P[@]}" --quiet --timings --out "$TMP/out.png" 2>"$TMP/err" &&
   grep -q "precision: fp32" "$TMP/err"; then ok "--timings names the precision"
else bad "--timings names the precision"; fi
if "$DIFFUSE" "${P[@]}" --quiet --precision bf16 --out "$TMP/bf16.png" 2>"$TMP/err"; then
  if cmp -s "$TMP/bf16.png" "$TMP/fp32.png"; then bad "bf16 differs from fp32"; else ok "bf16 runs, differs from fp32"; fi
elif grep -qF "neither AMX-BF16 nor AVX512-BF16" "$TMP/err"; then echo "SKIP precision bf16: no bf16 instructions here"
else bad "precision bf16"; fi
# TAESD: draft VAE in both layouts, live previews (TAESD at full size, latent->RGB at 1/8)
TAESD=$SHARED/golden-taesd
if [ -d "$TAESD" ]; then
  expect_ok "draft img2img (diffusers TAESD)" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" \
    --prompt "a fox" --taesd "$TAESD/tiny-taesd" --draft-vae
  cp "$TMP/out.png" "$TMP/draft.png"
  expect_ok "draft img2img (taesd.py files)" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" \
    --prompt "a fox" --taesd "$TAESD/taesd_decoder.safetensors" --draft-vae
  if cmp -s "$TMP/out.png" "$TMP/draft.png"; then ok "both TAESD layouts, same image"; else bad "both TAESD layouts, same image"; fi
  if cmp -s "$TMP/out.png" "$TMP/first.png"; then bad "the draft VAE differs from the full VAE"; else ok "the draft VAE differs from the full VAE"; fi
  rm -f "$TMP/preview.png"
  expect_ok "txt2img with a TAESD preview" 40x24 txt2img "${COMMON[@]}" --width 40 --height 24 \
    --prompt "a fox" --taesd "$TAESD/tiny-taesd" --preview "$TMP/preview.png" --preview-every 2
  if [ "$(png_size "$TMP/preview.png" 2>/dev/null)" = 40x24 ] && ! ls -A "$TMP" | grep -q '^\.preview\.png\.'; then
    ok "TAESD preview written at the job's size, no temporary left"; else bad "TAESD preview written at the job's size"; fi
  rm -f "$TMP/preview.png"
  expect_ok "img2img with a latent preview" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" \
    --prompt "a fox" --preview "$TMP/preview.png" --sampler dpmpp_2m
  if [ "$(png_size "$TMP/preview.png" 2>/dev/null)" = 8x8 ]; then ok "latent preview at 1/8 size"; else bad "latent preview at 1/8 size"; fi
  # a preset that asks for the draft VAE runs the full VAE when no TAESD is given
  printf '{"version":1,"name":"D","prompt":"{prompt}","draft_vae":true}' > "$TMP/draft-preset.json"
  expect_ok "draft preset without a TAESD" 64x64 img2img "${COMMON[@]}" --init "$FIX/init-64.png" \
    --prompt "a red fox" --preset "$TMP/draft-preset.json"
  if cmp -s "$TMP/out.png" "$TMP/first.png"; then ok "... is the full VAE's image"; else bad "... is the full VAE's image"; fi
else
  echo "note: no $TAESD: TAESD cases not run"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
