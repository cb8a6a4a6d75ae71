#!/usr/bin/env python3
"""An LCM-LoRA-shaped LoRA with random values for a full-size SD 1.5 checkpoint (bench only).

make_lcm_lora.py CHECKPOINT OUT [RANK]

The modules LCM-LoRA trains (diffusers' train_lcm_distill_lora_sd_wds.py: to_q, to_k, to_v,
to_out.0, proj_in, proj_out, ff.net.0.proj, ff.net.2, conv1, conv2 (3x3), conv_shortcut,
time_emb_proj, the down/upsampler convs (3x3)), rank 64, fp16, kohya keys written with the
checkpoint's LDM paths (lora_unet_input_blocks_1_0_in_layers_2, a form kohya also writes).
Values: one random megabyte of small fp16 numbers (|x| in 2^-8..2^-4) repeated: the timing
does not depend on them. Standard library only.
"""
import json
import os
import random
import struct
import sys

SUFFIXES = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k",
            "attn2.to_v", "attn2.to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2",
            "in_layers.2", "out_layers.3", "skip_connection", "emb_layers.1", "op", ".conv")
PREFIX = "model.diffusion_model."


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def main():
    ckpt, out = sys.argv[1], sys.argv[2]
    rank = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    rng = random.Random(1234)
    block = bytearray()
    for _ in range(1 << 19):   # 1 MiB of fp16: sign, exponent 7..11, random mantissa
        bits = (rng.getrandbits(1) << 15) | (rng.randint(7, 11) << 10) | rng.getrandbits(10)
        block += struct.pack("<H", bits)
    tensors, offset = {}, 0
    for name, t in sorted(header(ckpt).items()):
        if name == "__metadata__" or not name.startswith(PREFIX) or not name.endswith(".weight"):
            continue
        module = name[len(PREFIX):-len(".weight")]
        shape = t["shape"]
        if len(shape) not in (2, 4) or not any(module.endswith(s) for s in SUFFIXES):
            continue
        key = "lora_unet_" + module.replace(".", "_")
        down = [rank, shape[1]] + shape[2:]
        up = [shape[0], rank] + ([1, 1] if len(shape) == 4 else [])
        for suffix, shp in ((".lora_down.weight", down), (".lora_up.weight", up)):
            n = 2
            for d in shp:
                n *= d
            tensors[key + suffix] = {"dtype": "F16", "shape": shp, "data_offsets": [offset, offset + n]}
            offset += n
        tensors[key + ".alpha"] = {"dtype": "F16", "shape": [], "data_offsets": [offset, offset + 2]}
        offset += 2
    alpha = struct.pack("<e", float(rank) / 8)
    tensors["__metadata__"] = {"generator": "tests/bench/make_lcm_lora.py (random values)"}
    head = json.dumps(tensors).encode()
    head += b" " * (-len(head) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for name, t in tensors.items():
            if name == "__metadata__":
                continue
            a, b = t["data_offsets"]
            n = b - a
            if name.endswith(".alpha"):
                f.write(alpha)
                continue
            while n > 0:
                chunk = block[: min(n, len(block))]
                f.write(chunk)
                n -= len(chunk)
    print("%s: %d modules, %.1f MB" % (out, sum(k.endswith(".alpha") for k in tensors), os.path.getsize(out) / 1e6))


if __name__ == "__main__":
    main()
