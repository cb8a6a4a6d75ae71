/* GIMP 3 front end (libgimp-3.0): registers the Stable Diffusion procedures, shows the
 * dialog GIMP generates from their arguments, and turns a run into one new layer.
 *
 * The run itself is host-neutral (../run.c); this file is glue: the argument table
 * (../params.c) as PDB arguments and a config, the image described to the core, the
 * layer written.
 * Nothing touches the image before the result is complete: GIMP kills a plug-in whose
 * progress is cancelled, and a killed run must leave the image as it was.
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "host_common.h"
#include "model_pick.h"
#include "params.h"
#include "args_gimp3.h"
#include "presets_gimp3.h"
#include "presets_glue.h"
#include "preview_gtk.h"
#include "run.h"

#define PLUG_IN_BINARY "gimp-diffusion"

typedef struct {
    GimpPlugIn parent_instance;
} Diffusion;

typedef struct {
    GimpPlugInClass parent_class;
} DiffusionClass;

#define DIFFUSION_TYPE (diffusion_get_type())
GType diffusion_get_type(void) G_GNUC_CONST;

G_DEFINE_TYPE(Diffusion, diffusion, GIMP_TYPE_PLUG_IN)

static GList *diffusion_query_procedures(GimpPlugIn *plug_in)
{
    (void)plug_in;
    GList *list = NULL;
    for (int i = 0; i < gd_n_procs; i++)
        list = g_list_append(list, g_strdup(gd_procs[i].proc));
    list = g_list_append(list, g_strdup(GD_PROC_PRESET));
    return list;
}

static gboolean diffusion_set_i18n(GimpPlugIn *plug_in, const gchar *procedure_name,
                                   gchar **gettext_domain, gchar **catalog_dir)
{
    (void)plug_in;
    (void)procedure_name;
    (void)gettext_domain;
    (void)catalog_dir;
    return FALSE; /* no translations yet */
}

static GimpValueArray *diffusion_run(GimpProcedure *procedure, GimpRunMode run_mode,
                                     GimpImage *image, GimpDrawable **drawables,
                                     GimpProcedureConfig *config, gpointer run_data);
static GimpLayer *run_diffusion(GimpImage *image, GimpDrawable *drawable, gd_params *p,
                                GError **error);

static GimpProcedure *diffusion_create_procedure(GimpPlugIn *plug_in, const gchar *name)
{
    if (!strcmp(name, GD_PROC_PRESET))
        return gd3_preset_procedure_new(plug_in, run_diffusion);
    const gd_proc_info *info = gd_proc_find(name);
    if (!info)
        return NULL;

    GimpProcedure *procedure = gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                        diffusion_run, (gpointer)info, NULL);
    gimp_procedure_set_image_types(procedure, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask(procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label(procedure, info->label);
    gimp_procedure_add_menu_path(procedure, GD_MENU_PATH);
    gimp_procedure_set_documentation(procedure, info->blurb, GD_PROC_HELP, name);
    gimp_procedure_set_attribution(procedure, GD_ATTRIBUTION, GD_ATTRIBUTION, GD_DATE);
    gd3_add_arguments(procedure, info->mode);
    gd3_add_return_values(procedure);
    return procedure;
}

static void diffusion_class_init(DiffusionClass *klass)
{
    GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS(klass);
    plug_in_class->query_procedures = diffusion_query_procedures;
    plug_in_class->create_procedure = diffusion_create_procedure;
    plug_in_class->set_i18n = diffusion_set_i18n;
}

static void diffusion_init(Diffusion *self)
{
    (void)self;
}

/* A prompt: a labelled, word-wrapping text view (GIMP makes a one-line entry by default). */
static const char *prompt_box(GimpProcedureDialog *pd, const char *property, const char *nick,
                              int height)
{
    char *label_id = g_strconcat(property, "-label", NULL);
    char *box_id = g_strconcat(property, "-box", NULL);
    GtkWidget *label = gimp_procedure_dialog_get_label(pd, label_id, nick, FALSE, TRUE);
    GtkWidget *tv = gimp_procedure_dialog_get_widget(pd, property, GTK_TYPE_TEXT_VIEW);
    gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(tv), GTK_WRAP_WORD);
    gtk_widget_set_size_request(tv, 360, height);
    if (GTK_IS_LABEL(label))
        gtk_label_set_mnemonic_widget(GTK_LABEL(label), tv);
    gtk_widget_set_halign(label, GTK_ALIGN_START);
    gimp_procedure_dialog_fill_box(pd, box_id, label_id, property, NULL);
    g_free(label_id);
    /* the dialog keeps the id: intern it so it lives as long as the process */
    const char *id = g_intern_string(box_id);
    g_free(box_id);
    return id;
}

/* The note under the model field, and the model it was written for. */
typedef struct {
    GtkWidget *note;
    sd_mode mode;
    gchar *model;
} model_pick_ctx;

