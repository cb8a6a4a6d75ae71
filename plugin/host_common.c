#include "host_common.h"

#include "read_exact.h"

#include <string.h>

int gd_host_progress(void *user, double fraction, const char *text)
{
    (void)user;
    if (fraction < 0) {
        gimp_progress_init(text);
        gimp_progress_pulse();
        return 0;
    }
    gimp_progress_set_text(text);
    gimp_progress_update(fraction);
    return 0;
}

void gd_host_warn(void *user, const char *text)
{
    (void)user;
    g_message("%s", text);
}

GimpParasite *gd_host_parasite(const char *json)
{
    if (!json)
        return NULL;
    return gimp_parasite_new(GD_PARASITE_NAME, GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                             (guint32)strlen(json) + 1, json);
}

void gd_gegl_read(GeglBuffer *src, int ox, int oy, GeglBuffer *sel, const region_rect *rect,
                  const Babl *rgba_format, float *rgba, float *mask)
{
    GeglRectangle src_rect = { rect->x - ox, rect->y - oy, rect->width, rect->height };
    GeglRectangle sel_rect = { rect->x, rect->y, rect->width, rect->height };
    /* exactly, and so the same in every process, where the format allows (read_exact.h) */
    if (!gd_read_exact(src, &src_rect, rgba_format, rgba))
        gegl_buffer_get(src, &src_rect, 1.0, rgba_format, rgba, GEGL_AUTO_ROWSTRIDE,
                        GEGL_ABYSS_NONE);
    g_object_unref(src);
    if (sel) {
        const Babl *y = babl_format("Y float");
        if (!gd_read_exact(sel, &sel_rect, y, mask))
            gegl_buffer_get(sel, &sel_rect, 1.0, y, mask, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
        g_object_unref(sel);
    } else {
        for (gsize i = 0; i < (gsize)rect->width * rect->height; i++)
            mask[i] = 1.0f;
    }
}

void gd_gegl_write(GeglBuffer *dst, const Babl *rgba_format, const gd_result *res)
{
    GeglRectangle rect = { 0, 0, res->rect.width, res->rect.height };
    gegl_buffer_set(dst, &rect, 0, rgba_format, res->rgba, GEGL_AUTO_ROWSTRIDE);
    gegl_buffer_flush(dst);
    g_object_unref(dst);
}

sd_preset_list *gd_host_load_presets(gd_preset_dirs *dirs, gboolean interactive, sd_error *err)
{
    sd_preset_list *l = NULL;
    gd_preset_dirs_init(dirs, gimp_directory());
    if (gd_presets_load(dirs, &l, err) != SD_OK)
        return NULL;
    char *skipped = interactive ? gd_presets_errors_text(l) : NULL;
    if (skipped)
        g_message("Some presets were skipped:\n%s", skipped);
    free(skipped);
    return l;
}

void gd_gtk_fill_presets(GtkComboBoxText *combo, const sd_preset_list *l, const char *active)
{
    /* GTK 2 has no gtk_combo_box_text_remove_all; the model is a list store in both */
    gtk_list_store_clear(GTK_LIST_STORE(gtk_combo_box_get_model(GTK_COMBO_BOX(combo))));
    for (int i = 0; l && i < sd_preset_list_count(l); i++) {
        const char *name = sd_preset_name(sd_preset_list_at(l, i));
        gtk_combo_box_text_append_text(combo, name);
        if (active && !g_ascii_strcasecmp(name, active))
            gtk_combo_box_set_active(GTK_COMBO_BOX(combo), i);
    }
}

const sd_preset *gd_gtk_active_preset(GtkWidget *combo, const sd_preset_list *l)
{
    gchar *name = gtk_combo_box_text_get_active_text(GTK_COMBO_BOX_TEXT(combo));
    const sd_preset *p = name && l ? sd_preset_list_find(l, name) : NULL;
    g_free(name);
    return p;
}

void gd_gtk_show_preset(GtkLabel *about, const sd_preset *preset)
{
    gchar *text = preset ? g_markup_printf_escaped("%s\n<i>%s</i>", sd_preset_description(preset),
                                                   sd_preset_prompt_template(preset))
                         : g_strdup("");
    gtk_label_set_markup(about, text);
    g_free(text);
}

/* ---- the preset row: gd_preset_row (presets_glue.c) on GTK widgets ---------------------- */

typedef struct {
    gd_preset_row row;
    GtkWidget *combo;
    gd_ask_name_layout_fn layout;
} gtk_preset_row;

/* Save as Preset's question over `parent`: the name (starting as `initial`) and a
 * description; FALSE when cancelled. */
static gboolean ask_name(GtkWidget *parent, gd_ask_name_layout_fn layout, const char *initial,
                         gchar **name, gchar **description)
{
    GtkWidget *dialog = gimp_dialog_new("Save as Preset", "gimp-diffusion", parent,
                                        GTK_DIALOG_MODAL, gimp_standard_help_func, GD_PROC_PRESET,
                                        "_Cancel", GTK_RESPONSE_CANCEL, "_Save", GTK_RESPONSE_OK,
                                        NULL);
    gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
    GtkWidget *name_entry = gtk_entry_new();
    gtk_entry_set_text(GTK_ENTRY(name_entry), initial ? initial : "");
    gtk_entry_set_activates_default(GTK_ENTRY(name_entry), TRUE);
    GtkWidget *desc_entry = gtk_entry_new();
    gtk_entry_set_activates_default(GTK_ENTRY(desc_entry), TRUE);
    GtkWidget *note = gtk_label_new("A preset of the same name as a shipped one replaces it; "
                                    "type {prompt} in the prompt where the subject goes.");
    gtk_label_set_line_wrap(GTK_LABEL(note), TRUE);
    layout(GTK_DIALOG(dialog), name_entry, desc_entry, note);
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

static void row_free(gpointer data)
{
    gtk_preset_row *r = data;
    gd_preset_row_free(&r->row);
    g_free(r);
}

static void set_tooltip(GtkWidget *combo, const sd_preset *preset)
{
    char *tip = gd_preset_tooltip(preset);
    gtk_widget_set_tooltip_text(combo, tip);
    free(tip);
}

/* A preset picked: the fields it gives change, the others keep what the user set. */
static void on_preset_picked(GtkComboBox *combo, gpointer data)
{
    gtk_preset_row *r = data;
    const sd_preset *preset = gd_gtk_active_preset(GTK_WIDGET(combo), r->row.list);
    set_tooltip(GTK_WIDGET(combo), preset);
    sd_error err = { 0 };
    if (preset && gd_preset_row_pick(&r->row, sd_preset_name(preset), &err) != SD_OK)
        g_message("%s", err.message);
}

static void on_save_clicked(GtkButton *button, gpointer data)
{
    gtk_preset_row *r = data;
    const sd_preset *current = gd_gtk_active_preset(r->combo, r->row.list);
    gchar *name = NULL, *description = NULL;
    if (!ask_name(gtk_widget_get_toplevel(GTK_WIDGET(button)), r->layout,
                  current ? sd_preset_name(current) : NULL, &name, &description))
        return;
    sd_error err = { 0 };
    if (gd_preset_row_save(&r->row, name, description, &err) != SD_OK) {
        g_message("%s", err.message);
    } else {
        /* show the new preset without applying it: the fields already hold it */
        g_signal_handlers_block_by_func(r->combo, on_preset_picked, r);
        gd_gtk_fill_presets(GTK_COMBO_BOX_TEXT(r->combo), r->row.list, name);
        g_signal_handlers_unblock_by_func(r->combo, on_preset_picked, r);
        set_tooltip(r->combo, gd_gtk_active_preset(r->combo, r->row.list));
    }
    g_free(name);
    g_free(description);
}

void gd_gtk_preset_row_connect(GtkWidget *owner, GtkWidget *combo, GtkWidget *save,
                               sd_mode mode, const gd_form *form, gd_ask_name_layout_fn layout)
{
    gtk_preset_row *r = g_new0(gtk_preset_row, 1);
    char *skipped = NULL;
    sd_error err = { 0 };
    if (gd_preset_row_init(&r->row, mode, form, gimp_directory(), &skipped, &err) != SD_OK)
        g_message("Presets could not be read: %s", err.message);
    if (skipped)
        g_message("Some presets were skipped:\n%s", skipped);
    free(skipped);
    r->combo = combo;
    r->layout = layout;
    gd_gtk_fill_presets(GTK_COMBO_BOX_TEXT(combo), r->row.list, NULL);
    set_tooltip(combo, NULL);
    g_signal_connect(combo, "changed", G_CALLBACK(on_preset_picked), r);
    g_signal_connect(save, "clicked", G_CALLBACK(on_save_clicked), r);
    g_object_set_data_full(G_OBJECT(owner), "gd-preset-row", r, row_free);
}
