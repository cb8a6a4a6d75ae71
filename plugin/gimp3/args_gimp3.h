/* The argument table (../params.c) in GIMP 3: each row as a PDB argument (and so a field
 * of GimpProcedureDialog), and the one reader and writer between a procedure's config and
 * gd_params. */
#ifndef GD_ARGS_GIMP3_H
#define GD_ARGS_GIMP3_H

#include <libgimp/gimp.h>

#include "params.h"
#include "presets_glue.h"

/* The row `a` as an argument of `procedure`, with its default for `mode`. */
void gd3_add_argument(GimpProcedure *procedure, const gd_arg *a, sd_mode mode);

/* Every row the procedure for `mode` takes, in table order. */
void gd3_add_arguments(GimpProcedure *procedure, sd_mode mode);

/* The return values of every procedure: new-layer, seed-used. */
void gd3_add_return_values(GimpProcedure *procedure);

/* Every row the config (a GimpProcedureConfig) has into p (after gd_params_defaults);
 * strings copied into owned. A gd_form's read, hence the void pointer. */
void gd3_config_read(void *config, gd_params *p, gd_strings *owned);

/* p into every row the config has: the dialog's widgets are bound to it and follow. A
 * gd_form's write. */
void gd3_config_write(void *config, const gd_params *p);

/* Is gd3_config_write writing the config now? (Its notify signals then come from the
 * plug-in, a preset picked or a model's defaults, not from the user.) Kept on the config
 * object itself. */
gboolean gd3_config_writing(GObject *config);

/* The drawables a procedure was called on, when they are one layer; else NULL with *error
 * set (`what` names the procedure). */
GimpDrawable *gd3_one_layer(GimpDrawable **drawables, const char *what, GError **error);

#endif
