/* GIMP 2.10 front end (libgimp-2.0): the same procedures, arguments and behaviour as the
 * GIMP 3 front end, with a hand-made GTK2 dialog and last values kept as JSON through
 * gimp_set_data. The work itself is host-neutral (../generate.c, ../region.c).
 * Nothing touches the image before the result is complete: GIMP kills a plug-in whose
 * progress is cancelled, and a killed run must leave the image as it was.
 */
#include <cjson/cJSON.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "config.h"
#include "gegl_io.h"
#include "generate.h"
#include "params.h"
#include "presets_gimp2.h"
#include "presets_glue.h"
#include "region.h"

#define PLUG_IN_BINARY "gimp-diffusion"
#define GD_N_FIXED 3 /* run-mode, image, drawable */

typedef struct {
    const char *proc;
    sd_mode mode;
    const char *label;
    const char *title;
    const char *blurb;
} gd_proc_info;

/* One row per procedure; "Apply Preset..." is registered by presets_gimp2.c. */
static const gd_proc_info gd_procs[] = {
    { GD_PROC_IMG2IMG, SD_MODE_IMG2IMG, "_Image to Image...", "Image to Image",
      "Repaint the selection (or the layer) guided by a prompt" },
    { GD_PROC_INPAINT, SD_MODE_INPAINT, "I_npaint Selection...", "Inpaint Selection",
      "Fill the selection with new content described by a prompt, matching its surroundings" },
    { GD_PROC_TXT2IMG, SD_MODE_TXT2IMG, "_Text to Image...", "Text to Image",
      "Paint a new picture described by a prompt into the selection" },
};

/* The value of one argument during a run; str is owned. */
typedef struct {
    double num;
    gchar *str;
} gd_value;

static int is_string_arg(const gd_arg *a)
{
    return a->type != GD_ARG_INT && a->type != GD_ARG_DOUBLE && a->type != GD_ARG_BOOL;
}

static void query(void)
{
    static const GimpParamDef fixed[GD_N_FIXED] = {
        { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
        { GIMP_PDB_IMAGE, "image", "Input image" },
        { GIMP_PDB_DRAWABLE, "drawable", "Input layer" },
    };
    static const GimpParamDef returns[] = {
        { GIMP_PDB_LAYER, "new-layer", "The layer holding the result" },
        { GIMP_PDB_INT32, "seed-used", "The seed of this run (to reproduce it)" },
    };
    GimpParamDef args[GD_N_FIXED + 32];

    for (gsize p = 0; p < G_N_ELEMENTS(gd_procs); p++) {
        int n = 0;
        for (; n < GD_N_FIXED; n++)
            args[n] = fixed[n];
        for (int i = 0; i < gd_n_args && n < (int)G_N_ELEMENTS(args); i++) {
            const gd_arg *a = &gd_args[i];
            if (!gd_arg_in_mode(a, gd_procs[p].mode))
                continue;
            args[n].type = a->type == GD_ARG_DOUBLE ? GIMP_PDB_FLOAT
                           : is_string_arg(a)       ? GIMP_PDB_STRING
                                                    : GIMP_PDB_INT32;
            args[n].name = (gchar *)a->name;
            args[n].description = (gchar *)a->blurb;
            n++;
        }
        gimp_install_procedure(gd_procs[p].proc, gd_procs[p].blurb,
                               "Runs Stable Diffusion 1.x on the CPU on the selection's bounding "
                               "box plus some context and puts the result in a new layer above "
                               "the active one, masked by the selection. The source layer is "
                               "never modified; the run is one undo step.",
                               "gimp-diffusion authors", "gimp-diffusion authors", "2026",
                               gd_procs[p].label, "RGB*, GRAY*", GIMP_PLUGIN, n,
                               G_N_ELEMENTS(returns), args, returns);
        gimp_plugin_menu_register(gd_procs[p].proc, GD_MENU_PATH);
    }
    gd2_preset_query();
}

static void values_defaults(gd_value *v, sd_mode mode)
{
    for (int i = 0; i < gd_n_args; i++) {
        v[i].num = gd_arg_default_number(&gd_args[i], mode);
        v[i].str = g_strdup(gd_arg_default_string(&gd_args[i], mode));
    }
}

static void values_free(gd_value *v)
{
    for (int i = 0; i < gd_n_args; i++)
        g_free(v[i].str);
}

static void set_str(gd_value *v, const char *s)
{
    g_free(v->str);
    v->str = g_strdup(s ? s : "");
}

/* Last values: a JSON object {name: number | string} kept by GIMP for the session. */
static void values_load_last(const char *proc, gd_value *v)
{
    gint size = gimp_get_data_size(proc);
    if (size <= 0)
        return;
    gchar *buf = g_malloc0((gsize)size + 1);
    gimp_get_data(proc, buf);
    cJSON *o = cJSON_Parse(buf);
    g_free(buf);
    for (int i = 0; o && i < gd_n_args; i++) {
        cJSON *it = cJSON_GetObjectItemCaseSensitive(o, gd_args[i].name);
        if (cJSON_IsNumber(it))
            v[i].num = it->valuedouble;
        else if (cJSON_IsString(it))
            set_str(&v[i], it->valuestring);
    }
    cJSON_Delete(o);
}

static void values_save_last(const char *proc, const gd_value *v, sd_mode mode)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < gd_n_args; i++) {
        if (!gd_arg_in_mode(&gd_args[i], mode))
            continue;
        if (is_string_arg(&gd_args[i]))
            cJSON_AddStringToObject(o, gd_args[i].name, v[i].str ? v[i].str : "");
        else
            cJSON_AddNumberToObject(o, gd_args[i].name, v[i].num);
    }
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    if (s)
        gimp_set_data(proc, s, (guint32)strlen(s) + 1);
    free(s);
    cJSON_Delete(o);
}

