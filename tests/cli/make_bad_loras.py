#!/usr/bin/env python3
"""Hostile LoRA files for the CLI bad-input matrix (matrix_cli.sh), written from scratch
(standard library only): make_bad_loras.py OUT_DIR

  good.safetensors       a valid kohya LoRA on the tiny model's text encoder (the others
                         are variations of it)
  truncated.safetensors  good, cut in the middle of its data
  nan.safetensors        a NaN in lora_up
  sdxl.safetensors       kohya keys of an SDXL LoRA (lora_te1_ / lora_te2_)
  loha.safetensors       LyCORIS LoHa (hada_w1_a, ...)
  foreign.safetensors    kohya keys that name no layer of an SD 1.x model
  shapes.safetensors     right names, wrong shapes (an SD 2.x-sized text encoder)
"""
import json
import math
import os
import struct
import sys

MODULE = "lora_te_text_model_encoder_layers_0_mlp_fc1"   # tiny-sd1: fc1 is [128, 64]


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def lora(module, out, inp, rank=4, up_value=0.01):
    return {
        module + ".lora_down.weight": ([rank, inp], [0.01] * (rank * inp)),
        module + ".lora_up.weight": ([out, rank], [up_value] * (out * rank)),
        module + ".alpha": ([], [2.0]),
    }


def main():
    out = sys.argv[1]
    write(os.path.join(out, "good.safetensors"), lora(MODULE, 128, 64))
    with open(os.path.join(out, "good.safetensors"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.safetensors"), "wb") as f:
        f.write(data[: len(data) - 700])
    bad = lora(MODULE, 128, 64)
    bad[MODULE + ".lora_up.weight"][1][5] = math.nan
    write(os.path.join(out, "nan.safetensors"), bad)
    write(os.path.join(out, "sdxl.safetensors"),
          {**lora("lora_te1_text_model_encoder_layers_0_mlp_fc1", 3072, 768),
           **lora("lora_te2_text_model_encoder_layers_0_mlp_fc1", 5120, 1280)})
    write(os.path.join(out, "loha.safetensors"),
          {MODULE + ".hada_w1_a": ([128, 4], [0.0] * 512), MODULE + ".hada_w1_b": ([4, 64], [0.0] * 256)})
    write(os.path.join(out, "foreign.safetensors"),
          {**lora("lora_unet_no_such_block_proj", 32, 32), **lora(MODULE, 128, 64)})
    write(os.path.join(out, "shapes.safetensors"), lora(MODULE, 4096, 1024))


if __name__ == "__main__":
    main()
