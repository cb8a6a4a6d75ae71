# GUI test of the GIMP 3 plug-in, run by gimp3-gui.sh under Xvfb with
#   gimp-3.0 --batch-interpreter=python-fu-eval -b "exec(open('.../gui_gimp3.py').read())"
# The image gets a display and a selection; the procedure runs INTERACTIVE with an empty
# model field (the model comes from GIMP_DIFFUSION_MODEL); gui_drive.sh screenshots the
# GimpProcedureDialog, clicks OK, then presses Ctrl+Z in the image window, after which
# the new layer must be gone. Progress goes through marker files in GD_WORK.
import os
import sys
import time

sys.path.insert(0, os.environ['GD_HERE'])
from gd_gimp3 import D, Gimp, Gio, mark, open_test_image, run_interactive  # noqa: E402

mark('FAIL')
img = open_test_image(display=True)
src = img.get_layers()[0]
img.clean_all()

layer = run_interactive('plug-in-diffusion-img2img', img, src)
with open(f'{D}/layer-name.txt', 'w') as f:
    f.write(layer.get_name())
assert len(img.get_layers()) == 2, 'one new layer after OK'
Gimp.displays_flush()
mark('RAN')

for _ in range(600):
    if os.path.exists(f'{D}/undone'):
        break
    time.sleep(0.1)
assert os.path.exists(f'{D}/undone'), 'the shell pressed Ctrl+Z'
time.sleep(0.5)
assert len(img.get_layers()) == 1, 'Ctrl+Z removed the new layer'
Gimp.Selection.none(img)
img.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(f'{D}/undone-out.png'), None)
img.clean_all()   # no "discard changes?" prompt on quit
mark('OK')
