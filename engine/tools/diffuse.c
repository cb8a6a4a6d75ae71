/* diffuse: Stable Diffusion img2img / inpaint / txt2img from the command line.
 * PNG, JPEG or WebP in, PNG out (image_io.h); progress on stderr; every bad input gets a
 * message naming it and a non-zero status, and nothing is written. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "image_io.h"
#include "sd.h"
#include "sd_preset.h"

/* The published limits (sd.h) spelled into messages: integer constants only. */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage[] =
"usage: diffuse img2img|inpaint|txt2img --model FILE [options] --out OUT.png\n"
"       diffuse presets list | show NAME | validate FILE...\n"
"       diffuse check MODEL...   what a checkpoint is, or why it is refused\n"
"\n"
"  --model FILE        SD 1.x single-file checkpoint (.safetensors, F32/F16/BF16)\n"
"  --vocab PATH        CLIP vocabulary: folder with vocab.json + merges.txt or\n"
"                      bpe_simple_vocab_16e6.txt.gz (default: $GIMP_DIFFUSION_VOCAB)\n"
"  --init IMAGE        input image (img2img, inpaint): PNG, JPEG or WebP, known by its\n"
"                      contents, not its name; alpha is ignored, pixels are taken as sRGB\n"
"  --mask IMAGE        inpaint mask, same size as the input, same formats; white = repaint\n"
"                      (a colour mask counts by its luminance)\n"
"  --prompt TEXT       what to generate\n"
"  --negative TEXT     what to avoid (default: empty)\n"
"  --strength X        0 < X <= 1, how much to change (default 0.75; txt2img: 1)\n"
"  --steps N           denoising steps, " STR(SD_STEPS_MIN) ".." STR(SD_STEPS_MAX) " (default: the model's,\n"
"                      " STR(SD_STEPS_DEFAULT) "; SD-Turbo 1)\n"
"  --cfg X             classifier-free guidance scale (default: the model's, 7.5; SD-Turbo\n"
"                      0); 1 or less runs the U-Net once per step without the negative prompt\n"
"  --sampler NAME      %s\n"
"                      (default: the model's, euler_a)\n"
"  --spacing S         timestep spacing: leading, trailing (few-step models), linspace, as\n"
"                      diffusers' timestep_spacing (default: the model's: leading; SD-Turbo\n"
"                      trailing)\n"
"  --prediction P      what the U-Net predicts: auto (default: the model's), eps, v\n"
"  --seed N            random seed, 0..2^64-1 (default 0)\n"
"  --rng torch|philox  noise source: torch CPU generator (diffusers, ComfyUI; default)\n"
"                      or Philox4x32 (A1111 GPU noise)\n"
"  --clip-skip N       1 = the text encoder's output (default; SD 2.x: already the penultimate\n"
"                      of OpenCLIP's 24 blocks), 2 = one layer earlier (diffusers' clip_skip=1);\n"
"                      at most the model's layers: SD 1.x 12, SD 2.x 23\n"
"  --masked-content M  inpaint: original (default), fill, noise\n"
"  --width N --height N  txt2img output size (default: the model's, 512x512; SD 2.x 768-v:\n"
"                      768x768)\n"
"  --threads N         worker threads (default: all cores)\n"
"  --precision P       auto (default): bf16 where the CPU has bf16 matrix instructions\n"
"                      (AMX, AVX512-BF16), else fp32; fp32: float32 throughout (the\n"
"                      reference); bf16: the U-Net's and VAE decoder's products in bfloat16\n"
"                      with float32 sums (an error on a CPU without the instructions)\n"
"  --memory MB         working-memory budget; a job that needs more is refused with the\n"
"                      size it needs (default: the memory available when it starts)\n"
"  --vae-tile PX|auto|off  VAE encode/decode in overlapping tiles of PX pixels (a multiple\n"
"                      of 64): bounded memory for large regions, seams cross-faded\n"
"                      (diffusers' enable_tiling). auto (default): untiled unless the\n"
"                      untiled pass would not fit the memory budget\n"
"  --taesd PATH        TAESD (madebyollin/taesd): diffusion_pytorch_model.safetensors,\n"
"                      taesd_decoder.safetensors (+ taesd_encoder beside it) or their\n"
"                      folder (default: $GIMP_DIFFUSION_TAESD). Used for --draft-vae and\n"
"                      for previews\n"
"  --draft-vae         encode and decode with TAESD instead of the full VAE: about a\n"
"                      tenth of its time, softer detail (needs --taesd)\n"
"  --preview FILE.png  write a preview of the picture forming (the current estimate of\n"
"                      the result) after every --preview-every steps, replaced atomically\n"
"  --preview-every N   steps between previews (default 1)\n"
"  --preview-kind K    auto (TAESD when given, default), latent (the latent->RGB\n"
"                      projection: 1/8 size, free) or taesd (full size)\n"
"  --lora FILE[:W]     apply a LoRA (kohya or diffusers/PEFT .safetensors) at weight W\n"
"                      (default 1); repeatable. The prompt may also name LoRAs from the\n"
"                      LoRA folder: <lora:NAME:W> loads NAME.safetensors\n"
"  --lora-dir DIR      the LoRA folder (default: $GIMP_DIFFUSION_LORA_DIR, else\n"
"                      ~/.local/share/gimp-diffusion/loras)\n"
"  --preset NAME|FILE  take prompt template, negative prompt and settings from a\n"
"                      preset; --prompt then fills its {prompt} placeholder, and\n"
"                      options given explicitly win over the preset\n"
"  --timings           print phase times and peak RSS on stderr\n"
"  --quiet             no progress bar\n"
"  --out OUT.png       where to write the result (8-bit PNG), atomically: a failed or\n"
"                      interrupted run leaves no partial file there\n"
"  --help              this text\n"
"\n"
"Presets are read from the shipped folder (" SD_PRESETS_DIR ", or $GIMP_DIFFUSION_PRESETS),\n"
"then from the user folders of GIMP's profile ($XDG_CONFIG_HOME/GIMP/{2.10,3.0}/diffusion/presets);\n"
"a user preset overrides a shipped one of the same name.\n"
"\n"
"Images: " IMAGE_FORMATS ", at most " STR(IMAGE_MAX_SIDE) " pixels a side. A file that is cut short, damaged\n"
"(any decoder warning), of another format or of the wrong size is refused with the reason.\n";

