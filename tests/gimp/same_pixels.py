#!/usr/bin/python3
"""usage: same_pixels.py A.png B.png WHAT [X Y W H]
Exit 0 when both PNGs hold the same RGBA pixels (outside the rectangle X,Y WxH if given)."""
import sys

from PIL import Image, ImageChops

a, b = (Image.open(p).convert("RGBA") for p in sys.argv[1:3])
where = ""
same = a.size == b.size
if same:
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    if len(sys.argv) == 8:
        x, y, w, h = map(int, sys.argv[4:8])
        diff.paste(0, (x, y, x + w, y + h))
        where = f" outside {w}x{h}+{x}+{y}"
    same = diff.getbbox() is None
print(("ok   " if same else "FAIL ") + f"{sys.argv[3]}: pixels identical to {sys.argv[1]}{where}")
sys.exit(0 if same else 1)