/* Non-interactive arguments, in table order after the fixed three. */
static gboolean values_from_params(const GimpParam *param, gint nparams, sd_mode mode, gd_value *v)
{
    int k = GD_N_FIXED;
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, mode))
            continue;
        if (k >= nparams)
            return FALSE;
        if (a->type == GD_ARG_DOUBLE)
            v[i].num = param[k].data.d_float;
        else if (is_string_arg(a))
            set_str(&v[i], param[k].data.d_string);
        else
            v[i].num = param[k].data.d_int32;
        if (!is_string_arg(a) && (v[i].num < a->min || v[i].num > a->max))
            return FALSE;
        k++;
    }
    return k == nparams;
}

/* ---- dialog ------------------------------------------------------------------------ */

typedef struct {
    GtkWidget *w[32];
} dialog_widgets;

static GtkWidget *make_widget(const gd_arg *a, const gd_value *v)
{
    switch (a->type) {
    case GD_ARG_TEXT: {
        GtkWidget *tv = gtk_text_view_new();
        gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(tv), GTK_WRAP_WORD);
        gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(tv)), v->str, -1);
        gtk_widget_set_size_request(tv, 360, 56);
        return tv;
    }
    case GD_ARG_STRING: {
        GtkWidget *e = gtk_entry_new();
        gtk_entry_set_text(GTK_ENTRY(e), v->str);
        return e;
    }
    case GD_ARG_INT:
    case GD_ARG_DOUBLE: {
        double step = a->type == GD_ARG_INT ? 1.0 : 0.05;
        GtkWidget *s = gtk_spin_button_new_with_range(a->min, a->max, step);
        gtk_spin_button_set_digits(GTK_SPIN_BUTTON(s), a->type == GD_ARG_INT ? 0 : 2);
        gtk_spin_button_set_value(GTK_SPIN_BUTTON(s), v->num);
        return s;
    }
    case GD_ARG_BOOL: {
        GtkWidget *c = gtk_check_button_new();
        gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(c), v->num != 0.0);
        return c;
    }
    case GD_ARG_SAMPLER: {
        GtkWidget *c = gtk_combo_box_text_new();
        for (int s = 0; s < SD_SAMPLER_COUNT; s++) {
            gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(c), sd_sampler_name((sd_sampler)s));
            if (!g_strcmp0(v->str, sd_sampler_name((sd_sampler)s)))
                gtk_combo_box_set_active(GTK_COMBO_BOX(c), s);
        }
        return c;
    }
    case GD_ARG_FILE:
    case GD_ARG_FOLDER: {
        GtkWidget *fc = gtk_file_chooser_button_new(a->nick, a->type == GD_ARG_FILE
                                                                 ? GTK_FILE_CHOOSER_ACTION_OPEN
                                                                 : GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
        if (v->str && *v->str)
            gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(fc), v->str);
        return fc;
    }
    }
    return NULL;
}

