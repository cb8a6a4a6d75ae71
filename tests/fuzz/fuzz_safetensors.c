/* libFuzzer target: an arbitrary file handed to the safetensors reader, the weights
 * table, the model-family detection, the text encoder's binding (SD 1.x and SD 2.x) and
 * sd_model_check_file (`diffuse check`), as a downloaded checkpoint would be.
 *
 * The input goes to a memfd so that st_open maps it like a real file. Every tensor the
 * reader accepts is converted, so a header whose offsets or shapes lie about the data
 * shows up as an ASan read outside the mapping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "nets/clip.h"
#include "nets/model_config.h"
#include "io/safetensors.h"
#include "io/weights.h"

/* The reader promises that a tensor's bytes lie inside the file, so conversion
 * needs at most 8 floats per input byte (U8/BOOL into int64). */
static void convert_all(const st_file *f, size_t file_size)
{
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        if (t->nbytes > file_size || (size_t)t->numel * st_dtype_size(t->dtype) != t->nbytes)
            abort();
        if (st_find(f, t->name) != t)
            abort();
        size_t n = t->numel > 0 ? (size_t)t->numel : 1;
        if (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16 ||
            t->dtype == ST_F64) {
            float *dst = malloc(n * sizeof *dst);
            if (!dst)
                continue;
            sd_error err = {0};
            if (st_to_f32(t, dst, &err) != SD_OK)
                abort();
            free(dst);
        } else if (t->dtype != ST_BOOL) {
            int64_t *dst = malloc(n * sizeof *dst);
            if (!dst)
                continue;
            sd_error err = {0};
            if (st_to_i64(t, dst, &err) != SD_OK)
                abort();
            free(dst);
        }
        st_release(f, t);
    }
    (void)st_metadata(f, "format");
    (void)st_find(f, "");
}

static void bind_all(const char *path)
{
    sd_weights *w = NULL;
    sd_error err = {0};
    sd_status st = sd_weights_open(path, &w, &err);
    fuzz_check_error(st, &err);
    if (st != SD_OK)
        return;
    const st_file *f = sd_weights_file(w);
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        sd_tensor out;
        /* binds accept 1..4 dims; the others must be refused cleanly */
        st = sd_weights_bind(w, &out, &err, t->ndim, NULL, "%s", t->name);
        fuzz_check_error(st, &err);
        if (st == SD_OK && out.numel != t->numel)
            abort();
        (void)sd_weights_has(w, "%s", t->name);
    }
    /* The text encoder's own binding (SD 2.x: OpenCLIP's fused in_proj split into q/k/v
     * views) on whatever the detection accepted. */
    sd_model_config cfg;
    if (sd_model_config_detect(f, &cfg, NULL) == SD_OK) {
        sd_clip clip;
        st = sd_clip_load(&clip, w, &cfg.clip, &err);
        fuzz_check_error(st, &err);
        if (st == SD_OK)
            sd_clip_free(&clip);
    }
    sd_weights_drop_file(w);
    sd_weights_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int whole;
    int fd = fuzz_memfd("fuzz.safetensors", data, size, path, sizeof path, &whole);
    if (fd < 0)
        return 0;

    st_file *f = NULL;
    sd_error err = {0};
    sd_status st = whole ? st_open(path, &f, &err) : SD_ERR_IO;
    if (whole)
        fuzz_check_error(st, &err);
    if (st == SD_OK) {
        convert_all(f, size);
        sd_model_config cfg;
        st = sd_model_config_detect(f, &cfg, &err);
        fuzz_check_error(st, &err);
        if (st == SD_OK)
            (void)sd_family_name(cfg.family);
        sd_family_match m;
        st = sd_family_detect(f, &m, &err);
        fuzz_check_error(st, &err);
        if (st == SD_OK && (!m.row || m.row != sd_family_row_of(m.row->family)))
            abort();
        st_close(f);
        bind_all(path);
        /* `diffuse check`: the same file through the public entry */
        sd_model_check c;
        st = sd_model_check_file(path, &c, &err);
        fuzz_check_error(st, &err);
        if ((st == SD_OK) != c.runnable || (st != SD_OK && !c.reason[0]))
            abort();
    }
    close(fd);
    return 0;
}
