# One kill-safety case of gimp3-matrix.sh: a slow img2img run that the shell SIGKILLs
# (GD_KILL_NAME says in which phase). With GIMP_DIFFUSION_MODEL set (a FIFO nobody writes
# to, for the loading phase) the model argument stays empty, else it is GD_MODEL. The call must fail and the image must be as before (XCF files equal
# but for the tattoo counter, see xcf_same.py).
import os
import sys

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio  # noqa: E402

D, NAME = os.environ['GD_WORK'], os.environ['GD_KILL_NAME']
sys.path.insert(0, os.environ['GD_HERE'])
from xcf_same import masked  # noqa: E402

img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(f'{D}/in.png'))
src = img.get_layers()[0]
img.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 80, 60)
before, after = f'{D}/kill-{NAME}-before.xcf', f'{D}/kill-{NAME}-after.xcf'
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(before), None)
proc = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-img2img')
cfg = proc.create_config()
cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', [src])
# slow enough to be killed while loading or denoising; GD_KILL_FAST: quick, to reach the
# write phase (where stop_on_write.so stops it)
slow = not os.environ.get('GD_KILL_FAST')
args = dict(prompt='slow', steps=150 if slow else 2, strength=0.9, work_size=1024 if slow else 64,
            random_seed=False, vocab=Gio.File.new_for_path(os.environ['GD_VOCAB']))
if not os.environ.get('GIMP_DIFFUSION_MODEL'):
    args['model'] = Gio.File.new_for_path(os.environ['GD_MODEL'])
for k, v in args.items():
    cfg.set_property(k.replace('_', '-'), v)
res = proc.run(cfg)
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(after), None)
killed = res.index(0) != Gimp.PDBStatusType.SUCCESS
same = masked(before) == masked(after)
print(('ok   ' if killed and same else 'FAIL ') + f'kill-{NAME}: the call '
      + (f'failed ({res.index(1) if res.length() > 1 else ""})' if killed else 'finished') + ('; image identical afterwards' if same else '; IMAGE CHANGED'))
