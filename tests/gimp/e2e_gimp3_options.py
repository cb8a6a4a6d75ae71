# The engine's newer options through the GIMP 3 plug-in, run by gimp3-e2e.sh (python-fu,
# as e2e_gimp3.py) when the LoRA and TAESD fixtures are there. Environment: GD_WORK, GD_MODEL,
# GD_VOCAB, GD_HERE, GD_LORA (a LoRA file; the config's lora_dir holds it, its taesd names
# the tiny TAESD). The same img2img run (region, seed, 2 steps) as a baseline, with a LoRA
# from the loras argument, with <lora:NAME:0.8> in the prompt, with trailing timestep
# spacing, with the draft VAE, with precision fp32, clip skip 2, the philox noise and VAE
# tiles off; and an inpaint run with masked content original and fill: each layer
# (opt-CASE.png) and parasite (opt-CASE.json) for check_options.py. Any failed assertion
# raises.
import os
import sys

sys.path.insert(0, os.environ['GD_HERE'])
from gd_gimp3 import D, Gimp, Gio, open_test_image, save_parasite  # noqa: E402

LORA = os.environ['GD_LORA']

def export_layer(img, layer, path):
    """The layer alone, at its own size (as gd-save does in GIMP 2.10's test)."""
    img2 = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB)
    l2 = Gimp.Layer.new_from_drawable(layer, img2)
    img2.insert_layer(l2, None, 0)
    l2.set_offsets(0, 0)
    export = Gimp.get_pdb().lookup_procedure('file-png-export')
    cfg = export.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img2)
    cfg.set_property('file', Gio.File.new_for_path(path))
    cfg.set_property('time', False)
    cfg.set_property('save-transparent', True)
    cfg.set_property('include-color-profile', False)
    assert export.run(cfg).index(0) == Gimp.PDBStatusType.SUCCESS, f'export {path}'
    img2.delete()


def one(name, prompt, spacing='leading', loras='', draft=False, mode='img2img', **more):
    """One run; `more` holds further arguments by name with '_' for '-' (clip_skip=2)."""
    img = open_test_image()
    proc = Gimp.get_pdb().lookup_procedure(f'plug-in-diffusion-{mode}')
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', [img.get_layers()[0]])
    for k, v in (('prompt', prompt), ('strength', 0.6), ('steps', 2), ('sampler', 'euler'),
                 ('seed', 42), ('random-seed', False), ('work-size', 64),
                 ('context-padding', 16), ('feather', 4.0),
                 ('model', Gio.File.new_for_path(os.environ['GD_MODEL'])),
                 ('vocab', Gio.File.new_for_path(os.environ['GD_VOCAB'])),
                 ('timestep-spacing', spacing), ('loras', loras), ('draft-vae', draft),
                 *((k.replace('_', '-'), v) for k, v in more.items())):
        cfg.set_property(k, v)
    res = proc.run(cfg)
    assert res.index(0) == Gimp.PDBStatusType.SUCCESS, f'{name}: {res.index(0)}'
    layer = res.index(1)
    save_parasite(layer, f'{D}/opt-{name}.json')
    export_layer(img, layer, f'{D}/opt-{name}.png')
    img.delete()


one('base', 'a red barn')
one('lora-arg', 'a red barn', loras=f'{LORA}:0.8')
one('lora-prompt', 'a red barn <lora:lora_a_kohya:0.8>')
one('trailing', 'a red barn', spacing='trailing')
one('draft', 'a red barn', draft=True)
one('fp32', 'a red barn', precision='fp32')
one('clip-skip', 'a red barn', clip_skip=2)
one('philox', 'a red barn', rng='philox')
one('tile-off', 'a red barn', vae_tile='off')
one('inpaint', 'a blue lake', mode='inpaint', masked_content='original')
one('fill', 'a blue lake', mode='inpaint', masked_content='fill')
print('E2E-GIMP3-OPTIONS-OK')
