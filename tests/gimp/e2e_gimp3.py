# Headless end-to-end test of the GIMP 3 plug-in, run by gimp3-e2e.sh with
#   gimp-console-3.0 --batch-interpreter=python-fu-eval -b "exec(open('.../e2e_gimp3.py').read())"
# Environment: GD_WORK (holds in.png; results go there), GD_MODEL, GD_VOCAB.
# For img2img (rectangle selection) and inpaint (ellipse selection) it loads in.png, runs
# the procedure, checks what GIMP itself can tell (layer count, stacking, offsets, size,
# parasite, returned seed) and exports the PNGs that check_e2e.py compares.
# Any failed assertion raises: gimp-console then exits non-zero.
import os

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio  # noqa: E402

D = os.environ['GD_WORK']
MODEL = os.environ['GD_MODEL']
VOCAB = os.environ['GD_VOCAB']
pdb = Gimp.get_pdb()


def gfile(path):
    return Gio.File.new_for_path(path)


def export(img, path):
    proc = pdb.lookup_procedure('file-png-export')
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_property('file', gfile(path))
    cfg.set_property('time', False)
    cfg.set_property('save-transparent', True)  # keep colours under alpha 0
    cfg.set_property('include-color-profile', False)
    res = proc.run(cfg)
    assert res.index(0) == Gimp.PDBStatusType.SUCCESS, f'export {path} failed'


def export_drawable(drawable, path):
    """One drawable alone, at its own size, through a scratch image."""
    base = Gimp.ImageBaseType.GRAY if isinstance(drawable, Gimp.Channel) else Gimp.ImageBaseType.RGB
    img2 = Gimp.Image.new(drawable.get_width(), drawable.get_height(), base)
    l2 = Gimp.Layer.new_from_drawable(drawable, img2)
    img2.insert_layer(l2, None, 0)
    l2.set_offsets(0, 0)
    export(img2, path)
    img2.delete()


def run(proc_name, img, drawable, **args):
    proc = pdb.lookup_procedure(proc_name)
    assert proc is not None, f'{proc_name} is not registered'
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', [drawable])
    for k, v in args.items():
        cfg.set_property(k, v)
    return proc.run(cfg)


def check_mode(mode, proc_name, **args):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(f'{D}/in.png'))
    src = img.get_layers()[0]
    if mode == 'img2img':
        img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
    else:
        img.select_ellipse(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
    export_drawable(img.get_selection(), f'{D}/{mode}-selection.png')

    res = run(proc_name, img, src, model=gfile(MODEL), vocab=gfile(VOCAB), **args)
    status = res.index(0)
    assert status == Gimp.PDBStatusType.SUCCESS, \
        f'{proc_name}: {status} {res.index(1) if res.length() > 1 else ""}'
    layer, seed = res.index(1), res.index(2)
    layers = img.get_layers()
    assert len(layers) == 2, f'{len(layers)} layers, expected exactly one new'
    assert layers[0].get_id() == layer.get_id(), 'the new layer is above the source'
    assert layers[1].get_id() == src.get_id(), 'the source layer is below it'
    assert tuple(layer.get_offsets()[1:]) == (24, 14), f'offsets {layer.get_offsets()}'
    assert (layer.get_width(), layer.get_height()) == (112, 92), 'size = selection + 2 x padding'
    assert layer.has_alpha(), 'the new layer has alpha'
    assert seed == args['seed'], f'returned seed {seed}'
    para = layer.get_parasite('gimp-diffusion-params')
    assert para is not None, 'parameters parasite attached'
    data = bytes(para.get_data()).rstrip(b'\0')
    with open(f'{D}/{mode}-parasite.json', 'wb') as f:
        f.write(data)

    export_drawable(layer, f'{D}/{mode}-layer.png')
    export_drawable(src, f'{D}/{mode}-source.png')
    Gimp.Selection.none(img)
    img.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    export(img, f'{D}/{mode}-out.png')
    img.delete()


common = dict(steps=4, cfg_scale=7.5, random_seed=False, work_size=128, context_padding=16,
              feather=4.0)
check_mode('img2img', 'plug-in-diffusion-img2img', prompt='a red barn in a field',
           strength=0.6, sampler='euler_a', seed=42, color_match=False,
           **{k.replace('_', '-'): v for k, v in common.items()})
check_mode('inpaint', 'plug-in-diffusion-inpaint', prompt='a blue lake', negative_prompt='blurry',
           strength=1.0, sampler='ddim', seed=7, color_match=True,
           **{k.replace('_', '-'): v for k, v in common.items()})



def changed_outside_rect(a_path, b_path, x0, y0, w, h):
    """Pixels of b that differ from a outside the rectangle (PIL, 8-bit exports)."""
    from PIL import Image, ImageChops
    a = Image.open(a_path).convert('RGBA')
    b = Image.open(b_path).convert('RGBA')
    diff = ImageChops.difference(a, b).convert('L').point(lambda v: 255 if v else 0)
    diff.paste(0, (x0, y0, x0 + w, y0 + h))
    return sum(1 for v in diff.getdata() if v)


# txt2img without a selection: the whole layer, opaque
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(f'{D}/in.png'))
res = run('plug-in-diffusion-txt2img', img, img.get_layers()[0], prompt='a castle', steps=2,
          seed=3, random_seed=False, work_size=64, model=gfile(MODEL), vocab=gfile(VOCAB))
