/* The plug-in's settings for one run, shared by both GIMP front ends: the PDB argument
 * names, their ranges and defaults, and the JSON stored on the result layer as the
 * "gimp-diffusion-params" parasite. No GIMP here. */
#ifndef GD_PARAMS_H
#define GD_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "sd.h"

#define GD_PARASITE_NAME "gimp-diffusion-params"

#define GD_PROC_IMG2IMG "plug-in-diffusion-img2img"
#define GD_PROC_INPAINT "plug-in-diffusion-inpaint"
#define GD_PROC_TXT2IMG "plug-in-diffusion-txt2img"
#define GD_MENU_PATH "<Image>/Filters/Generate/Stable Diffusion"
#define GD_ATTRIBUTION "gimp-diffusion authors"
#define GD_DATE "2026"
/* What the PDB's help says about each of the three procedures. */
#define GD_PROC_HELP                                                                            \
    "Runs Stable Diffusion 1.x on the CPU on the selection's bounding box plus some context " \
    "and puts the result in a new layer above the active one, masked by the selection. The "  \
    "source layer is never modified; the run is one undo step."

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
#define GD_LORA_WEIGHT_MIN (-10.0) /* the chooser's weight: a preset's range (presets.c) */
#define GD_LORA_WEIGHT_MAX 10.0
#define GD_LORA_WEIGHT_DEFAULT 1.0 /* as trained */
#define GD_DIALOG_LORAS 2          /* LoRA file choosers in the dialog */
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
    int clip_skip;          /* 1 = the text encoder's output, 2 = one layer earlier, ... */
    const char *model_path; /* "" = from GIMP_DIFFUSION_MODEL / config file */
    const char *vocab_path; /* "" = from GIMP_DIFFUSION_VOCAB / config file */
    const char *preset;     /* name of the preset "Apply Preset..." ran, else "" */
    const char *spacing;    /* sd_spacing_name() spelling */
    const char *prediction; /* sd_prediction_name() spelling */
    const char *family;     /* no argument: set by gd_run once the model is loaded, for the
                               parasite (sd_model_info.family_name; NULL before) */
    const char *loras;      /* "file:weight;file:weight" (loras.h) */
    int draft_vae;          /* non-zero: encode and decode with the configured TAESD */
    const char *precision;  /* sd_precision_name() spelling; "auto": the config's, else the
                               CPU's. A run sets it to what ran ("fp32" or "bf16") */
    const char *masked_content; /* sd_masked_content_name() spelling (inpaint) */
    const char *rng;        /* sd_rng_name() spelling */
    const char *vae_tile;   /* "auto", "off" or a tile side in pixels (sd_vae_tile_parse) */
    /* the dialog's LoRA choosers (no PDB argument): a file ("" = none) and its weight */
    const char *lora_file[GD_DIALOG_LORAS];
    double lora_weight[GD_DIALOG_LORAS];
    /* set by gd_run from the above and the config, not arguments: the LoRAs with the paths
       the engine loads, and the folder <lora:name:w> in the prompt is found in */
    const sd_lora *engine_loras;
    int n_engine_loras;
    const char *lora_dir;
    const char *bf16_kernel; /* what ran the bf16 products ("amx-bf16", ...; "none"), or NULL
                                before the model is loaded */
} gd_params;

/* Strings read from a host (a dialog, a config, last values) for a gd_params to point to. */
typedef struct {
    char **v;
    int n, cap;
} gd_strings;

/* Keeps a copy of s (NULL as ""); NULL when out of memory. */
const char *gd_strings_add(gd_strings *s, const char *str);
void gd_strings_free(gd_strings *s);

/* The PDB arguments after (run-mode, image, drawable(s)), in order: one self-describing
 * table (like a GEGL property list) that both front ends register their PDB arguments,
 * build their dialog fields, read their values and keep their last values from. Each row
 * says where its value lives in gd_params (offset and C type), so adding an argument is
 * one row in params.c (see plugin/README.md, "Adding an argument"). */
typedef enum {
    GD_ARG_TEXT,     /* string; multi-line in the dialog */
    GD_ARG_STRING,
    GD_ARG_INT,
    GD_ARG_DOUBLE,
    GD_ARG_BOOL,
    GD_ARG_CHOICE,   /* string: one of the row's choices (GIMP 3: a GimpChoice) */
    GD_ARG_FILE,     /* path of a file; GIMP 3 shows a file chooser */
    GD_ARG_FOLDER    /* path of a folder */
} gd_arg_type;

/* The C type of the gd_params field a row stores into (derived from the field itself by
 * GD_FIELD in params.c, so a row cannot name the wrong type). */
typedef enum {
    GD_FIELD_INT,    /* int (INT, BOOL) */
    GD_FIELD_U64,    /* uint64_t (the seed) */
    GD_FIELD_DOUBLE, /* double */
    GD_FIELD_STRING  /* const char *, referenced, not copied */
} gd_field_kind;

