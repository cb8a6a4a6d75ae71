#!/usr/bin/python3
"""Checks a preset GUI test (gimp2-gui-presets.sh, gimp3-gui-presets.sh).

usage: check_gui_presets.py WORKDIR PRESETS_DIR SAVED_FILE
The dialog started from the last prompt "a heron"; picking the first preset (the test's
"Fast draft", PRESETS_DIR/fast-draft.json) must have dressed it with the preset's template
and set the preset's settings (the run's parasite, WORKDIR/gui-parasite.json, shows them),
and "Save as Preset..." must have written those values to SAVED_FILE under the name
"GUI saved". Then Apply Preset's dialog, started from its last values ("Test clean fill",
subject "grass"), must have run that preset (WORKDIR/apply-parasite.json).
Exit 0 only if every check passes.
"""
import json
import sys

from checks import check, check_preset_run, finish

def main():
    work, presets, saved_file = sys.argv[1:4]
    preset = json.load(open(f'{presets}/fast-draft.json'))
    meta = json.load(open(f'{work}/gui-parasite.json'))
    want = check_preset_run(meta, preset, 'a heron', 'picked')
    check('preset' not in meta, 'a dialog run records no preset name (the fields may be edited)')

    try:
        saved = json.load(open(saved_file))
    except OSError as e:
        check(False, f'saved preset: {e}')
        return 1
    check(saved['name'] == 'GUI saved', f'saved: name {saved["name"]!r}')
    check(saved['prompt'] == want, f'saved: prompt {saved["prompt"]!r} (the dialog\'s)')
    for key in ('negative_prompt', 'sampler', 'steps', 'cfg_scale', 'strength', 'seed',
                'resolution', 'padding', 'feather'):
        check(saved.get(key) == preset[key], f'saved: {key} {saved.get(key)} == {preset[key]}')

    fill = json.load(open(f'{presets}/clean-fill.json'))
    meta = json.load(open(f'{work}/apply-parasite.json'))
    want = fill['prompt'].replace('{prompt}', 'grass')
    check(meta.get('preset') == fill['name'], f'Apply Preset dialog: preset {meta.get("preset")!r}')
    check(meta['prompt'] == want, f'Apply Preset dialog: prompt {meta["prompt"]!r} == {want!r}')
    check(meta['mode'] == 'inpaint' and meta['steps'] == fill['steps'],
          f'Apply Preset dialog: mode {meta["mode"]}, steps {meta["steps"]}')
    return finish('all preset GUI checks')


if __name__ == '__main__':
    sys.exit(main())