static void read_widget(const gd_arg *a, GtkWidget *wdg, gd_value *v)
{
    switch (a->type) {
    case GD_ARG_TEXT: {
        GtkTextBuffer *b = gtk_text_view_get_buffer(GTK_TEXT_VIEW(wdg));
        GtkTextIter s, e;
        gtk_text_buffer_get_bounds(b, &s, &e);
        gchar *t = gtk_text_buffer_get_text(b, &s, &e, FALSE);
        set_str(v, t);
        g_free(t);
        break;
    }
    case GD_ARG_STRING:
        set_str(v, gtk_entry_get_text(GTK_ENTRY(wdg)));
        break;
    case GD_ARG_INT:
    case GD_ARG_DOUBLE:
        v->num = gtk_spin_button_get_value(GTK_SPIN_BUTTON(wdg));
        break;
    case GD_ARG_BOOL:
        v->num = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(wdg));
        break;
    case GD_ARG_SAMPLER: {
        gchar *t = gtk_combo_box_text_get_active_text(GTK_COMBO_BOX_TEXT(wdg));
        if (t)
            set_str(v, t);
        g_free(t);
        break;
    }
    case GD_ARG_FILE:
    case GD_ARG_FOLDER: {
        gchar *f = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(wdg));
        if (f)
            set_str(v, f);
        g_free(f);
        break;
    }
    }
}

/* The seed is only used when "random seed" is off. */
static void on_random_toggled(GtkToggleButton *random, gpointer seed_widget)
{
    gtk_widget_set_sensitive(GTK_WIDGET(seed_widget), !gtk_toggle_button_get_active(random));
}

static gboolean show_dialog(const gd_proc_info *info, gd_value *v)
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

    dialog_widgets dw = { { 0 } };
    guint row = 0;
    for (int i = 0; i < gd_n_args && i < (int)G_N_ELEMENTS(dw.w); i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, info->mode))
            continue;
        GtkWidget *label = gtk_label_new_with_mnemonic(a->nick);
        gtk_misc_set_alignment(GTK_MISC(label), 0.0, 0.5);
        dw.w[i] = make_widget(a, &v[i]);
        gtk_label_set_mnemonic_widget(GTK_LABEL(label), dw.w[i]);
        gtk_widget_set_tooltip_text(dw.w[i], a->blurb);
        gtk_table_attach(GTK_TABLE(table), label, 0, 1, row, row + 1, GTK_FILL, GTK_FILL, 0, 0);
        gtk_table_attach(GTK_TABLE(table), dw.w[i], 1, 2, row, row + 1, GTK_EXPAND | GTK_FILL,
                         GTK_FILL, 0, 0);
        row++;
    }
    GtkWidget *seed_w = NULL, *random_w = NULL;
    for (int i = 0; i < gd_n_args && i < (int)G_N_ELEMENTS(dw.w); i++) {
        if (!strcmp(gd_args[i].name, "seed"))
            seed_w = dw.w[i];
        else if (!strcmp(gd_args[i].name, "random-seed"))
            random_w = dw.w[i];
    }
    if (seed_w && random_w) {
        g_signal_connect(random_w, "toggled", G_CALLBACK(on_random_toggled), seed_w);
        on_random_toggled(GTK_TOGGLE_BUTTON(random_w), seed_w);
    }
    gd2_preset_row_attach(GTK_DIALOG(dialog), info->mode, dw.w);
    gtk_widget_show_all(dialog);

    gboolean ok = gimp_dialog_run(GIMP_DIALOG(dialog)) == GTK_RESPONSE_OK;
    if (ok)
        for (int i = 0; i < gd_n_args && i < (int)G_N_ELEMENTS(dw.w); i++)
            if (dw.w[i])
                read_widget(&gd_args[i], dw.w[i], &v[i]);
    gtk_widget_destroy(dialog);
    return ok;
}

