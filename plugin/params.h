/* The plug-in's settings for one run, shared by both GIMP front ends: the PDB argument
 * names, their ranges and defaults, and the JSON stored on the result layer as the
 * "gimp-diffusion-params" parasite. No GIMP here. */
#ifndef GD_PARAMS_H
#define GD_PARAMS_H

#include <stdint.h>

#include "sd.h"

#define GD_PARASITE_NAME "gimp-diffusion-params"

#define GD_PROC_IMG2IMG "plug-in-diffusion-img2img"
#define GD_PROC_INPAINT "plug-in-diffusion-inpaint"
#define GD_PROC_TXT2IMG "plug-in-diffusion-txt2img"
#define GD_MENU_PATH "<Image>/Filters/Generate/Stable Diffusion"

/* Ranges of the numeric arguments (the PDB and the dialogs enforce them): the engine's
 * published limits (sd.h), or a narrower range the dialog offers inside them. */
#define GD_STEPS_MIN SD_STEPS_MIN
#define GD_STEPS_MAX 150
#define GD_STEPS_DEFAULT SD_STEPS_DEFAULT
#define GD_CFG_MIN SD_CFG_MIN
#define GD_CFG_MAX 30.0
#define GD_CFG_DEFAULT SD_CFG_DEFAULT
#define GD_STRENGTH_MIN 0.01
#define GD_STRENGTH_MAX SD_STRENGTH_MAX
#define GD_STRENGTH_DEFAULT SD_STRENGTH_DEFAULT
#define GD_INPAINT_STRENGTH_DEFAULT SD_STRENGTH_MAX
#define GD_SEED_MAX 2147483647
#define GD_WORK_SIZE_MIN SD_RESOLUTION_MIN
#define GD_WORK_SIZE_MAX 2048
#define GD_WORK_SIZE_DEFAULT 512 /* SD 1.x was trained at 512x512 */
#define GD_PADDING_MAX 1024
#define GD_PADDING_DEFAULT 32
#define GD_FEATHER_MAX 256.0
#define GD_FEATHER_DEFAULT 8.0
#define GD_SAMPLER_DEFAULT "euler_a"
_Static_assert(GD_STEPS_MAX <= SD_STEPS_MAX && GD_CFG_MAX <= SD_CFG_MAX &&
               GD_WORK_SIZE_MAX <= SD_RESOLUTION_MAX && GD_PADDING_MAX <= SD_PADDING_MAX &&
               GD_FEATHER_MAX <= SD_FEATHER_MAX, "the dialog's ranges lie inside the engine's");

typedef struct {
    sd_mode mode;
    const char *prompt;
    const char *negative_prompt;
    double strength;        /* img2img / inpaint */
    int steps;
    double cfg_scale;
    const char *sampler;    /* sd_sampler_name() spelling */
    uint64_t seed;          /* the seed actually used (after randomising) */
    int random_seed;        /* non-zero: draw a new seed for this run */
    int work_size;          /* long side at which the engine runs, pixels */
    int padding;            /* context around the selection, pixels */
    double feather;         /* alpha ramp inside the selection edge, pixels */
    int color_match;        /* non-zero: match the generated colours to the surroundings */
    int clip_skip;          /* 1 = CLIP's last layer, 2 = penultimate; no argument: presets set it */
    const char *model_path; /* "" = from GIMP_DIFFUSION_MODEL / config file */
    const char *vocab_path; /* "" = from GIMP_DIFFUSION_VOCAB / config file */
    const char *preset;     /* name of the preset "Apply Preset..." ran, else "" */
} gd_params;

/* The PDB arguments after (run-mode, image, drawable(s)), in order: one table that both
 * front ends register from, so the two hosts offer the same names and ranges. */
typedef enum {
    GD_ARG_TEXT,     /* string; multi-line in the dialog */
    GD_ARG_STRING,
    GD_ARG_INT,
    GD_ARG_DOUBLE,
    GD_ARG_BOOL,
    GD_ARG_SAMPLER,  /* string: one of sd_sampler_name() */
    GD_ARG_FILE,     /* path of a file; GIMP 3 shows a file chooser */
    GD_ARG_FOLDER    /* path of a folder */
} gd_arg_type;

typedef struct {
    const char *name;   /* PDB argument name */
    const char *nick;   /* dialog label, with a mnemonic */
    const char *blurb;
    gd_arg_type type;
    double min, max;
    unsigned modes;     /* bit (1 << sd_mode) for each procedure that takes it */
} gd_arg;

extern const gd_arg gd_args[];
extern const int gd_n_args;

/* Does the procedure for `mode` take this argument? */
int gd_arg_in_mode(const gd_arg *a, sd_mode mode);

/* The argument's default for a mode, as a number (INT, DOUBLE, BOOL) or a string. */
double gd_arg_default_number(const gd_arg *a, sd_mode mode);
const char *gd_arg_default_string(const gd_arg *a, sd_mode mode);

/* Stores one argument's value into p by name (strings are referenced, not copied).
 * Returns 0, or -1 for an unknown name. */
int gd_params_set_number(gd_params *p, const char *name, double v);
int gd_params_set_string(gd_params *p, const char *name, const char *v);

/* Defaults for a mode (strings point to static literals). */
void gd_params_defaults(gd_params *p, sd_mode mode);

/* "img2img", "inpaint", "txt2img". */
const char *gd_mode_name(sd_mode mode);

/* The parameters as a JSON object (what the parasite holds), plus the region it ran on and
 * the engine's working size; malloc'd, NULL when out of memory. */
char *gd_params_to_json(const gd_params *p, int region_x, int region_y, int region_w,
                        int region_h, int work_w, int work_h);

/* A layer name from the prompt: the prompt's first line, cut at `max` bytes on a UTF-8
 * boundary, "…"-free; "Stable Diffusion" when the prompt is empty. Writes into buf. */
void gd_layer_name(const char *prompt, char *buf, int max);

#endif
