/* GIMP 3 front end (libgimp-3.0): registers the Stable Diffusion procedures, shows the
 * dialog GIMP generates from their arguments, and turns a run into one new layer.
 *
 * The work itself is host-neutral (../generate.c, ../region.c); this file is glue:
 * arguments <-> gd_params, the selection and pixels in through GEGL, the layer out.
 * Nothing touches the image before the result is complete: GIMP kills a plug-in whose
 * progress is cancelled, and a killed run must leave the image as it was.
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "config.h"
#include "gegl_io.h"
#include "generate.h"
#include "params.h"
#include "presets_gimp3.h"
#include "presets_glue.h"
#include "region.h"

#define PLUG_IN_BINARY "gimp-diffusion"

typedef struct {
    const char *proc;
    sd_mode mode;
    const char *label;
    const char *title;
    const char *blurb;
} gd_proc_info;

/* One row per procedure; "Apply Preset..." is registered by presets_gimp3.c. */
static const gd_proc_info gd_procs[] = {
    { GD_PROC_IMG2IMG, SD_MODE_IMG2IMG, "_Image to Image...", "Image to Image",
      "Repaint the selection (or the layer) guided by a prompt" },
    { GD_PROC_INPAINT, SD_MODE_INPAINT, "I_npaint Selection...", "Inpaint Selection",
      "Fill the selection with new content described by a prompt, matching its surroundings" },
    { GD_PROC_TXT2IMG, SD_MODE_TXT2IMG, "_Text to Image...", "Text to Image",
      "Paint a new picture described by a prompt into the selection" },
};

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
    for (gsize i = 0; i < G_N_ELEMENTS(gd_procs); i++)
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

static void add_arguments(GimpProcedure *procedure, sd_mode mode)
{
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, mode))
            continue;
        switch (a->type) {
        case GD_ARG_TEXT:
        case GD_ARG_STRING:
            gimp_procedure_add_string_argument(procedure, a->name, a->nick, a->blurb,
                                               gd_arg_default_string(a, mode), G_PARAM_READWRITE);
            break;
        case GD_ARG_INT:
            gimp_procedure_add_int_argument(procedure, a->name, a->nick, a->blurb, (gint)a->min,
                                            (gint)a->max, (gint)gd_arg_default_number(a, mode),
                                            G_PARAM_READWRITE);
            break;
        case GD_ARG_DOUBLE:
            gimp_procedure_add_double_argument(procedure, a->name, a->nick, a->blurb, a->min, a->max,
                                               gd_arg_default_number(a, mode), G_PARAM_READWRITE);
            break;
        case GD_ARG_BOOL:
            gimp_procedure_add_boolean_argument(procedure, a->name, a->nick, a->blurb,
                                                gd_arg_default_number(a, mode) != 0.0,
                                                G_PARAM_READWRITE);
            break;
        case GD_ARG_SAMPLER: {
            GimpChoice *choice = gimp_choice_new();
            for (int s = 0; s < SD_SAMPLER_COUNT; s++)
                gimp_choice_add(choice, sd_sampler_name((sd_sampler)s), s,
                                sd_sampler_name((sd_sampler)s), NULL);
            gimp_procedure_add_choice_argument(procedure, a->name, a->nick, a->blurb, choice,
                                               gd_arg_default_string(a, mode), G_PARAM_READWRITE);
            break;
        }
        case GD_ARG_FILE:
        case GD_ARG_FOLDER:
            gimp_procedure_add_file_argument(procedure, a->name, a->nick, a->blurb,
                                             a->type == GD_ARG_FILE
                                                 ? GIMP_FILE_CHOOSER_ACTION_OPEN
                                                 : GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                             TRUE, NULL, G_PARAM_READWRITE);
            break;
        }
    }
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
    const gd_proc_info *info = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(gd_procs); i++)
        if (!strcmp(name, gd_procs[i].proc))
            info = &gd_procs[i];
    if (!info)
        return NULL;

    GimpProcedure *procedure = gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                        diffusion_run, (gpointer)info, NULL);
    gimp_procedure_set_image_types(procedure, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask(procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label(procedure, info->label);
    gimp_procedure_add_menu_path(procedure, GD_MENU_PATH);
    gimp_procedure_set_documentation(procedure, info->blurb,
                                     "Runs Stable Diffusion 1.x on the CPU on the selection's "
                                     "bounding box plus some context and puts the result in a new "
                                     "layer above the active one, masked by the selection. The "
                                     "source layer is never modified; the run is one undo step.",
                                     name);
    gimp_procedure_set_attribution(procedure, "gimp-diffusion authors", "gimp-diffusion authors",
                                   "2026");
    add_arguments(procedure, info->mode);
    gimp_procedure_add_layer_return_value(procedure, "new-layer", "New layer",
                                          "The layer holding the result", FALSE, G_PARAM_READWRITE);
    gimp_procedure_add_int_return_value(procedure, "seed-used", "Seed used",
                                        "The seed of this run (to reproduce it)", 0, GD_SEED_MAX, 0,
                                        G_PARAM_READWRITE);
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

/* Argument values of one run; the strings are owned here. */
typedef struct {
    gd_params p;
    GPtrArray *owned;
} run_args;

static void read_arguments(GimpProcedureConfig *config, sd_mode mode, run_args *ra)
{
    gd_params_defaults(&ra->p, mode);
    ra->owned = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, mode))
            continue;
        switch (a->type) {
        case GD_ARG_TEXT:
        case GD_ARG_STRING:
        case GD_ARG_SAMPLER: {
            gchar *s = NULL;
            g_object_get(config, a->name, &s, NULL);
            g_ptr_array_add(ra->owned, s);
            gd_params_set_string(&ra->p, a->name, s);
            break;
        }
        case GD_ARG_INT: {
            gint v = 0;
            g_object_get(config, a->name, &v, NULL);
            gd_params_set_number(&ra->p, a->name, v);
            break;
        }
        case GD_ARG_DOUBLE: {
            gdouble v = 0;
            g_object_get(config, a->name, &v, NULL);
            gd_params_set_number(&ra->p, a->name, v);
            break;
        }
        case GD_ARG_BOOL: {
            gboolean v = FALSE;
            g_object_get(config, a->name, &v, NULL);
            gd_params_set_number(&ra->p, a->name, v);
            break;
        }
        case GD_ARG_FILE:
        case GD_ARG_FOLDER: {
            GFile *f = NULL;
            g_object_get(config, a->name, &f, NULL);
            gchar *path = f ? g_file_get_path(f) : NULL;
            g_ptr_array_add(ra->owned, path);
            gd_params_set_string(&ra->p, a->name, path);
            g_clear_object(&f);
            break;
        }
        }
    }
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