typedef struct {
    const char *command, *model, *vocab, *init, *mask, *out, *preset, *taesd, *preview;
    int timings, quiet, threads;
    sd_precision precision;
    long memory_mb;
    unsigned explicit_fields;   /* SD_PRESET_* bits the user set on the command line */
    int size_given;             /* --width or --height given */
    sd_lora loras[SD_LORA_MAX];
    char lora_dir[4096];
    sd_job job;
} options;

typedef struct {
    int quiet;
    const char *preview_path;
    int previews;
    double preview_make_s, preview_write_s;   /* sums over the previews */
    double phase_start, step_start, denoise_start;
    double run_start, first_report;   /* LoRA merge: from sd_generate to its first report */
    double text_s, encode_s, decode_s;
    double *step_s;
    int steps_done, steps_total;
} progress_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_usage(void)
{
    char list[SD_SAMPLER_LIST_SIZE];
    printf(usage, sd_sampler_list(list, sizeof list));
}

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "diffuse: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 2;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* --lora FILE[:WEIGHT]: the text after the last ':' is the weight when it is a number
 * (a path may hold ':' itself). */
static int parse_lora(char *v, options *o)
{
    if (o->job.n_loras == SD_LORA_MAX)
        return fail("too many LoRAs (the one too many: %s)", v);
    float weight = 1.0f;
    char *colon = strrchr(v, ':');
    if (colon && colon != v && parse_float(colon + 1, &weight) == 0)
        *colon = '\0';
    else
        weight = 1.0f;
    if (!v[0])
        return fail("--lora needs a FILE, got '%s'", v);
    o->loras[o->job.n_loras].path = v;
    o->loras[o->job.n_loras].weight = weight;
    o->job.n_loras++;
    o->job.loras = o->loras;
    return 0;
}

