/* GIMP 2.10 front end (libgimp-2.0): the same procedures, arguments and behaviour as the
 * GIMP 3 front end, with a hand-made GTK2 dialog and last values kept as JSON through
 * gimp_set_data. The run itself is host-neutral (../run.c); this file is glue: the
 * argument table (../params.c, through args_gimp2.c) as PDB parameters and dialog fields,
 * the image described to the core, the layer written.
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "args_gimp2.h"
#include "host_common.h"
#include "model_pick.h"
#include "params.h"
#include "presets_gimp2.h"
#include "presets_glue.h"
#include "preview_gtk.h"
#include "run.h"

#define PLUG_IN_BINARY "gimp-diffusion"

static void query(void)
{
    GimpParamDef args[GD_N_FIXED + GD_N_ARGS_MAX];
    for (int i = 0; i < gd_n_procs; i++) {
        const gd_proc_info *info = &gd_procs[i];
        int n = gd2_param_defs(info->mode, args);
        gimp_install_procedure(info->proc, info->blurb, GD_PROC_HELP, GD_ATTRIBUTION,
                               GD_ATTRIBUTION, GD_DATE, info->label, "RGB*, GRAY*", GIMP_PLUGIN,
                               n, G_N_ELEMENTS(gd2_return_defs), args, gd2_return_defs);
        gimp_plugin_menu_register(info->proc, GD_MENU_PATH);
    }
    gd2_preset_query();
}

/* ---- dialog ------------------------------------------------------------------------ */

/* The seed is only used when "random seed" is off. */
static void on_random_toggled(GtkToggleButton *random, gpointer seed_widget)
{
    gtk_widget_set_sensitive(GTK_WIDGET(seed_widget), !gtk_toggle_button_get_active(random));
}

/* The dialog's fields and the note under its model field, for on_model_set. */
typedef struct {
    GtkWidget **w;     /* [GD_N_ARGS_MAX], as gd2_widgets_read takes them */
    GtkWidget *note;
    sd_mode mode;
} model_pick_ctx;

/* The user picked a model ("file-set" comes from the user only, never from a preset or the
 * last values being written): its family's steps, CFG, sampler, spacing and resolution
 * into the fields, or the engine's reason under the model field. */
static void on_model_set(GtkFileChooserButton *button, gpointer data)
{
    (void)button;
    const model_pick_ctx *c = data;
    gd_params p;
    gd_strings owned = { 0 };
    char note[GD_MODEL_NOTE_MAX];
    gd_params_defaults(&p, c->mode);
    gd2_widgets_read(c->w, &p, &owned);
    if (gd_model_pick(p.model_path, &p, note, sizeof note) == SD_OK)
        gd2_widgets_write(c->w, &p);
    gtk_label_set_text(GTK_LABEL(c->note), note);
    gd_strings_free(&owned);
}

