#!/usr/bin/env python3
"""Writes the small seed inputs of the fuzz targets into corpus/<target>/.

Run from anywhere: python3 tests/fuzz/make_corpus.py [path/to/shared/clip]
The image seeds (corpus/fuzz_image) need Pillow (python3-pil); without it they are left as
they are. The model-shaped safetensors seeds (corpus/fuzz_safetensors/sd1-skeleton*.safetensors)
are not made here: see README.md."""
import gzip
import json
import os
import re
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIP = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '..', 'shared', 'clip')

DTYPE = {'F32': ('<f', 4), 'F16': ('<e', 2), 'F64': ('<d', 8), 'I64': ('<q', 8),
         'I32': ('<i', 4), 'I16': ('<h', 2), 'I8': ('<b', 1), 'U8': ('<B', 1), 'BOOL': ('<?', 1)}


def out(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, meta=None):
    """tensors: (name, dtype, shape, values); BF16 values are raw uint16 bits."""
    header, blob = {}, b''
    if meta is not None:
        header['__metadata__'] = meta
    for name, dtype, shape, values in tensors:
        fmt, size = DTYPE.get(dtype, ('<H', 2))
        raw = b''.join(struct.pack(fmt, v) for v in values)
        header[name] = {'dtype': dtype, 'shape': shape,
                        'data_offsets': [len(blob), len(blob) + len(raw)]}
        blob += raw
    h = json.dumps(header, separators=(',', ':')).encode()
    return struct.pack('<Q', len(h)) + h + blob


def safetensors_seeds():
    t = 'fuzz_safetensors'
    out(t, 'f32-one.safetensors', safetensors([('w', 'F32', [2, 2], [1.0, -2.0, 0.5, 3.0])]))
    out(t, 'mixed.safetensors', safetensors([
        ('a.weight', 'F16', [3], [0.0, 65504.0, -1.5]),
        ('b.bias', 'BF16', [2], [0x3f80, 0xff80]),
        ('c', 'F64', [1, 1], [1e-300]),
        ('ids', 'I64', [4], [0, 1, -1, 2**40]),
        ('i32', 'I32', [2], [7, -7]),
        ('i16', 'I16', [1], [-3]),
        ('i8', 'I8', [2], [-128, 127]),
        ('u8', 'U8', [3], [0, 128, 255]),
        ('flag', 'BOOL', [2], [True, False]),
        ('empty', 'F32', [0, 5], []),
        ('scalar', 'F32', [], [4.0]),
    ], meta={'format': 'pt', 'note': 'seed'}))
    # the SD 1.x layout's names, a few of them, so mutations reach family detection
    out(t, 'sd-names.safetensors', safetensors([
        ('model.diffusion_model.input_blocks.0.0.weight', 'F32', [1, 4, 1, 1], [0.0] * 4),
        ('first_stage_model.encoder.conv_in.weight', 'F32', [1, 3, 1, 1], [0.0] * 3),
        ('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight', 'F16',
         [2, 2], [0.0] * 4),
    ], meta={'format': 'pt'}))
    out(t, 'sdxl-names.safetensors', safetensors([
        ('conditioner.embedders.0.transformer.text_model.final_layer_norm.bias', 'F16', [1], [0.0]),
        ('model.diffusion_model.label_emb.0.0.weight', 'F16', [1, 1], [0.0]),
    ]))