/* The LoRA folder <lora:NAME> reads from: $GIMP_DIFFUSION_LORA_DIR, else the user's data
 * folder (install.sh makes it; the plug-in's config key "lora_dir" says the same). */
static void default_lora_dir(char *buf, size_t size)
{
    const char *env = getenv("GIMP_DIFFUSION_LORA_DIR");
    const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (env && env[0])
        snprintf(buf, size, "%s", env);
    else if (data && data[0])
        snprintf(buf, size, "%s/gimp-diffusion/loras", data);
    else
        snprintf(buf, size, "%s/.local/share/gimp-diffusion/loras", home ? home : ".");
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    sd_job_defaults(&o->job);
    default_lora_dir(o->lora_dir, sizeof o->lora_dir);
    o->job.lora_dir = o->lora_dir;
    o->vocab = getenv("GIMP_DIFFUSION_VOCAB");
    o->taesd = getenv("GIMP_DIFFUSION_TAESD");
    o->job.preview_every = 1;
    if (argc < 2)
        return fail("%s", "missing command (try --help)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage();
        exit(0);
    }
    o->command = argv[1];
    if (strcmp(o->command, "img2img") == 0)
        o->job.mode = SD_MODE_IMG2IMG;
    else if (strcmp(o->command, "inpaint") == 0)
        o->job.mode = SD_MODE_INPAINT;
    else if (strcmp(o->command, "txt2img") == 0) {
        o->job.mode = SD_MODE_TXT2IMG;
        o->job.strength = 1.0;
        o->job.width = o->job.height = 512;
    } else
        return fail("unknown command '%s' (img2img, inpaint, txt2img)", o->command);

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            print_usage();
            exit(0);
        }
        if (strcmp(a, "--timings") == 0) { o->timings = 1; continue; }
        if (strcmp(a, "--quiet") == 0) { o->quiet = 1; continue; }
        if (strcmp(a, "--draft-vae") == 0) {
            o->job.draft_vae = 1;
            o->explicit_fields |= SD_PRESET_DRAFT_VAE;
            continue;
        }
        if (i + 1 >= argc)
            return fail("option %s needs a value", a);
        const char *v = argv[++i];
        long n;
        float f;
        if (strcmp(a, "--model") == 0) o->model = v;
        else if (strcmp(a, "--vocab") == 0) o->vocab = v;
        else if (strcmp(a, "--init") == 0) o->init = v;
        else if (strcmp(a, "--mask") == 0) o->mask = v;
        else if (strcmp(a, "--out") == 0) o->out = v;
        else if (strcmp(a, "--preset") == 0) o->preset = v;
        else if (strcmp(a, "--lora") == 0) {
            if (parse_lora(argv[i], o) != 0)
                return 2;
        } else if (strcmp(a, "--lora-dir") == 0) {
            if (!v[0] || strlen(v) >= sizeof o->lora_dir)
                return fail("--lora-dir needs a folder, got '%s'", v);
            snprintf(o->lora_dir, sizeof o->lora_dir, "%s", v);
        }
        else if (strcmp(a, "--taesd") == 0) o->taesd = v;
        else if (strcmp(a, "--preview") == 0) o->preview = v;
        else if (strcmp(a, "--preview-every") == 0) {
            if (parse_int(v, 1, SD_STEPS_MAX, &n))
                return fail("--preview-every must be a number of steps in 1.." STR(SD_STEPS_MAX)
                            ", got '%s'", v);
            o->job.preview_every = (int)n;
        } else if (strcmp(a, "--preview-kind") == 0) {
            if (strcmp(v, "auto") == 0) o->job.preview_kind = SD_PREVIEW_AUTO;
            else if (strcmp(v, "latent") == 0) o->job.preview_kind = SD_PREVIEW_LATENT_RGB;
            else if (strcmp(v, "taesd") == 0) o->job.preview_kind = SD_PREVIEW_TAESD;
            else return fail("--preview-kind must be auto, latent or taesd, got '%s'", v);
        }
        else if (strcmp(a, "--prompt") == 0) o->job.prompt = v;
        else if (strcmp(a, "--negative") == 0) {
            o->job.negative_prompt = v;
            o->explicit_fields |= SD_PRESET_NEGATIVE;
        }
        else if (strcmp(a, "--strength") == 0) {
            o->explicit_fields |= SD_PRESET_STRENGTH;
            char *end;
            errno = 0;
            double d = strtod(v, &end);
            if (errno || end == v || *end || !(d > 0.0 && d <= SD_STRENGTH_MAX))
                return fail("--strength must be a number in (0, 1], got '%s'", v);
            o->job.strength = d;
        } else if (strcmp(a, "--steps") == 0) {
            o->explicit_fields |= SD_PRESET_STEPS;
            if (parse_int(v, SD_STEPS_MIN, SD_STEPS_MAX, &n))
                return fail("--steps must be an integer in " STR(SD_STEPS_MIN) ".." STR(SD_STEPS_MAX) ", got '%s'", v);
            o->job.steps = (int)n;
        } else if (strcmp(a, "--cfg") == 0) {
            o->explicit_fields |= SD_PRESET_CFG;
            if (parse_float(v, &f) || f < SD_CFG_MIN || f > SD_CFG_MAX)
                return fail("--cfg must be a number in 0..100, got '%s'", v);
            o->job.cfg_scale = f;
        } else if (strcmp(a, "--sampler") == 0) {
            o->explicit_fields |= SD_PRESET_SAMPLER;
            int s = sd_sampler_from_name(v);
            if (s < 0) {
                char list[SD_SAMPLER_LIST_SIZE];
                fprintf(stderr, "diffuse: unknown sampler '%s' (%s)\n", v,
                        sd_sampler_list(list, sizeof list));
                return 2;
            }
            o->job.sampler = (sd_sampler)s;
        } else if (strcmp(a, "--spacing") == 0) {
            o->explicit_fields |= SD_PRESET_SPACING;
            int s = sd_spacing_from_name(v);
            if (s < 0)
                return fail("--spacing must be leading, trailing or linspace, got '%s'", v);
            o->job.spacing = (sd_spacing)s;
        } else if (strcmp(a, "--prediction") == 0) {
            o->explicit_fields |= SD_PRESET_PREDICTION;
            int p = sd_prediction_from_name(v);
            if (p < 0)
                return fail("--prediction must be auto, eps or v, got '%s'", v);
            o->job.prediction = (sd_prediction)p;
        } else if (strcmp(a, "--seed") == 0) {
            o->explicit_fields |= SD_PRESET_SEED;
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-')
                return fail("--seed must be an integer in 0..18446744073709551615, got '%s'", v);
            o->job.seed = (uint64_t)s;
        } else if (strcmp(a, "--rng") == 0) {
            o->explicit_fields |= SD_PRESET_RNG;
            if (sd_rng_parse(v, &o->job.rng))
                return fail("--rng must be torch or philox, got '%s'", v);
        } else if (strcmp(a, "--clip-skip") == 0) {
            o->explicit_fields |= SD_PRESET_CLIP_SKIP;
            if (parse_int(v, SD_CLIP_SKIP_MIN, SD_CLIP_SKIP_MAX, &n))
                return fail("--clip-skip must be an integer in " STR(SD_CLIP_SKIP_MIN) ".." STR(SD_CLIP_SKIP_MAX)
                            ", got '%s'", v);
            o->job.clip_skip = (int)n;
        } else if (strcmp(a, "--masked-content") == 0) {
            o->explicit_fields |= SD_PRESET_MASKED_CONTENT;
            if (sd_masked_content_parse(v, &o->job.masked_content))
                return fail("--masked-content must be original, fill or noise, got '%s'", v);
        } else if (strcmp(a, "--width") == 0 || strcmp(a, "--height") == 0) {
            if (parse_int(v, SD_SIZE_MIN, IMAGE_MAX_SIDE, &n))
                return fail("--width/--height must be an integer in " STR(SD_SIZE_MIN) ".." STR(IMAGE_MAX_SIDE)
                            ", got '%s'", v);
            if (a[2] == 'w') o->job.width = (int)n; else o->job.height = (int)n;
            o->size_given = 1;
        } else if (strcmp(a, "--memory") == 0) {
            if (parse_int(v, 1, 1L << 30, &n))
                return fail("--memory must be a number of MiB >= 1, got '%s'", v);
            o->memory_mb = n;
        } else if (strcmp(a, "--vae-tile") == 0) {
            o->explicit_fields |= SD_PRESET_VAE_TILE;
            if (sd_vae_tile_parse(v, &o->job.vae_tile))
                return fail("--vae-tile must be auto, off or a multiple of 64 pixels, got '%s'", v);
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_int(v, 1, SD_THREADS_MAX, &n))
                return fail("--threads must be an integer in 1.." STR(SD_THREADS_MAX) ", got '%s'", v);
            o->threads = (int)n;
        } else if (strcmp(a, "--precision") == 0) {
            if (sd_precision_parse(v, &o->precision))
                return fail("--precision must be auto, fp32 or bf16, got '%s'", v);
            o->explicit_fields |= SD_PRESET_PRECISION;
        } else
            return fail("unknown option %s (try --help)", a);
    }
    if (!o->vocab)
        return fail("%s", "--vocab PATH is required (or set GIMP_DIFFUSION_VOCAB)");
    if (!o->out)
        return fail("%s", "--out FILE is required");
    if (!o->job.prompt)
        o->job.prompt = "";
    if (o->job.mode != SD_MODE_TXT2IMG && !o->init)
        return fail("%s needs --init IN.png", o->command);
    if (o->job.mode == SD_MODE_INPAINT && !o->mask)
        return fail("%s", "inpaint needs --mask MASK.png");
    if (o->job.mode != SD_MODE_INPAINT && o->mask)
        return fail("--mask is only for inpaint, not %s", o->command);
    return 0;
}

