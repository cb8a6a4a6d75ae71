"""What the tests' result checks share (check_e2e.py, check_presets.py, check_gui_presets.py;
run by the drivers outside GIMP): one line per check, a count of failures, and the check
that a run's parasite shows a preset's prompt and settings."""

failed = 0


def check(ok, what):
    """Prints 'ok   what' or 'FAIL what' and counts the failure."""
    global failed
    print(('ok   ' if ok else 'FAIL ') + what)
    failed += 0 if ok else 1


def check_preset_run(meta, preset, subject, label):
    """meta (a run's gimp-diffusion-params parasite) shows the preset's template with
    `subject` in {prompt}, its negative prompt and settings."""
    want = preset['prompt'].replace('{prompt}', subject)
    check(meta['prompt'] == want, f'{label}: prompt {meta["prompt"]!r} == {want!r}')
    check(meta['negative_prompt'] == preset.get('negative_prompt', ''),
          f'{label}: negative prompt {meta["negative_prompt"]!r}')
    for key in ('sampler', 'steps', 'cfg_scale', 'strength', 'padding', 'feather'):
        check(meta[key] == preset[key], f'{label}: {key} {meta[key]} == {preset[key]}')
    check(meta['seed'] == str(preset['seed']), f'{label}: seed {meta["seed"]} == {preset["seed"]}')
    long_side = max(meta['work_width'], meta['work_height'])
    check(long_side == preset['resolution'],
          f'{label}: working resolution {long_side} == {preset["resolution"]}')
    return want


def finish(what):
    """The summary line; the exit status (0 only if every check passed)."""
    print(f'{failed} check(s) FAILED' if failed else f'PASS: {what}')
    return 1 if failed else 0


