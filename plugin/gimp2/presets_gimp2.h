/* Presets in the GIMP 2.10 front end: the preset row of the procedures' dialogs (a picker
 * that fills the fields, "Save as preset...") and the "Apply Preset..." procedure. The
 * preset logic itself is host-neutral (../presets_glue.c). */
#ifndef GD_PRESETS_GIMP2_H
#define GD_PRESETS_GIMP2_H

#include <libgimp/gimp.h>
#include <gtk/gtk.h>

#include "params.h"

/* The front end's run: the engine on the selection, the result as a new layer; returns the
 * layer's ID, or -1 with *message set (g_malloc'd). */
typedef gint32 (*gd2_run_fn)(gint32 image, gint32 drawable, gd_params *p, gchar **message);

/* Installs plug-in-diffusion-apply-preset (called from query()). */
void gd2_preset_query(void);

/* Runs plug-in-diffusion-apply-preset: its dialog (interactive), the named preset applied,
 * `run` on the selection. Returns the PDB status; on success *layer and *seed are set,
 * otherwise *message may be (g_malloc'd). */
GimpPDBStatusType gd2_preset_run(gint nparams, const GimpParam *param, gd2_run_fn run,
                                 gint32 *layer, gint *seed, gchar **message);

/* Puts the preset row at the top of a procedure's dialog: a preset picker that fills the
 * fields and a "Save as preset..." button that saves them. widgets[i] is the dialog's widget
 * for gd_args[i] (NULL when the procedure does not take it); the array must outlive the
 * dialog's run. */
void gd2_preset_row_attach(GtkDialog *dialog, sd_mode mode, GtkWidget *const *widgets);

#endif
