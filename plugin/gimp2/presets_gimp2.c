#include "presets_gimp2.h"

#include <cjson/cJSON.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "presets_glue.h"

#define PLUG_IN_BINARY "gimp-diffusion"

/* ---- shared --------------------------------------------------------------------------- */

static sd_preset_list *load_presets(gd_preset_dirs *dirs, gboolean interactive)
{
    sd_preset_list *l = NULL;
    sd_error err = { 0 };
    gd_preset_dirs_init(dirs, gimp_directory());
    if (gd_presets_load(dirs, &l, &err) != SD_OK) {
        g_message("Presets could not be read: %s", err.message);
        return NULL;
    }
    char *errors = interactive ? gd_presets_errors_text(l) : NULL;
    if (errors)
        g_message("Some presets were skipped:\n%s", errors);
    free(errors);
    return l;
}

static void fill_preset_combo(GtkComboBoxText *combo, const sd_preset_list *l, const char *active)
{
    gtk_list_store_clear(GTK_LIST_STORE(gtk_combo_box_get_model(GTK_COMBO_BOX(combo))));
    for (int i = 0; l && i < sd_preset_list_count(l); i++) {
        const char *name = sd_preset_name(sd_preset_list_at(l, i));
        gtk_combo_box_text_append_text(combo, name);
        if (active && !g_ascii_strcasecmp(name, active))
            gtk_combo_box_set_active(GTK_COMBO_BOX(combo), i);
    }
}

static const sd_preset *active_preset(GtkWidget *combo, const sd_preset_list *l)
{
    gchar *name = gtk_combo_box_text_get_active_text(GTK_COMBO_BOX_TEXT(combo));
    const sd_preset *p = name && l ? sd_preset_list_find(l, name) : NULL;
    g_free(name);
    return p;
}

/* ---- the preset row of the procedures' dialogs ---------------------------------------- */

typedef struct {
    sd_mode mode;
    GtkWidget *const *widgets; /* gd_args order */
    GtkWidget *combo;
    gd_preset_dirs dirs;
    sd_preset_list *list;
    gd_preset_picker picker;
} preset_row;

static void row_free(gpointer data)
{
    preset_row *row = data;
    sd_preset_list_free(row->list);
    gd_preset_picker_clear(&row->picker);
    g_free(row);
}

/* The dialog's values; strings are owned by `owned`. */
static void widgets_read(const preset_row *row, gd_params *p, GPtrArray *owned)
{
    gd_params_defaults(p, row->mode);
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        GtkWidget *w = row->widgets[i];
        if (!w)
            continue;
        gchar *s = NULL;
        switch (a->type) {
        case GD_ARG_TEXT: {
            GtkTextBuffer *b = gtk_text_view_get_buffer(GTK_TEXT_VIEW(w));
            GtkTextIter start, end;
            gtk_text_buffer_get_bounds(b, &start, &end);
            s = gtk_text_buffer_get_text(b, &start, &end, FALSE);
            break;
        }
        case GD_ARG_STRING:
            s = g_strdup(gtk_entry_get_text(GTK_ENTRY(w)));
            break;
        case GD_ARG_SAMPLER:
            s = gtk_combo_box_text_get_active_text(GTK_COMBO_BOX_TEXT(w));
            break;
        case GD_ARG_FILE:
        case GD_ARG_FOLDER:
            s = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(w));
            break;
        case GD_ARG_INT:
        case GD_ARG_DOUBLE:
            gd_params_set_number(p, a->name, gtk_spin_button_get_value(GTK_SPIN_BUTTON(w)));
            continue;
        case GD_ARG_BOOL:
            gd_params_set_number(p, a->name, gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(w)));
            continue;
        }
        if (s) {
            g_ptr_array_add(owned, s);
            gd_params_set_string(p, a->name, s);
        }
    }
}

