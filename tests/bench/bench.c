/* bench: times the engine on a full-size SD 1.5-shaped checkpoint (issue 9).
 *
 *   bench sgemm [--n N] [--repeat R]
 *       the machine's single-precision GEMM rate: an N x N x N cblas_sgemm (default 2048),
 *       median of R runs, with OpenBLAS's default threads and with one thread.
 *   bench ops [--repeat R]
 *       the U-Net's hottest ops at their 512² shapes (CFG batch 2), one line each.
 *   bench run --model FILE --vocab DIR [--size S] [--mode img2img|inpaint]
 *             [--steps 20] [--strength 0.75] [--quick K] [--repeat R] [--threads T]
 *             [--sgemm-gflops G]
 *       one sd_generate per repeat (cfg 7.5, euler_a, seed 1) on a synthetic S x S image;
 *       prints text encode, VAE encode, each U-Net step, VAE decode, total and peak RSS,
 *       medians over the repeats, with GFLOP/s per phase and the efficiency against G
 *       (the sgemm rate; measured here when not given). --quick K runs only K U-Net steps
 *       and extrapolates the total to the full schedule (the output says so).
 *
 * FLOP counts are issue 9's: at a 64x64 latent (512²) one U-Net evaluation is 803 GFLOP
 * (conv 444, linear 233, attention 126 of which ~122 self-attention), the VAE encoder 1117
 * and the decoder 2515 (~34 of each in the mid-block's 4096-token attention). Other sizes
 * scale the linear parts by the pixel count and the self-attention by its square.
 *   bench taesd --taesd PATH [--size S]... [--repeat R] [--threads T]
 *       TAESD encode / decode and a preview's cost per step (bench_taesd.c).
 *
 * Not part of `meson test`: tests/bench/run_bench.sh drives it. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/arena.h"
#include "ops/ops.h"
#include "sd.h"

#define MAX_REPEAT 16
#define MAX_STEPS 1000

/* ---- FLOP model (issue 9's figures, scaled) ------------------------------------- */

/* GFLOP of one U-Net evaluation (one batch item) at a lh x lw latent. */
static double unet_gflop(int lh, int lw)
{
    const double r = (double)lh * lw / 4096.0;
    const double self_attn = 122.0, rest = 803.0 - self_attn;
    return rest * r + self_attn * r * r;
}

/* GFLOP of the VAE encoder (decoder) at h x w pixels. */
static double vae_gflop(int h, int w, int decoder)
{
    const double r = (double)h * w / (512.0 * 512.0);
    const double attn = 34.4, total = decoder ? 2515.0 : 1117.0;
    return (total - attn) * r + attn * r * r;
}

/* ---- sgemm ---------------------------------------------------------------------- */

static double sgemm_gflops(int n, int repeat)
{
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
    float *c = malloc((size_t)n * n * sizeof *c);
    double t[MAX_REPEAT];
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0.0;
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        b[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    }
    /* one untimed call: OpenBLAS starts its threads and the pages get touched */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                c, n);
    for (int i = 0; i < repeat; i++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
                    0.0f, c, n);
        t[i] = now_s() - t0;
    }
    free(a), free(b), free(c);
    return 2.0 * n * (double)n * n / median(t, repeat) * 1e-9;
}

static int cmd_sgemm(int n, int repeat)
{
    int threads = openblas_get_num_threads();
    double all = sgemm_gflops(n, repeat);
    openblas_set_num_threads(1);
    double one = sgemm_gflops(n, repeat);
    openblas_set_num_threads(threads);
    printf("sgemm %dx%dx%d: %.1f GFLOP/s with %d threads, %.1f GFLOP/s with 1 "
           "(median of %d; load average %.2f)\n", n, n, n, all, threads, one, repeat,
           load_average());
    return 0;
}

/* ---- ops at the U-Net's 512² shapes ------------------------------------------------ */

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) * (1.0f / 16777216.0f) - 0.5f;
    }
}

typedef struct {
    sd_arena arena;
    float *x, *y, *w, *q, *k, *v;
} ops_bufs;

#define OPS_FLOATS ((size_t)2 * 320 * 4096 * 8)   /* the biggest tensor below: GEGLU's input */

static void report_op(const char *name, double *t, int repeat, double gflop, double cpu)
{
    double m = median(t, repeat);
    if (gflop > 0.0)
        printf("  %-44s %8.2f ms  %7.1f GFLOP/s  (cpu %6.2f ms)\n", name, m * 1e3, gflop / m,
               cpu * 1e3);
    else
        printf("  %-44s %8.2f ms                   (cpu %6.2f ms)\n", name, m * 1e3, cpu * 1e3);
}

