/* The layer module (engine/src/layers): binding by checkpoint key in (in, out) order with
 * shapes checked, forwards against naive loops, fp16 weights giving the values of their
 * fp32 twins, and the hooks later passes use (find by key, merged weight, pins). The
 * checkpoint is written here; no fixture needed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/float_bits.h"
#include "layers/layers.h"

/* ---- a small checkpoint ------------------------------------------------------------ */

typedef struct {
    const char *name;
    int f16;          /* F16 in the file, else F32 */
    int ndim;
    int shape[4];
} spec;

/* Each tensor, in file order. Values are multiples of 1/8 in [-2, 2]: exact in fp16. */
static const spec specs[] = {
    {"lin.weight", 1, 2, {3, 5}},
    {"lin.bias", 0, 1, {3}},
    {"lin32.weight", 0, 2, {3, 5}},
    {"lin32.bias", 0, 1, {3}},
    {"c1.weight", 0, 4, {2, 3, 1, 1}},
    {"c1.bias", 0, 1, {2}},
    {"conv.weight", 1, 4, {2, 3, 3, 3}},
    {"conv.bias", 0, 1, {2}},
    {"gn.weight", 0, 1, {6}},
    {"gn.bias", 0, 1, {6}},
    {"emb.weight", 1, 2, {4, 5}},
    {"emb32.weight", 0, 2, {4, 5}},
    /* torch.nn.MultiheadAttention's fused layout (OpenCLIP), dim 4: rows [q; k; v] */
    {"mha.in_proj_weight", 1, 2, {12, 4}},
    {"mha.in_proj_bias", 0, 1, {12}},
    {"mha.out_proj.weight", 0, 2, {4, 4}},
    {"mha.out_proj.bias", 0, 1, {4}},
};
#define N_SPECS (sizeof specs / sizeof specs[0])

static int numel_of(const spec *s)
{
    int n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->shape[i];
    return n;
}

/* Value i of a tensor; twins ("lin" / "lin32", "emb" / "emb32") hold the same values. */
static float value(int i, int salt)
{
    return (float)(((i * 7 + salt * 3) % 33) - 16) / 8.0f;
}

static int salt_of(const char *name)
{
    return name[0] + (strstr(name, "bias") ? 1 : 0);
}

static int write_checkpoint(const char *path)
{
    char json[2048];
    size_t n = 0, offset = 0;
    n += (size_t)snprintf(json + n, sizeof json - n, "{");
    for (size_t t = 0; t < N_SPECS; t++) {
        const spec *s = &specs[t];
        const size_t bytes = (size_t)numel_of(s) * (s->f16 ? 2 : 4);
        n += (size_t)snprintf(json + n, sizeof json - n, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                              t ? "," : "", s->name, s->f16 ? "F16" : "F32");
        for (int i = 0; i < s->ndim; i++)
            n += (size_t)snprintf(json + n, sizeof json - n, "%s%d", i ? "," : "", s->shape[i]);
        n += (size_t)snprintf(json + n, sizeof json - n, "],\"data_offsets\":[%zu,%zu]}", offset,
                              offset + bytes);
        offset += bytes;
    }
    n += (size_t)snprintf(json + n, sizeof json - n, "}");
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)n >> (8 * i));
    int ok = fwrite(len, 1, 8, fp) == 8 && fwrite(json, 1, n, fp) == n;
    for (size_t t = 0; t < N_SPECS && ok; t++) {
        const spec *s = &specs[t];
        for (int i = 0; i < numel_of(s) && ok; i++) {
            const float v = value(i, salt_of(s->name));
            if (s->f16) {
                const uint16_t h = sd_f32_to_f16(v);
                const uint8_t b[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
                ok = fwrite(b, 1, 2, fp) == 2;
            } else {
                ok = fwrite(&v, sizeof v, 1, fp) == 1;   /* little-endian host */
            }
        }
    }
    return fclose(fp) == 0 && ok ? 0 : -1;
}

/* ---- tests --------------------------------------------------------------------------- */

static int close_to(float a, float b)
{
    return fabsf(a - b) <= 1e-5f * (1.0f + fabsf(b));
}

