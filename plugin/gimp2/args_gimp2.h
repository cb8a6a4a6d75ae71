/* The argument table (../params.c) in GIMP 2.10: each row as a PDB parameter, the values of
 * a non-interactive call, the last values GIMP keeps for the session, and each row as a
 * field of the hand-made GTK 2 dialog (made, read, written). */
#ifndef GD_ARGS_GIMP2_H
#define GD_ARGS_GIMP2_H

#include <libgimp/gimp.h>
#include <gtk/gtk.h>

#include "params.h"

#define GD_N_FIXED 3 /* run-mode, image, drawable */

/* The PDB parameters of a procedure: the fixed three, then the rows the procedure for
 * `mode` takes (mode < 0: none). Returns the count; args has room for
 * GD_N_FIXED + GD_N_ARGS_MAX. */
int gd2_param_defs(int mode, GimpParamDef *args);

/* The return values of every procedure: new-layer, seed-used. */
extern const GimpParamDef gd2_return_defs[2];

/* A non-interactive call's values, in table order after the fixed three, into p; FALSE when
 * the count is wrong or a number is out of its row's range. */
gboolean gd2_params_from_pdb(const GimpParam *param, gint nparams, gd_params *p,
                             gd_strings *owned);

/* The procedure's last values (this session) into p, and p kept as them. */
void gd2_values_load(const char *proc, gd_params *p, gd_strings *owned);
void gd2_values_save(const char *proc, const gd_params *p);

/* The dialog's field for row a, showing p's value. */
GtkWidget *gd2_widget_new(const gd_arg *a, const gd_params *p);

/* The dialog's fields (widgets: GtkWidget *[GD_N_ARGS_MAX], [i] for gd_args[i], NULL where
 * the procedure does not take it) into p, strings copied into owned; and p into them. A
 * gd_form's read and write, hence the void pointers. */
void gd2_widgets_read(void *widgets, gd_params *p, gd_strings *owned);
void gd2_widgets_write(void *widgets, const gd_params *p);

#endif