static void widgets_write(const preset_row *row, const gd_params *p)
{
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        GtkWidget *w = row->widgets[i];
        if (!w)
            continue;
        const char *s = gd_param_string(p, a->name);
        switch (a->type) {
        case GD_ARG_TEXT:
            gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(w)), s, -1);
            break;
        case GD_ARG_STRING:
            gtk_entry_set_text(GTK_ENTRY(w), s);
            break;
        case GD_ARG_SAMPLER:
            gtk_combo_box_set_active(GTK_COMBO_BOX(w), sd_sampler_from_name(s));
            break;
        case GD_ARG_FILE:
        case GD_ARG_FOLDER:
            if (*s)
                gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(w), s);
            break;
        case GD_ARG_INT:
        case GD_ARG_DOUBLE:
            gtk_spin_button_set_value(GTK_SPIN_BUTTON(w), gd_param_number(p, a->name));
            break;
        case GD_ARG_BOOL:
            gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(w), gd_param_number(p, a->name) != 0.0);
            break;
        }
    }
}

static void set_combo_tooltip(GtkWidget *combo, const sd_preset *preset)
{
    gchar *tip = preset ? g_strdup_printf("%s\n%s", sd_preset_description(preset),
                                          sd_preset_source(preset))
                        : NULL;
    gtk_widget_set_tooltip_text(combo, tip ? tip : "Fills the fields from a saved preset");
    g_free(tip);
}

/* A preset picked: the fields it gives change, the others keep what the user set. */
static void on_preset_picked(GtkComboBox *combo, gpointer data)
{
    preset_row *row = data;
    const sd_preset *preset = active_preset(GTK_WIDGET(combo), row->list);
    set_combo_tooltip(GTK_WIDGET(combo), preset);
    if (!preset)
        return;
    GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
    gd_params p;
    gd_preset_strings strings;
    sd_error err = { 0 };
    widgets_read(row, &p, owned);
    const char *prompt = gd_preset_picker_prompt(&row->picker, preset, p.prompt);
    if (prompt && gd_preset_apply_params(preset, "", 0, &p, &strings, &err) == SD_OK) {
        p.prompt = prompt;
        widgets_write(row, &p);
        gd_preset_strings_free(&strings);
    } else {
        g_message("The preset \"%s\" could not be applied: %s", sd_preset_name(preset),
                  prompt ? err.message : "out of memory");
    }
    g_ptr_array_free(owned, TRUE);
}

/* Asks for the name and description; FALSE when cancelled. */
static gboolean ask_preset_name(GtkWidget *parent, const char *initial, gchar **name,
                                gchar **description)
{
    GtkWidget *dialog = gimp_dialog_new("Save as Preset", PLUG_IN_BINARY, parent, GTK_DIALOG_MODAL,
                                        gimp_standard_help_func, GD_PROC_PRESET, "_Cancel",
                                        GTK_RESPONSE_CANCEL, "_Save", GTK_RESPONSE_OK, NULL);
    gtk_dialog_set_alternative_button_order(GTK_DIALOG(dialog), GTK_RESPONSE_OK,
                                            GTK_RESPONSE_CANCEL, -1);
    gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
    GtkWidget *table = gtk_table_new(3, 2, FALSE);
    gtk_table_set_row_spacings(GTK_TABLE(table), 4);
    gtk_table_set_col_spacings(GTK_TABLE(table), 8);
    gtk_container_set_border_width(GTK_CONTAINER(table), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dialog))), table, TRUE,
                       TRUE, 0);
    GtkWidget *name_entry = gtk_entry_new();
    gtk_entry_set_text(GTK_ENTRY(name_entry), initial ? initial : "");
    gtk_entry_set_activates_default(GTK_ENTRY(name_entry), TRUE);
    GtkWidget *desc_entry = gtk_entry_new();
    gtk_entry_set_activates_default(GTK_ENTRY(desc_entry), TRUE);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 0, "_Name:", 0.0, 0.5, name_entry, 1, FALSE);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 1, "_Description:", 0.0, 0.5, desc_entry, 1,
                              FALSE);
    GtkWidget *note = gtk_label_new("A preset of the same name as a shipped one replaces it; "
                                    "type {prompt} in the prompt where the subject goes.");
    gtk_label_set_line_wrap(GTK_LABEL(note), TRUE);
    gtk_misc_set_alignment(GTK_MISC(note), 0.0, 0.5);
    gtk_table_attach(GTK_TABLE(table), note, 0, 2, 2, 3, GTK_FILL, GTK_FILL, 0, 0);
    gtk_widget_show_all(dialog);

    gboolean ok = FALSE;
    while (!ok && gimp_dialog_run(GIMP_DIALOG(dialog)) == GTK_RESPONSE_OK) {
        *name = g_strstrip(g_strdup(gtk_entry_get_text(GTK_ENTRY(name_entry))));
        *description = g_strstrip(g_strdup(gtk_entry_get_text(GTK_ENTRY(desc_entry))));
        ok = **name != '\0';
        if (!ok) {
            g_free(*name);
            g_free(*description);
            gtk_widget_grab_focus(name_entry);
        }
    }
    gtk_widget_destroy(dialog);
    return ok;
}

