/* Prompt presets in the plug-in, host-neutral: where the presets live, a preset applied to
 * a run's gd_params (explicit field > preset > dialog value or default), the dialog's
 * prompt when the user picks a preset, a preset made from the dialog's values ("Save as
 * preset..."), and the "Apply Preset..." procedure's names. The presets themselves (format,
 * validation, folders, {prompt} expansion) are the engine's sd_preset_* (sd.h). No GIMP here:
 * the front ends pass gimp_directory() in. */
#ifndef GD_PRESETS_GLUE_H
#define GD_PRESETS_GLUE_H

#include <stddef.h>

#include "config.h"
#include "params.h"
#include "sd.h"
#include "sd_preset.h"

#define GD_PROC_PRESET "plug-in-diffusion-apply-preset"

/* What both front ends tell the PDB and the user about "Apply Preset...". */
#define GD_PRESET_BLURB "Run a saved prompt preset on the selection"
#define GD_PRESET_HELP                                                                          \
    "Takes a preset's prompt template (its {prompt} filled by the subject), negative prompt "   \
    "and settings, and runs Stable Diffusion with them on the selection like the other "       \
    "procedures: the result is a new layer above the active one; the source layer is never "   \
    "modified. Presets are the shipped ones and those in the GIMP profile's diffusion/presets " \
    "folder, which override shipped ones of the same name. An explicit model argument wins "   \
    "over the preset's."
#define GD_PRESET_ARG_PRESET "Name of the preset, as in the dialogs' preset menu (any case)"
#define GD_PRESET_ARG_SUBJECT "Fills the preset's {prompt} placeholder (may be empty)"
#define GD_PRESET_ARG_MODE                                                                     \
    "auto, img2img, inpaint or txt2img; auto = inpaint when the preset's strength is 1, else " \
    "img2img"

/* "Apply Preset..." runs the preset in this mode; auto = inpaint when the preset repaints
 * the region fully (strength 1: img2img would ignore the source there, inpainting keeps the
 * surroundings), else img2img. */
#define GD_PRESET_MODE_AUTO "auto"

/* The modes "Apply Preset..." offers, "auto" first: the argument's spelling and the
 * dialog's label. */
typedef struct {
    const char *id, *label;
} gd_preset_mode_choice;

extern const gd_preset_mode_choice gd_preset_modes[];
extern const int gd_n_preset_modes;

/* The folders presets are read from, in load order: a later folder's preset overrides an
 * earlier one of the same name. */
typedef struct {
    char shipped[GD_PATH_MAX]; /* read-only, installed with the plug-in */
    char user[GD_PATH_MAX];    /* <GIMP profile>/diffusion/presets: "Save as preset" goes here */
} gd_preset_dirs;

/* The shipped folder is $GIMP_DIFFUSION_PRESETS when set, else the installed folder
 * (GD_PRESETS_DIR at build time) when it exists, else the source tree's presets/ (an
 * uninstalled build). gimp_dir is gimp_directory(). */
void gd_preset_dirs_init(gd_preset_dirs *d, const char *gimp_dir);

/* Loads both folders. A bad file does not stop the others: its error (naming the file, the
 * key and the problem) is kept in the list (sd_preset_list_error). */
sd_status gd_presets_load(const gd_preset_dirs *d, sd_preset_list **out, sd_error *err);

/* The list's per-file errors, one per line, for a host message; NULL when there are none
 * or out of memory. malloc'd. */
char *gd_presets_errors_text(const sd_preset_list *l);

/* "There is no preset named X": with the names there are and the files that were skipped
 * (the one meant may be among them). malloc'd; NULL when out of memory. */
char *gd_presets_not_found_text(const sd_preset_list *l, const char *name);

/* Strings a preset put into a gd_params, owned here; free with gd_preset_strings_free. */
typedef struct {
    char *prompt;
    char *negative_prompt;
    char *model;
    char *loras; /* the preset's LoRAs as the "loras" argument spells them */
    char vae_tile[16]; /* the preset's vae_tile as the argument spells it */
} gd_preset_strings;

void gd_preset_strings_free(gd_preset_strings *s);

/* Applies `preset` to p: the prompt becomes the template with `subject` in {prompt}, and
 * every setting the preset gives replaces p's, except those whose SD_PRESET_* bit is in
 * `explicit_fields`. Settings map to the plug-in's: resolution -> work_size, padding,
 * feather, model -> model_path, seed "random" -> random_seed, timestep_spacing -> spacing,
 * prediction, draft_vae, precision, clip_skip, masked_content, rng, vae_tile, loras -> the
 * "loras" argument as name:weight;... (names found in the LoRA folder; the dialog's LoRA
 * choosers are emptied); strength only where p's mode takes one. Values outside the
 * plug-in's ranges (params.h) are clamped to them. p's strings then point into *owned. */
sd_status gd_preset_apply_params(const sd_preset *preset, const char *subject,
                                 unsigned explicit_fields, gd_params *p, gd_preset_strings *owned,
                                 sd_error *err);

