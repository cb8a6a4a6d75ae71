#include "presets_gimp3.h"

#include <string.h>

#include "presets_glue.h"

#define PLUG_IN_BINARY "gimp-diffusion"

/* ---- shared --------------------------------------------------------------------------- */

static sd_preset_list *load_presets(gd_preset_dirs *dirs, gboolean interactive, GError **error)
{
    sd_preset_list *l = NULL;
    sd_error err = { 0 };
    gd_preset_dirs_init(dirs, gimp_directory());
    if (gd_presets_load(dirs, &l, &err) != SD_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Presets could not be read: %s", err.message);
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
    gtk_combo_box_text_remove_all(combo);
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
    GimpProcedureConfig *config; /* the dialog's; the row lives inside the dialog */
    sd_mode mode;
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

/* The dialog's values, through its config; strings are owned by `owned`. */
static void config_read(GimpProcedureConfig *config, sd_mode mode, gd_params *p, GPtrArray *owned)
{
    gd_params_defaults(p, mode);
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, mode))
            continue;
        gchar *s = NULL;
        switch (a->type) {
        case GD_ARG_TEXT:
        case GD_ARG_STRING:
        case GD_ARG_SAMPLER:
            g_object_get(config, a->name, &s, NULL);
            break;
        case GD_ARG_FILE:
        case GD_ARG_FOLDER: {
            GFile *f = NULL;
            g_object_get(config, a->name, &f, NULL);
            s = f ? g_file_get_path(f) : NULL;
            g_clear_object(&f);
            break;
        }
        case GD_ARG_INT: {
            gint v = 0;
            g_object_get(config, a->name, &v, NULL);
            gd_params_set_number(p, a->name, v);
            continue;
        }
        case GD_ARG_DOUBLE: {
            gdouble v = 0;
            g_object_get(config, a->name, &v, NULL);
            gd_params_set_number(p, a->name, v);
            continue;
        }
        case GD_ARG_BOOL: {
            gboolean v = FALSE;
            g_object_get(config, a->name, &v, NULL);
            gd_params_set_number(p, a->name, v);
            continue;
        }
        }
        if (s) {
            g_ptr_array_add(owned, s);
            gd_params_set_string(p, a->name, s);
        }
    }
}

