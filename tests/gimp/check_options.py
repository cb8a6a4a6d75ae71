#!/usr/bin/python3
"""Checks the options scenario of the e2e tests (e2e-gimp2-options.scm, e2e_gimp3_options.py).

usage: check_options.py WORKDIR
WORKDIR/opt-CASE.png and opt-CASE.json for CASE base, lora-arg, lora-prompt, trailing, draft:
the same img2img run with one option changed. Each changed run's parasite records the option
(the LoRA's file name and weight, the spacing, the draft VAE), and its layer differs from the
baseline's (the option reached the engine). Exit 0 only if every check passes.
"""
import json
import sys

from PIL import Image, ImageChops

from checks import check, finish


def main():
    work = sys.argv[1]
    meta = {c: json.load(open(f'{work}/opt-{c}.json'))
            for c in ('base', 'lora-arg', 'lora-prompt', 'trailing', 'draft')}
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
    for c in ('lora-arg', 'lora-prompt', 'trailing', 'draft'):
        diff = ImageChops.difference(img[c], img['base']).getbbox()
        check(img[c].size == img['base'].size and diff is not None,
              f'{c}: the layer differs from the baseline (differences in {diff})')
    return finish('all option checks')


if __name__ == '__main__':
    sys.exit(main())
