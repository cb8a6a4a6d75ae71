/* bench-vae-bf16 MODEL VOCAB [GROUP ...]: where the bf16 VAE decode's error comes from.
 * One fp32 decode (4 x 64 x 64 → 512², the seeded latent of bench-precision) is the
 * reference; then the decoder is packed for bf16 and decoded once per GROUP with that
 * group's layers run in fp32 instead (their bf16 hook cleared for the one decode), printing
 * the time and the error as the anchors measure it (max |Δ| / max |fp32|) plus the RMS error
 * over the RMS of the output. "none" keeps the model's packing (pipeline/precision.c: the
 * decoder's head at the latent's resolution stays fp32); "head" first packs that head for
 * bf16 too, for every later group (the all-bf16 decoder the head was measured on); "enc" runs the encoder on the
 * fp32 decode's image in fp32 and with the encoder packed for bf16 (error of the moments).
 * Groups: none, post (post_quant_conv + conv_in), mid, mid.b (its resnets), attn (mid.attn_1),
 * up3 .. up0 (a level's resnets and upsample), up3.b (its resnets only), conv_out, all
 * (sanity: 0 error), and a+b for both.
 * Not a test: prints figures. Built on demand: ninja -C BUILD tests/bench-vae-bf16. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/arena.h"
#include "layers/layers_bf16.h"
#include "nets/keys.h"
#include "ops/gemm_bf16.h"
#include "pipeline/model.h"
#include "pipeline/precision.h"
#include "sd.h"

#define LATENT 64
#define MAX_SAVED 256

/* The decoder's head that pipeline/precision.c leaves fp32. */
static const char *const head_prefixes[] = {
    SD_KEY_VAE_POST_QUANT_CONV, SD_KEY_VAE_DECODER "conv_in.", SD_KEY_VAE_DECODER "mid.block_1.",
    SD_KEY_VAE_DECODER "mid.block_2.", SD_KEY_VAE_DECODER "up.3.block.",
};
#define N_HEAD (sizeof head_prefixes / sizeof head_prefixes[0])

static void errors(const float *got, const float *ref, size_t n, double *max_rel, double *rms_rel)
{
    double e = 0.0, m = 0.0, se = 0.0, sr = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]);
        e = d > e || isnan(d) ? (isnan(d) ? INFINITY : d) : e;
        m = fabs((double)ref[i]) > m ? fabs((double)ref[i]) : m;
        se += d * d;
        sr += (double)ref[i] * ref[i];
    }
    *max_rel = e / (m > 0.0 ? m : 1.0);
    *rms_rel = sqrt(se / (sr > 0.0 ? sr : 1.0));
}

/* The layers a group runs in fp32: their hooks, saved to be put back. */
typedef struct {
    sd_layer_params *p[MAX_SAVED];
    const sd_layer_prepared *was[MAX_SAVED];
    int n;
} saved;

static void off(saved *s, sd_layer_params *p)
{
    if (s->n < MAX_SAVED && p->prepared) {
        s->p[s->n] = p;
        s->was[s->n++] = p->prepared;
        p->prepared = NULL;
    }
}

static void off_resnet(saved *s, vae_resnet_block *b)
{
    off(s, &b->conv1.p);
    off(s, &b->conv2.p);
    if (b->has_nin_shortcut)
        off(s, &b->nin_shortcut.p);
}

static void off_mid(saved *s, vae_mid *m, int attn_only)
{
    off(s, &m->attn_1.attn.q.p);
    off(s, &m->attn_1.attn.k.p);
    off(s, &m->attn_1.attn.v.p);
    off(s, &m->attn_1.attn.out.p);
    if (!attn_only) {
        off_resnet(s, &m->block_1);
        off_resnet(s, &m->block_2);
    }
}

static void off_level(saved *s, vae_decoder_level *lv, int upsample)
{
    for (int j = 0; j < lv->n_blocks; j++)
        off_resnet(s, &lv->block[j]);
    if (upsample && lv->has_upsample)
        off(s, &lv->upsample.p);
}

static int select_group(sd_vae *vae, const char *g, saved *s)
{
    vae_decoder *d = &vae->decoder;
    const char *plus = strchr(g, '+');
    if (plus) {   /* a+b: both */
        char first[32];
        if ((size_t)(plus - g) >= sizeof first)
            return -1;
        memcpy(first, g, (size_t)(plus - g));
        first[plus - g] = 0;
        return select_group(vae, first, s) == 0 ? select_group(vae, plus + 1, s) : -1;
    }
    if (strcmp(g, "none") == 0)
        return 0;
    if (strcmp(g, "post") == 0) {
        off(s, &vae->post_quant_conv.p);
        off(s, &d->conv_in.p);
    } else if (strcmp(g, "mid.b") == 0) {
        off_resnet(s, &d->mid.block_1);
        off_resnet(s, &d->mid.block_2);
    } else if (strcmp(g, "mid") == 0 || strcmp(g, "attn") == 0) {
        off_mid(s, &d->mid, strcmp(g, "attn") == 0);
    } else if (strncmp(g, "up", 2) == 0 && g[2] >= '0' && g[2] <= '9') {
        const int i = g[2] - '0';
        if (i >= vae->cfg.levels)
            return -1;
        off_level(s, &d->up[i], strcmp(g + 3, ".b") != 0);
    } else if (strcmp(g, "conv_out") == 0) {
        off(s, &d->conv_out.p);
    } else if (strcmp(g, "all") == 0) {
        select_group(vae, "post", s);
        select_group(vae, "mid", s);
        for (int i = 0; i < vae->cfg.levels; i++)
            off_level(s, &d->up[i], 1);
        off(s, &d->conv_out.p);
    } else {
        return -1;
    }
    return 0;
}