/* Times `call` `repeat` times into t[] after one untimed call (the arena's first growth);
 * the mean CPU time per call goes to cpu. */
#define TIME_OP(call)                          \
    do {                                       \
        call;                                  \
        double c0 = cpu_s();                   \
        for (int i = 0; i < repeat; i++) {     \
            double t0 = now_s();               \
            call;                              \
            t[i] = now_s() - t0;               \
        }                                      \
        cpu = (cpu_s() - c0) / repeat;         \
    } while (0)

static int cmd_ops(int repeat)
{
    ops_bufs b = {0};
    sd_arena_init(&b.arena, 0);
    b.x = malloc(OPS_FLOATS * sizeof(float));
    b.y = malloc(OPS_FLOATS * sizeof(float));
    b.w = malloc((size_t)1280 * 1280 * 9 * sizeof(float));
    if (!b.x || !b.y || !b.w) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    fill(b.x, OPS_FLOATS, 1);
    fill(b.w, (size_t)1280 * 1280 * 9, 2);
    for (size_t i = 0; i < (size_t)1280 * 1280 * 9; i++)
        b.w[i] *= 0.05f;
    double t[MAX_REPEAT], cpu = 0.0;
    const int hw = 4096;
    printf("ops at 512² (latent 64x64, CFG batch 2), median of %d (load average %.2f):\n",
           repeat, load_average());

    sd_conv_params p3 = op_conv_params(3, 1, 1);
    TIME_OP(op_conv2d(&b.arena, b.x, 2, 320, 64, 64, b.w, b.w, 320, &p3, b.y));
    report_op("conv3x3 320->320 64x64 n=2", t, repeat, 2.0 * 2 * hw * 320 * 320 * 9 * 1e-9, cpu);
    TIME_OP(op_conv2d(&b.arena, b.x, 2, 1280, 16, 16, b.w, b.w, 1280, &p3, b.y));
    report_op("conv3x3 1280->1280 16x16 n=2", t, repeat,
              2.0 * 2 * 256 * 1280 * 1280 * 9 * 1e-9, cpu);
    sd_conv_params p1 = op_conv_params(1, 1, 0);
    TIME_OP(op_conv2d(&b.arena, b.x, 2, 320, 64, 64, b.w, b.w, 320, &p1, b.y));
    report_op("conv1x1 320->320 64x64 n=2", t, repeat, 2.0 * 2 * hw * 320 * 320 * 1e-9, cpu);
    TIME_OP(op_linear(b.x, hw, 320, b.w, b.w, 2560, b.y));
    report_op("linear 4096x320 -> 2560 (ff proj, n=1)", t, repeat,
              2.0 * hw * 320 * 2560 * 1e-9, cpu);
    TIME_OP(op_group_norm(b.x, 2, 320, hw, 32, 1e-5f, b.w, b.w, 1, b.y));
    report_op("group_norm+silu 320x4096 n=2", t, repeat, 0.0, cpu);
    TIME_OP(op_layer_norm(b.x, hw, 320, 1e-5f, b.w, b.w, b.y));
    report_op("layer_norm 4096x320 (n=1)", t, repeat, 0.0, cpu);
    TIME_OP(op_geglu(b.x, hw, 1280, b.y));
    report_op("geglu 4096x1280 (n=1)", t, repeat, 0.0, cpu);
    TIME_OP(op_add(b.x, b.y, b.y, (size_t)2 * 320 * hw));
    report_op("add 2x320x4096", t, repeat, 0.0, cpu);
    /* self-attention: q, k, v [4096, 320], 8 heads of 40 */
    float *q = b.x, *k = b.x + (size_t)hw * 320, *v = b.x + (size_t)2 * hw * 320;
    TIME_OP(if (op_attention(&b.arena, q, 320, k, v, 320, hw, hw, 8, 40, 0, b.y) != 0)
                return 1);
    report_op("self-attention 4096 tokens 8x40 (n=1)", t, repeat,
              4.0 * hw * (double)hw * 320 * 1e-9, cpu);
    TIME_OP(if (op_attention(&b.arena, q, 320, k, v, 320, hw, 77, 8, 40, 0, b.y) != 0)
                return 1);
    report_op("cross-attention 4096x77 8x40 (n=1)", t, repeat, 4.0 * hw * 77.0 * 320 * 1e-9, cpu);
    printf("  (one 512² U-Net evaluation at CFG batch 2 runs 10 of these self-attentions, 10 of "
           "these GEGLUs and ~10 3x3 convs of this size)\n");
    sd_arena_free(&b.arena);
    free(b.x), free(b.y), free(b.w);
    return 0;
}

