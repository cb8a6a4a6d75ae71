/* One run of the engine on a region of the image, host-neutral: the front ends read the
 * region's pixels and selection into float arrays, call gd_generate_region, and write the
 * returned RGBA into a new layer. No GIMP here. */
#ifndef GD_GENERATE_H
#define GD_GENERATE_H

#include <stddef.h>

#include "config.h"
#include "params.h"
#include "sd.h"

/* Progress for the host's progress bar: fraction of the whole run in [0,1] and a short
 * text ("Denoising 7/15"). Return non-zero to cancel. */
typedef int (*gd_progress_fn)(void *user, double fraction, const char *text);

typedef struct {
    int width, height;       /* the region, pixels */
    const float *rgba;       /* [height, width, 4] the source layer's R'G'B'A */
    const float *selection;  /* [height, width] selection in [0,1]; all 1 without one */
    unsigned open_edges;     /* region.open_edges */
} gd_region_pixels;

/* Loads the configured model, and its TAESD (cfg->taesd) when `taesd` is set; the message
 * names the file and what is wrong with it. */
sd_status gd_load_model(const gd_config *cfg, int taesd, sd_model **out, sd_error *err);

/* Bytes the plug-in itself needs for a region of w x h run at work_w x work_h. */
size_t gd_region_bytes(int w, int h, int work_w, int work_h);

/* Refuses (SD_ERR_NOMEM, with the sizes in the message) a region whose buffers would not
 * fit in half of this machine's physical memory. */
sd_status gd_check_memory(int w, int h, int work_w, int work_h, sd_error *err);

/* Refuses (SD_ERR_INVALID_ARG) a region whose selection [n] holds no pixel above 0: a
 * selection whose bounding box meets the layer while none of its pixels do (two areas on
 * either side of a narrow layer) leaves nothing to repaint, and the result would be a
 * fully transparent layer. The front ends call it before loading the model. */
sd_status gd_check_selection(const float *selection, size_t n, sd_error *err);

/* Runs p on the region: scales it to the working size, runs the engine, scales the
 * result back, optionally matches colours, feathers the selection into alpha and copies
 * the original where alpha is 0. out_rgba: [height, width, 4]. preview (may be NULL): the
 * engine's live preview after every denoise step, with the same user as progress. */
sd_status gd_generate_region(sd_model *model, const gd_params *p, const gd_region_pixels *in,
                             float *out_rgba, gd_progress_fn progress, sd_preview_fn preview,
                             void *user, sd_error *err);

#endif
