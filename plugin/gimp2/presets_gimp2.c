#include "presets_gimp2.h"

#include <cjson/cJSON.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "args_gimp2.h"
#include "host_common.h"
#include "presets_glue.h"

#define PLUG_IN_BINARY "gimp-diffusion"

/* ---- the preset row of the procedures' dialogs (behaviour: ../host_common.c) ------------ */

/* Save as Preset's question, laid out with GTK 2's table. */
static void ask_name_layout(GtkDialog *dialog, GtkWidget *name_entry, GtkWidget *desc_entry,
                            GtkWidget *note)
{
    gtk_dialog_set_alternative_button_order(dialog, GTK_RESPONSE_OK, GTK_RESPONSE_CANCEL, -1);
    GtkWidget *table = gtk_table_new(3, 2, FALSE);
    gtk_table_set_row_spacings(GTK_TABLE(table), 4);
    gtk_table_set_col_spacings(GTK_TABLE(table), 8);
    gtk_container_set_border_width(GTK_CONTAINER(table), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(dialog)), table, TRUE, TRUE, 0);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 0, "_Name:", 0.0, 0.5, name_entry, 1, FALSE);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 1, "_Description:", 0.0, 0.5, desc_entry, 1,
                              FALSE);
    gtk_misc_set_alignment(GTK_MISC(note), 0.0, 0.5);
    gtk_table_attach(GTK_TABLE(table), note, 0, 2, 2, 3, GTK_FILL, GTK_FILL, 0, 0);
}

void gd2_preset_row_attach(GtkDialog *dialog, sd_mode mode, GtkWidget *const *widgets)
{
    GtkWidget *box = gtk_hbox_new(FALSE, 8);
    gtk_container_set_border_width(GTK_CONTAINER(box), 12);
    GtkWidget *label = gtk_label_new_with_mnemonic("Pre_set:");
    GtkWidget *combo = gtk_combo_box_text_new();
    gtk_label_set_mnemonic_widget(GTK_LABEL(label), combo);
    /* every letter of this label is some field's mnemonic already */
    GtkWidget *save = gtk_button_new_with_label("Save as Preset...");
    gtk_widget_set_tooltip_text(save, "Save the dialog's values as a preset in your GIMP profile");
    gtk_box_pack_start(GTK_BOX(box), label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), combo, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), save, FALSE, FALSE, 0);
    gd_form form = { (void *)widgets, gd2_widgets_read, gd2_widgets_write };
    gd_gtk_preset_row_connect(box, combo, save, mode, &form, ask_name_layout);
    GtkWidget *content = gtk_dialog_get_content_area(dialog);
    gtk_box_pack_start(GTK_BOX(content), box, FALSE, FALSE, 0);
    gtk_box_reorder_child(GTK_BOX(content), box, 0);
    gtk_widget_show_all(box);
}

/* ---- Apply Preset... -------------------------------------------------------------------- */

enum { A_PRESET, A_SUBJECT, A_MODE, A_MODEL, A_VOCAB, A_COUNT };

static const char *const apply_names[A_COUNT] = { "preset", "subject", "mode", "model", "vocab" };

static const char *arg_blurb(const char *name)
{
    const gd_arg *a = gd_arg_find(name);
    return a ? a->blurb : "";
}

void gd2_preset_query(void)
{
    static const GimpParamDef own[A_COUNT] = {
        { GIMP_PDB_STRING, "preset", GD_PRESET_ARG_PRESET },
        { GIMP_PDB_STRING, "subject", GD_PRESET_ARG_SUBJECT },
        { GIMP_PDB_STRING, "mode", GD_PRESET_ARG_MODE },
        { GIMP_PDB_STRING, "model", NULL },
        { GIMP_PDB_STRING, "vocab", NULL },
    };
    GimpParamDef args[GD_N_FIXED + GD_N_ARGS_MAX];
    int n = gd2_param_defs(-1, args); /* the fixed three */
    memcpy(&args[n], own, sizeof own);
    args[n + A_MODEL].description = (gchar *)arg_blurb("model");
    args[n + A_VOCAB].description = (gchar *)arg_blurb("vocab");
    gimp_install_procedure(GD_PROC_PRESET, GD_PRESET_BLURB, GD_PRESET_HELP, GD_ATTRIBUTION,
                           GD_ATTRIBUTION, GD_DATE, "Apply _Preset...", "RGB*, GRAY*",
                           GIMP_PLUGIN, n + A_COUNT, G_N_ELEMENTS(gd2_return_defs), args,
                           gd2_return_defs);
    gimp_plugin_menu_register(GD_PROC_PRESET, GD_MENU_PATH);
}

static void apply_set(gchar **v, int k, const char *s)
{
    g_free(v[k]);
    v[k] = g_strdup(s ? s : "");
}