static gboolean show_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                            const gd_proc_info *info)
{
    gimp_ui_init(PLUG_IN_BINARY);
    GtkWidget *dialog = gimp_procedure_dialog_new(procedure, config, info->title);
    GimpProcedureDialog *pd = GIMP_PROCEDURE_DIALOG(dialog);
    GList *order = NULL;
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, info->mode))
            continue;
        order = g_list_append(order, (gpointer)(a->type == GD_ARG_TEXT
                                                    ? prompt_box(pd, a->name, a->nick,
                                                                 !strcmp(a->name, "prompt") ? 64 : 40)
                                                    : a->name));
    }
    gimp_procedure_dialog_set_sensitive(pd, "seed", TRUE, G_OBJECT(config), "random-seed", TRUE);
    gimp_procedure_dialog_fill_list(pd, order);
    gd3_preset_row_attach(pd, config, info->mode);
    g_list_free(order);
    gboolean ok = gimp_procedure_dialog_run(pd);
    gtk_widget_destroy(dialog);
    return ok;
}

static int on_progress(void *user, double fraction, const char *text)
{
    (void)user;
    gimp_progress_set_text(text);
    gimp_progress_update(fraction);
    return 0; /* GIMP cancels by killing the plug-in */
}

/* Runs the engine and adds the result layer; returns it, or NULL with *error set. */
static GimpLayer *run_diffusion(GimpImage *image, GimpDrawable *drawable, gd_params *p,
                                GError **error)
{
    if (gimp_image_get_base_type(image) == GIMP_INDEXED) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    "Indexed images are not supported: their palette cannot hold generated "
                    "colours. Convert the image with Image > Mode > RGB first.");
        return NULL;
    }
    gboolean gray = gimp_image_get_base_type(image) == GIMP_GRAY;

    gboolean has_sel = FALSE;
    gint sx1, sy1, sx2, sy2, ox, oy;
    gimp_selection_bounds(image, &has_sel, &sx1, &sy1, &sx2, &sy2);
    gimp_drawable_get_offsets(drawable, &ox, &oy);
    region_rect sel = { sx1, sy1, sx2 - sx1, sy2 - sy1 };
    region_rect drw = { ox, oy, gimp_drawable_get_width(drawable),
                        gimp_drawable_get_height(drawable) };
    region r;
    if (!region_compute(has_sel ? &sel : NULL, &drw, gimp_image_get_width(image),
                        gimp_image_get_height(image), p->padding, &r)) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    "The selection does not touch the active layer inside the canvas.");
        return NULL;
    }
    int w = r.rect.width, h = r.rect.height, ww, wh;
    region_work_size(w, h, p->work_size, &ww, &wh);
    sd_error err = { 0 };
    if (gd_check_memory(w, h, ww, wh, &err) != SD_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
        return NULL;
    }

    gd_config cfg;
    gd_config_resolve(p->model_path, p->vocab_path, &cfg);
    if (*cfg.warning)
        g_message("%s", cfg.warning);
    p->model_path = cfg.model;
    p->vocab_path = cfg.vocab;
    if (p->random_seed)
        p->seed = (uint64_t)g_random_int_range(0, GD_SEED_MAX);

    /* SD was trained on non-linear sRGB: read R'G'B' in the image's own space (grayscale:
     * Y' repeated, which GEGL turns back into Y' on writing) */
    const Babl *fmt = gray ? babl_format("R'G'B'A float")
                           : babl_format_with_space("R'G'B'A float", gimp_drawable_get_format(drawable));
    size_t n = (size_t)w * h;
    float *rgba = g_try_malloc(n * 4 * sizeof *rgba);
    float *mask = g_try_malloc(n * sizeof *mask);
    float *out = g_try_malloc(n * 4 * sizeof *out);
    GimpLayer *layer = NULL;
    sd_model *model = NULL;
    if (!rgba || !mask || !out) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Out of memory for a %d x %d region.", w, h);
        goto done;
    }

    GeglBuffer *src = gimp_drawable_get_buffer(drawable);
    GeglBuffer *selbuf = has_sel ? gimp_drawable_get_buffer(GIMP_DRAWABLE(gimp_image_get_selection(image)))
                                 : NULL;
    GeglRectangle src_rect = { r.rect.x - ox, r.rect.y - oy, w, h };
    GeglRectangle sel_rect = { r.rect.x, r.rect.y, w, h };
    gd_gegl_read_region(src, &src_rect, fmt, selbuf, &sel_rect, rgba, mask);
    g_object_unref(src);
    if (selbuf)
        g_object_unref(selbuf);
    if (gd_check_selection(mask, n, &err) != SD_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
        goto done;
    }

    gimp_progress_init("Stable Diffusion: loading the model");
    gimp_progress_pulse();
    if (gd_load_model(&cfg, &model, &err) != SD_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
        goto done;
    }
    gd_region_pixels in = { w, h, rgba, mask, r.open_edges };
    if (gd_generate_region(model, p, &in, out, on_progress, NULL, &err) != SD_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Stable Diffusion failed: %s", err.message);
        goto done;
    }

    /* The result is complete. The layer is filled while it is not yet in the image:
     * inserting it is the one step that changes the image (one undo step), so a plug-in
     * killed while writing leaves the image as it was. */
    char *json = gd_params_to_json(p, r.rect.x, r.rect.y, w, h, ww, wh);
    char name[128];
    gd_layer_name(p->prompt, name, sizeof name);
    layer = gimp_layer_new(image, name, w, h, gray ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE, 100.0,
                           GIMP_LAYER_MODE_NORMAL);
    gimp_layer_set_offsets(layer, r.rect.x, r.rect.y);
    GeglBuffer *dst = gimp_drawable_get_buffer(GIMP_DRAWABLE(layer));
    gd_gegl_write_layer(dst, fmt, out, w, h);
    g_object_unref(dst);
    if (json) {
        GimpParasite *para = gimp_parasite_new(GD_PARASITE_NAME,
                                               GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                                               (guint32)strlen(json) + 1, json);
        gimp_item_attach_parasite(GIMP_ITEM(layer), para);
        gimp_parasite_free(para);
        free(json);
    }
    GimpItem *parent = gimp_item_get_parent(GIMP_ITEM(drawable));
    gimp_image_undo_group_start(image);
    gimp_image_insert_layer(image, layer, parent ? GIMP_LAYER(parent) : NULL,
                            gimp_image_get_item_position(image, GIMP_ITEM(drawable)));
    gimp_image_undo_group_end(image);
    gimp_progress_end();

done:
    if (model)
        sd_model_free(model);
    g_free(rgba);
    g_free(mask);
    g_free(out);
    return layer;
}

static GimpValueArray *diffusion_run(GimpProcedure *procedure, GimpRunMode run_mode,
                                     GimpImage *image, GimpDrawable **drawables,
                                     GimpProcedureConfig *config, gpointer run_data)
{
    const gd_proc_info *info = run_data;
    GError *error = NULL;

    if (gimp_core_object_array_get_length((GObject **)drawables) != 1 ||
        !GIMP_IS_LAYER(drawables[0])) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0,
                    "%s works on one layer: select a single layer (not a mask or a channel).",
                    info->title);
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CALLING_ERROR, error);
    }
    if (run_mode == GIMP_RUN_INTERACTIVE && !show_dialog(procedure, config, info))
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CANCEL, NULL);

    run_args ra;
    read_arguments(config, info->mode, &ra);
    GimpLayer *layer = run_diffusion(image, drawables[0], &ra.p, &error);
    gint seed = (gint)ra.p.seed;
    g_ptr_array_free(ra.owned, TRUE);
    if (!layer)
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_EXECUTION_ERROR, error);

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
