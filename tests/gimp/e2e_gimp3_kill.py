# GIMP 3 cancel test, run by gimp3-e2e.sh: the shell kills the plug-in mid-run (what GIMP
# does when the user cancels); the call fails and the image must be exactly as loaded.
import os

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio  # noqa: E402

D = os.environ['GD_WORK']
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f'{D}/in.png'))
src = img.get_layers()[0]
img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
proc = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-img2img')
cfg = proc.create_config()
cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', [src])
for k, v in dict(prompt='slow', steps=150, strength=0.9, work_size=1024, random_seed=False,
                 model=Gio.File.new_for_path(os.environ['GD_MODEL']),
                 vocab=Gio.File.new_for_path(os.environ['GD_VOCAB'])).items():
    cfg.set_property(k, v)
res = proc.run(cfg)
assert res.index(0) != Gimp.PDBStatusType.SUCCESS, 'the plug-in finished: it was not killed'
assert len(img.get_layers()) == 1, 'no layer after a killed run'
Gimp.Selection.none(img)
img.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(f'{D}/killed-out.png'), None)
img.delete()
print('E2E-GIMP3-KILL-OK')
