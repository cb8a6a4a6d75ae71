/* The plug-in's one run path, host-neutral: plans a run on the image the front end
 * describes (refusals, region, working size, memory, model and seed), reads the region
 * through the host, runs the engine, and hands the finished layer back to the host to
 * insert. Each front end only converts GIMP's arguments into gd_params, describes the
 * image (gd_target) and implements the few host calls (gd_host). No GIMP here. */
#ifndef GD_RUN_H
#define GD_RUN_H

#include <stdint.h>

#include "params.h"
#include "region.h"
#include "sd.h"

typedef enum {
    GD_IMAGE_RGB,
    GD_IMAGE_GRAY,
    GD_IMAGE_INDEXED /* refused: a palette cannot hold generated colours */
} gd_image_base;

/* The image and the layer a run works on, as the front end sees them. */
typedef struct {
    gd_image_base base;
    int image_width, image_height;
    region_rect layer;      /* the layer's offsets and size, image coordinates */
    int has_selection;
    region_rect selection;  /* its bounding box, image coordinates */
    uint64_t random;        /* a seed in [0, GD_SEED_MAX) drawn by the host; used when
                               p->random_seed is set */
} gd_target;

/* The target from what both GIMPs report: the image's base type (GIMP's RGB 0, GRAY 1,
 * INDEXED 2, the same in libgimp 2.10 and 3.0), its size, the layer's offsets and size, and
 * gimp_selection_bounds' answer (x1, y1, x2, y2). */
void gd_target_init(gd_target *t, int gimp_base_type, int image_w, int image_h, int layer_x,
                    int layer_y, int layer_w, int layer_h, int has_selection, int x1, int y1,
                    int x2, int y2, uint64_t random);

/* The finished result, for the front end to put into a new layer. */
typedef struct {
    region_rect rect;       /* where the layer goes, image coordinates */
    const float *rgba;      /* [rect.height, rect.width, 4] R'G'B'A float */
    const char *name;       /* the layer's name (from the prompt) */
    const char *parasite;   /* JSON for GD_PARASITE_NAME; NULL when out of memory */
    int gray;               /* a grayscale image: the layer is GRAYA */
} gd_result;

typedef struct {
    void *user;
    /* Reads `rect` (image coordinates) of the layer as R'G'B'A float into rgba [h, w, 4]
     * and of the selection into mask [h, w] (1 everywhere without a selection). */
    void (*read)(void *user, const region_rect *rect, float *rgba, float *mask);
    /* The progress bar: fraction < 0 starts it with `text` (pulsing). Non-zero cancels. */
    int (*progress)(void *user, double fraction, const char *text);
    /* A warning that does not stop the run (a config file that cannot be used). */
    void (*warn)(void *user, const char *text);
    /* Creates the layer from `res`, fills it, and only then inserts it into the image (the
     * one step that changes the image, one undo step), so a plug-in killed while writing
     * leaves the image as it was. */
    sd_status (*write)(void *user, const gd_result *res, sd_error *err);
    /* The live preview after every denoise step (sd_job.preview; non-zero cancels, as
     * progress); NULL for none (non-interactive runs). */
    sd_preview_fn preview;
} gd_host;

/* Runs p on the target: on success the host has inserted the layer and p->seed is the seed
 * used; otherwise err says why (the texts the user sees) and the image is unchanged. An
 * empty model or vocabulary path is resolved as config.h says. */
sd_status gd_run(const gd_host *host, const gd_target *t, gd_params *p, sd_error *err);

#endif
