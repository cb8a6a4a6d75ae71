#include "model_pick.h"

#include <stdio.h>
#include <stdlib.h>

sd_status gd_model_pick(const char *path, gd_params *p, char *note, size_t note_size)
{
    if (note_size)
        note[0] = '\0';
    if (!path || !*path)
        return SD_OK;
    sd_model_check *c = malloc(sizeof *c); /* a header's worth of text: not on the stack */
    if (!c)
        return gd_fail(NULL, SD_ERR_NOMEM, "out of memory");
    sd_error err = { 0 };
    sd_status st = sd_model_check_file(path, c, &err);
    if (st != SD_OK) {
        snprintf(note, note_size, "This file cannot be used: %s",
                 c->reason[0] ? c->reason : err.message);
        free(c);
        return st;
    }
    sd_model_defaults d;
    sd_family_get_defaults(c->family, &d);
    p->steps = d.steps;
    p->cfg_scale = d.cfg_scale;
    p->sampler = sd_sampler_name(d.sampler);
    p->spacing = sd_spacing_name(d.spacing);
    p->work_size = d.resolution;
    gd_params_clamp(p);
    snprintf(note, note_size, "%s: %d step%s, CFG %g, %s, %s spacing, %d px", c->family_title,
             p->steps, p->steps == 1 ? "" : "s", p->cfg_scale, p->sampler, p->spacing,
             p->work_size);
    free(c);
    return SD_OK;
}
