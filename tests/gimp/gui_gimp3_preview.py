# GUI test of the live preview window (GIMP 3), run by gimp3-gui-preview.sh under Xvfb with
#   gimp-3.x --batch-interpreter=python-fu-eval -b "exec(open('.../gui_gimp3_preview.py').read())"
# The image gets a display and a selection and is saved as preview-before.xcf; Image to
# Image runs INTERACTIVE (a long run: its last values ask for many steps); the shell
# (gui_drive_preview.sh) clicks OK, screenshots the preview window mid-run and clicks its
# Cancel. The run must answer CANCEL, add no layer, and leave the image as it was:
# preview-after.xcf byte-identical to preview-before.xcf (the shell compares them).
import os
import sys

sys.path.insert(0, os.environ['GD_HERE'])
from gd_gimp3 import D, Gimp, Gio, mark, open_test_image  # noqa: E402

mark('FAIL')
img = open_test_image(display=True)
src = img.get_layers()[0]
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(f'{D}/preview-before.xcf'), None)
img.clean_all()

proc = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-img2img')
cfg = proc.create_config()
cfg.set_property('run-mode', Gimp.RunMode.INTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', [src])
res = proc.run(cfg)
with open(f'{D}/status.txt', 'w') as f:
    f.write(f'{res.index(0).value_nick} layers={len(img.get_layers())} dirty={img.is_dirty()}\n')
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(f'{D}/preview-after.xcf'), None)
img.clean_all()   # no "discard changes?" prompt on quit
mark('RAN')