# What model-family detection reads (nets/family.c, nets/model_config.c), as regular
# expressions over the key names, and which of those tensors have a second dimension read:
# everything else of a tensor is cut to 1.
SD2_DETECT = re.compile(
    r'(model\.diffusion_model\.(input_blocks\.0\.0\.weight|input_blocks\.\d+\.0\.(op|in_layers\.2)\.weight'
    r'|input_blocks\.\d+\.1\.(proj_in\.weight|transformer_blocks\.\d+\.(norm1\.weight|attn2\.to_k\.weight))'
    r'|middle_block\.1\.proj_in\.weight|out\.2\.weight|time_embed\.0\.weight'
    r'|output_blocks\.\d+\.0\.in_layers\.2\.weight|output_blocks\.11\.1\.transformer_blocks\.0\.norm1\.bias)'
    r'|first_stage_model\.(encoder\.conv_in\.weight|decoder\.conv_out\.weight|post_quant_conv\.weight'
    r'|encoder\.down\.\d+\.block\.\d+\.conv[12]\.weight|decoder\.up\.\d+\.block\.\d+\.conv1\.weight'
    r'|(en|de)coder\.mid\.attn_1\.q\.weight)'
    r'|cond_stage_model\.model\.(token_embedding\.weight|positional_embedding|ln_final\.weight'
    r'|transformer\.resblocks\.\d+\.attn\.in_proj_weight|transformer\.resblocks\.0\.mlp\.c_fc\.weight)'
    r'|v_pred)$')
SD2_WIDE = ('input_blocks.0.0.weight', 'attn2.to_k.weight', 'token_embedding.weight',
            'encoder.conv_in.weight')


def sd2_skeleton(keys_file, prefix_from=None, prefix_to=None):
    """The tiny SD 2.x checkpoint's key list cut to what detection reads, as BOOL (one byte
    an element) with the unread dimensions set to 1: an SD 2.x header of a few KB."""
    tensors = []
    for line in open(keys_file):
        name, dtype, shape = line.rstrip('\n').split('\t')
        shape = json.loads(shape)
        if not SD2_DETECT.match(name):
            continue
        keep = 2 if any(name.endswith(w) for w in SD2_WIDE) else 1
        if 'token_embedding' in name or 'attn2.to_k' in name:
            shape = [2] + shape[1:]          # rows not read: the vocabulary, the width
        if 'in_proj_weight' in name:
            keep = 0                         # counted, not read
        shape = [d if i < keep else 1 for i, d in enumerate(shape)]
        if prefix_from and name.startswith(prefix_from):
            name = prefix_to + name[len(prefix_from):]
        n = 1
        for d in shape:
            n *= d
        tensors.append((name, 'BOOL' if name != 'v_pred' else 'F32', shape,
                        [False] * n if name != 'v_pred' else []))
    return safetensors(tensors, meta={'format': 'pt'})


def sd2_seeds(shared):
    """SD 2.x headers (issue 14): eps, v (v_pred key), inpainting, SD-Turbo's SGM layout."""
    t = 'fuzz_safetensors'
    g = os.path.join(shared, 'golden-sd2')
    out(t, 'sd2-skeleton.safetensors', sd2_skeleton(os.path.join(g, 'tiny-sd2.keys.txt')))
    out(t, 'sd2-skeleton-v.safetensors', sd2_skeleton(os.path.join(g, 'tiny-sd2-v.keys.txt')))
    out(t, 'sd2-skeleton-inpaint.safetensors',
        sd2_skeleton(os.path.join(g, 'tiny-sd2-inpaint.keys.txt')))
    out(t, 'sd-turbo-skeleton.safetensors',
        sd2_skeleton(os.path.join(g, 'tiny-sd2.keys.txt'), 'cond_stage_model.model.',
                     'conditioner.embedders.0.model.'))


def tokenizer_seeds():
    t = 'fuzz_tokenizer'
    prompts = ['a photo of a cat', 'A  WATERCOLOUR  painting,\tof the sea!!',
               'caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001f600 <|startoftext|>x<|endoftext|>',
               '&amp;&lt;tag&gt; &#x1F600; &nbsp;', 'don\'t they\'ll I\'m 12345 3.14',
               '<start_of_text>open_clip spellings<end_of_text> <|endoftext|>!',
               'cafÃ© mojibake â€œquotesâ€\x9d', '']
    for i, p in enumerate(prompts):
        out(t, 'prompt%d.txt' % i, p.encode('utf-8'))
    out(t, 'invalid-utf8.txt', b'ab\xff\xfe\xc3(\xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 z')
    out(t, 'long.txt', ('word ' * 120).encode())