typedef struct {
    const char *name;   /* PDB argument name */
    const char *nick;   /* dialog label, with a mnemonic */
    const char *blurb;
    gd_arg_type type;
    double min, max;    /* INT, DOUBLE, BOOL */
    double def;         /* default of a number (INT, DOUBLE, BOOL) */
    const char *def_str; /* default of a string ("" when NULL) */
    /* CHOICE: the index-th choice's name, NULL past the last */
    const char *(*choice)(int index);
    size_t offset;      /* offsetof(gd_params, field) */
    gd_field_kind field;
    unsigned modes;     /* bit (1 << sd_mode) for each procedure that takes it */
    int aux;            /* a dialog field only, no PDB argument (GIMP 3: an aux argument) */
    int advanced;       /* the dialog shows it under GD_ADVANCED_LABEL, folded */
} gd_arg;

/* The folded part of the dialogs (the dialog fits a 1280 x 800 screen with it folded). */
#define GD_ADVANCED_LABEL "Advanced: schedule, precision, CLIP skip, LoRAs, draft VAE, tiles"

extern const gd_arg gd_args[];
extern const int gd_n_args;

/* Room the front ends keep for one widget or value per row (tests/unit checks the table
 * fits). */
#define GD_N_ARGS_MAX 48

/* The row named `name`, or NULL. */
const gd_arg *gd_arg_find(const char *name);

/* Does the procedure for `mode` take this argument? */
int gd_arg_in_mode(const gd_arg *a, sd_mode mode);

/* Is the argument a string (TEXT, STRING, CHOICE, FILE, FOLDER) rather than a number? */
int gd_arg_is_string(const gd_arg *a);

/* The argument's default for a mode, as a number (INT, DOUBLE, BOOL) or a string. */
double gd_arg_default_number(const gd_arg *a, sd_mode mode);
const char *gd_arg_default_string(const gd_arg *a, sd_mode mode);

/* One row's value in p, through its offset: numbers as double, strings never NULL. */
double gd_arg_get_number(const gd_arg *a, const gd_params *p);
const char *gd_arg_get_string(const gd_arg *a, const gd_params *p);
/* Stores a value (strings are referenced, not copied; NULL stores ""). */
void gd_arg_set_number(const gd_arg *a, gd_params *p, double v);
void gd_arg_set_string(const gd_arg *a, gd_params *p, const char *v);

/* The same by name: set returns 0, or -1 for an unknown name; get gives 0 / "" then. */
int gd_params_set_number(gd_params *p, const char *name, double v);
int gd_params_set_string(gd_params *p, const char *name, const char *v);
double gd_param_number(const gd_params *p, const char *name);
const char *gd_param_string(const gd_params *p, const char *name);

/* Clamps every numeric argument of p into its row's range (a preset may ask for more). */
void gd_params_clamp(gd_params *p);

/* The values of a mode's arguments as a JSON object {name: number | string}: what GIMP 2.10
 * keeps as a procedure's last values. malloc'd; NULL when out of memory. */
char *gd_params_values_json(const gd_params *p);

/* The values json holds (of p's mode) into p; other keys, and values of the wrong kind, are
 * left out. Strings are copied into owned . */
void gd_params_values_from_json(const char *json, gd_params *p, gd_strings *owned);

/* Defaults for a mode (strings point to static literals). */
void gd_params_defaults(gd_params *p, sd_mode mode);

/* The procedures that run a mode, one row each, for both front ends ("Apply Preset..." is
 * presets_glue.h's). */
typedef struct {
    const char *proc;
    sd_mode mode;
    const char *label; /* menu label, with a mnemonic */
    const char *title; /* dialog title */
    const char *blurb;
} gd_proc_info;

extern const gd_proc_info gd_procs[];
extern const int gd_n_procs;

/* The row of the procedure named `proc`, or NULL. */
const gd_proc_info *gd_proc_find(const char *proc);

/* How the plug-in's core reports an error: fills err (when not NULL) with code and the
 * message, and returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
sd_status gd_fail(sd_error *err, sd_status code, const char *fmt, ...);

/* The sampler, timestep spacing, prediction type, precision, masked content, noise source
 * and VAE tiles p names, as the engine's values; SD_ERR_INVALID_ARG naming the unknown one. */
typedef struct {
    sd_sampler sampler;
    sd_spacing spacing;
    sd_prediction prediction;
    sd_precision precision;
    sd_masked_content masked_content;
    sd_rng_kind rng;
    int vae_tile; /* sd_job.vae_tile */
} gd_schedule;
sd_status gd_params_schedule(const gd_params *p, gd_schedule *out, sd_error *err);

/* sd_job.vae_tile as the vae-tile argument spells it: "auto", "off" or the pixels. */
void gd_vae_tile_text(int vae_tile, char *buf, size_t size);

/* A float as the shortest decimal that reads back as it (0.8f as 0.8, not
 * 0.800000011920929), for JSON and the LoRA argument. */
double gd_short_float(float f);

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