static void test_linear(sd_weights *w, sd_arena *a)
{
    sd_error err = {0};
    sd_linear lin, lin32, c1;
    CHECK(sd_linear_bind(w, &lin, 5, 3, SD_LAYER_BIAS, &err, "%s", "lin") == SD_OK,
          "bind lin (in 5, out 3): %s", err.message);
    CHECK(lin.in == 5 && lin.out == 3 && lin.p.weight.packed, "fp16 weight stays packed");
    CHECK(sd_linear_bind(w, &lin32, 5, 3, SD_LAYER_BIAS, &err, "lin%d", 32) == SD_OK,
          "bind lin32: %s", err.message);

    sd_linear bad;
    CHECK(sd_linear_bind(w, &bad, 3, 5, SD_LAYER_BIAS, &err, "lin") == SD_ERR_FORMAT &&
              strstr(err.message, "lin.weight") && strstr(err.message, "[5, 3]") &&
              strstr(err.message, "[3, 5]"),
          "(out, in) order refused, naming the key and both shapes: %s", err.message);
    CHECK(sd_linear_bind(w, &bad, 5, 3, SD_LAYER_BIAS, &err, "nope") == SD_ERR_FORMAT &&
              strcmp(err.message, "missing tensor nope.weight") == 0,
          "missing module: %s", err.message);
    CHECK(sd_linear_bind(w, &c1, 3, 2, SD_LAYER_BIAS, &err, "c1") == SD_OK && c1.in == 3 &&
              c1.out == 2,
          "a 1x1 conv weight [2, 3, 1, 1] binds as a linear (3 → 2): %s", err.message);

    /* y = x Wᵀ + b against a naive loop, fp16 weight == its fp32 twin */
    const int rows = 4;
    float x[4 * 5], y[4 * 3], y32[4 * 3];
    for (int i = 0; i < rows * 5; i++)
        x[i] = value(i, 11) * 0.5f;
    const sd_layer_ctx ctx = sd_layer_ctx_make(a, SD_LAYER_FP32);
    const size_t used = a->used;
    CHECK(sd_linear_forward(&lin, &ctx, x, rows, y, &err) == SD_OK &&
              sd_linear_forward(&lin32, &ctx, x, rows, y32, &err) == SD_OK,
          "linear forward: %s", err.message);
    CHECK(a->used == used, "forward gives its scratch back");
    int ok = 1, same = 1;
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < 3; o++) {
            float want = value(o, salt_of("lin.bias"));
            for (int i = 0; i < 5; i++)
                want += x[r * 5 + i] * value(o * 5 + i, salt_of("lin.weight"));
            ok &= close_to(y[r * 3 + o], want);
            same &= memcmp(&y[r * 3 + o], &y32[r * 3 + o], sizeof(float)) == 0;
        }
    CHECK(ok, "linear == naive loop");
    CHECK(same, "fp16 weight gives its fp32 twin's output bit for bit");

    /* Hooks: sd_layer_find by key, sd_layer_key, merged replaces the weight, pins. */
    char key[64];
    CHECK(sd_layer_find(w, "lin.weight") == &lin.p && sd_layer_find(w, "lin.bias") == NULL,
          "find the layer by its weight's key");
    CHECK(strcmp(sd_layer_key(&lin.p, key, sizeof key), "lin") == 0, "module key: %s", key);

    float merged[15];
    for (int i = 0; i < 15; i++)
        merged[i] = i == 0 ? 1.0f : 0.0f;   /* only W[0][0] = 1 */
    lin.p.merged = (sd_tensor){.data = merged, .ndim = 2, .shape = {3, 5}, .numel = 15};
    float ym[4 * 3];
    CHECK(sd_linear_forward(&lin, &ctx, x, rows, ym, &err) == SD_OK, "merged forward");
    CHECK(ym[0] == x[0] + value(0, salt_of("lin.bias")) && ym[1] == value(1, salt_of("lin.bias")),
          "the merged weight replaces the bound one");
    lin.p.merged = (sd_tensor){0};

    sd_layer_ctx pinned = sd_layer_ctx_make(a, SD_LAYER_FP32);
    const sd_layer_scope scope = sd_layer_scope_begin(&pinned);
    CHECK(sd_layer_pin_params(&pinned, &lin.p, &err) == SD_OK && pinned.n_pins == 1,
          "pin a packed weight");
    CHECK(sd_layer_pin_params(&pinned, &lin32.p, &err) == SD_OK && pinned.n_pins == 1,
          "an fp32 weight needs no pin");
    const size_t pinned_used = a->used;
    float yp[4 * 3];
    CHECK(sd_linear_forward(&lin, &pinned, x, rows, yp, &err) == SD_OK &&
              memcmp(yp, y, sizeof y) == 0 && a->used == pinned_used,
          "a pinned weight gives the same output");
    sd_layer_scope_end(&pinned, scope);
    CHECK(pinned.n_pins == 0 && a->used == used, "scope end unpins and gives the memory back");
}