/* ---- a pipeline run ---------------------------------------------------------------- */

/* Resident memory now (VmRSS), in MiB. */
static double rss_now_mib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * 4096.0 / 1048576.0;
}

enum { PH_TEXT, PH_ENCODE, PH_DENOISE, PH_DECODE, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"text", "encode", "denoise", "decode"};

typedef struct {
    double rss_max[PH_COUNT];   /* resident MiB sampled at each progress report of a phase */
    double phase_start, step_start, phase_cpu, step_cpu;
    double text_s, encode_s, decode_s;
    double text_cpu, encode_cpu, decode_cpu;
    double step_s[MAX_STEPS], step_cpu_s[MAX_STEPS];
    int steps_done;
} timing;

static int on_progress(void *user, sd_phase phase, int step, int total)
{
    timing *t = user;
    double now = now_s(), cpu = cpu_s();
    (void)total;
    for (int p = 0; p < PH_COUNT; p++)
        if (strcmp(sd_phase_name(phase), phase_names[p]) == 0) {
            double rss = rss_now_mib();
            if (rss > t->rss_max[p])
                t->rss_max[p] = rss;
        }
    if (phase == SD_PHASE_DENOISE) {
        if (step > 0 && step <= MAX_STEPS) {
            t->step_s[step - 1] = now - t->step_start;
            t->step_cpu_s[step - 1] = cpu - t->step_cpu;
            t->steps_done = step;
        }
        t->step_start = now;
        t->step_cpu = cpu;
    } else if (step == 0) {
        t->phase_start = now;
        t->phase_cpu = cpu;
    } else {
        double d = now - t->phase_start, c = cpu - t->phase_cpu;
        if (phase == SD_PHASE_TEXT)
            t->text_s = d, t->text_cpu = c;
        else if (phase == SD_PHASE_ENCODE)
            t->encode_s = d, t->encode_cpu = c;
        else if (phase == SD_PHASE_DECODE)
            t->decode_s = d, t->decode_cpu = c;
    }
    return 0;
}

typedef struct {
    const char *model, *vocab, *mode;
    int size, steps, quick, repeat, threads, vae_tile;
    double strength, sgemm, cfg;
    sd_sampler sampler;
    sd_precision precision;
} run_options;

/* Steps diffusers runs for a schedule of `steps` at `strength`: int(steps * strength). */
static int steps_run(int steps, double strength)
{
    int k = (int)(steps * strength);
    return k < steps ? k : steps;
}

/* Wall seconds, GFLOP/s and efficiency against sgemm; then the CPU seconds (all threads)
 * and GFLOP per CPU second, which a loaded machine disturbs far less. */
static void print_phase(const char *name, double s, double cpu, double gflop, double sgemm)
{
    if (gflop > 0.0)
        printf("  %-22s %9.2f s  %7.1f GFLOP/s  %5.1f%% of sgemm | cpu %8.2f s  "
               "%6.1f GFLOP/cpu-s\n", name, s, gflop / s, 100.0 * gflop / s / sgemm, cpu,
               gflop / cpu);
    else
        printf("  %-22s %9.2f s                                  | cpu %8.2f s\n", name, s, cpu);
}