/* The mode "Apply Preset..." runs `mode_name` ("auto", "img2img", "inpaint", "txt2img") in,
 * for this preset; -1 when the name is unknown. */
int gd_preset_run_mode(const sd_preset *preset, const char *mode_name);

/* The dialog's prompt when the user picks a preset. The subject is what the user typed:
 * the current prompt, unless the prompt is still what the previous pick wrote, in which case
 * it is the previous subject, so that trying presets one after another re-dresses the same
 * subject instead of nesting templates. The state starts zeroed. */
typedef struct {
    char *subject;  /* malloc'd */
    char *written;  /* the prompt the last pick wrote; malloc'd */
} gd_preset_picker;

/* Returns the new prompt (owned by the picker, valid until the next call), or NULL when out
 * of memory. */
const char *gd_preset_picker_prompt(gd_preset_picker *pk, const sd_preset *preset,
                                    const char *current_prompt);
void gd_preset_picker_clear(gd_preset_picker *pk);

/* "Save as preset...": a preset named `name` holding p's prompt (verbatim: a {prompt} the
 * user typed stays a placeholder), negative prompt, sampler, steps, CFG, strength (modes
 * that take one), seed ("random" when p->random_seed), working resolution, padding, feather,
 * timestep spacing, prediction, draft VAE, clip skip, precision, masked content (inpaint),
 * noise generator, VAE tiles, model (when one is set) and LoRAs. description may be NULL. */
sd_status gd_preset_from_params(const char *name, const char *description, const gd_params *p,
                                sd_preset **out, sd_error *err);

/* The file a preset named `name` is saved to in the user folder: the name (ASCII lowercased), other
 * runs of characters as '-', ".json" ("Oil painting" -> "oil-painting.json"). */
void gd_preset_file_name(const char *name, char *buf, size_t size);

/* Writes the preset into the user folder (creating it), atomically; the file's path goes
 * to path_out. */
sd_status gd_preset_save_user(const gd_preset_dirs *d, const sd_preset *preset, char *path_out,
                              size_t path_size, sd_error *err);

/* ---- Apply Preset's run, for both front ends ------------------------------------------ */

/* The procedure's arguments after (run-mode, image, drawable), as strings. */
typedef struct {
    const char *preset, *subject, *mode, *model, *vocab;
} gd_preset_call;

/* Apply Preset's plan: finds the preset in l (any case), picks the mode, and fills p with the
 * mode's defaults, the model and vocabulary given and then the preset (an explicit model wins
 * over the preset's); p->preset names the preset for the layer's parasite. p's strings point
 * into `owned` and the list. SD_ERR_INVALID_ARG: the caller's mistake (no such preset, with
 * the names there are; an unknown mode), which the PDB calls a calling error. */
sd_status gd_preset_prepare(const sd_preset_list *l, const gd_preset_call *call, gd_params *p,
                            gd_preset_strings *owned, sd_error *err);

/* ---- the preset row of the procedures' dialogs ---------------------------------------- */

/* The front end's dialog: its values in and out of a gd_params, in gd_args terms. */
typedef struct {
    void *user;
    /* every field of the dialog into p (after gd_params_defaults); strings copied into owned */
    void (*read)(void *user, gd_params *p, gd_strings *owned);
    /* p into every field of the dialog */
    void (*write)(void *user, const gd_params *p);
} gd_form;

/* What the preset row does, host-neutral: the presets it offers, a preset picked (the fields
 * it gives change, the others keep what the user set; the prompt through the picker), and
 * Save as Preset (the dialog's values into the user folder, the list reloaded). The front
 * end owns the combo and the button and calls these from their signals. */
typedef struct {
    sd_mode mode;
    gd_form form;
    gd_preset_dirs dirs;
    sd_preset_list *list; /* NULL when the folders could not be read */
    gd_preset_picker picker;
} gd_preset_row;

/* Loads the presets (gimp_dir: gimp_directory()). *skipped: the files skipped, one a line,
 * for a message (malloc'd; NULL when none). A row whose presets could not be read still
 * works, with an empty list, and says so in err. */
sd_status gd_preset_row_init(gd_preset_row *row, sd_mode mode, const gd_form *form,
                             const char *gimp_dir, char **skipped, sd_error *err);
void gd_preset_row_free(gd_preset_row *row);

/* The preset `name` picked: applied to the form. */
sd_status gd_preset_row_pick(gd_preset_row *row, const char *name, sd_error *err);

/* The form's values saved as the preset `name` (description may be empty); the list is
 * reloaded so that it holds the new preset. */
sd_status gd_preset_row_save(gd_preset_row *row, const char *name, const char *description,
                             sd_error *err);

/* The combo's tooltip for a preset (its description and file), or what the combo does when
 * preset is NULL. malloc'd; NULL when out of memory. */
char *gd_preset_tooltip(const sd_preset *preset);

#endif