/* Writes p into the config: the dialog's widgets are bound to it and follow. */
static void config_write(GimpProcedureConfig *config, sd_mode mode, const gd_params *p)
{
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, mode))
            continue;
        const char *s = gd_param_string(p, a->name);
        switch (a->type) {
        case GD_ARG_TEXT:
        case GD_ARG_STRING:
        case GD_ARG_SAMPLER:
            g_object_set(config, a->name, s, NULL);
            break;
        case GD_ARG_FILE:
        case GD_ARG_FOLDER:
            if (*s) {
                GFile *f = g_file_new_for_path(s);
                g_object_set(config, a->name, f, NULL);
                g_object_unref(f);
            }
            break;
        case GD_ARG_INT:
            g_object_set(config, a->name, (gint)gd_param_number(p, a->name), NULL);
            break;
        case GD_ARG_DOUBLE:
            g_object_set(config, a->name, (gdouble)gd_param_number(p, a->name), NULL);
            break;
        case GD_ARG_BOOL:
            g_object_set(config, a->name, (gboolean)(gd_param_number(p, a->name) != 0.0), NULL);
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
    config_read(row->config, row->mode, &p, owned);
    const char *prompt = gd_preset_picker_prompt(&row->picker, preset, p.prompt);
    if (prompt && gd_preset_apply_params(preset, "", 0, &p, &strings, &err) == SD_OK) {
        p.prompt = prompt;
        config_write(row->config, row->mode, &p);
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
    gimp_dialog_set_alternative_button_order(GTK_DIALOG(dialog), GTK_RESPONSE_OK,
                                             GTK_RESPONSE_CANCEL, -1);
    gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_row_spacing(GTK_GRID(grid), 4);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
    gtk_container_set_border_width(GTK_CONTAINER(grid), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dialog))), grid, TRUE,
                       TRUE, 0);
    GtkWidget *name_entry = gtk_entry_new();
    gtk_entry_set_text(GTK_ENTRY(name_entry), initial ? initial : "");
    gtk_entry_set_activates_default(GTK_ENTRY(name_entry), TRUE);
    gtk_widget_set_hexpand(name_entry, TRUE);
    GtkWidget *desc_entry = gtk_entry_new();
    gtk_entry_set_activates_default(GTK_ENTRY(desc_entry), TRUE);
    gimp_grid_attach_aligned(GTK_GRID(grid), 0, 0, "_Name:", 0.0, 0.5, name_entry, 1);
    gimp_grid_attach_aligned(GTK_GRID(grid), 0, 1, "_Description:", 0.0, 0.5, desc_entry, 1);
    GtkWidget *note = gtk_label_new("A preset of the same name as a shipped one replaces it; "
                                    "type {prompt} in the prompt where the subject goes.");
    gtk_label_set_line_wrap(GTK_LABEL(note), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(note), 50);
    gtk_label_set_xalign(GTK_LABEL(note), 0.0);
    gtk_grid_attach(GTK_GRID(grid), note, 0, 2, 2, 1);
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
    config_read(row->config, row->mode, &p, owned);
    sd_preset *preset = NULL;
    sd_error err = { 0 };
    char path[GD_PATH_MAX];
    if (gd_preset_from_params(name, description, &p, &preset, &err) != SD_OK ||
        gd_preset_save_user(&row->dirs, preset, path, sizeof path, &err) != SD_OK) {
        g_message("The preset \"%s\" could not be saved: %s", name, err.message);
    } else {
        sd_preset_list_free(row->list);
        row->list = load_presets(&row->dirs, TRUE, NULL);
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

static void pack_on_top(GimpProcedureDialog *dialog, GtkWidget *widget)
{
    GtkWidget *content = gtk_dialog_get_content_area(GTK_DIALOG(dialog));
    gtk_box_pack_start(GTK_BOX(content), widget, FALSE, FALSE, 0);
    gtk_box_reorder_child(GTK_BOX(content), widget, 0);
    gtk_widget_show_all(widget);
}

void gd3_preset_row_attach(GimpProcedureDialog *dialog, GimpProcedureConfig *config,
                           sd_mode mode)
{
    preset_row *row = g_new0(preset_row, 1);
    row->config = config;
    row->mode = mode;
    row->list = load_presets(&row->dirs, TRUE, NULL);

    /* no mnemonics: the dialog's and the arguments' use up every letter of these labels */
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
    GtkWidget *label = gtk_label_new("Preset");
    row->combo = gtk_combo_box_text_new();
    gtk_widget_set_hexpand(row->combo, TRUE);
    fill_preset_combo(GTK_COMBO_BOX_TEXT(row->combo), row->list, NULL);
    set_combo_tooltip(row->combo, NULL);
    GtkWidget *save = gtk_button_new_with_label("Save as Preset...");
    gtk_widget_set_tooltip_text(save, "Save the dialog's values as a preset in your GIMP profile");
    gtk_box_pack_start(GTK_BOX(box), label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), row->combo, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), save, FALSE, FALSE, 0);
    g_signal_connect(row->combo, "changed", G_CALLBACK(on_preset_picked), row);
    g_signal_connect(save, "clicked", G_CALLBACK(on_save_clicked), row);
    g_object_set_data_full(G_OBJECT(box), "gd-preset-row", row, row_free);
    pack_on_top(dialog, box);
}

/* ---- Apply Preset... -------------------------------------------------------------------- */

typedef struct {
    gd3_run_fn run;
} preset_proc_data;

static const gd_arg *find_arg(const char *name)
{
    for (int i = 0; i < gd_n_args; i++)
        if (!strcmp(gd_args[i].name, name))
            return &gd_args[i];
    return NULL;
}

static void on_apply_preset_changed(GtkComboBox *combo, gpointer data)
{
    GtkWidget *about = data;
    const sd_preset_list *l = g_object_get_data(G_OBJECT(combo), "gd-presets");
    GimpProcedureConfig *config = g_object_get_data(G_OBJECT(combo), "gd-config");
    const sd_preset *p = active_preset(GTK_WIDGET(combo), l);
    gchar *text = p ? g_markup_printf_escaped("%s\n<i>%s</i>", sd_preset_description(p),
                                              sd_preset_prompt_template(p))
                    : g_strdup("");
    gtk_label_set_markup(GTK_LABEL(about), text);
    g_free(text);
    if (p)
        g_object_set(config, "preset", sd_preset_name(p), NULL);
}