/* The dialog, filled from p; on OK its values go back into p (strings into owned). */
static gboolean show_dialog(const gd_proc_info *info, gd_params *p, gd_strings *owned)
{
    gimp_ui_init(PLUG_IN_BINARY, FALSE);
    GtkWidget *dialog = gimp_dialog_new(info->title, PLUG_IN_BINARY, NULL, 0, gimp_standard_help_func,
                                        info->proc, "_Cancel", GTK_RESPONSE_CANCEL, "_OK",
                                        GTK_RESPONSE_OK, NULL);
    gtk_dialog_set_alternative_button_order(GTK_DIALOG(dialog), GTK_RESPONSE_OK,
                                            GTK_RESPONSE_CANCEL, -1);
    gimp_window_set_transient(GTK_WINDOW(dialog));

    GtkWidget *table = gtk_table_new((guint)gd_n_args, 2, FALSE);
    gtk_table_set_row_spacings(GTK_TABLE(table), 4);
    gtk_table_set_col_spacings(GTK_TABLE(table), 8);
    gtk_container_set_border_width(GTK_CONTAINER(table), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dialog))), table, TRUE, TRUE, 0);

    /* the advanced rows, folded under the others */
    GtkWidget *expander = gtk_expander_new(GD_ADVANCED_LABEL);
    GtkWidget *advanced = gtk_table_new((guint)gd_n_args, 2, FALSE);
    gtk_table_set_row_spacings(GTK_TABLE(advanced), 4);
    gtk_table_set_col_spacings(GTK_TABLE(advanced), 8);
    gtk_container_add(GTK_CONTAINER(expander), advanced);
    gtk_container_set_border_width(GTK_CONTAINER(expander), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dialog))), expander, FALSE,
                       FALSE, 0);

    GtkWidget *w[GD_N_ARGS_MAX] = { 0 };
    model_pick_ctx pick = { w, gtk_label_new(""), info->mode };
    guint row = 0, advanced_row = 0;
    int no_taesd = !gd_config_has_taesd();
    for (int i = 0; i < gd_n_args && i < GD_N_ARGS_MAX; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, info->mode))
            continue;
        /* the draft VAE's box says when there is no TAESD to draft with */
        int note = no_taesd && !strcmp(a->name, "draft-vae");
        GtkWidget *label = gtk_label_new_with_mnemonic(note ? GD_NO_TAESD_LABEL : a->nick);
        gtk_misc_set_alignment(GTK_MISC(label), 0.0, 0.5);
        w[i] = gd2_widget_new(a, p);
        if (note)
            gtk_widget_set_tooltip_text(w[i], GD_NO_TAESD_TEXT);
        gtk_label_set_mnemonic_widget(GTK_LABEL(label), w[i]);
        GtkWidget *t = a->advanced ? advanced : table;
        guint *r = a->advanced ? &advanced_row : &row;
        gtk_table_attach(GTK_TABLE(t), label, 0, 1, *r, *r + 1, GTK_FILL, GTK_FILL, 0, 0);
        gtk_table_attach(GTK_TABLE(t), w[i], 1, 2, *r, *r + 1, GTK_EXPAND | GTK_FILL, GTK_FILL,
                         0, 0);
        (*r)++;
        if (!strcmp(a->name, "model")) {
            /* the family's defaults, or why the file cannot be used, under the field */
            gtk_misc_set_alignment(GTK_MISC(pick.note), 0.0, 0.5);
            gtk_label_set_line_wrap(GTK_LABEL(pick.note), TRUE);
            gtk_widget_set_size_request(pick.note, 360, -1);
            gtk_table_attach(GTK_TABLE(t), pick.note, 1, 2, *r, *r + 1, GTK_EXPAND | GTK_FILL,
                             GTK_FILL, 0, 0);
            (*r)++;
            g_signal_connect(w[i], "file-set", G_CALLBACK(on_model_set), &pick);
        }
    }
    GtkWidget *seed_w = w[gd_arg_find("seed") - gd_args];
    GtkWidget *random_w = w[gd_arg_find("random-seed") - gd_args];
    g_signal_connect(random_w, "toggled", G_CALLBACK(on_random_toggled), seed_w);
    on_random_toggled(GTK_TOGGLE_BUTTON(random_w), seed_w);
    gd2_preset_row_attach(GTK_DIALOG(dialog), info->mode, w);
    gtk_widget_show_all(dialog);

    gboolean ok = gimp_dialog_run(GIMP_DIALOG(dialog)) == GTK_RESPONSE_OK;
    if (ok)
        gd2_widgets_read(w, p, owned);
    gtk_widget_destroy(dialog);
    return ok;
}

/* ---- the run ----------------------------------------------------------------------- */

/* The image a run works on, for the core's host calls. */
typedef struct {
    gint32 image, drawable;
    const Babl *format; /* R'G'B'A float */
    gint ox, oy;        /* the layer's offsets */
    gboolean has_selection;
    gint32 layer;       /* the result, once inserted; -1 before */
    gd_preview_window *preview; /* interactive runs: the picture forming, and Cancel */
} run_host;

