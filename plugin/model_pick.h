/* A model the user picks in a dialog: the fields its family runs best with (issue 14:
 * "picking a Turbo checkpoint in the dialog just works"). The family is read from the file's
 * tensor names and shapes (sd_model_check_file), never from its name. No GIMP here: the
 * front ends call it from their model field's change, never from a preset's. */
#ifndef GD_MODEL_PICK_H
#define GD_MODEL_PICK_H

#include <stddef.h>

#include "params.h"

/* What the dialog shows under the model field, at most. */
#define GD_MODEL_NOTE_MAX 640

/* Fills p's steps, cfg_scale, sampler, spacing (static names) and work_size with the
 * defaults of the family of the checkpoint at path (sd_family_get_defaults), clamped to the
 * plug-in's ranges, and writes into note what the dialog shows under the model field: the
 * family and the values set ("SD-Turbo: 1 step, CFG 0, euler_a, trailing, 512 px"). A file
 * the engine would not run leaves p as it was; note then holds the engine's reason (an
 * SDXL checkpoint, a file that is no checkpoint) and the status is the engine's. An empty
 * path changes nothing (SD_OK, note empty). */
sd_status gd_model_pick(const char *path, gd_params *p, char *note, size_t note_size);

#endif