/* The config's preset changed (Reset, Load Saved Settings): the combo follows. */
static void on_config_preset(GObject *config, GParamSpec *pspec, gpointer combo)
{
    (void)pspec;
    gchar *name = NULL;
    g_object_get(config, "preset", &name, NULL);
    const sd_preset_list *l = g_object_get_data(G_OBJECT(combo), "gd-presets");
    const sd_preset *p = name ? sd_preset_list_find(l, name) : NULL;
    int index = -1;
    for (int i = 0; p && i < sd_preset_list_count(l); i++)
        if (sd_preset_list_at(l, i) == p)
            index = i;
    if (gtk_combo_box_get_active(GTK_COMBO_BOX(combo)) != index)
        gtk_combo_box_set_active(GTK_COMBO_BOX(combo), index);
    g_free(name);
}

static gboolean apply_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                             const sd_preset_list *l)
{
    gimp_ui_init(PLUG_IN_BINARY);
    GtkWidget *dialog = gimp_procedure_dialog_new(procedure, config, "Apply Preset");
    GimpProcedureDialog *pd = GIMP_PROCEDURE_DIALOG(dialog);
    gimp_procedure_dialog_fill(pd, "subject", "mode", "model", "vocab", NULL);

    /* the preset is a string argument (the names are only known at run time): a combo of
       the presets there are stands for its entry */
    gchar *last = NULL;
    g_object_get(config, "preset", &last, NULL);
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_row_spacing(GTK_GRID(grid), 4);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
    GtkWidget *combo = gtk_combo_box_text_new();
    gtk_widget_set_hexpand(combo, TRUE);
    fill_preset_combo(GTK_COMBO_BOX_TEXT(combo), l, last);
    g_free(last);
    GtkWidget *about = gtk_label_new("");
    gtk_label_set_line_wrap(GTK_LABEL(about), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(about), 50);
    gtk_label_set_xalign(GTK_LABEL(about), 0.0);
    g_object_set_data(G_OBJECT(combo), "gd-presets", (gpointer)l);
    g_object_set_data(G_OBJECT(combo), "gd-config", config);
    g_signal_connect(combo, "changed", G_CALLBACK(on_apply_preset_changed), about);
    if (gtk_combo_box_get_active(GTK_COMBO_BOX(combo)) < 0)
        gtk_combo_box_set_active(GTK_COMBO_BOX(combo), 0);
    else
        on_apply_preset_changed(GTK_COMBO_BOX(combo), about);
    gulong notify = g_signal_connect(config, "notify::preset", G_CALLBACK(on_config_preset), combo);
    gimp_grid_attach_aligned(GTK_GRID(grid), 0, 0, "_Preset", 0.0, 0.5, combo, 1);
    gtk_grid_attach(GTK_GRID(grid), about, 1, 1, 1, 1);
    pack_on_top(pd, grid);

    gboolean ok = gimp_procedure_dialog_run(pd);
    g_signal_handler_disconnect(config, notify); /* the config outlives the combo */
    gtk_widget_destroy(dialog);
    return ok;
}

static gchar *config_path(GimpProcedureConfig *config, const char *name)
{
    GFile *f = NULL;
    g_object_get(config, name, &f, NULL);
    gchar *path = f ? g_file_get_path(f) : NULL;
    g_clear_object(&f);
    return path ? path : g_strdup("");
}