/* The config's model changed. When the user picked it (not a preset, not the plug-in
 * writing the config: gd3_config_writing), its family's steps, CFG, sampler, spacing and
 * resolution go into the fields, or the engine's reason under the model field. */
static void on_model_notify(GObject *config, GParamSpec *pspec, gpointer data)
{
    (void)pspec;
    model_pick_ctx *c = data;
    if (gd3_config_writing(config))
        return;
    gd_params p;
    gd_strings owned = { 0 };
    char note[GD_MODEL_NOTE_MAX];
    gd_params_defaults(&p, c->mode);
    gd3_config_read(config, &p, &owned);
    if (g_strcmp0(p.model_path, c->model) != 0) {
        g_free(c->model);
        c->model = g_strdup(p.model_path);
        if (gd_model_pick(p.model_path, &p, note, sizeof note) == SD_OK)
            gd3_config_write(config, &p);
        if (GTK_IS_LABEL(c->note))
            gtk_label_set_text(GTK_LABEL(c->note), note);
    }
    gd_strings_free(&owned);
}

static gboolean show_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                            const gd_proc_info *info)
{
    gimp_ui_init(PLUG_IN_BINARY);
    GtkWidget *dialog = gimp_procedure_dialog_new(procedure, config, info->title);
    GimpProcedureDialog *pd = GIMP_PROCEDURE_DIALOG(dialog);
    GList *order = NULL, *advanced = NULL;
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, info->mode))
            continue;
        gpointer id = (gpointer)(a->type == GD_ARG_TEXT
                                     ? prompt_box(pd, a->name, a->nick,
                                                  !strcmp(a->name, "prompt") ? 64 : 40)
                                     : a->name);
        if (a->advanced)
            advanced = g_list_append(advanced, id);
        else
            order = g_list_append(order, id);
        if (!strcmp(a->name, "model"))
            order = g_list_append(order, (gpointer) "model-note");
    }
    /* under the model field: the family's defaults a pick set, or why it cannot be used */
    model_pick_ctx pick = { gimp_procedure_dialog_get_label(pd, "model-note", "", FALSE, FALSE),
                            info->mode, NULL };
    if (GTK_IS_LABEL(pick.note)) {
        gtk_label_set_line_wrap(GTK_LABEL(pick.note), TRUE);
        gtk_label_set_max_width_chars(GTK_LABEL(pick.note), 60);
        gtk_label_set_xalign(GTK_LABEL(pick.note), 0.0);
    }
    gd_params start;
    gd_strings start_owned = { 0 };
    gd_params_defaults(&start, info->mode);
    gd3_config_read(config, &start, &start_owned);
    pick.model = g_strdup(start.model_path);
    gd_strings_free(&start_owned);
    gulong notify = g_signal_connect(config, "notify::model", G_CALLBACK(on_model_notify), &pick);
    if (advanced) {
        gimp_procedure_dialog_fill_box_list(pd, "advanced-box", advanced);
        gimp_procedure_dialog_get_label(pd, "advanced-label", GD_ADVANCED_LABEL, FALSE, FALSE);
        gimp_procedure_dialog_fill_expander(pd, "advanced", "advanced-label", FALSE, "advanced-box");
        order = g_list_append(order, (gpointer) "advanced");
        g_list_free(advanced);
    }
    gimp_procedure_dialog_set_sensitive(pd, "seed", TRUE, G_OBJECT(config), "random-seed", TRUE);
    if (!gd_config_has_taesd()) {
        GtkWidget *draft = gimp_procedure_dialog_get_widget(pd, "draft-vae", G_TYPE_NONE);
        if (GTK_IS_BUTTON(draft))
            gtk_button_set_label(GTK_BUTTON(draft), GD_NO_TAESD_LABEL);
        gtk_widget_set_tooltip_text(draft, GD_NO_TAESD_TEXT);
    }
    gimp_procedure_dialog_fill_list(pd, order);
    gd3_preset_row_attach(pd, config, info->mode);
    g_list_free(order);
    gboolean ok = gimp_procedure_dialog_run(pd);
    g_signal_handler_disconnect(config, notify);
    g_free(pick.model);
    gtk_widget_destroy(dialog);
    return ok;
}

/* The image a run works on, for the core's host calls. */
typedef struct {
    GimpImage *image;
    GimpDrawable *drawable;
    const Babl *format; /* R'G'B'A float in the image's colour space */
    gint ox, oy;        /* the layer's offsets */
    gboolean has_selection;
    GimpLayer *layer;   /* the result, once inserted */
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
    GeglBuffer *sel = h->has_selection
                          ? gimp_drawable_get_buffer(GIMP_DRAWABLE(gimp_image_get_selection(h->image)))
                          : NULL;
    gd_gegl_read(gimp_drawable_get_buffer(h->drawable), h->ox, h->oy, sel, rect, h->format, rgba,
                 mask);
}