/* ---- presets ------------------------------------------------------------- */

/* Shipped folder first (installed, else the source tree's), then the GIMP profiles'. */
static int preset_dirs(char dirs[4][1024])
{
    int n = 0;
    const char *env = getenv("GIMP_DIFFUSION_PRESETS");
    struct stat st;
    if (env && env[0])
        snprintf(dirs[n++], 1024, "%s", env);
    else if (stat(SD_PRESETS_DIR, &st) == 0)
        snprintf(dirs[n++], 1024, "%s", SD_PRESETS_DIR);
    else
        snprintf(dirs[n++], 1024, "%s", SD_PRESETS_SOURCE_DIR);
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char base[900];
    if (xdg && xdg[0])
        snprintf(base, sizeof base, "%s", xdg);
    else
        snprintf(base, sizeof base, "%s/.config", home ? home : ".");
    snprintf(dirs[n++], 1024, "%s/GIMP/2.10/diffusion/presets", base);
    snprintf(dirs[n++], 1024, "%s/GIMP/3.0/diffusion/presets", base);
    return n;
}

static sd_preset_list *load_presets(void)
{
    char dirs[4][1024];
    const char *ptrs[4];
    int n = preset_dirs(dirs);
    for (int i = 0; i < n; i++)
        ptrs[i] = dirs[i];
    sd_preset_list *l = NULL;
    sd_error err = {0};
    if (sd_preset_list_load(ptrs, n, &l, &err) != SD_OK) {
        fprintf(stderr, "diffuse: %s\n", err.message);
        return NULL;
    }
    for (int i = 0; i < sd_preset_list_error_count(l); i++)
        fprintf(stderr, "diffuse: warning: skipped preset %s\n", sd_preset_list_error(l, i));
    return l;
}

