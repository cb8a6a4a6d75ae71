# GUI test of the preset row in GIMP 3, run by gimp3-gui-presets.sh under Xvfb with
#   gimp-3.0 --batch-interpreter=python-fu-eval -b "exec(open('.../gui_gimp3_presets.py').read())"
# The procedure runs INTERACTIVE on in.png (its last values: prompt "a heron") while
# gui_drive_presets.sh picks a preset, saves the values as a preset and clicks OK; then
# Apply Preset runs INTERACTIVE from its last values and the shell clicks OK. The new layers'
# parasites go to gui-parasite.json and apply-parasite.json for check_gui_presets.py.
# Progress goes through marker files in GD_WORK.
import os

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio  # noqa: E402

D = os.environ['GD_WORK']


def mark(s):
    with open(f'{D}/marker', 'w') as f:
        f.write(s)


mark('FAIL')
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f'{D}/in.png'))
Gimp.Display.new(img)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)

proc = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-img2img')
cfg = proc.create_config()
cfg.set_property('run-mode', Gimp.RunMode.INTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', [img.get_layers()[0]])
res = proc.run(cfg)
assert res.index(0) == Gimp.PDBStatusType.SUCCESS, f'interactive run: {res.index(0)}'
para = res.index(1).get_parasite('gimp-diffusion-params')
with open(f'{D}/gui-parasite.json', 'wb') as f:
    f.write(bytes(para.get_data()).rstrip(b'\0'))

# Apply Preset from its last values (gimp3-gui-presets.sh wrote them): the shell clicks OK
proc = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-apply-preset')
cfg = proc.create_config()
cfg.set_property('run-mode', Gimp.RunMode.INTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', [img.get_layers()[-1]])
res = proc.run(cfg)
assert res.index(0) == Gimp.PDBStatusType.SUCCESS, f'Apply Preset, interactive: {res.index(0)}'
para = res.index(1).get_parasite('gimp-diffusion-params')
with open(f'{D}/apply-parasite.json', 'wb') as f:
    f.write(bytes(para.get_data()).rstrip(b'\0'))
img.clean_all()   # no "discard changes?" prompt on quit
mark('OK')