/* Last values: {"preset": ..., "subject": ..., ...} kept by GIMP for the session. */
static void apply_load_last(gchar **v)
{
    gint size = gimp_get_data_size(GD_PROC_PRESET);
    if (size <= 0)
        return;
    gchar *buf = g_malloc0((gsize)size + 1);
    gimp_get_data(GD_PROC_PRESET, buf);
    cJSON *o = cJSON_Parse(buf);
    g_free(buf);
    for (int k = 0; o && k < A_COUNT; k++) {
        cJSON *it = cJSON_GetObjectItemCaseSensitive(o, apply_names[k]);
        if (cJSON_IsString(it))
            apply_set(v, k, it->valuestring);
    }
    cJSON_Delete(o);
}

static void apply_save_last(gchar **v)
{
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; o && k < A_COUNT; k++)
        cJSON_AddStringToObject(o, apply_names[k], v[k]);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    if (s)
        gimp_set_data(GD_PROC_PRESET, s, (guint32)strlen(s) + 1);
    free(s);
    cJSON_Delete(o);
}

static void on_apply_preset_changed(GtkComboBox *combo, gpointer about)
{
    const sd_preset_list *l = g_object_get_data(G_OBJECT(combo), "list");
    gd_gtk_show_preset(GTK_LABEL(about), gd_gtk_active_preset(GTK_WIDGET(combo), l));
}

static GtkWidget *apply_file_chooser(const char *name, const char *value, gboolean folder)
{
    GtkWidget *fc = gtk_file_chooser_button_new(name, folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                             : GTK_FILE_CHOOSER_ACTION_OPEN);
    if (value && *value)
        gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(fc), value);
    gtk_widget_set_tooltip_text(fc, arg_blurb(name));
    return fc;
}

static gboolean apply_dialog(const sd_preset_list *l, gchar **v)
{
    gimp_ui_init(PLUG_IN_BINARY, FALSE);
    GtkWidget *dialog = gimp_dialog_new("Apply Preset", PLUG_IN_BINARY, NULL, 0,
                                        gimp_standard_help_func, GD_PROC_PRESET, "_Cancel",
                                        GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
    gtk_dialog_set_alternative_button_order(GTK_DIALOG(dialog), GTK_RESPONSE_OK,
                                            GTK_RESPONSE_CANCEL, -1);
    gimp_window_set_transient(GTK_WINDOW(dialog));
    GtkWidget *table = gtk_table_new(6, 2, FALSE);
    gtk_table_set_row_spacings(GTK_TABLE(table), 4);
    gtk_table_set_col_spacings(GTK_TABLE(table), 8);
    gtk_container_set_border_width(GTK_CONTAINER(table), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dialog))), table, TRUE,
                       TRUE, 0);

    GtkWidget *combo = gtk_combo_box_text_new();
    gd_gtk_fill_presets(GTK_COMBO_BOX_TEXT(combo), l, v[A_PRESET]);
    if (gtk_combo_box_get_active(GTK_COMBO_BOX(combo)) < 0)
        gtk_combo_box_set_active(GTK_COMBO_BOX(combo), 0);
    GtkWidget *about = gtk_label_new("");
    gtk_label_set_line_wrap(GTK_LABEL(about), TRUE);
    gtk_widget_set_size_request(about, 360, -1);
    gtk_misc_set_alignment(GTK_MISC(about), 0.0, 0.5);
    g_object_set_data(G_OBJECT(combo), "list", (gpointer)l);
    g_signal_connect(combo, "changed", G_CALLBACK(on_apply_preset_changed), about);
    on_apply_preset_changed(GTK_COMBO_BOX(combo), about);

    GtkWidget *subject = gtk_entry_new();
    gtk_entry_set_text(GTK_ENTRY(subject), v[A_SUBJECT]);
    gtk_widget_set_tooltip_text(subject, "Fills the preset's {prompt} placeholder");
    GtkWidget *mode = gtk_combo_box_text_new();
    for (int m = 0; m < gd_n_preset_modes; m++) {
        gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(mode), gd_preset_modes[m].label);
        if (!strcmp(v[A_MODE], gd_preset_modes[m].id) || (m == 0 && !*v[A_MODE]))
            gtk_combo_box_set_active(GTK_COMBO_BOX(mode), m);
    }
    GtkWidget *model = apply_file_chooser("model", v[A_MODEL], FALSE);
    GtkWidget *vocab = apply_file_chooser("vocab", v[A_VOCAB], TRUE);

    gimp_table_attach_aligned(GTK_TABLE(table), 0, 0, "_Preset:", 0.0, 0.5, combo, 1, FALSE);
    gtk_table_attach(GTK_TABLE(table), about, 1, 2, 1, 2, GTK_FILL, GTK_FILL, 0, 0);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 2, "_Subject:", 0.0, 0.5, subject, 1, FALSE);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 3, "_Mode:", 0.0, 0.5, mode, 1, FALSE);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 4, "Model chec_kpoint:", 0.0, 0.5, model, 1, FALSE);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 5, "_Vocabulary:", 0.0, 0.5, vocab, 1, FALSE);
    gtk_widget_show_all(dialog);

    gboolean ok = gimp_dialog_run(GIMP_DIALOG(dialog)) == GTK_RESPONSE_OK;
    if (ok) {
        gchar *s = gtk_combo_box_text_get_active_text(GTK_COMBO_BOX_TEXT(combo));
        apply_set(v, A_PRESET, s);
        g_free(s);
        apply_set(v, A_SUBJECT, gtk_entry_get_text(GTK_ENTRY(subject)));
        gint m = gtk_combo_box_get_active(GTK_COMBO_BOX(mode));
        apply_set(v, A_MODE, gd_preset_modes[m < 0 ? 0 : m].id);
        s = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(model));
        apply_set(v, A_MODEL, s);
        g_free(s);
        s = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(vocab));
        apply_set(v, A_VOCAB, s);
        g_free(s);
    }
    gtk_widget_destroy(dialog);
    return ok;
}

