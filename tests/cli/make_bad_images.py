#!/usr/bin/python3
"""Broken and foreign image files for the CLI's bad-input matrix (matrix_cli.sh), made from a
good PNG. usage: make_bad_images.py GOOD.png OUTDIR [--no-big]

Writes into OUTDIR (each must be refused with its name and the reason):
  empty.png          0 bytes
  truncated.png      the first half of GOOD.png (cut inside the pixel data)
  no-iend.png        all of GOOD.png but its last chunk (IEND): cut at the very end
  damaged.png        one byte of the compressed pixel data changed
  crc.png            the pixel data intact, its chunk's stored CRC changed
  short-data.png     IHDR says twice the height (CRC fixed), the pixel data is GOOD.png's
  text.png           a text file named .png
  truncated.jpg      a JPEG of GOOD.png, cut in half ("Premature end of JPEG file")
  truncated.webp     a WebP of GOOD.png, cut in half
  image.tif, image.gif, image.bmp   formats diffuse does not read
  big.png            16384 x 16384 (over the 8192 a side limit; refused from its header),
                     not with --no-big (it takes seconds to write)
  mask-63.png        a grey mask one pixel narrower than GOOD.png
And files that must be read: good.jpg, good.webp (lossless), png-named.jpg (a PNG named .jpg),
mask.jpg (an RGB JPEG mask, the size of GOOD.png).
"""
import os
import struct
import sys
import zlib

from PIL import Image


def chunks(data):
    """(offset, type, payload) of each chunk after the 8-byte signature."""
    i = 8
    while i + 8 <= len(data):
        n, = struct.unpack(">I", data[i:i + 4])
        yield i, data[i + 4:i + 8], data[i + 8:i + 8 + n]
        i += 12 + n


def chunk(tag, payload):
    body = tag + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def main():
    good_path, out = sys.argv[1], sys.argv[2]
    good = open(good_path, "rb").read()
    img = Image.open(good_path).convert("RGB")
    w, h = img.size

    def put(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    put("empty.png", b"")
    put("truncated.png", good[:len(good) // 2])
    iend = [off for off, tag, _ in chunks(good) if tag == b"IEND"][0]
    put("no-iend.png", good[:iend])
    idat = [(off, p) for off, tag, p in chunks(good) if tag == b"IDAT"][0]
    damaged = bytearray(good)
    damaged[idat[0] + 8 + len(idat[1]) // 2] ^= 0x55
    put("damaged.png", bytes(damaged))
    crc = bytearray(good)
    crc[idat[0] + 8 + len(idat[1])] ^= 0x55     # the stored CRC, the pixel data intact
    put("crc.png", bytes(crc))
    ihdr_off, _, ihdr = next(chunks(good))
    tall = ihdr[:4] + struct.pack(">I", 2 * h) + ihdr[8:]
    put("short-data.png", good[:ihdr_off] + chunk(b"IHDR", tall) + good[ihdr_off + 25:])
    put("text.png", b"This is the README of a project, saved under the wrong name.\n" * 20)

    img.save(os.path.join(out, "good.jpg"), quality=90)
    jpg = open(os.path.join(out, "good.jpg"), "rb").read()
    put("truncated.jpg", jpg[:len(jpg) // 2])
    img.save(os.path.join(out, "good.webp"), lossless=True)
    webp = open(os.path.join(out, "good.webp"), "rb").read()
    put("truncated.webp", webp[:len(webp) // 2])
    put("png-named.jpg", good)
    img.convert("L").convert("RGB").save(os.path.join(out, "mask.jpg"), quality=95)

    img.save(os.path.join(out, "image.tif"))
    img.save(os.path.join(out, "image.gif"))
    img.save(os.path.join(out, "image.bmp"))
    Image.new("L", (w - 1, h), 255).save(os.path.join(out, "mask-63.png"))
    if "--no-big" not in sys.argv[3:]:
        Image.new("RGB", (16384, 16384), "white").save(os.path.join(out, "big.png"))


if __name__ == "__main__":
    main()