static void print_preset(const sd_preset *p)
{
    char *json = sd_preset_to_json(p);
    printf("# %s\n%s\n", sd_preset_source(p), json ? json : "(out of memory)");
    free(json);
}

static int cmd_presets(int argc, char **argv)
{
    const char *sub = argc > 2 ? argv[2] : "list";
    if (strcmp(sub, "validate") == 0) {
        if (argc < 4)
            return fail("%s", "presets validate needs at least one FILE");
        int bad = 0;
        for (int i = 3; i < argc; i++) {
            sd_preset *p;
            sd_error err = {0};
            if (sd_preset_load_file(argv[i], &p, &err) == SD_OK) {
                printf("%s: ok (%s)\n", argv[i], sd_preset_name(p));
                sd_preset_free(p);
            } else {
                fprintf(stderr, "%s\n", err.message);
                bad++;
            }
        }
        return bad ? 1 : 0;
    }
    sd_preset_list *l = load_presets();
    if (!l)
        return 1;
    int rc = 0;
    if (strcmp(sub, "list") == 0) {
        for (int i = 0; i < sd_preset_list_count(l); i++) {
            const sd_preset *p = sd_preset_list_at(l, i);
            printf("%-28s %s\n", sd_preset_name(p), sd_preset_description(p));
        }
    } else if (strcmp(sub, "show") == 0) {
        if (argc < 4)
            rc = fail("%s", "presets show needs a NAME");
        else {
            const sd_preset *p = sd_preset_list_find(l, argv[3]);
            if (p)
                print_preset(p);
            else
                rc = fail("no preset named '%s' (see: diffuse presets list)", argv[3]);
        }
    } else
        rc = fail("unknown presets command '%s' (list, show, validate)", sub);
    sd_preset_list_free(l);
    return rc;
}