/* gd_host.progress: GIMP's progress bar, and the preview window's when there is one. */
static int run_progress(void *user, double fraction, const char *text)
{
    run_host *h = user;
    gd_host_progress(h, fraction, text);
    return h->preview ? gd_preview_window_progress(h->preview, fraction, text) : 0;
}

static int run_preview(void *user, const sd_preview *p)
{
    run_host *h = user;
    return gd_preview_window_show(h->preview, p);
}

static void read_pixels(void *user, const region_rect *rect, float *rgba, float *mask)
{
    run_host *h = user;
    GeglBuffer *sel = h->has_selection ? gimp_drawable_get_buffer(gimp_image_get_selection(h->image))
                                       : NULL;
    gd_gegl_read(gimp_drawable_get_buffer(h->drawable), h->ox, h->oy, sel, rect, h->format, rgba,
                 mask);
}

static sd_status write_layer(void *user, const gd_result *res, sd_error *err)
{
    (void)err;
    run_host *h = user;
    gint32 layer = gimp_layer_new(h->image, res->name, res->rect.width, res->rect.height,
                                  res->gray ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE, 100.0,
                                  GIMP_LAYER_MODE_NORMAL);
    gimp_layer_set_offsets(layer, res->rect.x, res->rect.y);
    gd_gegl_write(gimp_drawable_get_buffer(layer), h->format, res);
    GimpParasite *parasite = gd_host_parasite(res->parasite);
    if (parasite) {
        gimp_item_attach_parasite(layer, parasite);
        gimp_parasite_free(parasite);
    }
    gimp_image_undo_group_start(h->image);
    gimp_image_insert_layer(h->image, layer, gimp_item_get_parent(h->drawable),
                            gimp_image_get_item_position(h->image, h->drawable));
    gimp_image_undo_group_end(h->image);
    h->layer = layer;
    return SD_OK;
}

/* Runs the engine and adds the result layer; returns its ID, or -1 with *msg set, or -1
 * and no message when the user cancelled from the preview window (shown, titled after
 * preview_title, when that is not NULL). */
static gint32 run_shown(gint32 image, gint32 drawable, gd_params *p, const char *preview_title,
                        gchar **msg)
{
    /* SD was trained on non-linear sRGB; for grayscale GEGL repeats Y' into R'G'B' and
     * turns it back into Y' on writing */
    run_host h = { image, drawable, babl_format("R'G'B'A float"), 0, 0, FALSE, -1, NULL };
    gint x1, y1, x2, y2;
    gimp_selection_bounds(image, &h.has_selection, &x1, &y1, &x2, &y2);
    gimp_drawable_offsets(drawable, &h.ox, &h.oy);
    gd_target t;
    gd_target_init(&t, gimp_image_base_type(image), gimp_image_width(image),
                   gimp_image_height(image), h.ox, h.oy, gimp_drawable_width(drawable),
                   gimp_drawable_height(drawable), h.has_selection, x1, y1, x2, y2,
                   (uint64_t)g_random_int_range(0, GD_SEED_MAX));
    if (preview_title) {
        gimp_ui_init(PLUG_IN_BINARY, FALSE); /* the dialog did it, unless run with last values */
        gchar *title = g_strdup_printf("%s: preview", preview_title);
        h.preview = gd_preview_window_new(title);
        g_free(title);
    }
    gd_host host = { &h, read_pixels, run_progress, gd_host_warn, write_layer,
                     h.preview ? run_preview : NULL };
    sd_error err = { 0 };
    sd_status st = gd_run(&host, &t, p, &err);
    gd_preview_window_free(h.preview);
    if (st == SD_ERR_CANCELLED && h.preview)
        return -1;
    if (st != SD_OK) {
        *msg = g_strdup(err.message);
        return -1;
    }
    gimp_progress_end();
    return h.layer;
}