def byte_symbols():
    """GPT-2 bytes_to_unicode() in CLIP's vocabulary order."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def vocab_seeds():
    t = 'fuzz_vocab'
    syms = byte_symbols()
    merges = [('c', 'a'), ('ca', 't</w>'), ('t', 'h'), ('th', 'e</w>'), ('a', 'n'),
              ('an', 'd</w>')]
    vocab = syms + [s + '</w>' for s in syms] + [a + b for a, b in merges]
    vocab += ['<|startoftext|>', '<|endoftext|>']
    merges_txt = '#version: 0.2\n' + ''.join('%s %s\n' % m for m in merges)
    vjson = json.dumps({s: i for i, s in enumerate(vocab)}, ensure_ascii=False)
    hf = (vjson + '\n---\n' + merges_txt).encode()
    out(t, 'hf-folder', b'\x00' + hf)
    out(t, 'hf-file', b'\x01' + hf)
    out(t, 'hf-missing-token', b'\x00' + (vjson + '\n---\n#version: 0.2\nq z\n').encode())
    out(t, 'hf-bad-id', b'\x00{"a": -1, "b": 1.5}\n---\n#version: 0.2\n')
    out(t, 'gz-text', b'\x02' + b'"bpe_simple_vocab_16e6.txt#version: 0.2\n' + merges_txt[14:].encode())
    out(t, 'gz-raw', b'\x03' + gzip.compress(merges_txt.encode()))
    # the real files' first lines, so mutations start from the real formats
    real_merges = os.path.join(CLIP, 'merges.txt')
    if os.path.exists(real_merges):
        with open(real_merges, encoding='utf-8') as f:
            head = ''.join(f.readline() for _ in range(40))
        out(t, 'real-merges-head', b'\x00' + (vjson + '\n---\n').encode() + head.encode())


def preset_seeds():
    t = 'fuzz_preset'
    d = os.path.join(ROOT, 'presets')
    for name in sorted(os.listdir(d)):
        if name.endswith('.json'):
            with open(os.path.join(d, name), 'rb') as f:
                out(t, name, f.read())
    out(t, 'all-keys.json', json.dumps({
        'version': 1, 'name': 'All', 'description': 'every key', 'prompt': 'a {prompt} b {prompt}',
        'negative_prompt': 'blurry', 'sampler': 'euler_ancestral', 'steps': 30, 'cfg_scale': 6.5,
        'strength': 0.35, 'seed': 12345, 'clip_skip': 2, 'resolution': 768, 'padding': 32,
        'feather': 4.5, 'model': 'v1-5.safetensors', 'x-unknown': {'kept': [1, 2, None]}}, indent=1))
    out(t, 'job-options.json', json.dumps({
        'version': 1, 'name': 'Job', 'prompt': '{prompt}', 'timestep_spacing': 'trailing',
        'prediction': 'v', 'precision': 'bf16', 'draft_vae': True, 'masked_content': 'fill',
        'rng': 'philox', 'vae_tile': 512, 'loras': [{'name': 'ink', 'weight': 0.5}]}, indent=1))
    out(t, 'vae-tile-off.json', '{"version":1,"name":"O","prompt":"p","vae_tile":"off",'
                                '"masked_content":"noise","rng":"torch","precision":"auto"}')
    out(t, 'bad-vae-tile.json', '{"version":1,"name":"B","prompt":"p","vae_tile":100}')
    out(t, 'random-seed.json', '{"version":1,"name":"R","prompt":"{prompt}","seed":"random"}')
    out(t, 'bad-version.json', '{"version":2,"name":"V","prompt":"p"}')
    out(t, 'bad-type.json', '{"version":1,"name":"T","prompt":"p","steps":"ten"}')


def lora_seeds():
    """Small LoRAs for the tiny model (tiny-sd1: text encoder width 64, fc1 [128, 64]; U-Net
    level 0 width 32): kohya with alpha, LoCon 3x3, PEFT with a LoraConfig, LoHa, SDXL."""
    t = 'fuzz_lora'
    te = 'lora_te_text_model_encoder_layers_0_mlp_fc1'
    conv = 'lora_unet_down_blocks_0_resnets_0_conv1'
    out(t, 'kohya-linear.safetensors', safetensors([
        (te + '.lora_down.weight', 'F16', [2, 64], [0.01] * 128),
        (te + '.lora_up.weight', 'F16', [128, 2], [0.02] * 256),
        (te + '.alpha', 'F16', [], [1.0])]))
    out(t, 'kohya-locon.safetensors', safetensors([
        (conv + '.lora_down.weight', 'F32', [2, 32, 3, 3], [0.01] * 576),
        (conv + '.lora_up.weight', 'F32', [32, 2, 1, 1], [0.02] * 64),
        (conv + '.alpha', 'F32', [], [1.0])],
        meta={'ss_network_module': 'networks.lora', 'ss_network_dim': '2'}))
    cfg = json.dumps({'unet.r': 2, 'unet.lora_alpha': 1.0,
                      'unet.alpha_pattern': {'down_blocks.0.resnets.0.conv1': 2.0},
                      'unet.rank_pattern': {}, 'unet.use_rslora': False})
    out(t, 'peft-config.safetensors', safetensors([
        ('unet.down_blocks.0.resnets.0.conv1.lora_A.weight', 'F32', [2, 32, 3, 3], [0.01] * 576),
        ('unet.down_blocks.0.resnets.0.conv1.lora_B.weight', 'F32', [32, 2, 1, 1], [0.02] * 64),
        ('text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight', 'F32', [2, 64], [0.01] * 128),
        ('text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_B.weight', 'F32', [128, 2], [0.0] * 256)],
        meta={'lora_adapter_metadata': cfg}))
    out(t, 'loha.safetensors', safetensors([(te + '.hada_w1_a', 'F32', [128, 2], [0.0] * 256)]))
    out(t, 'sdxl.safetensors', safetensors([
        ('lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', 'F32', [1, 4], [0.0] * 4)]))



def taesd_tensors(half, c, latent=4, prefix='', shift=0, dtype='F32'):
    """taesd.py's Encoder() or Decoder() of width c as (name, dtype, shape, values)."""
    if half == 'encoder':
        convs = {0: (3, c, True), 2: (c, c, False), 6: (c, c, False), 10: (c, c, False),
                 14: (c, latent, True)}
        blocks = [1, 3, 4, 5, 7, 8, 9, 11, 12, 13]
    else:
        convs = {1: (latent, c, True), 7: (c, c, False), 12: (c, c, False), 17: (c, c, False),
                 19: (c, 3, True)}
        blocks = [3, 4, 5, 8, 9, 10, 13, 14, 15, 18]
    out_t = []

    def values(n, k):
        return [((i * 7 + k) % 11 - 5) * 0.0625 for i in range(n)]
    for i, (ci, co, bias) in convs.items():
        out_t.append(('%s%d.weight' % (prefix, i + shift), dtype, [co, ci, 3, 3], values(co * ci * 9, i)))
        if bias:
            out_t.append(('%s%d.bias' % (prefix, i + shift), dtype, [co], values(co, i + 1)))
    for b in blocks:
        for j in (0, 2, 4):
            out_t.append(('%s%d.conv.%d.weight' % (prefix, b + shift, j), dtype, [c, c, 3, 3],
                          values(c * c * 9, b + j)))
            out_t.append(('%s%d.conv.%d.bias' % (prefix, b + shift, j), dtype, [c], values(c, b)))
    return out_t


