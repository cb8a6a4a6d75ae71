#!/usr/bin/python3
"""usage: xcf_same.py A.xcf B.xcf
Exit 0 when the two XCF files are byte-identical except for the image's tattoo counter
(PROP_TATTOO in the image header: GIMP bumps it whenever a layer is created, so an image
that got a layer and lost it again differs there and nowhere else)."""
import struct
import sys

PROP_END, PROP_TATTOO = 0, 20


def masked(path):
    data = bytearray(open(path, "rb").read())
    version = int(data[10:13]) if data[9:10] == b"v" else 0
    pos = 14 + 12 + (4 if version >= 4 else 0)  # magic, width, height, base type, precision
    while pos + 8 <= len(data):
        kind, size = struct.unpack(">II", data[pos:pos + 8])
        if kind == PROP_TATTOO:
            data[pos + 8:pos + 8 + size] = b"\0" * size
        if kind == PROP_END:
            break
        pos += 8 + size
    return bytes(data)


if __name__ == "__main__":
    sys.exit(0 if masked(sys.argv[1]) == masked(sys.argv[2]) else 1)