static int cmd_run(const run_options *o)
{
    const int size = o->size, inpaint = strcmp(o->mode, "inpaint") == 0;
    const int full_steps = steps_run(o->steps, o->strength);
    int steps = o->steps;
    if (o->quick > 0) {   /* the shortest schedule that runs `quick` steps at this strength */
        for (steps = 1; steps_run(steps, o->strength) < o->quick && steps < MAX_STEPS; steps++)
            ;
    }
    const size_t plane = (size_t)size * size;
    float *image = malloc(plane * 3 * sizeof *image), *mask = malloc(plane * sizeof *mask);
    float *out = malloc(plane * 3 * sizeof *out);
    if (!image || !mask || !out) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    for (int y = 0; y < size; y++)   /* a smooth synthetic photo: gradients and a ring */
        for (int x = 0; x < size; x++) {
            float u = (float)x / size, v = (float)y / size;
            float d = sqrtf((u - 0.5f) * (u - 0.5f) + (v - 0.5f) * (v - 0.5f));
            float *p = image + ((size_t)y * size + x) * 3;
            p[0] = u, p[1] = v, p[2] = 0.5f + 0.5f * cosf(20.0f * d);
            mask[(size_t)y * size + x] = (u > 0.25f && u < 0.75f && v > 0.25f && v < 0.75f);
        }

    double t0 = now_s();
    sd_model *model = NULL;
    sd_error err = {0};
    sd_model_options mopts = {.precision = o->precision};
    if (sd_set_threads(o->threads, &err) != SD_OK ||
        sd_model_load(o->model, o->vocab, &mopts, &model, &err) != SD_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    double load_s = now_s() - t0, load_rss = rss_now_mib();
    double sgemm = o->sgemm > 0.0 ? o->sgemm : sgemm_gflops(2048, 3);

    double text[MAX_REPEAT], enc[MAX_REPEAT], dec[MAX_REPEAT], total[MAX_REPEAT];
    double text_c[MAX_REPEAT], enc_c[MAX_REPEAT], dec_c[MAX_REPEAT], total_c[MAX_REPEAT];
    double step_all[MAX_STEPS], step_all_c[MAX_STEPS];
    int n_steps_all = 0;
    static timing tm;
    const double la0 = load_average();
    for (int r = 0; r < o->repeat; r++) {
        sd_job job;
        sd_job_defaults(&job);
        job.mode = inpaint ? SD_MODE_INPAINT : SD_MODE_IMG2IMG;
        job.width = job.height = size;
        job.image = image;
        job.mask = inpaint ? mask : NULL;
        job.prompt = "a photograph of an astronaut riding a horse on the moon";
        job.negative_prompt = "blurry, low quality";
        job.strength = o->strength;
        job.steps = steps;
        job.cfg_scale = (float)o->cfg;
        job.sampler = o->sampler;
        job.seed = 1;
        job.vae_tile = o->vae_tile;
        job.progress = on_progress;
        job.progress_user = &tm;
        memset(&tm, 0, sizeof tm);
        double g0 = now_s(), c0 = cpu_s();
        if (sd_generate(model, &job, out, &err) != SD_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            sd_model_free(model);
            return 1;
        }
        total[r] = now_s() - g0;
        total_c[r] = cpu_s() - c0;
        text[r] = tm.text_s, enc[r] = tm.encode_s, dec[r] = tm.decode_s;
        text_c[r] = tm.text_cpu, enc_c[r] = tm.encode_cpu, dec_c[r] = tm.decode_cpu;
        for (int i = 0; i < tm.steps_done && n_steps_all < MAX_STEPS; i++) {
            step_all_c[n_steps_all] = tm.step_cpu_s[i];
            step_all[n_steps_all++] = tm.step_s[i];
        }
        fprintf(stderr, "bench: run %d/%d: %.1f s\n", r + 1, o->repeat, total[r]);
    }
    const int ran = tm.steps_done;
    const double m_text = median(text, o->repeat), m_enc = median(enc, o->repeat);
    const double m_dec = median(dec, o->repeat), m_total = median(total, o->repeat);
    const double m_step = median(step_all, n_steps_all);
    const double c_text = median(text_c, o->repeat), c_enc = median(enc_c, o->repeat);
    const double c_dec = median(dec_c, o->repeat), c_total = median(total_c, o->repeat);
    const double c_step = median(step_all_c, n_steps_all);
    /* what is outside the timed phases (scheduler, image conversion) counts as measured */
    double other = m_total - m_text - m_enc - m_dec;
    for (int i = 0; i < ran; i++)
        other -= tm.step_s[i];
    if (other < 0.0)
        other = 0.0;
    const double est_total = m_text + m_enc + m_dec + other + m_step * full_steps;
    const double est_total_c = c_total + c_step * (full_steps - ran);
    const int lat = size / 8;
    const int batch = o->cfg > 1.0 ? 2 : 1;   /* CFG runs the U-Net on a batch of 2 */
    const double step_gflop = batch * unet_gflop(lat, lat);

    printf("%s %dx%d, strength %.2f, %d steps (%d run), CFG %g, %s%s, %s\n", o->mode, size,
           size, o->strength, o->steps, full_steps, o->cfg, sd_sampler_name(o->sampler),
           o->vae_tile > 0 ? ", VAE tiles" : "",
           o->quick > 0 ? "QUICK MODE" : "full schedule");
    sd_model_info info;
    sd_model_get_info(model, &info);
    printf("  precision %s (bf16 kernel %s)\n", sd_precision_name(info.precision), info.bf16_kernel);
    printf("  model load %.1f s; sgemm rate %.1f GFLOP/s; median of %d run(s); load average "
           "%.2f before, %.2f after\n", load_s, sgemm, o->repeat, la0, load_average());
    print_phase("text encode", m_text, c_text, 0.0, sgemm);
    print_phase("VAE encode", m_enc, c_enc, vae_gflop(size, size, 0), sgemm);
    print_phase(batch == 2 ? "U-Net step (CFG x2)" : "U-Net step (batch 1)", m_step, c_step,
                step_gflop, sgemm);
    printf("  %-22s", "  each step (s)");
    for (int i = 0; i < n_steps_all; i++)
        printf(" %.2f", step_all[i]);
    printf("\n");
    print_phase("VAE decode", m_dec, c_dec, vae_gflop(size, size, 1), sgemm);
    print_phase("other", other, 0.0, 0.0, sgemm);
    if (o->quick > 0)
        printf("  %-22s %9.2f s  (cpu %.1f s) EXTRAPOLATED: %d measured steps -> %d at the "
               "median\n", "total", est_total, est_total_c, ran, full_steps);
    else
        printf("  %-22s %9.2f s  (cpu %.1f s)\n", "total", m_total, c_total);
    printf("  %-22s %9.0f MiB\n", "peak RSS", peak_rss_mib());
    printf("  %-22s after load %.0f", "  RSS by phase (MiB)", load_rss);
    for (int p = 0; p < PH_COUNT; p++)
        printf(", %s %.0f", phase_names[p], tm.rss_max[p]);
    printf(" (sampled at progress reports)\n");
    sd_model_free(model);
    free(image), free(mask), free(out);
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench sgemm [--n N] [--repeat R]\n"
            "       bench ops [--repeat R]\n"
            "       bench run --model FILE --vocab DIR [--size S] [--mode img2img|inpaint]\n"
            "                 [--steps N] [--strength X] [--quick K] [--repeat R] [--threads T]\n"
            "                 [--sgemm-gflops G] [--sampler NAME] [--cfg X] [--vae-tile PX]\n"
            "                 [--precision auto|fp32|bf16]\n"
            "       bench taesd --taesd PATH [--size S]... [--repeat R] [--threads T]\n");
    return 2;
}

