/* What both front ends share because libgimp 2.10 and libgimp 3.0 (and GTK 2 and GTK 3)
 * spell it the same way: GEGL in and out, GIMP's progress bar and messages, the parasite,
 * and the GTK side of the preset row. Compiled into each front end against its own GIMP;
 * what differs between the two GIMPs stays in gimp2/ and gimp3/. */
#ifndef GD_HOST_COMMON_H
#define GD_HOST_COMMON_H

#include <gegl.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "presets_glue.h"
#include "run.h"

/* gd_host.progress and gd_host.warn for GIMP (user unused). GIMP cancels a run by killing
 * the plug-in, so progress never asks to cancel. */
int gd_host_progress(void *user, double fraction, const char *text);
void gd_host_warn(void *user, const char *text);

/* The parasite holding a run's parameters (GD_PARASITE_NAME), or NULL when json is NULL. */
GimpParasite *gd_host_parasite(const char *json);

/* Reads `rect` (image coordinates) of the layer's buffer `src` (the layer at offsets ox, oy)
 * as `rgba_format` (an R'G'B'A float format in the image's colour space) into rgba [h, w, 4],
 * and of the selection channel's buffer `sel` as "Y float" into mask [h, w]; sel == NULL (no
 * selection) gives a mask of 1 everywhere. Takes the buffers' references. */
void gd_gegl_read(GeglBuffer *src, int ox, int oy, GeglBuffer *sel, const region_rect *rect,
                  const Babl *rgba_format, float *rgba, float *mask);

/* Writes the result's pixels to the top-left of the new layer's buffer dst; GEGL converts to
 * the layer's own type and precision (grayscale, 8/16/32 bit). Takes dst's reference. */
void gd_gegl_write(GeglBuffer *dst, const Babl *rgba_format, const gd_result *res);

/* Loads the presets for a run of Apply Preset or a dialog; the files that were skipped are
 * shown (g_message) when `interactive`. NULL with err set when the folders cannot be read. */
sd_preset_list *gd_host_load_presets(gd_preset_dirs *dirs, gboolean interactive, sd_error *err);

/* The presets' names into a combo, `active` (any case) selected when it is there. */
void gd_gtk_fill_presets(GtkComboBoxText *combo, const sd_preset_list *l, const char *active);

/* The preset the combo shows, or NULL. */
const sd_preset *gd_gtk_active_preset(GtkWidget *combo, const sd_preset_list *l);

/* Apply Preset's dialog: a preset's description and template into `about`. */
void gd_gtk_show_preset(GtkLabel *about, const sd_preset *preset);

/* The front end's layout of Save as Preset's question: puts the name and description
 * entries (with their labels) and the note into the dialog's content area, and sets the
 * dialog's button order. */
typedef void (*gd_ask_name_layout_fn)(GtkDialog *dialog, GtkWidget *name_entry,
                                      GtkWidget *desc_entry, GtkWidget *note);

/* The preset row's behaviour on the front end's widgets: `combo` (a GtkComboBoxText) lists
 * the presets and applies the one picked to the dialog through `form`, `save` asks for a
 * name (in a dialog laid out by `layout`) and saves the dialog's values. The row lives as long as `owner`. */
void gd_gtk_preset_row_connect(GtkWidget *owner, GtkWidget *combo, GtkWidget *save,
                               sd_mode mode, const gd_form *form, gd_ask_name_layout_fn layout);

#endif
