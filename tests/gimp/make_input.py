#!/usr/bin/python3
"""Writes the e2e tests' input picture: 200x150 RGB, smooth colour gradients plus a
deterministic texture, so that any change to a pixel shows. usage: make_input.py OUT.png [PURE.png]
PURE.png (the SD 2.x scenario's input, check_sd2.py): the same size in 8 x 8 blocks of the 8
colours whose channels are 0 or 255 only. Those are the only 8-bit values every babl path
turns into the same floats (0 and 1): GIMP picks its u8 -> float path by timing (default
tolerance), and a path one ulp off changed a whole img2img result; `diffuse` reads v / 255."""
import math
import sys

from PIL import Image

W, H = 200, 150
img = Image.new("RGB", (W, H))
px = img.load()
for y in range(H):
    for x in range(W):
        t = (x * 7 + y * 13) % 17 / 16.0
        px[x, y] = (int(255 * x / (W - 1)),
                    int(127 + 100 * math.sin(x / 11.0) * math.cos(y / 9.0)),
                    int(200 * y / (H - 1) + 55 * t))
img.save(sys.argv[1])

if len(sys.argv) > 2:
    pure = Image.new("RGB", (W, H))
    px = pure.load()
    for y in range(H):
        for x in range(W):
            k = ((x // 8) * 5 + (y // 8) * 3 + (x // 8) * (y // 8)) % 8
            px[x, y] = (255 * (k & 1), 255 * (k >> 1 & 1), 255 * (k >> 2 & 1))
    pure.save(sys.argv[2])