GimpPDBStatusType gd2_preset_run(gint nparams, const GimpParam *param, gd2_run_fn run,
                                 gint32 *layer, gint *seed, gchar **message)
{
    GimpRunMode run_mode = param[0].data.d_int32;
    gint32 image = param[1].data.d_image, drawable = param[2].data.d_drawable;
    gchar *v[A_COUNT];
    for (int k = 0; k < A_COUNT; k++)
        v[k] = g_strdup(k == A_MODE ? GD_PRESET_MODE_AUTO : "");
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;
    gd_preset_dirs dirs;
    sd_preset_list *l = NULL;

    if (!gimp_item_is_layer(drawable)) {
        *message = g_strdup("Apply Preset works on one layer: select a layer (not a mask or a channel).");
        status = GIMP_PDB_CALLING_ERROR;
    } else if (run_mode == GIMP_RUN_NONINTERACTIVE) {
        if (nparams != GD_N_FIXED + A_COUNT) {
            *message = g_strdup("Wrong number of arguments.");
            status = GIMP_PDB_CALLING_ERROR;
        }
        for (int k = 0; status == GIMP_PDB_SUCCESS && k < A_COUNT; k++)
            apply_set(v, k, param[GD_N_FIXED + k].data.d_string);
    } else {
        apply_load_last(v);
    }
    sd_error err = { 0 };
    if (status == GIMP_PDB_SUCCESS) {
        l = gd_host_load_presets(&dirs, run_mode == GIMP_RUN_INTERACTIVE, &err);
        if (!l) {
            *message = g_strdup_printf("Presets could not be read: %s", err.message);
            status = GIMP_PDB_EXECUTION_ERROR;
        }
    }
    if (status == GIMP_PDB_SUCCESS && run_mode == GIMP_RUN_INTERACTIVE) {
        if (sd_preset_list_count(l) == 0) {
            *message = g_strdup_printf("No presets were found in %s or %s.", dirs.shipped, dirs.user);
            status = GIMP_PDB_EXECUTION_ERROR;
        } else if (!apply_dialog(l, v)) {
            status = GIMP_PDB_CANCEL;
        }
    }
    if (status == GIMP_PDB_SUCCESS) {
        gd_preset_call call = { v[A_PRESET], v[A_SUBJECT], v[A_MODE], v[A_MODEL], v[A_VOCAB] };
        gd_params p;
        gd_preset_strings strings;
        sd_status st = gd_preset_prepare(l, &call, &p, &strings, &err);
        if (st != SD_OK) {
            *message = g_strdup(err.message);
            status = st == SD_ERR_INVALID_ARG ? GIMP_PDB_CALLING_ERROR : GIMP_PDB_EXECUTION_ERROR;
        } else {
            *layer = run(image, drawable, &p, message);
            *seed = (gint)p.seed;
            status = *layer == -1 ? GIMP_PDB_EXECUTION_ERROR : GIMP_PDB_SUCCESS;
            gd_preset_strings_free(&strings);
        }
    }
    if (status == GIMP_PDB_SUCCESS) {
        if (run_mode != GIMP_RUN_NONINTERACTIVE)
            gimp_displays_flush();
        apply_save_last(v);
    }
    sd_preset_list_free(l);
    for (int k = 0; k < A_COUNT; k++)
        g_free(v[k]);
    return status;
}
