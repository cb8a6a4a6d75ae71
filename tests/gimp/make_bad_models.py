#!/usr/bin/python3
"""Broken variants of a good SD 1.x checkpoint, for the bad-input matrix (both GIMP hosts
and the CLI). usage: make_bad_models.py GOOD.safetensors OUTDIR

Writes into OUTDIR:
  nan.safetensors        the same model with the U-Net's first conv weight all NaN: loads
                         fine, and the run must report NaN/Inf instead of writing a layer
  sd2.safetensors        the text encoder renamed to SD 2.x's OpenCLIP keys
                         (cond_stage_model.model.*): another family, refused
  sdxl.safetensors       SDXL's conditioner.embedders.* keys: refused
  truncated.safetensors  the first half of the file: header intact, tensors cut off
"""
import json
import math
import struct
import sys

NAN_KEY = "model.diffusion_model.input_blocks.0.0.weight"  # conv_in [C, 4, 3, 3]


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:], raw


def write(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the data stays 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def renamed(header, old, new):
    return {(new + k[len(old):] if k.startswith(old) else k): v for k, v in header.items()}


def main():
    good, out = sys.argv[1], sys.argv[2]
    header, data, raw = read(good)

    t = header[NAN_KEY]
    size = {"F32": 4, "F16": 2, "BF16": 2}[t["dtype"]]
    a, b = t["data_offsets"]
    nan = {"F32": struct.pack("<f", math.nan), "F16": struct.pack("<e", math.nan),
           "BF16": struct.pack("<f", math.nan)[2:]}[t["dtype"]]
    bad = bytearray(data)
    bad[a:b] = nan * ((b - a) // size)
    write(f"{out}/nan.safetensors", header, bytes(bad))

    write(f"{out}/sd2.safetensors",
          renamed(header, "cond_stage_model.transformer.", "cond_stage_model.model.transformer."), data)
    write(f"{out}/sdxl.safetensors",
          renamed(header, "cond_stage_model.transformer.", "conditioner.embedders.0.transformer."), data)
    with open(f"{out}/truncated.safetensors", "wb") as f:
        f.write(raw[:len(raw) // 2])


if __name__ == "__main__":
    main()