def taesd_seeds():
    """Width-2 TAESDs in both layouts (the real ones are 64 wide, 1.2 MB a half)."""
    t = 'fuzz_taesd'
    out(t, 'py-decoder.safetensors', safetensors(taesd_tensors('decoder', 2)))
    out(t, 'py-encoder.safetensors', safetensors(taesd_tensors('encoder', 2)))
    out(t, 'py-decoder-f16.safetensors', safetensors(taesd_tensors('decoder', 2, dtype='F16')))
    out(t, 'diffusers.safetensors', safetensors(
        taesd_tensors('encoder', 2, prefix='encoder.layers.') +
        taesd_tensors('decoder', 2, prefix='decoder.layers.', shift=-1)))
    out(t, 'py-decoder-16ch.safetensors', safetensors(taesd_tensors('decoder', 2, latent=16)))


def png_chunk(tag, payload):
    body = tag + payload
    return struct.pack('>I', len(payload)) + body + struct.pack('>I', zlib.crc32(body) & 0xFFFFFFFF)


def png16_rgb(w, h):
    """A 16-bit RGB PNG (Pillow writes 16 bits for grey only)."""
    rows = b''.join(b'\0' + b''.join(struct.pack('>HHH', x * 4000, y * 5000, (x ^ y) * 3000)
                                      for x in range(w)) for y in range(h))
    return (b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0))
            + png_chunk(b'IDAT', zlib.compress(rows, 9)) + png_chunk(b'IEND', b''))