assert res.index(0) == Gimp.PDBStatusType.SUCCESS, f'txt2img: {res.index(1)}'
layer = res.index(1)
assert tuple(layer.get_offsets()[1:]) == (0, 0) and (layer.get_width(), layer.get_height()) == (200, 150), \
    'txt2img without a selection covers the layer'
assert layer.get_name() == 'a castle', layer.get_name()
img.delete()

# grayscale and 16-bit images: converted for the engine, the result written back in the
# image's own mode and precision; untouched outside the selection
for variant in ('gray', 'u16'):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(f'{D}/in.png'))
    if variant == 'gray':
        img.convert_grayscale()
    else:
        img.convert_precision(Gimp.Precision.U16_NON_LINEAR)
    export(img, f'{D}/{variant}-in.png')
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
    res = run('plug-in-diffusion-img2img', img, img.get_layers()[0], prompt='x', steps=2, seed=5,
              random_seed=False, work_size=64, context_padding=16, model=gfile(MODEL), vocab=gfile(VOCAB))
    assert res.index(0) == Gimp.PDBStatusType.SUCCESS, f'{variant}: {res.index(1)}'
    layer_mode = 'gray' if res.index(1).is_gray() else 'RGB'
    assert layer_mode == ('gray' if variant == 'gray' else 'RGB'), f'{variant}: layer mode follows the image'
    assert img.get_precision() == (Gimp.Precision.U8_NON_LINEAR if variant == 'gray'
                                   else Gimp.Precision.U16_NON_LINEAR), f'{variant}: precision kept'
    Gimp.Selection.none(img)
    img.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    export(img, f'{D}/{variant}-out.png')
    img.delete()
    n = changed_outside_rect(f'{D}/{variant}-in.png', f'{D}/{variant}-out.png', 40, 30, 80, 60)
    assert n == 0, f'{variant}: {n} pixels changed outside the selection'
    print(f'{variant}: ok, {layer_mode} layer, outside unchanged')

# indexed images are refused with a reason
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(f'{D}/in.png'))
img.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 64, False, False, '')
res = run('plug-in-diffusion-img2img', img, img.get_layers()[0], prompt='x', model=gfile(MODEL))
print(f'indexed -> {res.index(0).value_nick}: {res.index(1) if res.length() > 1 else ""}')
assert res.index(0) != Gimp.PDBStatusType.SUCCESS and len(img.get_layers()) == 1, 'indexed refused'
img.delete()

# a missing model, and a file that is not a checkpoint: clear errors, the image left alone
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(f'{D}/in.png'))
for bad, expect in (('/nonexistent/model.safetensors', 'model'),
                    (f'{D}/in.png', 'in.png is not a checkpoint this plug-in can run (it runs SD 1.x, '
                                  'SD 1.x inpainting, SD 2.x, SD 2.x inpainting and SD-Turbo')):
    res = run('plug-in-diffusion-img2img', img, img.get_layers()[0], prompt='x', model=gfile(bad))
    msg = res.index(1) if res.length() > 1 else ''
    print(f'model {bad} -> {res.index(0).value_nick}: {msg}')
    assert res.index(0) != Gimp.PDBStatusType.SUCCESS, f'{bad} accepted as a model'
    assert expect in str(msg), f'unclear message for {bad}: {msg}'
    assert len(img.get_layers()) == 1, 'no layer after a failed run'
img.delete()
print('E2E-GIMP3-OK')
