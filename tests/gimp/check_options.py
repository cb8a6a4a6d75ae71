#!/usr/bin/python3
"""Checks the options scenario of the e2e tests (e2e-gimp2-options.scm, e2e_gimp3_options.py).

usage: check_options.py WORKDIR
WORKDIR/opt-CASE.png and opt-CASE.json for CASE base, lora-arg, lora-prompt, trailing, draft,
fp32, clip-skip, philox, tile-off: the same img2img run with one option changed; and inpaint,
fill: an inpaint run with masked content original and fill. Each changed run's parasite
records the option (the LoRA's file name and weight, the spacing, the draft VAE, the precision
and bf16 kernel that ran, the clip skip, the noise, the VAE tiles, the masked content), and
its layer differs from the baseline's (the option reached the engine) -- except VAE tiles off,
which at 64 px is what auto does (untiled), and fp32 where the baseline's auto ran fp32 too
(a CPU without bf16): those layers are the baseline's, pixel for pixel. The LoRA named in the
prompt (<lora:NAME:0.8>) gives exactly the pixels of the same file at 0.8 from the loras
argument (the engine merges the same weights either way). Exit 0 only if every check passes.
"""
import json
import sys

from PIL import Image, ImageChops

from checks import check, finish


def main():
    work = sys.argv[1]
    meta = {c: json.load(open(f'{work}/opt-{c}.json'))
            for c in ('base', 'lora-arg', 'lora-prompt', 'trailing', 'draft', 'fp32',
                      'clip-skip', 'philox', 'tile-off', 'inpaint', 'fill')}
    # RGB: the alpha (the feathered selection) is the same in every run, and getbbox of an
    # RGBA difference looks at its alpha only
    img = {c: Image.open(f'{work}/opt-{c}.png').convert('RGB') for c in meta}
    base = meta['base']
    check(base['loras'] == [] and base['timestep_spacing'] == 'leading' and
          base['prediction'] == 'eps' and base['draft_vae'] is False,
          f'baseline: no LoRA, leading, auto detected as eps, full VAE ({base["loras"]}, '
          f'{base["timestep_spacing"]}, {base["prediction"]}, {base["draft_vae"]})')
    check(meta['lora-arg']['loras'] == [{'file': 'lora_a_kohya.safetensors', 'weight': 0.8}],
          f'LoRA argument recorded: {meta["lora-arg"]["loras"]}')
    check('<lora:lora_a_kohya:0.8>' in meta['lora-prompt']['prompt'],
          f'prompt LoRA recorded in the prompt: {meta["lora-prompt"]["prompt"]!r}')
    check(meta['trailing']['timestep_spacing'] == 'trailing',
          f'spacing recorded: {meta["trailing"]["timestep_spacing"]}')
    check(meta['draft']['draft_vae'] is True, f'draft VAE recorded: {meta["draft"]["draft_vae"]}')
    # what ran: auto is bf16 where the CPU has the instructions, and says which kernel
    check(base['precision'] in ('fp32', 'bf16') and
          (base['bf16_kernel'] == 'none') == (base['precision'] == 'fp32'),
          f'baseline (auto) records what ran: {base["precision"]}, {base["bf16_kernel"]}')
    check(meta['fp32']['precision'] == 'fp32' and meta['fp32']['bf16_kernel'] == 'none',
          f'fp32 recorded: {meta["fp32"]["precision"]}, {meta["fp32"]["bf16_kernel"]}')
    check(base['clip_skip'] == 1 and meta['clip-skip']['clip_skip'] == 2,
          f'clip skip recorded: {base["clip_skip"]}, {meta["clip-skip"]["clip_skip"]}')
    check(base['rng'] == 'torch' and meta['philox']['rng'] == 'philox',
          f'noise recorded: {base["rng"]}, {meta["philox"]["rng"]}')
    check(base['vae_tile'] == 'auto' and meta['tile-off']['vae_tile'] == 'off',
          f'VAE tiles recorded: {base["vae_tile"]}, {meta["tile-off"]["vae_tile"]}')
    check('masked_content' not in base and meta['inpaint']['masked_content'] == 'original' and
          meta['fill']['masked_content'] == 'fill',
          f'masked content recorded (inpaint only): {meta["inpaint"].get("masked_content")}, '
          f'{meta["fill"].get("masked_content")}')
    changed = ['lora-arg', 'lora-prompt', 'trailing', 'draft', 'clip-skip', 'philox']
    same = ['tile-off']
    (changed if base['precision'] == 'bf16' else same).append('fp32')
    pairs = [(c, 'base') for c in changed] + [('fill', 'inpaint')]
    for c, ref in pairs:
        diff = ImageChops.difference(img[c], img[ref]).getbbox()
        check(img[c].size == img[ref].size and diff is not None,
              f'{c}: the layer differs from {ref}\'s (differences in {diff})')
    for c in same:
        diff = ImageChops.difference(img[c], img['base']).getbbox()
        check(img[c].size == img['base'].size and diff is None,
              f'{c}: the layer is the baseline\'s (differences in {diff})')
    diff = ImageChops.difference(img['lora-prompt'], img['lora-arg']).getbbox()
    check(img['lora-prompt'].size == img['lora-arg'].size and diff is None,
          f'lora-prompt: <lora:lora_a_kohya:0.8> gives the pixels of the loras argument '
          f'(differences in {diff})')
    return finish('all option checks')


if __name__ == '__main__':
    sys.exit(main())