/* ---- the run ----------------------------------------------------------------------- */

static int on_progress(void *user, double fraction, const char *text)
{
    (void)user;
    gimp_progress_set_text(text);
    gimp_progress_update(fraction);
    return 0; /* GIMP cancels by killing the plug-in */
}

/* Runs the engine and adds the result layer; returns its ID, or -1 with *msg set. */
static gint32 run_diffusion(gint32 image, gint32 drawable, gd_params *p, gchar **msg)
{
    if (gimp_image_base_type(image) == GIMP_INDEXED) {
        *msg = g_strdup("Indexed images are not supported: their palette cannot hold generated "
                        "colours. Convert the image with Image > Mode > RGB first.");
        return -1;
    }
    gboolean gray = gimp_image_base_type(image) == GIMP_GRAY;

    gboolean has_sel = FALSE;
    gint sx1, sy1, sx2, sy2, ox, oy;
    gimp_selection_bounds(image, &has_sel, &sx1, &sy1, &sx2, &sy2);
    gimp_drawable_offsets(drawable, &ox, &oy);
    region_rect sel = { sx1, sy1, sx2 - sx1, sy2 - sy1 };
    region_rect drw = { ox, oy, gimp_drawable_width(drawable), gimp_drawable_height(drawable) };
    region r;
    if (!region_compute(has_sel ? &sel : NULL, &drw, gimp_image_width(image),
                        gimp_image_height(image), p->padding, &r)) {
        *msg = g_strdup("The selection does not touch the active layer inside the canvas.");
        return -1;
    }
    int w = r.rect.width, h = r.rect.height, ww, wh;
    region_work_size(w, h, p->work_size, &ww, &wh);
    sd_error err = { 0 };
    if (gd_check_memory(w, h, ww, wh, &err) != SD_OK) {
        *msg = g_strdup(err.message);
        return -1;
    }

    gd_config cfg;
    gd_config_resolve(p->model_path, p->vocab_path, &cfg);
    if (*cfg.warning)
        g_message("%s", cfg.warning);
    p->model_path = cfg.model;
    p->vocab_path = cfg.vocab;
    if (p->random_seed)
        p->seed = (uint64_t)g_random_int_range(0, GD_SEED_MAX);

    /* SD was trained on non-linear sRGB; for grayscale GEGL repeats Y' into R'G'B' and
     * turns it back into Y' on writing */
    const Babl *fmt = babl_format("R'G'B'A float");
    size_t n = (size_t)w * h;
    float *rgba = g_try_malloc(n * 4 * sizeof *rgba);
    float *mask = g_try_malloc(n * sizeof *mask);
    float *out = g_try_malloc(n * 4 * sizeof *out);
    gint32 layer = -1;
    sd_model *model = NULL;
    if (!rgba || !mask || !out) {
        *msg = g_strdup_printf("Out of memory for a %d x %d region.", w, h);
        goto done;
    }

    GeglBuffer *src = gimp_drawable_get_buffer(drawable);
    GeglBuffer *selbuf = has_sel ? gimp_drawable_get_buffer(gimp_image_get_selection(image)) : NULL;
    GeglRectangle src_rect = { r.rect.x - ox, r.rect.y - oy, w, h };
    GeglRectangle sel_rect = { r.rect.x, r.rect.y, w, h };
    gd_gegl_read_region(src, &src_rect, fmt, selbuf, &sel_rect, rgba, mask);
    g_object_unref(src);
    if (selbuf)
        g_object_unref(selbuf);
    if (gd_check_selection(mask, n, &err) != SD_OK) {
        *msg = g_strdup(err.message);
        goto done;
    }

    gimp_progress_init("Stable Diffusion: loading the model");
    gimp_progress_pulse();
    if (gd_load_model(&cfg, &model, &err) != SD_OK) {
        *msg = g_strdup(err.message);
        goto done;
    }
    gd_region_pixels in = { w, h, rgba, mask, r.open_edges };
    if (gd_generate_region(model, p, &in, out, on_progress, NULL, &err) != SD_OK) {
        *msg = g_strdup_printf("Stable Diffusion failed: %s", err.message);
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
    GeglBuffer *dst = gimp_drawable_get_buffer(layer);
    gd_gegl_write_layer(dst, fmt, out, w, h);
    g_object_unref(dst);
    if (json) {
        GimpParasite *para = gimp_parasite_new(GD_PARASITE_NAME,
                                               GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                                               (guint32)strlen(json) + 1, json);
        gimp_item_attach_parasite(layer, para);
        gimp_parasite_free(para);
        free(json);
    }
    gimp_image_undo_group_start(image);
    gimp_image_insert_layer(image, layer, gimp_item_get_parent(drawable),
                            gimp_image_get_item_position(image, drawable));
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

static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                GimpParam **return_vals)
{
    static GimpParam values[3];
    static gchar *message;
    *nreturn_vals = 1;
    *return_vals = values;
    values[0].type = GIMP_PDB_STATUS;
    values[0].data.d_status = GIMP_PDB_CALLING_ERROR;

    const gd_proc_info *info = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(gd_procs); i++)
        if (!strcmp(name, gd_procs[i].proc))
            info = &gd_procs[i];
    if (!strcmp(name, GD_PROC_PRESET) && nparams >= GD_N_FIXED) {
        gint32 layer = -1;
        gint seed = 0;
        gegl_init(NULL, NULL);
        g_free(message);
        message = NULL;
        GimpPDBStatusType status = gd2_preset_run(nparams, param, run_diffusion, &layer, &seed,
                                                  &message);
        set_return_values(values, nreturn_vals, status, layer, seed, message);
        return;
    }
    if (!info || nparams < GD_N_FIXED)
        return;

    GimpRunMode run_mode = param[0].data.d_int32;
    gint32 image = param[1].data.d_image;
    gint32 drawable = param[2].data.d_drawable;
    gegl_init(NULL, NULL); /* libgimp 2.0 leaves GEGL to the plug-in */

    g_free(message);
    message = NULL;
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;
    gd_value v[32];
    values_defaults(v, info->mode);
    if (!gimp_item_is_layer(drawable)) {
        message = g_strdup_printf("%s works on one layer: select a layer (not a mask or a channel).",
                                  info->title);
        status = GIMP_PDB_CALLING_ERROR;
    } else if (run_mode == GIMP_RUN_NONINTERACTIVE) {
        if (!values_from_params(param, nparams, info->mode, v)) {
            message = g_strdup("Wrong number of arguments or a value out of range.");
            status = GIMP_PDB_CALLING_ERROR;
        }
    } else {
        values_load_last(info->proc, v);
        if (run_mode == GIMP_RUN_INTERACTIVE && !show_dialog(info, v))
            status = GIMP_PDB_CANCEL;
    }

    gint32 layer = -1;
    gint seed = 0;
    if (status == GIMP_PDB_SUCCESS) {
        gd_params p;
        gd_params_defaults(&p, info->mode);
        for (int i = 0; i < gd_n_args; i++) {
            if (!gd_arg_in_mode(&gd_args[i], info->mode))
                continue;
            if (is_string_arg(&gd_args[i]))
                gd_params_set_string(&p, gd_args[i].name, v[i].str);
            else
                gd_params_set_number(&p, gd_args[i].name, v[i].num);
        }
        layer = run_diffusion(image, drawable, &p, &message);
        seed = (gint)p.seed;
        if (layer == -1) {
            status = GIMP_PDB_EXECUTION_ERROR;
        } else {
            for (int i = 0; i < gd_n_args; i++)
                if (!strcmp(gd_args[i].name, "seed"))
                    v[i].num = seed; /* unticking "random seed" then repeats this run */
            if (run_mode != GIMP_RUN_NONINTERACTIVE)
                gimp_displays_flush();
            values_save_last(info->proc, v, info->mode);
        }
    }
    values_free(v);

    set_return_values(values, nreturn_vals, status, layer, seed, message);
}

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN()