static GimpValueArray *preset_run(GimpProcedure *procedure, GimpRunMode run_mode,
                                  GimpImage *image, GimpDrawable **drawables,
                                  GimpProcedureConfig *config, gpointer run_data)
{
    const preset_proc_data *data = run_data;
    GError *error = NULL;
    if (gimp_core_object_array_get_length((GObject **)drawables) != 1 ||
        !GIMP_IS_LAYER(drawables[0])) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0,
                    "Apply Preset works on one layer: select a single layer (not a mask or a "
                    "channel).");
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CALLING_ERROR, error);
    }
    gd_preset_dirs dirs;
    sd_preset_list *l = load_presets(&dirs, run_mode == GIMP_RUN_INTERACTIVE, &error);
    if (!l)
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_EXECUTION_ERROR, error);
    if (run_mode == GIMP_RUN_INTERACTIVE) {
        if (sd_preset_list_count(l) == 0) {
            g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, "No presets were found in %s or %s.",
                        dirs.shipped, dirs.user);
            sd_preset_list_free(l);
            return gimp_procedure_new_return_values(procedure, GIMP_PDB_EXECUTION_ERROR, error);
        }
        if (!apply_dialog(procedure, config, l)) {
            sd_preset_list_free(l);
            return gimp_procedure_new_return_values(procedure, GIMP_PDB_CANCEL, NULL);
        }
    }

    gchar *name = NULL, *subject = NULL, *mode_name = NULL;
    g_object_get(config, "preset", &name, "subject", &subject, "mode", &mode_name, NULL);
    gchar *model = config_path(config, "model"), *vocab = config_path(config, "vocab");
    const sd_preset *preset = sd_preset_list_find(l, name ? name : "");
    int mode = preset ? gd_preset_run_mode(preset, mode_name) : -1;
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;
    GimpLayer *layer = NULL;
    gd_params p = { 0 };
    if (!preset) {
        char *missing = gd_presets_not_found_text(l, name ? name : "");
        g_set_error_literal(&error, GIMP_PLUG_IN_ERROR, 0, missing ? missing : "Out of memory.");
        free(missing);
        status = GIMP_PDB_CALLING_ERROR;
    } else if (mode < 0) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, "Unknown mode \"%s\".", mode_name);
        status = GIMP_PDB_CALLING_ERROR;
    } else {
        gd_preset_strings strings;
        sd_error err = { 0 };
        gd_params_defaults(&p, (sd_mode)mode);
        p.model_path = model;
        p.vocab_path = vocab;
        if (gd_preset_apply_params(preset, subject, *model ? SD_PRESET_MODEL : 0, &p, &strings,
                                   &err) != SD_OK) {
            g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
            status = GIMP_PDB_EXECUTION_ERROR;
        } else {
            p.preset = sd_preset_name(preset); /* recorded in the layer's parasite */
            layer = data->run(image, drawables[0], &p, &error);
            status = layer ? GIMP_PDB_SUCCESS : GIMP_PDB_EXECUTION_ERROR;
            gd_preset_strings_free(&strings);
        }
    }
    g_free(name);
    g_free(subject);
    g_free(mode_name);
    g_free(model);
    g_free(vocab);
    sd_preset_list_free(l);
    if (status != GIMP_PDB_SUCCESS)
        return gimp_procedure_new_return_values(procedure, status, error);

    if (run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_displays_flush();
    GimpValueArray *rv = gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
    GIMP_VALUES_SET_LAYER(rv, 1, layer);
    GIMP_VALUES_SET_INT(rv, 2, (gint)p.seed);
    return rv;
}

GimpProcedure *gd3_preset_procedure_new(GimpPlugIn *plug_in, gd3_run_fn run)
{
    preset_proc_data *data = g_new0(preset_proc_data, 1);
    data->run = run;
    GimpProcedure *procedure = gimp_image_procedure_new(plug_in, GD_PROC_PRESET,
                                                        GIMP_PDB_PROC_TYPE_PLUGIN, preset_run,
                                                        data, g_free);
    gimp_procedure_set_image_types(procedure, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask(procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label(procedure, "Apply _Preset...");
    gimp_procedure_add_menu_path(procedure, GD_MENU_PATH);
    gimp_procedure_set_documentation(procedure, GD_PRESET_BLURB, GD_PRESET_HELP, GD_PROC_PRESET);
    gimp_procedure_set_attribution(procedure, "gimp-diffusion authors", "gimp-diffusion authors",
                                   "2026");

    gimp_procedure_add_string_argument(procedure, "preset", "_Preset", GD_PRESET_ARG_PRESET, "",
                                       G_PARAM_READWRITE);
    gimp_procedure_add_string_argument(procedure, "subject", "Su_bject", GD_PRESET_ARG_SUBJECT, "",
                                       G_PARAM_READWRITE);
    GimpChoice *choice = gimp_choice_new();
    for (int m = 0; m < gd_n_preset_modes; m++)
        gimp_choice_add(choice, gd_preset_modes[m].id, m, gd_preset_modes[m].label, NULL);
    gimp_procedure_add_choice_argument(procedure, "mode", "_Mode", GD_PRESET_ARG_MODE, choice,
                                       GD_PRESET_MODE_AUTO, G_PARAM_READWRITE);
    const gd_arg *model = find_arg("model"), *vocab = find_arg("vocab");
    gimp_procedure_add_file_argument(procedure, "model", model->nick, model->blurb,
                                     GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL, G_PARAM_READWRITE);
    gimp_procedure_add_file_argument(procedure, "vocab", vocab->nick, vocab->blurb,
                                     GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER, TRUE, NULL,
                                     G_PARAM_READWRITE);

    gimp_procedure_add_layer_return_value(procedure, "new-layer", "New layer",
                                          "The layer holding the result", FALSE, G_PARAM_READWRITE);
    gimp_procedure_add_int_return_value(procedure, "seed-used", "Seed used",
                                        "The seed of this run (to reproduce it)", 0, GD_SEED_MAX, 0,
                                        G_PARAM_READWRITE);
    return procedure;
}