/* --preset NAME|FILE: a path when it names an existing file, else a preset name. */
static int resolve_preset(const char *arg, sd_preset **out)
{
    struct stat st;
    sd_error err = {0};
    if (strchr(arg, '/') || (stat(arg, &st) == 0 && S_ISREG(st.st_mode))) {
        if (sd_preset_load_file(arg, out, &err) != SD_OK) {
            fprintf(stderr, "diffuse: %s\n", err.message);
            return -1;
        }
        return 0;
    }
    sd_preset_list *l = load_presets();
    if (!l)
        return -1;
    const sd_preset *found = sd_preset_list_find(l, arg);
    int rc = -1;
    if (!found)
        fprintf(stderr, "diffuse: no preset named '%s' (see: diffuse presets list)\n", arg);
    else {
        /* Copy out of the list through its JSON, so the list can be freed. */
        char *json = sd_preset_to_json(found);
        if (json && sd_preset_parse(json, sd_preset_source(found), out, &err) == SD_OK)
            rc = 0;
        else
            fprintf(stderr, "diffuse: %s\n", json ? err.message : "out of memory");
        free(json);
    }
    sd_preset_list_free(l);
    return rc;
}

static int on_progress(void *user, sd_phase phase, int step, int total)
{
    progress_state *p = user;
    double t = now_s();
    if (phase == SD_PHASE_DENOISE) {
        if (step == 0) {
            p->denoise_start = p->step_start = t;
            p->steps_total = total;
            free(p->step_s);
            p->step_s = calloc((size_t)(total > 0 ? total : 1), sizeof *p->step_s);
        } else {
            if (p->step_s && step <= p->steps_total)
                p->step_s[step - 1] = t - p->step_start;
            p->step_start = t;
            p->steps_done = step;
            if (!p->quiet) {
                double per = (t - p->denoise_start) / step;
                int width = 30, filled = total ? width * step / total : width;
                fprintf(stderr, "\rdenoise [%.*s%*s] %d/%d  %.2f s/step  ETA %.0f s ",
                        filled, "##############################", width - filled, "",
                        step, total, per, per * (total - step));
                if (step == total)
                    fputc('\n', stderr);
            }
        }
        return 0;
    }
    if (p->first_report == 0.0)
        p->first_report = t;
    if (step == 0) {
        p->phase_start = t;
        if (!p->quiet)
            fprintf(stderr, "%s...\n", phase == SD_PHASE_TEXT ? "encoding prompt"
                                       : phase == SD_PHASE_ENCODE ? "encoding image"
                                       : phase == SD_PHASE_DECODE ? "decoding image"
                                       : sd_phase_name(phase));
    } else {
        double d = t - p->phase_start;
        if (phase == SD_PHASE_TEXT) p->text_s = d;
        else if (phase == SD_PHASE_ENCODE) p->encode_s = d;
        else if (phase == SD_PHASE_DECODE) p->decode_s = d;
    }
    return 0;
}

/* --preview: the picture so far, rewritten after every preview_every steps, atomically (a
 * viewer never reads half a PNG). The time since
 * the step's progress report is what making the preview cost (the engine reports the step,
 * then makes the preview). */
