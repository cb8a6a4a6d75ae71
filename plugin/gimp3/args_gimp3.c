#include "args_gimp3.h"

/* A row's PDB argument, or its aux argument (a dialog field only, kept with the config). */
#define ADD(kind, ...)                                                                        \
    (a->aux ? gimp_procedure_add_##kind##_aux_argument                                         \
            : gimp_procedure_add_##kind##_argument)(procedure, a->name, a->nick, a->blurb,    \
                                                     __VA_ARGS__, G_PARAM_READWRITE)

void gd3_add_argument(GimpProcedure *procedure, const gd_arg *a, sd_mode mode)
{
    switch (a->type) {
    case GD_ARG_TEXT:
    case GD_ARG_STRING:
        ADD(string, gd_arg_default_string(a, mode));
        break;
    case GD_ARG_INT:
        ADD(int, (gint)a->min, (gint)a->max, (gint)gd_arg_default_number(a, mode));
        break;
    case GD_ARG_DOUBLE:
        ADD(double, a->min, a->max, gd_arg_default_number(a, mode));
        break;
    case GD_ARG_BOOL:
        ADD(boolean, gd_arg_default_number(a, mode) != 0.0);
        break;
    case GD_ARG_CHOICE: {
        GimpChoice *choice = gimp_choice_new();
        const char *c;
        for (int k = 0; (c = a->choice(k)) != NULL; k++)
            gimp_choice_add(choice, c, k, c, NULL);
        ADD(choice, choice, gd_arg_default_string(a, mode));
        break;
    }
    case GD_ARG_FILE:
    case GD_ARG_FOLDER:
        ADD(file,
            a->type == GD_ARG_FILE ? GIMP_FILE_CHOOSER_ACTION_OPEN
                                   : GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER,
            TRUE, NULL);
        break;
    }
}

void gd3_add_return_values(GimpProcedure *procedure)
{
    gimp_procedure_add_layer_return_value(procedure, "new-layer", "New layer",
                                          "The layer holding the result", FALSE, G_PARAM_READWRITE);
    gimp_procedure_add_int_return_value(procedure, "seed-used", "Seed used",
                                        "The seed of this run (to reproduce it)", 0, GD_SEED_MAX, 0,
                                        G_PARAM_READWRITE);
}

void gd3_add_arguments(GimpProcedure *procedure, sd_mode mode)
{
    for (int i = 0; i < gd_n_args; i++)
        if (gd_arg_in_mode(&gd_args[i], mode))
            gd3_add_argument(procedure, &gd_args[i], mode);
}

/* A file argument's local path; NULL for no file. A file read from the last values as a
 * bare path (GIMP keeps it as "/dir/name") has no scheme, so g_file_get_path() and
 * g_filename_from_uri() give NULL for it: its "URI" is then the path itself. */
static gchar *file_path(GFile *f)
{
    gchar *path = f ? g_file_get_path(f) : NULL;
    if (f && !path) {
        gchar *uri = g_file_get_uri(f);
        path = uri ? g_filename_from_uri(uri, NULL, NULL) : NULL;
        if (!path && uri && uri[0] == '/')
            path = g_strdup(uri);
        g_free(uri);
    }
    return path;
}

/* The one reader of a procedure's config: every row of the argument table the config has
 * (a procedure has the rows of its mode) into p; strings are copied into owned. */
void gd3_config_read(void *config, gd_params *p, gd_strings *owned)
{
    GObjectClass *klass = G_OBJECT_GET_CLASS(config);
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!g_object_class_find_property(klass, a->name))
            continue;
        switch (a->type) {
        case GD_ARG_TEXT:
        case GD_ARG_STRING:
        case GD_ARG_CHOICE: {
            gchar *s = NULL;
            g_object_get(config, a->name, &s, NULL);
            gd_arg_set_string(a, p, gd_strings_add(owned, s));
            g_free(s);
            break;
        }
        case GD_ARG_FILE:
        case GD_ARG_FOLDER: {
            GFile *f = NULL;
            g_object_get(config, a->name, &f, NULL);
            gchar *path = file_path(f);
            gd_arg_set_string(a, p, gd_strings_add(owned, path));
            g_free(path);
            g_clear_object(&f);
            break;
        }
        case GD_ARG_INT: {
            gint v = 0;
            g_object_get(config, a->name, &v, NULL);
            gd_arg_set_number(a, p, v);
            break;
        }
        case GD_ARG_DOUBLE: {
            gdouble v = 0;
            g_object_get(config, a->name, &v, NULL);
            gd_arg_set_number(a, p, v);
            break;
        }
        case GD_ARG_BOOL: {
            gboolean v = FALSE;
            g_object_get(config, a->name, &v, NULL);
            gd_arg_set_number(a, p, v);
            break;
        }
        }
    }
}

#define WRITING_KEY "gimp-diffusion-writing"

gboolean gd3_config_writing(GObject *config)
{
    return g_object_get_data(config, WRITING_KEY) != NULL;
}

/* p into the config: the dialog's widgets are bound to it and follow. */
void gd3_config_write(void *config, const gd_params *p)
{
    GObjectClass *klass = G_OBJECT_GET_CLASS(config);
    g_object_set_data(G_OBJECT(config), WRITING_KEY, GINT_TO_POINTER(1));
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!g_object_class_find_property(klass, a->name))
            continue;
        const char *s = gd_arg_get_string(a, p);
        double v = gd_arg_get_number(a, p);
        switch (a->type) {
        case GD_ARG_TEXT:
        case GD_ARG_STRING:
        case GD_ARG_CHOICE:
            g_object_set(config, a->name, s, NULL);
            break;
        case GD_ARG_FILE:
        case GD_ARG_FOLDER: {
            /* "" empties the chooser (a preset's LoRAs replace the dialog's) */
            GFile *f = *s ? g_file_new_for_path(s) : NULL;
            g_object_set(config, a->name, f, NULL);
            g_clear_object(&f);
            break;
        }
        case GD_ARG_INT:
            g_object_set(config, a->name, (gint)v, NULL);
            break;
        case GD_ARG_DOUBLE:
            g_object_set(config, a->name, v, NULL);
            break;
        case GD_ARG_BOOL:
            g_object_set(config, a->name, (gboolean)(v != 0.0), NULL);
            break;
        }
    }
    g_object_set_data(G_OBJECT(config), WRITING_KEY, NULL);
}

GimpDrawable *gd3_one_layer(GimpDrawable **drawables, const char *what, GError **error)
{
    if (gimp_core_object_array_get_length((GObject **)drawables) == 1 &&
        GIMP_IS_LAYER(drawables[0]))
        return drawables[0];
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                "%s works on one layer: select a single layer (not a mask or a channel).", what);
    return NULL;
}
