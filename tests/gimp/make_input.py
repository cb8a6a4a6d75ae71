#!/usr/bin/python3
"""Writes the e2e tests' input picture: 200x150 RGB, smooth colour gradients plus a
deterministic texture, so that any change to a pixel shows. usage: make_input.py OUT.png"""
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