static void count_layer(void *user, sd_layer_params *p)
{
    (void)p;
    ++*(int *)user;
}

static void test_conv_and_norms(sd_weights *w, sd_arena *a)
{
    sd_error err = {0};
    sd_conv2d conv;
    CHECK(sd_conv2d_bind(w, &conv, 3, 2, op_conv_params(3, 1, 1), &err, "conv") == SD_OK,
          "bind conv (ci 3, co 2): %s", err.message);
    sd_conv2d bad;
    CHECK(sd_conv2d_bind(w, &bad, 2, 3, op_conv_params(3, 1, 1), &err, "conv") ==
              SD_ERR_FORMAT, "(co, ci) order refused: %s", err.message);
    int n_layers = 0;
    sd_layer_each(w, "", count_layer, &n_layers);
    CHECK(n_layers == 4, "every bound Linear / Conv2d is found (%d of 4)", n_layers);

    enum { H = 5, W = 4 };
    float x[3 * H * W], y[2 * H * W];
    for (int i = 0; i < 3 * H * W; i++)
        x[i] = value(i, 5) * 0.25f;
    const sd_layer_ctx ctx = sd_layer_ctx_make(a, SD_LAYER_FP32);
    int ho, wo;
    sd_conv2d_out_size(&conv, H, W, &ho, &wo);
    CHECK(ho == H && wo == W, "3x3 padding 1 keeps the size");
    CHECK(sd_conv2d_forward(&conv, &ctx, x, 1, H, W, y, &err) == SD_OK, "conv forward: %s",
          err.message);
    int ok = 1;
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                float want = value(o, salt_of("conv.bias"));
                for (int c = 0; c < 3; c++)
                    for (int ki = 0; ki < 3; ki++)
                        for (int kj = 0; kj < 3; kj++) {
                            const int yi = i + ki - 1, xj = j + kj - 1;
                            if (yi < 0 || yi >= H || xj < 0 || xj >= W)
                                continue;
                            want += x[(c * H + yi) * W + xj] *
                                    value(((o * 3 + c) * 3 + ki) * 3 + kj, salt_of("conv.weight"));
                        }
                ok &= close_to(y[(o * H + i) * W + j], want);
            }
    CHECK(ok, "conv2d == naive loop");

    sd_group_norm gn;
    CHECK(sd_group_norm_bind(w, &gn, 6, 4, 1e-5f, &err, "gn") == SD_ERR_UNSUPPORTED,
          "6 channels in 4 groups refused: %s", err.message);
    CHECK(sd_group_norm_bind(w, &gn, 6, 3, 1e-5f, &err, "gn") == SD_OK, "bind gn: %s",
          err.message);
    float gx[6 * 4], gy[6 * 4], gs[6 * 4];
    for (int i = 0; i < 24; i++)
        gx[i] = value(i, 9);
    sd_group_norm_forward(&gn, gx, 1, 4, gy);
    sd_group_norm_silu_forward(&gn, gx, 1, 4, gs);
    ok = 1;
    for (int g = 0; g < 3; g++) {
        double mean = 0, var = 0;
        for (int i = 0; i < 8; i++)
            mean += gx[g * 8 + i] / 8.0;
        for (int i = 0; i < 8; i++)
            var += (gx[g * 8 + i] - mean) * (gx[g * 8 + i] - mean) / 8.0;
        for (int i = 0; i < 8; i++) {
            const int c = (g * 8 + i) / 4;
            const double want = (gx[g * 8 + i] - mean) / sqrt(var + 1e-5) *
                                    value(c, salt_of("gn.weight")) + value(c, salt_of("gn.bias"));
            ok &= fabs(gy[g * 8 + i] - want) < 1e-4 &&
                  fabs(gs[g * 8 + i] - want / (1 + exp(-want))) < 1e-4;
        }
    }
    CHECK(ok, "GroupNorm (+ SiLU) == naive loop");

    sd_embedding emb, emb32;
    CHECK(sd_embedding_bind(w, &emb, 4, 5, &err, "emb.weight") == SD_OK &&
              sd_embedding_bind(w, &emb32, 4, 5, &err, "emb32.weight") == SD_OK,
          "bind embeddings: %s", err.message);
    float r[5] = {1, 2, 3, 4, 5}, r32[5] = {1, 2, 3, 4, 5}, s16[5], s32[5];
    sd_embedding_add_row(&emb, 2, r);
    sd_embedding_add_row(&emb32, 2, r32);
    sd_embedding_set_row(&emb, 3, s16);
    sd_embedding_set_row(&emb32, 3, s32);
    CHECK(memcmp(r, r32, sizeof r) == 0 && memcmp(s16, s32, sizeof s16) == 0 &&
              s32[0] == value(15, salt_of("emb32.weight")),
          "embedding rows: fp16 == fp32 twin");
}

