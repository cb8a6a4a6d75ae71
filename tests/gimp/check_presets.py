#!/usr/bin/python3
"""Checks the Apply Preset runs of a GIMP end-to-end test (both hosts).

usage: check_presets.py WORKDIR PRESETS_DIR
For each case the batch saved CASE-parasite.json, the "gimp-diffusion-params" parasite of
the layer that plug-in-diffusion-apply-preset made from a preset in PRESETS_DIR (the test's
user presets). The parasite must show the preset's prompt with the subject in {prompt}, and
its settings. Exit 0 only if every check passes.
"""
import json
import sys

from checks import check, check_preset_run, finish

# case: (preset file, subject the batch passed, mode "auto" must pick, selection w x h)
CASES = {
    'preset-draft': ('fast-draft.json', 'a heron', 'img2img', (80, 60)),
    'preset-fill': ('clean-fill.json', 'grass', 'inpaint', (80, 60)),
}
def main():
    work, presets = sys.argv[1], sys.argv[2]
    for case, (file, subject, mode, (sw, sh)) in CASES.items():
        preset = json.load(open(f'{presets}/{file}'))
        meta = json.load(open(f'{work}/{case}-parasite.json'))
        check_preset_run(meta, preset, subject, case)
        check(meta.get('preset') == preset['name'],
              f'{case}: preset {meta.get("preset")!r} == {preset["name"]!r}')
        check(meta['mode'] == mode, f'{case}: mode {meta["mode"]} == {mode} (auto)')
        skip = preset.get('clip_skip', 1)
        check(meta['clip_skip'] == skip, f'{case}: clip skip {meta["clip_skip"]} == {skip}')
        r, pad = meta['region'], preset['padding']
        check((r['width'], r['height']) == (sw + 2 * pad, sh + 2 * pad),
              f'{case}: region {r["width"]}x{r["height"]} = selection + 2 x the preset\'s padding')
    return finish('all preset checks')


if __name__ == '__main__':
    sys.exit(main())
