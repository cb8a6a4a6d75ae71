# Bad-input matrix of the GIMP 3 plug-in, run by gimp3-matrix.sh with
#   gimp-console-3.0 --batch-interpreter=python-fu-eval -b "exec(open('.../matrix_gimp3.py').read())"
# Environment: GD_WORK (holds in.png and bad/, the broken models of make_bad_models.py),
# GD_MODEL, GD_VOCAB, GD_HERE (this folder).
# Each case builds an image, saves it as NAME-before.xcf, runs the plug-in and checks the
# outcome: a layer of the expected geometry (then removed again) or an error whose message
# holds the expected text; then saves NAME-after.xcf, which must equal the first file
# (xcf_same.py: byte for byte, except the tattoo counter when a layer was made and removed).
# Grayscale, 16-bit, indexed and a missing model are in e2e_gimp3.py; this adds the rest.
import os
import sys

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio  # noqa: E402

D = os.environ['GD_WORK']
MODEL = os.environ['GD_MODEL']
VOCAB = os.environ['GD_VOCAB']
sys.path.insert(0, os.environ['GD_HERE'])
from xcf_same import masked  # noqa: E402

pdb = Gimp.get_pdb()
failed = []


def gfile(path):
    return Gio.File.new_for_path(path)


def load():
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(f'{D}/in.png'))
    return img, img.get_layers()[0]


def img2img(img, drawable, **over):
    args = dict(prompt='a red barn', strength=0.6, steps=2, seed=42, random_seed=False,
                sampler='euler', work_size=64, context_padding=16, feather=4.0,
                model=gfile(MODEL), vocab=gfile(VOCAB))
    args.update(over)
    proc = pdb.lookup_procedure('plug-in-diffusion-img2img')
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', [drawable])
    for k, v in args.items():
        cfg.set_property(k.replace('_', '-'), v)
    return proc.run(cfg)


def case(name, img, drawable, expect, **over):
    """expect: ('layer', (w, h, x, y, in_group)), ('layer', None) = any geometry,
    or ('error', text)."""
    before, after = f'{D}/{name}-before.xcf', f'{D}/{name}-after.xcf'
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, gfile(before), None)
    res = img2img(img, drawable, **over)
    ok = res.index(0) == Gimp.PDBStatusType.SUCCESS
    if ok:
        layer = res.index(1)
        got = (layer.get_width(), layer.get_height(), *layer.get_offsets()[1:],
               layer.get_parent() is not None)
        outcome = 'layer %dx%d+%d+%d %s' % (*got[:4], 'in-group' if got[4] else 'top')
        img.remove_layer(layer)
        img.set_selected_layers([drawable])
    else:
        got = str(res.index(1)) if res.length() > 1 else ''
        outcome = f'error: {got}'
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, gfile(after), None)
    img.delete()

    kind, want = expect
    good = (kind == 'layer') == ok and (want is None or (want in got if kind == 'error' else want == got))
    same = open(before, 'rb').read() == open(after, 'rb').read() if not ok else masked(before) == masked(after)
    line = f'{name}: {outcome}' + ('; image identical afterwards' if same else '; IMAGE CHANGED')
    if good and same:
        print(f'ok   {line}')
    else:
        print(f'FAIL {line} (expected {kind} {want})')
        failed.append(name)


img, src = load()
case('no-selection', img, src, ('layer', (200, 150, 0, 0, False)))

img, src = load()
src.resize(60, 50, -100, -60)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 10, 40, 30)
case('empty-selection-outside-layer', img, src, ('error', 'does not touch the active layer'))

img, src = load()
src.resize(40, 150, -80, 0)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 40, 30, 30)
img.select_rectangle(Gimp.ChannelOps.ADD, 150, 40, 30, 30)
case('empty-selection-on-layer', img, src, ('error', 'holds no pixels of the active layer'))

img, src = load()
img.select_rectangle(Gimp.ChannelOps.REPLACE, 100, 70, 1, 1)
case('selection-1x1', img, src, ('layer', (1, 1, 100, 70, False)), context_padding=0)

img, src = load()
img.select_rectangle(Gimp.ChannelOps.REPLACE, 100, 70, 7, 7)
case('selection-7x7', img, src, ('layer', (39, 39, 84, 54, False)))

img, src = load()
img.select_rectangle(Gimp.ChannelOps.REPLACE, 170, 0, 30, 20)
case('selection-on-border', img, src, ('layer', (46, 36, 154, 0, False)))

img, src = load()
img.convert_precision(Gimp.Precision.FLOAT_LINEAR)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
case('float-32', img, src, ('layer', (112, 92, 24, 14, False)))

img, src = load()
img.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 64, False, False, '')
case('indexed', img, src, ('error', 'Indexed images are not supported'))

img, src = load()
src.resize(100, 80, -50, -40)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 60, 50, 30, 20)
case('layer-offsets', img, src, ('layer', (56, 46, 50, 40, False)))

img, src = load()
group = Gimp.GroupLayer.new(img, 'group')
img.insert_layer(group, None, 0)
inner = src.copy()
img.insert_layer(inner, group, 0)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
case('layer-in-group', img, inner, ('layer', (112, 92, 24, 14, True)))

# the layer group itself: its projection is read, the result goes above the group
img, src = load()
group = Gimp.GroupLayer.new(img, 'group')
img.insert_layer(group, None, 0)
img.reorder_item(src, group, 0)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
case('layer-group', img, group, ('layer', (112, 92, 24, 14, False)))

img, src = load()
Gimp.fonts_refresh()
text = Gimp.TextLayer.new(img, 'Diffusion', Gimp.fonts_get_list('')[0], 30, Gimp.Unit.pixel())
img.insert_layer(text, None, 0)
text.set_offsets(20, 40)
case('text-layer', img, text, ('layer', None))

for m, want in (('sd2', 'SD 2.x (OpenCLIP text encoder'), ('sdxl', 'SDXL (conditioner.embedders'),
                ('truncated', 'truncated file?'), ('nan', 'NaN or Inf')):
    img, src = load()
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
    case(f'model-{m}', img, src, ('error', want), model=gfile(f'{D}/bad/{m}.safetensors'))

# GIMP 3 itself refuses a folder argument that does not exist; an existing folder without
# the vocabulary files reaches the plug-in
img, src = load()
case('missing-vocab', img, src, ('error', "for argument 'vocab'"), vocab=gfile(f'{D}/bad/no-such-vocab'))
os.makedirs(f'{D}/bad/empty-vocab', exist_ok=True)
img, src = load()
case('empty-vocab', img, src, ('error', 'empty-vocab holds neither vocab.json'),
     vocab=gfile(f'{D}/bad/empty-vocab'))

# 16384 x 16384: never killed. Refused with the size it needs where the plug-in's buffers
# (13 floats a pixel, generate.c) exceed half the memory, processed elsewhere.
img = Gimp.Image.new(16384, 16384, Gimp.ImageBaseType.RGB)
big = Gimp.Layer.new(img, 'big', 16384, 16384, Gimp.ImageType.RGB_IMAGE, 100, Gimp.LayerMode.NORMAL)
img.insert_layer(big, None, 0)
big.fill(Gimp.FillType.WHITE)
fits = 16384 * 16384 * 13 * 4 <= os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2
case('16k', img, big, ('layer', (16384, 16384, 0, 0, False)) if fits
     else ('error', 'The region is 16384 x 16384 pixels: the plug-in needs'))

print('MATRIX-GIMP3-OK' if not failed else f'{len(failed)} case(s) FAILED: {" ".join(failed)}')