/* The presets' procedure's run: no preview window. */
static gint32 run_diffusion(gint32 image, gint32 drawable, gd_params *p, gchar **msg)
{
    return run_shown(image, drawable, p, NULL, msg);
}

static void set_return_values(GimpParam *values, gint *nreturn_vals, GimpPDBStatusType status,
                              gint32 layer, gint seed, gchar *message)
{
    values[0].data.d_status = status;
    if (status == GIMP_PDB_SUCCESS) {
        *nreturn_vals = 3;
        values[1].type = GIMP_PDB_LAYER;
        values[1].data.d_layer = layer;
        values[2].type = GIMP_PDB_INT32;
        values[2].data.d_int32 = seed;
    } else if (message) {
        *nreturn_vals = 2;
        values[1].type = GIMP_PDB_STRING;
        values[1].data.d_string = message;
    }
}

/* One of the three procedures: its values from the call, the last run or the dialog. */
static GimpPDBStatusType run_procedure(const gd_proc_info *info, gint nparams,
                                       const GimpParam *param, gint32 *layer, gint *seed,
                                       gchar **message)
{
    GimpRunMode run_mode = param[0].data.d_int32;
    gint32 image = param[1].data.d_image;
    gint32 drawable = param[2].data.d_drawable;
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;
    gd_params p;
    gd_strings owned = { 0 };
    gd_params_defaults(&p, info->mode);
    if (!gimp_item_is_layer(drawable)) {
        *message = g_strdup_printf("%s works on one layer: select a layer (not a mask or a channel).",
                                   info->title);
        status = GIMP_PDB_CALLING_ERROR;
    } else if (run_mode == GIMP_RUN_NONINTERACTIVE) {
        if (!gd2_params_from_pdb(param, nparams, &p, &owned)) {
            *message = g_strdup("Wrong number of arguments or a value out of range.");
            status = GIMP_PDB_CALLING_ERROR;
        }
    } else {
        gd2_values_load(info->proc, &p, &owned);
        if (run_mode == GIMP_RUN_INTERACTIVE && !show_dialog(info, &p, &owned))
            status = GIMP_PDB_CANCEL;
    }
    if (status == GIMP_PDB_SUCCESS) {
        *layer = run_shown(image, drawable, &p,
                           run_mode == GIMP_RUN_NONINTERACTIVE ? NULL : info->title, message);
        *seed = (gint)p.seed;
        /* -1 without a message: cancelled from the preview window, the image untouched */
        status = *layer != -1 ? GIMP_PDB_SUCCESS
                 : *message   ? GIMP_PDB_EXECUTION_ERROR
                              : GIMP_PDB_CANCEL;
    }
    if (status == GIMP_PDB_SUCCESS) {
        if (run_mode != GIMP_RUN_NONINTERACTIVE)
            gimp_displays_flush();
        /* remembered with the other values, so unticking "random seed" repeats this run */
        gd2_values_save(info->proc, &p);
    }
    gd_strings_free(&owned);
    return status;
}

static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                GimpParam **return_vals)
{
    static GimpParam values[3];
    static gchar *message;
    *nreturn_vals = 1;
    *return_vals = values;
    values[0].type = GIMP_PDB_STATUS;
    values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
    const gd_proc_info *info = gd_proc_find(name);
    gboolean preset = !strcmp(name, GD_PROC_PRESET);
    if ((!info && !preset) || nparams < GD_N_FIXED)
        return;

    gegl_init(NULL, NULL); /* libgimp 2.0 leaves GEGL to the plug-in */
    g_free(message);
    message = NULL;
    gint32 layer = -1;
    gint seed = 0;
    GimpPDBStatusType status = preset
                                   ? gd2_preset_run(nparams, param, run_diffusion, &layer, &seed, &message)
                                   : run_procedure(info, nparams, param, &layer, &seed, &message);
    set_return_values(values, nreturn_vals, status, layer, seed, message);
}

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN()
