/* Presets in the GIMP 3 front end: the preset row of the procedures' dialogs (a picker that
 * fills the fields, "Save as preset...") and the "Apply Preset..." procedure. The preset
 * logic itself is host-neutral (../presets_glue.c). */
#ifndef GD_PRESETS_GIMP3_H
#define GD_PRESETS_GIMP3_H

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "params.h"

/* The front end's run: the engine on the selection, the result as a new layer; returns the
 * layer, or NULL with *error set. */
typedef GimpLayer *(*gd3_run_fn)(GimpImage *image, GimpDrawable *drawable, gd_params *p,
                                 GError **error);

/* plug-in-diffusion-apply-preset (from create_procedure): arguments preset, subject, mode,
 * model, vocab; returns new-layer and seed-used like the other procedures. */
GimpProcedure *gd3_preset_procedure_new(GimpPlugIn *plug_in, gd3_run_fn run);

/* Puts the preset row at the top of a procedure's dialog: a preset picker that fills the
 * fields (through `config`, so the widgets follow) and "Save as preset..." from them. Call
 * after the dialog has been filled. */
void gd3_preset_row_attach(GimpProcedureDialog *dialog, GimpProcedureConfig *config,
                           sd_mode mode);

#endif
