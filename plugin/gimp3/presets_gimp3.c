#include "presets_gimp3.h"

#include <string.h>

#include "args_gimp3.h"
#include "host_common.h"
#include "presets_glue.h"

#define PLUG_IN_BINARY "gimp-diffusion"

/* ---- the preset row of the procedures' dialogs (behaviour: ../host_common.c) ------------ */

/* Save as Preset's question, laid out with GTK 3's grid. */
static void ask_name_layout(GtkDialog *dialog, GtkWidget *name_entry, GtkWidget *desc_entry,
                            GtkWidget *note)
{
    gimp_dialog_set_alternative_button_order(dialog, GTK_RESPONSE_OK, GTK_RESPONSE_CANCEL, -1);
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_row_spacing(GTK_GRID(grid), 4);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
    gtk_container_set_border_width(GTK_CONTAINER(grid), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(dialog)), grid, TRUE, TRUE, 0);
    gtk_widget_set_hexpand(name_entry, TRUE);
    gimp_grid_attach_aligned(GTK_GRID(grid), 0, 0, "_Name:", 0.0, 0.5, name_entry, 1);
    gimp_grid_attach_aligned(GTK_GRID(grid), 0, 1, "_Description:", 0.0, 0.5, desc_entry, 1);
    gtk_label_set_max_width_chars(GTK_LABEL(note), 50);
    gtk_label_set_xalign(GTK_LABEL(note), 0.0);
    gtk_grid_attach(GTK_GRID(grid), note, 0, 2, 2, 1);
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
    /* no mnemonics: the dialog's and the arguments' use up every letter of these labels */
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
    GtkWidget *label = gtk_label_new("Preset");
    GtkWidget *combo = gtk_combo_box_text_new();
    gtk_widget_set_hexpand(combo, TRUE);
    GtkWidget *save = gtk_button_new_with_label("Save as Preset...");
    gtk_widget_set_tooltip_text(save, "Save the dialog's values as a preset in your GIMP profile");
    gtk_box_pack_start(GTK_BOX(box), label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), combo, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), save, FALSE, FALSE, 0);
    gd_form form = { config, gd3_config_read, gd3_config_write };
    gd_gtk_preset_row_connect(box, combo, save, mode, &form, ask_name_layout);
    pack_on_top(dialog, box);
}

/* ---- Apply Preset... -------------------------------------------------------------------- */

typedef struct {
    gd3_run_fn run;
} preset_proc_data;

static void on_apply_preset_changed(GtkComboBox *combo, gpointer about)
{
    const sd_preset_list *l = g_object_get_data(G_OBJECT(combo), "gd-presets");
    GimpProcedureConfig *config = g_object_get_data(G_OBJECT(combo), "gd-config");
    const sd_preset *p = gd_gtk_active_preset(GTK_WIDGET(combo), l);
    gd_gtk_show_preset(GTK_LABEL(about), p);
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
    gd_gtk_fill_presets(GTK_COMBO_BOX_TEXT(combo), l, last);
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

static GimpValueArray *preset_run(GimpProcedure *procedure, GimpRunMode run_mode,
                                  GimpImage *image, GimpDrawable **drawables,
                                  GimpProcedureConfig *config, gpointer run_data)
{
    const preset_proc_data *data = run_data;
    GError *error = NULL;
    GimpDrawable *drawable = gd3_one_layer(drawables, "Apply Preset", &error);
    if (!drawable)
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CALLING_ERROR, error);
    gd_preset_dirs dirs;
    sd_error err = { 0 };
    sd_preset_list *l = gd_host_load_presets(&dirs, run_mode == GIMP_RUN_INTERACTIVE, &err);
    if (!l) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, "Presets could not be read: %s", err.message);
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }
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

    gd_params model_vocab; /* the file arguments, through the one config reader */
    gd_strings owned = { 0 };
    gd_params_defaults(&model_vocab, SD_MODE_IMG2IMG);
    gd3_config_read(config, &model_vocab, &owned);
    gchar *name = NULL, *subject = NULL, *mode = NULL;
    g_object_get(config, "preset", &name, "subject", &subject, "mode", &mode, NULL);
    gd_preset_call call = { name, subject, mode, model_vocab.model_path, model_vocab.vocab_path };
    gd_params p = { 0 };
    gd_preset_strings strings;
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;
    GimpLayer *layer = NULL;
    sd_status st = gd_preset_prepare(l, &call, &p, &strings, &err);
    if (st != SD_OK) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
        status = st == SD_ERR_INVALID_ARG ? GIMP_PDB_CALLING_ERROR : GIMP_PDB_EXECUTION_ERROR;
    } else {
        layer = data->run(image, drawable, &p, &error);
        status = layer ? GIMP_PDB_SUCCESS : GIMP_PDB_EXECUTION_ERROR;
        gd_preset_strings_free(&strings);
    }
    g_free(name);
    g_free(subject);
    g_free(mode);
    gd_strings_free(&owned);
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
    gimp_procedure_set_attribution(procedure, GD_ATTRIBUTION, GD_ATTRIBUTION, GD_DATE);

    gimp_procedure_add_string_argument(procedure, "preset", "_Preset", GD_PRESET_ARG_PRESET, "",
                                       G_PARAM_READWRITE);
    gimp_procedure_add_string_argument(procedure, "subject", "Su_bject", GD_PRESET_ARG_SUBJECT, "",
                                       G_PARAM_READWRITE);
    GimpChoice *choice = gimp_choice_new();
    for (int m = 0; m < gd_n_preset_modes; m++)
        gimp_choice_add(choice, gd_preset_modes[m].id, m, gd_preset_modes[m].label, NULL);
    gimp_procedure_add_choice_argument(procedure, "mode", "_Mode", GD_PRESET_ARG_MODE, choice,
                                       GD_PRESET_MODE_AUTO, G_PARAM_READWRITE);
    gd3_add_argument(procedure, gd_arg_find("model"), SD_MODE_IMG2IMG);
    gd3_add_argument(procedure, gd_arg_find("vocab"), SD_MODE_IMG2IMG);
    gd3_add_return_values(procedure);
    return procedure;
}
