#include "args_gimp2.h"

#include <stdlib.h>
#include <string.h>

const GimpParamDef gd2_return_defs[2] = {
    { GIMP_PDB_LAYER, "new-layer", "The layer holding the result" },
    { GIMP_PDB_INT32, "seed-used", "The seed of this run (to reproduce it)" },
};

int gd2_param_defs(int mode, GimpParamDef *args)
{
    static const GimpParamDef fixed[GD_N_FIXED] = {
        { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
        { GIMP_PDB_IMAGE, "image", "Input image" },
        { GIMP_PDB_DRAWABLE, "drawable", "Input layer" },
    };
    int n = 0;
    for (; n < GD_N_FIXED; n++)
        args[n] = fixed[n];
    for (int i = 0; i < gd_n_args && i < GD_N_ARGS_MAX; i++) {
        const gd_arg *a = &gd_args[i];
        if (mode < 0 || !gd_arg_in_mode(a, (sd_mode)mode))
            continue;
        args[n].type = a->type == GD_ARG_DOUBLE ? GIMP_PDB_FLOAT
                       : gd_arg_is_string(a)    ? GIMP_PDB_STRING
                                                : GIMP_PDB_INT32;
        args[n].name = (gchar *)a->name;
        args[n].description = (gchar *)a->blurb;
        n++;
    }
    return n;
}

gboolean gd2_params_from_pdb(const GimpParam *param, gint nparams, gd_params *p,
                             gd_strings *owned)
{
    int k = GD_N_FIXED;
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, p->mode))
            continue;
        if (k >= nparams)
            return FALSE;
        double v = a->type == GD_ARG_DOUBLE ? param[k].data.d_float : param[k].data.d_int32;
        if (gd_arg_is_string(a))
            gd_arg_set_string(a, p, gd_strings_add(owned, param[k].data.d_string));
        else if (v < a->min || v > a->max)
            return FALSE;
        else
            gd_arg_set_number(a, p, v);
        k++;
    }
    return k == nparams;
}

void gd2_values_load(const char *proc, gd_params *p, gd_strings *owned)
{
    gint size = gimp_get_data_size(proc);
    if (size <= 0)
        return;
    gchar *buf = g_malloc0((gsize)size + 1);
    gimp_get_data(proc, buf);
    gd_params_values_from_json(buf, p, owned);
    g_free(buf);
}

void gd2_values_save(const char *proc, const gd_params *p)
{
    char *s = gd_params_values_json(p);
    if (s)
        gimp_set_data(proc, s, (guint32)strlen(s) + 1);
    free(s);
}

GtkWidget *gd2_widget_new(const gd_arg *a, const gd_params *p)
{
    GtkWidget *w = NULL;
    switch (a->type) {
    case GD_ARG_TEXT:
        w = gtk_text_view_new();
        gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(w), GTK_WRAP_WORD);
        gtk_widget_set_size_request(w, 360, 56);
        break;
    case GD_ARG_STRING:
        w = gtk_entry_new();
        break;
    case GD_ARG_INT:
    case GD_ARG_DOUBLE: {
        double step = a->type == GD_ARG_INT ? 1.0 : 0.05;
        w = gtk_spin_button_new_with_range(a->min, a->max, step);
        gtk_spin_button_set_digits(GTK_SPIN_BUTTON(w), a->type == GD_ARG_INT ? 0 : 2);
        break;
    }
    case GD_ARG_BOOL:
        w = gtk_check_button_new();
        break;
    case GD_ARG_CHOICE: {
        w = gtk_combo_box_text_new();
        const char *c;
        for (int k = 0; (c = a->choice(k)) != NULL; k++)
            gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(w), c);
        break;
    }
    case GD_ARG_FILE:
    case GD_ARG_FOLDER:
        w = gtk_file_chooser_button_new(a->nick, a->type == GD_ARG_FILE
                                                     ? GTK_FILE_CHOOSER_ACTION_OPEN
                                                     : GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
        break;
    }
    GtkWidget *one[GD_N_ARGS_MAX] = { 0 };
    one[a - gd_args] = w;
    gd2_widgets_write(one, p);
    gtk_widget_set_tooltip_text(w, a->blurb);
    return w;
}

void gd2_widgets_read(void *widgets, gd_params *p, gd_strings *owned)
{
    GtkWidget *const *w = widgets;
    for (int i = 0; i < gd_n_args && i < GD_N_ARGS_MAX; i++) {
        const gd_arg *a = &gd_args[i];
        gchar *s = NULL;
        if (!w[i])
            continue;
        switch (a->type) {
        case GD_ARG_TEXT: {
            GtkTextBuffer *b = gtk_text_view_get_buffer(GTK_TEXT_VIEW(w[i]));
            GtkTextIter start, end;
            gtk_text_buffer_get_bounds(b, &start, &end);
            s = gtk_text_buffer_get_text(b, &start, &end, FALSE);
            break;
        }
        case GD_ARG_STRING:
            s = g_strdup(gtk_entry_get_text(GTK_ENTRY(w[i])));
            break;
        case GD_ARG_CHOICE:
            s = gtk_combo_box_text_get_active_text(GTK_COMBO_BOX_TEXT(w[i]));
            break;
        case GD_ARG_FILE:
        case GD_ARG_FOLDER:
            s = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(w[i]));
            break;
        case GD_ARG_INT:
        case GD_ARG_DOUBLE:
            gd_arg_set_number(a, p, gtk_spin_button_get_value(GTK_SPIN_BUTTON(w[i])));
            break;
        case GD_ARG_BOOL:
            gd_arg_set_number(a, p, gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(w[i])));
            break;
        }
        /* a combo or chooser with nothing chosen keeps the value p had */
        if (s)
            gd_arg_set_string(a, p, gd_strings_add(owned, s));
        g_free(s);
    }
}

/* The index of `name` among a CHOICE row's choices, or -1. */
static int choice_index(const gd_arg *a, const char *name)
{
    const char *c;
    for (int k = 0; (c = a->choice(k)) != NULL; k++)
        if (!strcmp(c, name))
            return k;
    return -1;
}

void gd2_widgets_write(void *widgets, const gd_params *p)
{
    GtkWidget *const *w = widgets;
    for (int i = 0; i < gd_n_args && i < GD_N_ARGS_MAX; i++) {
        const gd_arg *a = &gd_args[i];
        if (!w[i])
            continue;
        const char *s = gd_arg_get_string(a, p);
        double v = gd_arg_get_number(a, p);
        switch (a->type) {
        case GD_ARG_TEXT:
            gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(w[i])), s, -1);
            break;
        case GD_ARG_STRING:
            gtk_entry_set_text(GTK_ENTRY(w[i]), s);
            break;
        case GD_ARG_CHOICE:
            gtk_combo_box_set_active(GTK_COMBO_BOX(w[i]), choice_index(a, s));
            break;
        case GD_ARG_FILE:
        case GD_ARG_FOLDER:
            if (*s)
                gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(w[i]), s);
            break;
        case GD_ARG_INT:
        case GD_ARG_DOUBLE:
            gtk_spin_button_set_value(GTK_SPIN_BUTTON(w[i]), v);
            break;
        case GD_ARG_BOOL:
            gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(w[i]), v != 0.0);
            break;
        }
    }
}