static void on_save_clicked(GtkButton *button, gpointer data)
{
    preset_row *row = data;
    const sd_preset *current = active_preset(row->combo, row->list);
    gchar *name = NULL, *description = NULL;
    if (!ask_preset_name(gtk_widget_get_toplevel(GTK_WIDGET(button)),
                         current ? sd_preset_name(current) : NULL, &name, &description))
        return;

    GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
    gd_params p;
    widgets_read(row, &p, owned);
    sd_preset *preset = NULL;
    sd_error err = { 0 };
    char path[GD_PATH_MAX];
    if (gd_preset_from_params(name, description, &p, &preset, &err) != SD_OK ||
        gd_preset_save_user(&row->dirs, preset, path, sizeof path, &err) != SD_OK) {
        g_message("The preset \"%s\" could not be saved: %s", name, err.message);
    } else {
        sd_preset_list_free(row->list);
        row->list = load_presets(&row->dirs, TRUE);
        /* show the new preset without applying it: the fields already hold it */
        g_signal_handlers_block_by_func(row->combo, on_preset_picked, row);
        fill_preset_combo(GTK_COMBO_BOX_TEXT(row->combo), row->list, name);
        g_signal_handlers_unblock_by_func(row->combo, on_preset_picked, row);
        set_combo_tooltip(row->combo, active_preset(row->combo, row->list));
        gd_preset_picker_clear(&row->picker);
    }
    sd_preset_free(preset);
    g_ptr_array_free(owned, TRUE);
    g_free(name);
    g_free(description);
}

void gd2_preset_row_attach(GtkDialog *dialog, sd_mode mode, GtkWidget *const *widgets)
{
    preset_row *row = g_new0(preset_row, 1);
    row->mode = mode;
    row->widgets = widgets;
    row->list = load_presets(&row->dirs, TRUE);

    GtkWidget *box = gtk_hbox_new(FALSE, 8);
    gtk_container_set_border_width(GTK_CONTAINER(box), 12);
    GtkWidget *label = gtk_label_new_with_mnemonic("Pre_set:");
    row->combo = gtk_combo_box_text_new();
    fill_preset_combo(GTK_COMBO_BOX_TEXT(row->combo), row->list, NULL);
    set_combo_tooltip(row->combo, NULL);
    gtk_label_set_mnemonic_widget(GTK_LABEL(label), row->combo);
    /* every letter of this label is some field's mnemonic already */
    GtkWidget *save = gtk_button_new_with_label("Save as Preset...");
    gtk_widget_set_tooltip_text(save, "Save the dialog's values as a preset in your GIMP profile");
    gtk_box_pack_start(GTK_BOX(box), label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), row->combo, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), save, FALSE, FALSE, 0);
    g_signal_connect(row->combo, "changed", G_CALLBACK(on_preset_picked), row);
    g_signal_connect(save, "clicked", G_CALLBACK(on_save_clicked), row);
    g_object_set_data_full(G_OBJECT(box), "gd-preset-row", row, row_free);
    GtkWidget *content = gtk_dialog_get_content_area(dialog);
    gtk_box_pack_start(GTK_BOX(content), box, FALSE, FALSE, 0);
    gtk_box_reorder_child(GTK_BOX(content), box, 0);
    gtk_widget_show_all(box);
}

/* ---- Apply Preset... -------------------------------------------------------------------- */

enum { A_PRESET, A_SUBJECT, A_MODE, A_MODEL, A_VOCAB, A_COUNT };
#define GD_N_FIXED 3 /* run-mode, image, drawable */

static const char *const apply_names[A_COUNT] = { "preset", "subject", "mode", "model", "vocab" };

static const char *arg_blurb(const char *name)
{
    for (int i = 0; i < gd_n_args; i++)
        if (!strcmp(gd_args[i].name, name))
            return gd_args[i].blurb;
    return "";
}

