"""What the GIMP 3 python-fu scripts of the tests share (they run inside GIMP, exec'd by
--batch-interpreter=python-fu-eval; common.sh puts GD_WORK, GD_MODEL, GD_VOCAB and GD_HERE,
this folder, in their environment). A script imports it after
    sys.path.insert(0, os.environ['GD_HERE'])
"""
import os

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio  # noqa: E402

D = os.environ['GD_WORK']
PARASITE = 'gimp-diffusion-params'


def mark(s):
    """Progress for the shell that drives a GUI test (a GUI has no stdout to read)."""
    with open(f'{D}/marker', 'w') as f:
        f.write(s)


def open_test_image(display=False):
    """WORKDIR/in.png with the tests' selection (40,30 80x60), shown in a window when
    `display` (GUI tests)."""
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f'{D}/in.png'))
    if display:
        Gimp.Display.new(img)
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
    return img


def run_interactive(name, img, layer):
    """Runs procedure `name` INTERACTIVE (its dialog, from its last values) on the layer;
    asserts success and returns the result layer."""
    proc = Gimp.get_pdb().lookup_procedure(name)
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.INTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', [layer])
    res = proc.run(cfg)
    assert res.index(0) == Gimp.PDBStatusType.SUCCESS, f'{name}, interactive: {res.index(0)}'
    return res.index(1)


def save_parasite(layer, path):
    """The layer's run parameters (the plug-in's parasite) as a JSON file."""
    with open(path, 'wb') as f:
        f.write(bytes(layer.get_parasite(PARASITE).get_data()).rstrip(b'\0'))
