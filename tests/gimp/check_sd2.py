#!/usr/bin/python3
"""Checks of the tiny SD 2.x jobs a GIMP run made (e2e-gimp2-sd2.scm, e2e_gimp3_sd2.py; issue 14),
outside GIMP, and the same jobs re-run with the `diffuse` command line.

usage: check_sd2.py WORKDIR DIFFUSE|- VOCAB [JOB...]
WORKDIR holds sd2-in.png and, per job (default: all of JOBS), sd2-JOB-{selection,layer,source,
out}.png and sd2-JOB-parasite.json. DIFFUSE "-": no CLI at hand (the Flatpak bundle's run
chroot), the comparison left out. Per job:
  * the parasite says what ran: mode, family (from the file), prediction (auto resolved to the
    file's type), steps, CFG, sampler, timestep spacing, region, working size;
  * the source layer is untouched, the flattened image is unchanged outside the selection and
    repainted inside it;
  * `diffuse` run with the parasite's settings on the region cut from sd2-in.png (inpaint: the
    selection cut the same way as its mask) gives the very pixels of the layer wherever the
    selection is at least half on (region_feather: there the layer holds the generated colour,
    whatever its alpha). The region equals the working size, so the plug-in scales nothing:
    plug-in and CLI share the engine and the same 8-bit rounding (image_png.c, babl).
Exit 0 only if every check passes.
"""
import json
import os
import subprocess
import sys
import time

from PIL import Image, ImageChops

from checks import check, finish

REGION = {"x": 24, "y": 14, "width": 128, "height": 96}  # selection (40,30) 96x64 + 16 px
JOBS = {  # job: what its parasite must say (the settings the GIMP scripts ran it with)
    "img2img": dict(mode="img2img", family="sd2", prediction="eps", steps=4, cfg_scale=7.5,
                    sampler="euler_a", timestep_spacing="leading", strength=0.6),
    "inpaint": dict(mode="inpaint", family="sd2-inpaint", prediction="eps", steps=4,
                    cfg_scale=7.5, sampler="ddim", timestep_spacing="leading", strength=1.0),
    "v": dict(mode="img2img", family="sd2-v", prediction="v", steps=4, cfg_scale=7.5,
              sampler="euler", timestep_spacing="leading", strength=0.75),
    "turbo-txt2img": dict(mode="txt2img", family="sd2", prediction="eps", steps=1, cfg_scale=0,
                          sampler="euler_a", timestep_spacing="trailing"),
    "turbo-img2img": dict(mode="img2img", family="sd2", prediction="eps", steps=2, cfg_scale=0,
                          sampler="euler_a", timestep_spacing="trailing", strength=0.5),
}

# job: a CLI flag and another value that must change the picture (v-prediction detected and
# used; trailing spacing used), so that the equality says the job ran as recorded
CONTRAST = {"v": ("--prediction", "eps"), "turbo-txt2img": ("--spacing", "leading"),
            "turbo-img2img": ("--spacing", "leading")}

# parasite key -> the diffuse flag that sets it, for the settings a newer plug-in may record
OPTIONAL = (("precision", "--precision"), ("masked_content", "--masked-content"),
            ("rng", "--rng"), ("vae_tile", "--vae-tile"))


def cli_args(meta, d, job, vocab):
    """The diffuse command line that runs what the parasite says on the job's region."""
    pre = f"{d}/sd2-{job}-cli"
    args = [meta["mode"], "--model", meta["model"], "--vocab", vocab,
            "--prompt", meta["prompt"], "--negative", meta["negative_prompt"],
            "--steps", str(meta["steps"]), "--cfg", repr(meta["cfg_scale"]),
            "--sampler", meta["sampler"], "--seed", meta["seed"],
            "--spacing", meta["timestep_spacing"], "--prediction", meta["prediction"],
            "--clip-skip", str(meta["clip_skip"]), "--quiet", "--out", f"{pre}-out.png"]
    for key, flag in OPTIONAL:  # settings a parasite may record besides those above
        if key in meta:
            args += [flag, str(meta[key])]
    r = meta["region"]
    box = (r["x"], r["y"], r["x"] + r["width"], r["y"] + r["height"])
    if meta["mode"] == "txt2img":
        args += ["--width", str(meta["work_width"]), "--height", str(meta["work_height"])]
    else:
        Image.open(f"{d}/sd2-in.png").convert("RGB").crop(box).save(f"{pre}-init.png")
        args += ["--init", f"{pre}-init.png", "--strength", repr(meta["strength"])]
    if meta["mode"] == "inpaint":
        Image.open(f"{d}/sd2-{job}-selection.png").convert("L").crop(box).save(f"{pre}-mask.png")
        args += ["--mask", f"{pre}-mask.png"]
    return args, f"{pre}-out.png"


