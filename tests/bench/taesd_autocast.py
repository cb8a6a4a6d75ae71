# PyTorch bf16 autocast error of TAESD (max |bf16 - fp32| / max |fp32|), the anchor of
# golden_check.c GOLDEN_BF16_TAESD_REL: the full-size random TAESD (seeded N(0,1) 64x64 latents, their
# decode encoded back) and ../shared/golden-taesd cases. Needs torch + safetensors (anchors venv).
# taesd.py (madebyollin/taesd) Encoder/Decoder written out below; width from the file.
import torch, sys
from safetensors.torch import load_file

import torch.nn as nn
def conv(n_in, n_out, **kw): return nn.Conv2d(n_in, n_out, 3, padding=1, **kw)
class Clamp(nn.Module):
    def forward(self, x): return torch.tanh(x / 3) * 3
class Block(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.conv = nn.Sequential(conv(n_in, n_out), nn.ReLU(), conv(n_out, n_out), nn.ReLU(), conv(n_out, n_out))
        self.skip = nn.Identity(); self.fuse = nn.ReLU()
    def forward(self, x): return self.fuse(self.conv(x) + self.skip(x))
def Encoder(C, L=4):
    return nn.Sequential(conv(3, C), Block(C, C), conv(C, C, stride=2, bias=False), Block(C, C), Block(C, C), Block(C, C),
        conv(C, C, stride=2, bias=False), Block(C, C), Block(C, C), Block(C, C), conv(C, C, stride=2, bias=False),
        Block(C, C), Block(C, C), Block(C, C), conv(C, L))
def Decoder(C, L=4):
    return nn.Sequential(Clamp(), conv(L, C), nn.ReLU(), Block(C, C), Block(C, C), Block(C, C), nn.Upsample(scale_factor=2),
        conv(C, C, bias=False), Block(C, C), Block(C, C), Block(C, C), nn.Upsample(scale_factor=2), conv(C, C, bias=False),
        Block(C, C), Block(C, C), Block(C, C), nn.Upsample(scale_factor=2), conv(C, C, bias=False), Block(C, C), conv(C, 3))
torch.set_num_threads(2)
d = '/var/tmp/gimp-diffusion-bench/taesd-random/'
dec = Decoder(64); dec.load_state_dict(load_file(d + 'taesd_decoder.safetensors'))
enc = Encoder(64); enc.load_state_dict(load_file(d + 'taesd_encoder.safetensors'))
g = torch.Generator().manual_seed(0)
for trial in range(2):
    lat = torch.randn(1, 4, 64, 64, generator=g)
    with torch.no_grad():
        ref = dec(lat)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = dec(lat).float()
        print('decode autocast bf16 max-rel %.3f %%' % (100 * (got - ref).abs().max() / ref.abs().max()))
        img = ref.clamp(0, 1)
        r2 = enc(img)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            g2 = enc(img).float()
        print('encode autocast bf16 max-rel %.3f %%' % (100 * (g2 - r2).abs().max() / r2.abs().max()))
G = '/work/shared/golden-taesd/'
dec = Decoder(32); dec.load_state_dict(load_file(G + 'taesd_decoder.safetensors'))
enc = Encoder(32); enc.load_state_dict(load_file(G + 'taesd_encoder.safetensors'))
for i in (0, 1):
    t = load_file(G + 'taesd_decode%d.safetensors' % i)
    with torch.no_grad():
        ref = dec(t['latents'])
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = dec(t['latents']).float()
    print('golden decode%d autocast max-rel %.3f %% (ref vs golden %.2e)' % (i, 100 * (got - ref).abs().max() / ref.abs().max(), (ref - t['taesd_decoder_out']).abs().max()))
    t = load_file(G + 'taesd_encode%d.safetensors' % i)
    img = (t['image'] + 1) / 2
    with torch.no_grad():
        ref = enc(img)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = enc(img).float()
    print('golden encode%d autocast max-rel %.3f %% (ref vs golden %.2e)' % (i, 100 * (got - ref).abs().max() / ref.abs().max(), (ref - t['latents']).abs().max()))