void gd2_preset_query(void)
{
    GimpParamDef args[GD_N_FIXED + A_COUNT] = {
        { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
        { GIMP_PDB_IMAGE, "image", "Input image" },
        { GIMP_PDB_DRAWABLE, "drawable", "Input layer" },
        { GIMP_PDB_STRING, "preset", GD_PRESET_ARG_PRESET },
        { GIMP_PDB_STRING, "subject", GD_PRESET_ARG_SUBJECT },
        { GIMP_PDB_STRING, "mode", GD_PRESET_ARG_MODE },
        { GIMP_PDB_STRING, "model", NULL },
        { GIMP_PDB_STRING, "vocab", NULL },
    };
    static const GimpParamDef returns[] = {
        { GIMP_PDB_LAYER, "new-layer", "The layer holding the result" },
        { GIMP_PDB_INT32, "seed-used", "The seed of this run (to reproduce it)" },
    };
    args[GD_N_FIXED + A_MODEL].description = (gchar *)arg_blurb("model");
    args[GD_N_FIXED + A_VOCAB].description = (gchar *)arg_blurb("vocab");
    gimp_install_procedure(GD_PROC_PRESET, GD_PRESET_BLURB, GD_PRESET_HELP,
                           "gimp-diffusion authors", "gimp-diffusion authors", "2026",
                           "Apply _Preset...", "RGB*, GRAY*", GIMP_PLUGIN, G_N_ELEMENTS(args),
                           G_N_ELEMENTS(returns), args, returns);
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

static void on_apply_preset_changed(GtkComboBox *combo, gpointer data)
{
    const sd_preset *p = active_preset(GTK_WIDGET(combo), g_object_get_data(G_OBJECT(combo), "list"));
    gchar *text = p ? g_markup_printf_escaped("%s\n<i>%s</i>", sd_preset_description(p),
                                              sd_preset_prompt_template(p))
                    : g_strdup("");
    gtk_label_set_markup(GTK_LABEL(data), text);
    g_free(text);
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
    fill_preset_combo(GTK_COMBO_BOX_TEXT(combo), l, v[A_PRESET]);
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
    if (status == GIMP_PDB_SUCCESS) {
        l = load_presets(&dirs, run_mode == GIMP_RUN_INTERACTIVE);
        if (!l)
            status = GIMP_PDB_EXECUTION_ERROR;
    }
    if (status == GIMP_PDB_SUCCESS && run_mode == GIMP_RUN_INTERACTIVE) {
        if (sd_preset_list_count(l) == 0) {
            *message = g_strdup_printf("No presets were found in %s or %s.", dirs.shipped, dirs.user);
            status = GIMP_PDB_EXECUTION_ERROR;
        } else if (!apply_dialog(l, v)) {
            status = GIMP_PDB_CANCEL;
        }
    }

    const sd_preset *preset = status == GIMP_PDB_SUCCESS ? sd_preset_list_find(l, v[A_PRESET]) : NULL;
    int mode = preset ? gd_preset_run_mode(preset, v[A_MODE]) : -1;
    if (status == GIMP_PDB_SUCCESS && (!preset || mode < 0)) {
        char *missing = preset ? NULL : gd_presets_not_found_text(l, v[A_PRESET]);
        *message = preset ? g_strdup_printf("Unknown mode \"%s\" (auto, img2img, inpaint, txt2img).",
                                            v[A_MODE])
                          : g_strdup(missing ? missing : "Out of memory.");
        free(missing);
        status = GIMP_PDB_CALLING_ERROR;
    }
    if (status == GIMP_PDB_SUCCESS) {
        gd_params p;
        gd_preset_strings strings;
        sd_error err = { 0 };
        gd_params_defaults(&p, (sd_mode)mode);
        p.model_path = v[A_MODEL];
        p.vocab_path = v[A_VOCAB];
        if (gd_preset_apply_params(preset, v[A_SUBJECT], *v[A_MODEL] ? SD_PRESET_MODEL : 0, &p,
                                   &strings, &err) != SD_OK) {
            *message = g_strdup(err.message);
            status = GIMP_PDB_EXECUTION_ERROR;
        } else {
            p.preset = sd_preset_name(preset); /* recorded in the layer's parasite */
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
