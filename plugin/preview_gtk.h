/* The live preview window of an interactive run, for both front ends (GTK 2 in GIMP 2.10,
 * GTK 3 in GIMP 3; the few calls they spell differently are #if'd): the picture forming,
 * the phase and step, a progress bar and Cancel. The engine runs on the plug-in's main
 * thread, so the window's events are handled from the engine's progress and preview
 * callbacks (a step apart); Cancel or closing the window makes the next callback return
 * non-zero, which stops the job within one step with nothing written.
 * The front end calls gimp_ui_init first. */
#ifndef GD_PREVIEW_GTK_H
#define GD_PREVIEW_GTK_H

#include "sd.h"

typedef struct gd_preview_window gd_preview_window;

/* Opens the window titled `title`; NULL when out of memory (the run goes on without). */
gd_preview_window *gd_preview_window_new(const char *title);

/* The progress text and bar (fraction < 0: pulsing); handles pending events. Non-zero
 * once the user cancelled. */
int gd_preview_window_progress(gd_preview_window *pw, double fraction, const char *text);

/* Shows the engine's preview (copied: p->rgb is valid during the call only), fitted into
 * GD_PREVIEW_BOX; handles pending events. Non-zero once the user cancelled. */
int gd_preview_window_show(gd_preview_window *pw, const sd_preview *p);

/* Closes the window (NULL is fine). */
void gd_preview_window_free(gd_preview_window *pw);

#endif
