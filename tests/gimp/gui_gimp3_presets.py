# GUI test of the preset row in GIMP 3, run by gimp3-gui-presets.sh under Xvfb with
#   gimp-3.0 --batch-interpreter=python-fu-eval -b "exec(open('.../gui_gimp3_presets.py').read())"
# The procedure runs INTERACTIVE on in.png (its last values: prompt "a heron") while
# gui_drive_presets.sh picks a preset, saves the values as a preset and clicks OK; then
# Apply Preset runs INTERACTIVE from its last values and the shell clicks OK. The new layers'
# parasites go to gui-parasite.json and apply-parasite.json for check_gui_presets.py.
# Progress goes through marker files in GD_WORK.
import os
import sys

sys.path.insert(0, os.environ['GD_HERE'])
from gd_gimp3 import D, mark, open_test_image, run_interactive, save_parasite  # noqa: E402

mark('FAIL')
img = open_test_image(display=True)
layer = run_interactive('plug-in-diffusion-img2img', img, img.get_layers()[0])
save_parasite(layer, f'{D}/gui-parasite.json')

# Apply Preset from its last values (gimp3-gui-presets.sh wrote them): the shell clicks OK
layer = run_interactive('plug-in-diffusion-apply-preset', img, img.get_layers()[-1])
save_parasite(layer, f'{D}/apply-parasite.json')
img.clean_all()   # no "discard changes?" prompt on quit
mark('OK')
