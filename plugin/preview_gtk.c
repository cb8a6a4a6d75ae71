#include "preview_gtk.h"

#include <gtk/gtk.h>

#include "preview.h"

/* Spacing and border of the window's column, pixels (GIMP's dialogs use 12 and 6). */
#define GD_PREVIEW_BORDER 12
#define GD_PREVIEW_SPACING 6

struct gd_preview_window {
    GtkWidget *window, *image, *source, *caption, *bar; /* source: the picture's step and kind */
    int cancelled;
};

static void on_cancel(GtkWidget *button, gpointer data)
{
    (void)button;
    gd_preview_window *pw = data;
    pw->cancelled = 1;
    gtk_widget_set_sensitive(button, FALSE);
    gtk_label_set_text(GTK_LABEL(pw->caption), "Cancelling...");
}

/* Closing the window cancels too; the window stays until gd_preview_window_free. */
static gboolean on_delete(GtkWidget *w, GdkEvent *e, gpointer data)
{
    (void)w;
    (void)e;
    gd_preview_window *pw = data;
    pw->cancelled = 1;
    return TRUE;
}

static void pump(void)
{
    while (gtk_events_pending())
        gtk_main_iteration();
}

gd_preview_window *gd_preview_window_new(const char *title)
{
    gd_preview_window *pw = g_try_new0(gd_preview_window, 1);
    if (!pw)
        return NULL;
    pw->window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
    gtk_window_set_title(GTK_WINDOW(pw->window), title);
    gtk_window_set_resizable(GTK_WINDOW(pw->window), FALSE);
    gtk_window_set_keep_above(GTK_WINDOW(pw->window), TRUE);
    g_signal_connect(pw->window, "delete-event", G_CALLBACK(on_delete), pw);
#if GTK_MAJOR_VERSION >= 3
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, GD_PREVIEW_SPACING);
    GtkWidget *buttons = gtk_button_box_new(GTK_ORIENTATION_HORIZONTAL);
#else
    GtkWidget *box = gtk_vbox_new(FALSE, GD_PREVIEW_SPACING);
    GtkWidget *buttons = gtk_hbutton_box_new();
#endif
    gtk_container_set_border_width(GTK_CONTAINER(box), GD_PREVIEW_BORDER);
    gtk_container_add(GTK_CONTAINER(pw->window), box);

    pw->image = gtk_image_new();
    gtk_widget_set_size_request(pw->image, GD_PREVIEW_BOX, GD_PREVIEW_BOX);
    pw->source = gtk_label_new("The picture appears after the first step");
    pw->caption = gtk_label_new("Loading the model");
    pw->bar = gtk_progress_bar_new();
    gtk_button_box_set_layout(GTK_BUTTON_BOX(buttons), GTK_BUTTONBOX_END);
    GtkWidget *cancel = gtk_button_new_with_mnemonic("_Cancel");
    g_signal_connect(cancel, "clicked", G_CALLBACK(on_cancel), pw);
    gtk_container_add(GTK_CONTAINER(buttons), cancel);

    gtk_box_pack_start(GTK_BOX(box), pw->image, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), pw->source, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), pw->caption, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), pw->bar, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), buttons, FALSE, FALSE, 0);
    gtk_widget_show_all(pw->window);
    pump();
    return pw;
}

int gd_preview_window_progress(gd_preview_window *pw, double fraction, const char *text)
{
    if (!pw->cancelled) {
        gtk_label_set_text(GTK_LABEL(pw->caption), text);
        if (fraction < 0)
            gtk_progress_bar_pulse(GTK_PROGRESS_BAR(pw->bar));
        else
            gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(pw->bar), fraction > 1.0 ? 1.0 : fraction);
    }
    pump();
    return pw->cancelled;
}

int gd_preview_window_show(gd_preview_window *pw, const sd_preview *p)
{
    int w, h;
    gd_preview_fit(p->width, p->height, GD_PREVIEW_BOX, &w, &h);
    GdkPixbuf *pix = pw->cancelled ? NULL : gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, w, h);
    if (pix) { /* out of memory: this step's picture is skipped */
        gd_preview_to_rgb8(p, w, h, gdk_pixbuf_get_pixels(pix), gdk_pixbuf_get_rowstride(pix));
        gtk_image_set_from_pixbuf(GTK_IMAGE(pw->image), pix);
        g_object_unref(pix);
        char caption[96];
        gd_preview_caption(p, caption, sizeof caption);
        gtk_label_set_text(GTK_LABEL(pw->source), caption);
    }
    pump();
    return pw->cancelled;
}

void gd_preview_window_free(gd_preview_window *pw)
{
    if (!pw)
        return;
    gtk_widget_destroy(pw->window);
    pump();
    g_free(pw);
}
