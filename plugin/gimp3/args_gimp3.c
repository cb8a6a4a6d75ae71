#include "args_gimp3.h"

void gd3_add_argument(GimpProcedure *procedure, const gd_arg *a, sd_mode mode)
{
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
    case GD_ARG_CHOICE: {
        GimpChoice *choice = gimp_choice_new();
        const char *c;
        for (int k = 0; (c = a->choice(k)) != NULL; k++)
            gimp_choice_add(choice, c, k, c, NULL);
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
            gchar *path = f ? g_file_get_path(f) : NULL;
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

/* p into the config: the dialog's widgets are bound to it and follow. */
void gd3_config_write(void *config, const gd_params *p)
{
    GObjectClass *klass = G_OBJECT_GET_CLASS(config);
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
        case GD_ARG_FOLDER:
            if (*s) {
                GFile *f = g_file_new_for_path(s);
                g_object_set(config, a->name, f, NULL);
                g_object_unref(f);
            }
            break;
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