static int on_preview(void *user, const sd_preview *pv)
{
    progress_state *p = user;
    double t0 = now_s();
    char msg[1024];
    if (image_io_write_png_atomic(p->preview_path, pv->rgb, pv->width, pv->height, msg,
                                  sizeof msg) != 0) {
        fprintf(stderr, "\ndiffuse: preview: %s\n", msg);
        return 1;   /* a preview that cannot be written stops the run, as the output would */
    }
    p->previews++;
    p->preview_make_s += t0 - p->step_start;
    p->preview_write_s += now_s() - t0;
    return 0;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_maxrss / 1024.0;   /* ru_maxrss is in KiB on Linux */
}

/* The model family's defaults (SD-Turbo: 1 step, CFG 0, euler_a, trailing; SD 2.x 768-v:
 * 768x768 txt2img) for the settings neither the command line nor the preset gave. */
static void apply_model_defaults(const sd_model *model, options *o, unsigned preset_set)
{
    sd_model_defaults d;
    sd_model_get_defaults(model, &d);
    const unsigned given = o->explicit_fields | preset_set;
    if (!(given & SD_PRESET_STEPS)) o->job.steps = d.steps;
    if (!(given & SD_PRESET_CFG)) o->job.cfg_scale = d.cfg_scale;
    if (!(given & SD_PRESET_SAMPLER)) o->job.sampler = d.sampler;
    if (!(given & SD_PRESET_SPACING)) o->job.spacing = d.spacing;
    if (o->job.mode == SD_MODE_TXT2IMG && !o->size_given)
        o->job.width = o->job.height = d.resolution;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "presets") == 0)
        return cmd_presets(argc, argv);
    if (argc > 1 && strcmp(argv[1], "check") == 0)
        return diffuse_check(argc, argv);

    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;

    sd_preset *preset = NULL;
    char *preset_prompt = NULL, *preset_negative = NULL;
    unsigned preset_set = 0;
    if (o.preset) {
        if (resolve_preset(o.preset, &preset) != 0)
            return 2;
        sd_error perr = {0};
        if (sd_preset_apply(preset, o.job.prompt, o.explicit_fields, &o.job, &preset_prompt,
                            &preset_negative, &perr) != SD_OK) {
            fprintf(stderr, "diffuse: %s\n", perr.message);
            sd_preset_free(preset);
            return 2;
        }
        sd_preset_settings ps;
        sd_preset_get_settings(preset, &ps);
        if (!o.model && (ps.set & SD_PRESET_MODEL))
            o.model = ps.model;
        preset_set = ps.set;
        if (!(o.explicit_fields & SD_PRESET_PRECISION) && (ps.set & SD_PRESET_PRECISION))
            o.precision = ps.precision;
        /* A preset's draft VAE is a wish: without a TAESD the full VAE runs. */
        if (o.job.draft_vae && !(o.explicit_fields & SD_PRESET_DRAFT_VAE) && !o.taesd) {
            if (!o.quiet)
                fprintf(stderr, "diffuse: note: preset '%s' asks for the draft VAE, but no "
                        "TAESD is given (--taesd): using the full VAE\n", sd_preset_name(preset));
            o.job.draft_vae = 0;
        }
    }
    if (!o.model) {
        sd_preset_free(preset);
        free(preset_prompt);
        free(preset_negative);
        return fail("%s", "--model FILE is required");
    }

    char msg[1024];
    float *image = NULL, *mask = NULL, *out = NULL;
    sd_model *model = NULL;
    progress_state prog = {.quiet = o.quiet};
    rc = 1;

    /* every input and the output's folder are checked before the model is loaded */
    if (o.init) {
        image = image_read(o.init, 3, &o.job.width, &o.job.height, msg, sizeof msg);
        if (!image) {
            fprintf(stderr, "diffuse: --init: %s\n", msg);
            goto done;
        }
        o.job.image = image;
    }
    if (o.mask) {
        int mw, mh;
        mask = image_read(o.mask, 1, &mw, &mh, msg, sizeof msg);
        if (!mask) {
            fprintf(stderr, "diffuse: --mask: %s\n", msg);
            goto done;
        }
        if (mw != o.job.width || mh != o.job.height) {
            fprintf(stderr, "diffuse: --mask: mask %s is %dx%d but the image %s is %dx%d\n",
                    o.mask, mw, mh, o.init, o.job.width, o.job.height);
            goto done;
        }
        o.job.mask = mask;
    }
    if (image_io_check_output(o.out, msg, sizeof msg) != 0) {
        fprintf(stderr, "diffuse: --out: %s\n", msg);
        goto done;
    }
    if (o.preview && image_io_check_output(o.preview, msg, sizeof msg) != 0) {
        fprintf(stderr, "diffuse: --preview: %s\n", msg);
        goto done;
    }

    double t0 = now_s();
    sd_error err = {0};
    sd_model_options mopts = {.memory_budget_mb = (size_t)o.memory_mb, .precision = o.precision};
    if (o.threads && sd_set_threads(o.threads, &err) != SD_OK) {  /* process-wide */
        fprintf(stderr, "diffuse: %s\n", err.message);
        goto done;
    }
    if (!o.quiet)
        fprintf(stderr, "loading %s...\n", o.model);
    if (sd_model_load(o.model, o.vocab, &mopts, &model, &err) != SD_OK) {
        fprintf(stderr, "diffuse: %s\n", err.message);
        goto done;
    }
    if (o.taesd && sd_model_load_taesd(model, o.taesd, &err) != SD_OK) {
        fprintf(stderr, "diffuse: %s\n", err.message);
        goto done;
    }
    double load_s = now_s() - t0;
    apply_model_defaults(model, &o, preset_set);

    out = malloc((size_t)o.job.width * (size_t)o.job.height * 3 * sizeof *out);
    if (!out) {
        fprintf(stderr, "diffuse: out of memory for a %dx%d result\n", o.job.width, o.job.height);
        goto done;
    }
    o.job.progress = on_progress;
    o.job.progress_user = &prog;
    if (o.preview) {
        prog.preview_path = o.preview;
        o.job.preview = on_preview;
        o.job.preview_user = &prog;
    }
    double t1 = now_s();
    prog.run_start = t1;
    if (sd_generate(model, &o.job, out, &err) != SD_OK) {
        if (!o.quiet)
            fputc('\n', stderr);
        fprintf(stderr, "diffuse: %s\n", err.message);
        goto done;
    }
    double run_s = now_s() - t1;
    if (image_io_write_png_atomic(o.out, out, o.job.width, o.job.height, msg, sizeof msg) != 0) {
        fprintf(stderr, "diffuse: %s\n", msg);
        goto done;
    }
    if (o.timings) {
        fprintf(stderr, "timings (s): load %.3f  lora %.3f  text-encode %.3f  vae-encode %.3f  "
                "denoise %.3f (%d steps)  vae-decode %.3f  generate %.3f\n",
                load_s, prog.first_report - prog.run_start, prog.text_s, prog.encode_s,
                prog.steps_done ? prog.step_start - prog.denoise_start : 0.0, prog.steps_done,
                prog.decode_s, run_s);
        if (prog.step_s && prog.steps_done) {
            fprintf(stderr, "per step (s):");
            for (int i = 0; i < prog.steps_done; i++)
                fprintf(stderr, " %.3f", prog.step_s[i]);
            fputc('\n', stderr);
        }
        if (prog.previews)
            fprintf(stderr, "previews: %d, making %.3f s and writing %.3f s each (mean)\n",
                    prog.previews, prog.preview_make_s / prog.previews,
                    prog.preview_write_s / prog.previews);
        fprintf(stderr, "peak RSS: %.1f MiB\n", peak_rss_mb());
        sd_model_info info;
        sd_model_get_info(model, &info);
        fprintf(stderr, "precision: %s (bf16 kernel: %s)\n", sd_precision_name(info.precision),
                info.bf16_kernel);
    }
    rc = 0;

done:
    free(prog.step_s);
    free(preset_prompt);
    free(preset_negative);
    sd_preset_free(preset);
    sd_model_free(model);
    free(out);
    free(mask);
    free(image);
    return rc;
}