/* q, k, v of the fused in_proj are views of its row blocks: the same values, no copy. */
static void test_fused_attention(sd_weights *w)
{
    sd_error err = {0};
    sd_attention a;
    CHECK(sd_attention_bind_fused(w, &a, 4, 2, &err, "%s", "mha") == SD_OK && a.heads == 2 &&
              a.head_dim == 2, "bind the fused attention (dim 4, 2 heads): %s", err.message);
    sd_tensor fused, bias;
    CHECK(sd_weights_bind_packed(w, &fused, &err, 2, SD_SHAPE(12, 4), "mha.in_proj_weight") ==
              SD_OK && sd_weights_bind(w, &bias, &err, 1, SD_SHAPE(12), "mha.in_proj_bias") ==
              SD_OK, "the fused tensors: %s", err.message);
    const sd_linear *qkv[3] = {&a.q, &a.k, &a.v};
    for (int p = 0; p < 3; p++) {
        const sd_linear *l = qkv[p];
        CHECK(l->in == 4 && l->out == 4 && l->p.weight.ndim == 2 && l->p.weight.shape[0] == 4 &&
                  l->p.weight.numel == 16 && l->p.weight.packed == fused.packed + 16 * p &&
                  l->p.bias.numel == 4 && l->p.bias.data == bias.data + 4 * p,
              "projection %d is rows %d..%d of in_proj (a view)", p, 4 * p, 4 * p + 3);
        float row[4], want[4];
        for (int r = 0; r < 4; r++) {
            sd_tensor_row_f32(&l->p.weight, r, row);
            sd_tensor_row_f32(&fused, 4 * p + r, want);
            CHECK(memcmp(row, want, sizeof row) == 0, "projection %d row %d", p, r);
        }
    }
    CHECK(sd_attention_bind_fused(w, &a, 3, 1, &err, "mha") == SD_ERR_FORMAT &&
              strstr(err.message, "mha.in_proj_weight") && strstr(err.message, "[9, 3]"),
          "a wrong width names the fused key and shapes: %s", err.message);
    CHECK(sd_attention_bind_fused(w, &a, 4, 3, &err, "mha") == SD_ERR_UNSUPPORTED,
          "4 channels do not split into 3 heads");
}

int main(void)
{
    char path[] = "/tmp/test-layers-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return check_summary();
    close(fd);
    CHECK(write_checkpoint(path) == 0, "write %s", path);
    sd_weights *w = NULL;
    sd_error err = {0};
    CHECK(sd_weights_open(path, &w, &err) == SD_OK, "open: %s", err.message);
    if (w) {
        sd_arena a;
        sd_arena_init(&a, 0);
        test_linear(w, &a);
        test_conv_and_norms(w, &a);
        test_fused_attention(w);
        sd_arena_free(&a);
        sd_weights_free(w);
    }
    unlink(path);
    return check_summary();
}