static sd_status write_layer(void *user, const gd_result *res, sd_error *err)
{
    (void)err;
    run_host *h = user;
    GimpLayer *layer = gimp_layer_new(h->image, res->name, res->rect.width, res->rect.height,
                                      res->gray ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE, 100.0,
                                      GIMP_LAYER_MODE_NORMAL);
    gimp_layer_set_offsets(layer, res->rect.x, res->rect.y);
    gd_gegl_write(gimp_drawable_get_buffer(GIMP_DRAWABLE(layer)), h->format, res);
    GimpParasite *parasite = gd_host_parasite(res->parasite);
    if (parasite) {
        gimp_item_attach_parasite(GIMP_ITEM(layer), parasite);
        gimp_parasite_free(parasite);
    }
    GimpItem *parent = gimp_item_get_parent(GIMP_ITEM(h->drawable));
    gimp_image_undo_group_start(h->image);
    gimp_image_insert_layer(h->image, layer, parent ? GIMP_LAYER(parent) : NULL,
                            gimp_image_get_item_position(h->image, GIMP_ITEM(h->drawable)));
    gimp_image_undo_group_end(h->image);
    h->layer = layer;
    return SD_OK;
}

/* Runs the engine and adds the result layer; returns it, or NULL with *error set, or
 * NULL and no error when the user cancelled from the preview window (shown, titled after
 * preview_title, when that is not NULL). */
static GimpLayer *run_shown(GimpImage *image, GimpDrawable *drawable, gd_params *p,
                            const char *preview_title, GError **error)
{
    run_host h = { image, drawable, NULL, 0, 0, FALSE, NULL, NULL };
    gint x1, y1, x2, y2;
    gimp_selection_bounds(image, &h.has_selection, &x1, &y1, &x2, &y2);
    gimp_drawable_get_offsets(drawable, &h.ox, &h.oy);
    gd_target t;
    gd_target_init(&t, gimp_image_get_base_type(image), gimp_image_get_width(image),
                   gimp_image_get_height(image), h.ox, h.oy, gimp_drawable_get_width(drawable),
                   gimp_drawable_get_height(drawable), h.has_selection, x1, y1, x2, y2,
                   (uint64_t)g_random_int_range(0, GD_SEED_MAX));
    /* SD was trained on non-linear sRGB: R'G'B' in the image's own space (grayscale: Y'
     * repeated, which GEGL turns back into Y' on writing) */
    h.format = t.base == GD_IMAGE_GRAY
                   ? babl_format("R'G'B'A float")
                   : babl_format_with_space("R'G'B'A float", gimp_drawable_get_format(drawable));
    if (preview_title) {
        gimp_ui_init(PLUG_IN_BINARY); /* the dialog did it, unless run with last values */
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
        return NULL;
    if (st != SD_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
        return NULL;
    }
    gimp_progress_end();
    return h.layer;
}

/* The presets' procedure's run: no preview window. */
static GimpLayer *run_diffusion(GimpImage *image, GimpDrawable *drawable, gd_params *p,
                                GError **error)
{
    return run_shown(image, drawable, p, NULL, error);
}

static GimpValueArray *diffusion_run(GimpProcedure *procedure, GimpRunMode run_mode,
                                     GimpImage *image, GimpDrawable **drawables,
                                     GimpProcedureConfig *config, gpointer run_data)
{
    const gd_proc_info *info = run_data;
    GError *error = NULL;

    GimpDrawable *drawable = gd3_one_layer(drawables, info->title, &error);
    if (!drawable)
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CALLING_ERROR, error);
    if (run_mode == GIMP_RUN_INTERACTIVE && !show_dialog(procedure, config, info))
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CANCEL, NULL);

    gd_params p;
    gd_strings owned = { 0 };
    gd_params_defaults(&p, info->mode);
    gd3_config_read(config, &p, &owned);
    GimpLayer *layer = run_shown(image, drawable, &p,
                                 run_mode == GIMP_RUN_NONINTERACTIVE ? NULL : info->title, &error);
    gint seed = (gint)p.seed;
    gd_strings_free(&owned);
    if (!layer) /* no error: cancelled from the preview window, the image untouched */
        return gimp_procedure_new_return_values(
            procedure, error ? GIMP_PDB_EXECUTION_ERROR : GIMP_PDB_CANCEL, error);

    /* remembered with the other values, so unticking "random seed" repeats this run */
    g_object_set(config, "seed", seed, NULL);
    if (run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_displays_flush();
    GimpValueArray *rv = gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
    GIMP_VALUES_SET_LAYER(rv, 1, layer);
    GIMP_VALUES_SET_INT(rv, 2, seed);
    return rv;
}

GIMP_MAIN(DIFFUSION_TYPE)
