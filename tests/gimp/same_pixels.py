#!/usr/bin/python3
"""usage: same_pixels.py A.png B.png WHAT -- exit 0 when both PNGs hold the same RGBA pixels."""
import sys

from PIL import Image, ImageChops

a, b = (Image.open(p).convert("RGBA") for p in sys.argv[1:3])
same = a.size == b.size and ImageChops.difference(a, b).getbbox() is None
print(("ok   " if same else "FAIL ") + f"{sys.argv[3]}: pixels identical to {sys.argv[1]}")
sys.exit(0 if same else 1)