def image_seeds():
    """Small pictures of every layout the three decoders take, and a few they refuse."""
    try:
        from PIL import Image, PngImagePlugin
    except ImportError:
        print('make_corpus.py: no Pillow (python3-pil): corpus/fuzz_image left as it is')
        return
    import io
    t = 'fuzz_image'
    w, h = 16, 12
    rgba = Image.new('RGBA', (w, h))
    rgba.putdata([(x * 16, y * 20, (x * y) % 256, 255 - x * 8) for y in range(h) for x in range(w)])
    rgb = rgba.convert('RGB')

    def save(name, img, fmt, **kw):
        b = io.BytesIO()
        img.save(b, fmt, **kw)
        out(t, name, b.getvalue())
        return b.getvalue()

    png = save('rgb.png', rgb, 'PNG')
    save('rgba.png', rgba, 'PNG')
    save('grey.png', rgb.convert('L'), 'PNG')
    save('grey-alpha.png', rgba.convert('LA'), 'PNG')
    save('palette.png', rgb.quantize(16), 'PNG')
    save('palette-trns.png', rgb.quantize(16), 'PNG', transparency=2)
    save('bilevel.png', rgb.convert('1'), 'PNG')
    grey16 = Image.new('I;16', (w, h))
    grey16.putdata([(x * 4096 + y * 300) % 65536 for y in range(h) for x in range(w)])
    save('grey16.png', grey16, 'PNG')
    out(t, 'rgb16.png', png16_rgb(w, h))
    save('interlaced.png', rgb, 'PNG', interlace=1)
    info = PngImagePlugin.PngInfo()
    info.add_text('Comment', 'made by make_corpus.py')
    info.add_itxt('Title', 'seed', zip=True)
    save('ancillary-chunks.png', rgb, 'PNG', pnginfo=info, dpi=(72, 72))
    out(t, 'truncated.png', png[:len(png) // 2])
    jpg = save('baseline.jpg', rgb, 'JPEG', quality=90)
    save('grey.jpg', rgb.convert('L'), 'JPEG')
    save('progressive.jpg', rgb, 'JPEG', progressive=True)
    save('444-optimized.jpg', rgb, 'JPEG', subsampling=0, optimize=True)
    save('cmyk.jpg', rgb.convert('CMYK'), 'JPEG')
    out(t, 'truncated.jpg', jpg[:len(jpg) // 2])
    save('lossy.webp', rgb, 'WEBP', quality=80)
    save('lossy-alpha.webp', rgba, 'WEBP', quality=80)
    save('lossless.webp', rgba, 'WEBP', lossless=True)
    save('animated.webp', rgb, 'WEBP', save_all=True, append_images=[rgb.rotate(90)], duration=100)
    out(t, 'text.txt', 'not an image, but a line of text\n')


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--taesd16':
        # the CLI matrix's TAESD for another latent space (16 channels, as TAESD3 / TAEF1)
        with open(sys.argv[2], 'wb') as f:
            f.write(safetensors(taesd_tensors('decoder', 2, latent=16)))
        sys.exit(0)
    safetensors_seeds()
    sd2_seeds(os.path.join(os.path.dirname(CLIP), ''))
    tokenizer_seeds()
    vocab_seeds()
    preset_seeds()
    image_seeds()
    taesd_seeds()
    lora_seeds()
