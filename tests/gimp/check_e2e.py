#!/usr/bin/python3
"""Pixel checks of a GIMP end-to-end run (both hosts), on the PNGs the batch exported.

usage: check_e2e.py WORKDIR MODE [MODE...]
WORKDIR holds in.png and, per MODE, MODE-{source,selection,layer,out}.png and
MODE-parasite.json. Region of the new layer: selection (40,30 80x60) + 16 px padding.
Exit 0 only if every check passes.
"""
import json
import sys

from PIL import Image, ImageChops

from checks import check, finish

RX, RY, RW, RH = 24, 14, 112, 92
def main():
    d, modes = sys.argv[1], sys.argv[2:]
    inp = Image.open(f"{d}/in.png").convert("RGBA")
    for mode in modes:
        src = Image.open(f"{d}/{mode}-source.png").convert("RGBA")
        sel = Image.open(f"{d}/{mode}-selection.png").convert("L")
        layer = Image.open(f"{d}/{mode}-layer.png").convert("RGBA")
        out = Image.open(f"{d}/{mode}-out.png").convert("RGBA")
        meta = json.load(open(f"{d}/{mode}-parasite.json"))

        check(ImageChops.difference(src, inp).getbbox() is None,
              f"{mode}: source layer identical to the input")
        check(layer.size == (RW, RH), f"{mode}: layer size {layer.size} == {(RW, RH)}")
        W, H = inp.size
        pi, po, ps = inp.load(), out.load(), sel.load()
        outside = changed_outside = inside = changed_inside = 0
        for y in range(H):
            for x in range(W):
                if ps[x, y] == 0:
                    outside += 1
                    changed_outside += pi[x, y] != po[x, y]
                elif ps[x, y] == 255:
                    inside += 1
                    changed_inside += pi[x, y] != po[x, y]
        check(changed_outside == 0,
              f"{mode}: flattened image unchanged outside the selection "
              f"({outside - changed_outside}/{outside} pixels)")
        check(changed_inside > inside // 2,
              f"{mode}: selection repainted ({changed_inside}/{inside} pixels changed)")

        pl = layer.load()
        leak = keep = 0
        for y in range(RH):
            for x in range(RW):
                if ps[RX + x, RY + y] == 0:
                    leak += pl[x, y][3] != 0
                    keep += pl[x, y][:3] != pi[RX + x, RY + y][:3]
        check(leak == 0, f"{mode}: layer alpha is 0 outside the selection ({leak} not)")
        check(keep == 0, f"{mode}: layer keeps the original colour outside ({keep} differ)")
        check(pl[RW // 2, RH // 2][3] == 255, f"{mode}: layer opaque at the selection centre")
        check(meta.get("mode") == mode and meta.get("region") == {"x": RX, "y": RY, "width": RW, "height": RH},
              f"{mode}: parasite {json.dumps(meta)[:160]}...")
    return finish("pixels, layer and parasite")


if __name__ == "__main__":
    sys.exit(main())
