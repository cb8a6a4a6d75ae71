# The tiny SD 2.x models through the GIMP 3 plug-in (python-fu), run by gimp3-e2e-sd2.sh
# (issue 14): the jobs of e2e-gimp2-sd2.scm, with the same settings, for check_sd2.py.
# Environment: GD_WORK (holds sd2-in.png, pure colours: make_input.py says why), GD_MODEL
# (../golden-sd2's tiny-sd2; tiny-sd2-v and tiny-sd2-inpaint beside it), GD_VOCAB, GD_HERE; GD_SD2_MODELS, when set, is that folder
# instead, and GD_SD2_JOBS a comma-separated choice of the jobs (gimp3-e2e.sh runs one Turbo
# job that way beside the SD 1 scenario: the Flatpak bundle's check).
# Each job selects 96 x 64 at (40,30) without antialiasing (the plug-in reads the selection as
# linear Y: only 0 and 1 reach the CLI's mask unchanged); with 16 px of padding the region is
# 128 x 96 at (24,14), the working size of work-size 128, so nothing is scaled.
# Writes sd2-JOB-{selection,layer,source,out}.png and sd2-JOB-parasite.json; any failed
# assertion raises.
import os
import sys

sys.path.insert(0, os.environ['GD_HERE'])
from gd_gimp3 import D, Gimp, Gio, save_parasite  # noqa: E402

MODELS = os.environ.get('GD_SD2_MODELS') or os.path.dirname(os.environ['GD_MODEL'])
CHOSEN = [j for j in os.environ.get('GD_SD2_JOBS', '').split(',') if j]
VOCAB = os.environ['GD_VOCAB']
pdb = Gimp.get_pdb()


def export(img, path):
    proc = pdb.lookup_procedure('file-png-export')
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_property('file', Gio.File.new_for_path(path))
    cfg.set_property('time', False)
    cfg.set_property('save-transparent', True)  # keep colours under alpha 0
    cfg.set_property('include-color-profile', False)
    assert proc.run(cfg).index(0) == Gimp.PDBStatusType.SUCCESS, f'export {path} failed'


def export_drawable(drawable, path):
    """One drawable alone, at its own size, through a scratch image."""
    base = Gimp.ImageBaseType.GRAY if isinstance(drawable, Gimp.Channel) else Gimp.ImageBaseType.RGB
    img2 = Gimp.Image.new(drawable.get_width(), drawable.get_height(), base)
    l2 = Gimp.Layer.new_from_drawable(drawable, img2)
    img2.insert_layer(l2, None, 0)
    l2.set_offsets(0, 0)
    export(img2, path)
    img2.delete()


def open_image(shape):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f'{D}/sd2-in.png'))
    Gimp.context_push()
    Gimp.context_set_antialias(False)
    if shape == 'ellipse':
        img.select_ellipse(Gimp.ChannelOps.REPLACE, 40, 30, 96, 64)
    else:
        img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 96, 64)
    Gimp.context_pop()
    return img


def run(proc_name, img, model, **args):
    proc = pdb.lookup_procedure(proc_name)
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', [img.get_layers()[0]])
    args.update({'random-seed': False, 'work-size': 128, 'context-padding': 16, 'feather': 4.0,
                 'color-match': False, 'prediction': 'auto',
                 'model': Gio.File.new_for_path(f'{MODELS}/{model}.safetensors'),
                 'vocab': Gio.File.new_for_path(VOCAB)})
    for k, v in args.items():
        cfg.set_property(k, v)
    return proc.run(cfg)


def job(name, shape, proc_name, model, **args):
    if CHOSEN and name not in CHOSEN:
        return
    img = open_image(shape)
    src = img.get_layers()[0]
    pre = f'{D}/sd2-{name}-'
    export_drawable(img.get_selection(), f'{pre}selection.png')
    res = run(proc_name, img, model, **args)
    assert res.index(0) == Gimp.PDBStatusType.SUCCESS, \
        f'{name}: {res.index(0)} {res.index(1) if res.length() > 1 else ""}'
    layer, seed = res.index(1), res.index(2)
    layers = img.get_layers()
    assert len(layers) == 2 and layers[0].get_id() == layer.get_id() and \
        layers[1].get_id() == src.get_id(), f'{name}: one new layer above the source'
    assert tuple(layer.get_offsets()[1:]) == (24, 14), f'{name}: offsets {layer.get_offsets()}'
    assert (layer.get_width(), layer.get_height()) == (128, 96), f'{name}: size'
    assert seed == args['seed'], f'{name}: returned seed {seed}'
    save_parasite(layer, f'{pre}parasite.json')
    export_drawable(layer, f'{pre}layer.png')
    export_drawable(src, f'{pre}source.png')
    Gimp.Selection.none(img)
    img.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    export(img, f'{pre}out.png')
    img.delete()
    print(f'{name}: ok')


TURBO = dict(prompt='a cinematic photo of a red panda', negative_prompt='', cfg_scale=0.0,
             sampler='euler_a', timestep_spacing='trailing')


def kw(**a):
    return {k.replace('_', '-'): v for k, v in a.items()}


job('img2img', 'rectangle', 'plug-in-diffusion-img2img', 'tiny-sd2',
    **kw(prompt='a red barn in a field', negative_prompt='', strength=0.6, steps=4, cfg_scale=7.5,
         sampler='euler_a', seed=42, timestep_spacing='leading'))
job('inpaint', 'ellipse', 'plug-in-diffusion-inpaint', 'tiny-sd2-inpaint',
    **kw(prompt='a blue lake', negative_prompt='blurry', strength=1.0, steps=4, cfg_scale=7.5,
         sampler='ddim', seed=7, timestep_spacing='leading'))
job('v', 'rectangle', 'plug-in-diffusion-img2img', 'tiny-sd2-v',
    **kw(prompt='a lighthouse on a cliff', negative_prompt='', strength=0.75, steps=4,
         cfg_scale=7.5, sampler='euler', seed=11, timestep_spacing='leading'))
job('turbo-txt2img', 'rectangle', 'plug-in-diffusion-txt2img', 'tiny-sd2',
    **kw(steps=1, seed=5, **TURBO))
job('turbo-img2img', 'rectangle', 'plug-in-diffusion-img2img', 'tiny-sd2',
    **kw(strength=0.5, steps=2, seed=9, **TURBO))



def refused_turbo():
    """1 step x strength 0.5 leaves no step to run: refused with the reason, the image left
    alone."""
    img = open_image('rectangle')
    res = run('plug-in-diffusion-img2img', img, 'tiny-sd2',
              **kw(strength=0.5, steps=1, seed=9, **TURBO))
    msg = str(res.index(1)) if res.length() > 1 else ''
    print(f'turbo 1 step x 0.5 -> {res.index(0).value_nick}: {msg}')
    assert res.index(0) != Gimp.PDBStatusType.SUCCESS, 'turbo: 1 step x strength 0.5 accepted'
    assert 'leaves no denoising step to run' in msg, f'turbo refusal: unclear message {msg}'
    assert len(img.get_layers()) == 1, 'no layer after the refused turbo job'
    img.delete()


if not CHOSEN or 'turbo-refused' in CHOSEN:
    refused_turbo()
print('E2E-GIMP3-SD2-OK')