static void restore(saved *s)
{
    for (int i = 0; i < s->n; i++)
        s->p[i]->prepared = s->was[i];
    s->n = 0;
}

static int encoder_case(sd_model *m, sd_arena *a, const float *image)
{
    const int H = 8 * LATENT;
    const size_t nm = (size_t)2 * m->cfg.vae.latent_channels * LATENT * LATENT;
    float *m32 = malloc(nm * sizeof(float)), *m16 = malloc(nm * sizeof(float));
    sd_error err = {0};
    sd_layers_bf16_pack *pack = NULL;
    if (!m32 || !m16)
        return -1;
    double t0 = now_s();
    if (sd_vae_encode_moments(&m->vae, a, image, H, H, m32, NULL, &err) != SD_OK)
        goto fail;
    double t32 = now_s() - t0;
    if (sd_layers_prepare_bf16(m->weights, SD_KEY_VAE_ENCODER, ops_bf16_best(), &pack, &err) !=
        SD_OK)
        goto fail;
    t0 = now_s();
    if (sd_vae_encode_moments(&m->vae, a, image, H, H, m16, NULL, &err) != SD_OK)
        goto fail;
    double t16 = now_s() - t0, e_max, e_rms, e_max_mean, e_rms_mean;
    errors(m16, m32, nm, &e_max, &e_rms);
    errors(m16, m32, nm / 2, &e_max_mean, &e_rms_mean);
    printf("%-10s fp32 %6.2f s  bf16 %6.2f s  moments max %.2f %% rms %.3f %%; mean max %.2f %% "
           "rms %.3f %%\n", "encoder", t32, t16, 100 * e_max, 100 * e_rms, 100 * e_max_mean,
           100 * e_rms_mean);
    sd_layers_bf16_free(m->weights, pack);
    free(m32), free(m16);
    return 0;
fail:
    fprintf(stderr, "bench-vae-bf16: %s\n", err.message);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench-vae-bf16 MODEL VOCAB [GROUP ...]\n");
        return 2;
    }
    const sd_model_options opts = {.precision = SD_PRECISION_FP32};
    sd_model *m = NULL;
    sd_error err = {0};
    if (sd_model_load(argv[1], argv[2], &opts, &m, &err) != SD_OK) {
        fprintf(stderr, "bench-vae-bf16: %s\n", err.message);
        return 1;
    }
    const size_t nz = (size_t)m->cfg.vae.latent_channels * LATENT * LATENT;
    const size_t nimg = (size_t)3 * 8 * LATENT * 8 * LATENT;
    float *z = malloc(nz * sizeof *z), *ref = malloc(nimg * sizeof(float));
    float *img = malloc(nimg * sizeof(float));
    if (!z || !ref || !img)
        return 1;
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    randn(&seed, z, nz, 1.0f / 0.18215f * 0.5f);
    sd_arena a;
    sd_arena_init(&a, 0);
    /* "quick" first: no fp32 reference (errors against zeros), for a profiler */
    const int quick = argc > 3 && strcmp(argv[3], "quick") == 0;
    double t0 = now_s();
    if (!quick && sd_vae_decode(&m->vae, &a, z, LATENT, LATENT, ref, NULL, &err) != SD_OK)
        goto fail;
    if (quick)
        memset(ref, 0, nimg * sizeof(float));
    printf("fp32 decode %.2f s; bf16 kernel %s\n", now_s() - t0,
           ops_bf16_best() == OPS_BF16_NONE ? "none" : "yes");
    sd_layers_bf16_pack *head[N_HEAD] = {NULL};
    for (int i = 3 + quick; i < argc; i++) {
        if (strcmp(argv[i], "head") == 0) {
            if (m->precision != SD_PRECISION_BF16 &&
                sd_model_set_precision(m, SD_PRECISION_BF16, &err) != SD_OK)
                goto fail;
            for (size_t j = 0; j < N_HEAD; j++)
                if (!head[j] && sd_layers_prepare_bf16(m->weights, head_prefixes[j], ops_bf16_best(),
                                                       &head[j], &err) != SD_OK)
                    goto fail;
            continue;
        }
        if (strcmp(argv[i], "enc") == 0) {
            if (encoder_case(m, &a, ref) != 0)
                return 1;
            continue;
        }
        if (m->precision != SD_PRECISION_BF16 &&
            sd_model_set_precision(m, SD_PRECISION_BF16, &err) != SD_OK)
            goto fail;
        saved s = {.n = 0};
        if (select_group(&m->vae, argv[i], &s) != 0) {
            fprintf(stderr, "bench-vae-bf16: unknown group %s\n", argv[i]);
            return 2;
        }
        t0 = now_s();
        const double c0 = cpu_s();
        if (sd_vae_decode(&m->vae, &a, z, LATENT, LATENT, img, NULL, &err) != SD_OK)
            goto fail;
        const double dt = now_s() - t0, dc = cpu_s() - c0;
        double e_max, e_rms;
        errors(img, ref, nimg, &e_max, &e_rms);
        printf("%-10s fp32 layers %3d  decode %6.2f s (%6.2f CPU-s)  max %.2f %%  rms %.3f %%\n",
               argv[i], s.n, dt, dc, 100 * e_max, 100 * e_rms);
        fflush(stdout);
        restore(&s);
        sd_arena_trim(&a);
    }
    for (size_t j = 0; j < N_HEAD; j++)
        sd_layers_bf16_free(m->weights, head[j]);
    sd_arena_free(&a);
    sd_model_free(m);
    free(z), free(ref), free(img);
    return 0;
fail:
    fprintf(stderr, "bench-vae-bf16: %s\n", err.message);
    return 1;
}