int bench_taesd(int argc, char **argv);   /* bench_taesd.c */

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "taesd") == 0)
        return bench_taesd(argc, argv);
    run_options o = {.mode = "img2img", .size = 512, .steps = 20, .repeat = 1,
                     .strength = 0.75, .cfg = 7.5, .sampler = SD_SAMPLER_EULER_ANCESTRAL};
    int n = 2048, repeat_set = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        i++;
        if (strcmp(a, "--model") == 0) o.model = v;
        else if (strcmp(a, "--vocab") == 0) o.vocab = v;
        else if (strcmp(a, "--mode") == 0) o.mode = v;
        else if (strcmp(a, "--size") == 0) o.size = atoi(v);
        else if (strcmp(a, "--steps") == 0) o.steps = atoi(v);
        else if (strcmp(a, "--strength") == 0) o.strength = atof(v);
        else if (strcmp(a, "--quick") == 0) o.quick = atoi(v);
        else if (strcmp(a, "--repeat") == 0) o.repeat = atoi(v), repeat_set = 1;
        else if (strcmp(a, "--threads") == 0) o.threads = atoi(v);
        else if (strcmp(a, "--sgemm-gflops") == 0) o.sgemm = atof(v);
        else if (strcmp(a, "--n") == 0) n = atoi(v);
        else if (strcmp(a, "--cfg") == 0) o.cfg = atof(v);
        else if (strcmp(a, "--vae-tile") == 0) o.vae_tile = atoi(v);
        else if (strcmp(a, "--precision") == 0) {
            if (sd_precision_parse(v, &o.precision))
                return usage();
        }
        else if (strcmp(a, "--sampler") == 0) {
            int sm = sd_sampler_from_name(v);
            if (sm < 0)
                return usage();
            o.sampler = (sd_sampler)sm;
        }
        else return usage();
    }
    if (o.repeat < 1 || o.repeat > MAX_REPEAT || n < 64 || o.size < 64 || o.size % 8 ||
        o.steps < 1 || o.steps > MAX_STEPS || o.strength <= 0.0 || o.strength > 1.0)
        return usage();
    if (strcmp(argv[1], "sgemm") == 0)
        return cmd_sgemm(n, repeat_set ? o.repeat : 5);
    if (strcmp(argv[1], "ops") == 0)
        return cmd_ops(repeat_set ? o.repeat : 3);
    if (strcmp(argv[1], "run") == 0) {
        if (!o.model || !o.vocab || (strcmp(o.mode, "img2img") && strcmp(o.mode, "inpaint")))
            return usage();
        return cmd_run(&o);
    }
    return usage();
}
