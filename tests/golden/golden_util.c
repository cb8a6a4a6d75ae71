#include "golden.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const st_tensor *golden_tensor(const golden_case *c, const char *name)
{
    if (!c->tensors)
        return NULL;
    return st_find(c->tensors, name);
}

float *golden_f32(const golden_case *c, const char *name, int64_t *numel)
{
    const st_tensor *t = golden_tensor(c, name);
    if (!t) {
        fprintf(stderr, "%s: tensor %s missing\n", c->name, name);
        return NULL;
    }
    float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *out);
    if (!out)
        return NULL;
    sd_error err;
    if (st_to_f32(t, out, &err) != SD_OK) {
        fprintf(stderr, "%s: %s\n", c->name, err.message);
        free(out);
        return NULL;
    }
    if (numel)
        *numel = t->numel;
    return out;
}

int64_t *golden_i64(const golden_case *c, const char *name, int64_t *numel)
{
    const st_tensor *t = golden_tensor(c, name);
    if (!t) {
        fprintf(stderr, "%s: tensor %s missing\n", c->name, name);
        return NULL;
    }
    int64_t *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *out);
    if (!out)
        return NULL;
    sd_error err;
    if (st_to_i64(t, out, &err) != SD_OK) {
        fprintf(stderr, "%s: %s\n", c->name, err.message);
        free(out);
        return NULL;
    }
    if (numel)
        *numel = t->numel;
    return out;
}

/* A fixture folder may hold a "relative link": a small text file whose content is the
 * path, relative to the folder, of the file it stands for (golden-lora/tiny-sd1.safetensors
 * holds "../golden/tiny-sd1.safetensors"). Followed here; anything else is left as it is. */
#define GOLDEN_LINK_MAX 1024

static void follow_text_link(const golden_case *c, char *buf, size_t size)
{
    FILE *f = fopen(buf, "rb");
    if (!f)
        return;
    char target[GOLDEN_LINK_MAX];
    size_t n = fread(target, 1, sizeof target - 1, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more || n == 0)
        return;
    target[n] = '\0';
    target[strcspn(target, "\r\n")] = '\0';
    for (size_t i = 0; target[i]; i++)
        if ((unsigned char)target[i] < 0x20 || (unsigned char)target[i] > 0x7e)
            return;   /* binary: a real (small) file */
    if (strstr(target, ".safetensors"))
        snprintf(buf, size, "%s/%s", c->dir, target);
}

const char *golden_path(const golden_case *c, const char *file, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", c->dir, file);
    follow_text_link(c, buf, size);
    return buf;
}

double golden_noise_floor(const golden_case *c, const char *key)
{
    if (!c->precision)
        return 0.0;
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(c->precision, "max_abs_diff_vs_float64");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(table, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static void report(const golden_case *c, golden_tally *t, int ok, const char *label,
                   double err, double tol, const char *extra)
{
    printf("%-28s %-40s max_abs_err=%.3e tol=%.3e %s%s\n", c->name, label, err, tol,
           ok ? "PASS" : "FAIL", extra ? extra : "");
    if (ok)
        t->passed++;
    else
        t->failed++;
}

int golden_compare_arrays(const golden_case *c, golden_tally *t, const char *label,
                          const float *expected, const float *got, size_t n, double tol)
{
    double max_err = 0.0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(expected[i])) {
            finite = 0;
            continue;
        }
        double d = fabs((double)got[i] - (double)expected[i]);
        if (d > max_err)
            max_err = d;
    }
    if (c->bf16_rel > 0.0) {   /* bf16 mode: relative to the reference's largest value */
        double mag = 0.0;
        for (size_t i = 0; i < n; i++)
            mag = fabs((double)expected[i]) > mag ? fabs((double)expected[i]) : mag;
        tol = tol > c->bf16_rel * mag ? tol : c->bf16_rel * mag;
    }
    int ok = finite && max_err <= tol;
    if (c->bf16_rel > 0.0 && (c->bf16_report || strstr(label, "block."))) {
        printf("%-28s %-40s max_abs_err=%.3e (%.2f %% of max|reference|) bf16: reported\n", c->name,
               label, max_err, 100.0 * c->bf16_rel * max_err / (tol > 0.0 ? tol : 1.0));
        return 1;
    }
    report(c, t, ok, label, max_err, tol, finite ? NULL : " (non-finite values)");
    return ok;
}

int golden_compare(const golden_case *c, golden_tally *t, const char *label,
                   const char *tensor, const float *got, size_t n, double tol)
{
    int64_t numel = 0;
    float *expected = golden_f32(c, tensor, &numel);
    if (!expected) {
        report(c, t, 0, label, INFINITY, tol, " (reference tensor missing)");
        return 0;
    }
    if ((size_t)numel != n) {
        char msg[96];
        snprintf(msg, sizeof msg, " (size %zu, reference %lld)", n, (long long)numel);
        report(c, t, 0, label, INFINITY, tol, msg);
        free(expected);
        return 0;
    }
    int ok = golden_compare_arrays(c, t, label, expected, got, n, tol);
    free(expected);
    return ok;
}

void golden_check(const golden_case *c, golden_tally *t, int ok, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("%-28s %s %s\n", c->name, msg, ok ? "PASS" : "FAIL");
    if (ok)
        t->passed++;
    else
        t->failed++;
}

void golden_skip(const golden_case *c, golden_tally *t, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("%-28s %s SKIP\n", c->name, msg);
    t->skipped++;
}