def check_job(d, job, want, diffuse, vocab):
    meta = json.load(open(f"{d}/sd2-{job}-parasite.json"))
    for key, value in want.items():
        check(meta.get(key) == value, f"{job}: parasite {key} {meta.get(key)!r} == {value!r}")
    check(meta.get("region") == REGION and (meta.get("work_width"), meta.get("work_height")) ==
          (REGION["width"], REGION["height"]),
          f"{job}: region {meta.get('region')} at working size "
          f"{meta.get('work_width')}x{meta.get('work_height')} (no scaling)")

    inp = Image.open(f"{d}/sd2-in.png").convert("RGBA")
    src = Image.open(f"{d}/sd2-{job}-source.png").convert("RGBA")
    out = Image.open(f"{d}/sd2-{job}-out.png").convert("RGBA")
    sel = Image.open(f"{d}/sd2-{job}-selection.png").convert("L")
    layer = Image.open(f"{d}/sd2-{job}-layer.png").convert("RGBA")
    check(ImageChops.difference(src, inp).getbbox() is None, f"{job}: source layer untouched")
    pi, po, ps = inp.load(), out.load(), sel.load()
    counts = {0: [0, 0], 255: [0, 0]}  # selection value: [pixels, changed]
    for y in range(inp.size[1]):
        for x in range(inp.size[0]):
            if ps[x, y] in counts:
                counts[ps[x, y]][0] += 1
                counts[ps[x, y]][1] += pi[x, y] != po[x, y]
    check(counts[0][1] == 0, f"{job}: unchanged outside the selection "
          f"({counts[0][0] - counts[0][1]}/{counts[0][0]} pixels)")
    check(counts[255][1] > counts[255][0] // 2,
          f"{job}: repainted inside ({counts[255][1]}/{counts[255][0]} pixels changed)")

    # The plug-in reads the selection as linear "Y float", its PNG holds the stored 8-bit
    # values, and a 9-channel U-Net sees every mask value: the CLI's mask is the plug-in's
    # only for a selection of 0 and 1 (the GIMP scripts select without antialiasing).
    box = (REGION["x"], REGION["y"], REGION["x"] + REGION["width"], REGION["y"] + REGION["height"])
    levels = sorted(set(sel.crop(box).getdata()))
    check(set(levels) <= {0, 255}, f"{job}: selection of 0 and 1 only (levels {levels[:6]})")
    if diffuse == "-":
        print(f"note {job}: no diffuse CLI here, the layer not compared with it")
        return
    args, cli_out = cli_args(meta, d, job, vocab)
    t = time.monotonic()
    res = subprocess.run([diffuse] + args, capture_output=True, text=True)
    if res.returncode != 0:
        check(False, f"{job}: diffuse {' '.join(args)}: {res.stderr.strip()}")
        return
    n, differ, worst = compare(layer, ps, cli_out)
    check(n > 0 and differ == 0,
          f"{job}: layer == diffuse {meta['mode']} on the region ({n} selected pixels, "
          f"{differ} differ, max |diff| {worst}; CLI {time.monotonic() - t:.1f} s)")
    if job in CONTRAST:  # the setting matters: the equality above says it ran as recorded
        flag, value = CONTRAST[job]
        args[args.index(flag) + 1] = value
        res = subprocess.run([diffuse] + args, capture_output=True, text=True)
        n, differ, _ = compare(layer, ps, cli_out) if res.returncode == 0 else (0, 0, 0)
        check(res.returncode == 0 and differ > n // 2,
              f"{job}: diffuse with {flag} {value} differs ({differ}/{n} pixels)"
              + (f": {res.stderr.strip()}" if res.returncode else ""))


def compare(layer, ps, cli_out):
    """(selected pixels, those whose colour differs, the largest difference) between the
    layer and the CLI's picture, where the selection is at least half on."""
    cli = Image.open(cli_out).convert("RGB").load()
    pl = layer.load()
    n = worst = differ = 0
    for y in range(REGION["height"]):
        for x in range(REGION["width"]):
            if ps[REGION["x"] + x, REGION["y"] + y] >= 128:
                n += 1
                dmax = max(abs(a - b) for a, b in zip(pl[x, y][:3], cli[x, y]))
                worst = max(worst, dmax)
                differ += dmax != 0
    return n, differ, worst


def main():
    d, diffuse, vocab = sys.argv[1:4]
    jobs = sys.argv[4:] or list(JOBS)
    if diffuse != "-" and not os.access(diffuse, os.X_OK):
        check(False, f"no diffuse executable at {diffuse} (the CLI the jobs are compared with)")
        return finish("")
    for job in jobs:
        check_job(d, job, JOBS[job], diffuse, vocab)
    return finish("SD 2.x jobs: parasites, pixels" +
                  (", and the same pixels from diffuse" if diffuse != "-" else ""))


if __name__ == "__main__":
    sys.exit(main())
