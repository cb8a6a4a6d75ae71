# Headless test of Apply Preset in GIMP 3, run by gimp3-e2e.sh after e2e_gimp3.py, with
#   gimp-console-3.0 --batch-interpreter=python-fu-eval -b "exec(open('.../e2e_gimp3_presets.py').read())"
# once tests/gimp/presets/*.json are in the profile's diffusion/presets folder.
# Environment: GD_WORK (holds in.png; results go there), GD_MODEL, GD_VOCAB.
# Runs plug-in-diffusion-apply-preset by name on a selection and saves each new layer's
# "gimp-diffusion-params" parasite as CASE-parasite.json for check_presets.py; a name that
# is no preset must fail with a message naming it. Any failed assertion raises.
import os

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio  # noqa: E402

D = os.environ['GD_WORK']
MODEL = Gio.File.new_for_path(os.environ['GD_MODEL'])
VOCAB = Gio.File.new_for_path(os.environ['GD_VOCAB'])
proc = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-apply-preset')
assert proc is not None, 'plug-in-diffusion-apply-preset is not registered'


def apply_preset(img, preset, subject):
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', [img.get_layers()[0]])
    cfg.set_property('preset', preset)
    cfg.set_property('subject', subject)
    cfg.set_property('model', MODEL)
    cfg.set_property('vocab', VOCAB)
    return proc.run(cfg)  # mode: its default, auto


def preset_case(case, preset, subject, seed):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f'{D}/in.png'))
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
    res = apply_preset(img, preset, subject)
    assert res.index(0) == Gimp.PDBStatusType.SUCCESS, \
        f'{case}: {res.index(0)} {res.index(1) if res.length() > 1 else ""}'
    layer = res.index(1)
    layers = img.get_layers()
    assert len(layers) == 2 and layers[0].get_id() == layer.get_id(), 'one new layer, on top'
    assert res.index(2) == seed, f'{case}: returned seed {res.index(2)}, the preset has {seed}'
    para = layer.get_parasite('gimp-diffusion-params')
    assert para is not None, f'{case}: parameters parasite attached'
    with open(f'{D}/{case}-parasite.json', 'wb') as f:
        f.write(bytes(para.get_data()).rstrip(b'\0'))
    img.delete()


# the user's "Fast draft" overrides the shipped one; names match in any case
preset_case('preset-draft', 'fast draft', 'a heron', 4321)
preset_case('preset-fill', 'Test clean fill', 'grass', 99)

img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f'{D}/in.png'))
res = apply_preset(img, 'No such preset', 'x')
msg = str(res.index(1)) if res.length() > 1 else ''
print(f'unknown preset -> {res.index(0).value_nick}: {msg}')
assert res.index(0) != Gimp.PDBStatusType.SUCCESS, 'an unknown preset name is refused'
assert 'There is no preset named "No such preset"' in msg, f'unclear message: {msg}'
assert len(img.get_layers()) == 1, 'no layer after an unknown preset'
img.delete()
print('E2E-GIMP3-PRESETS-OK')
