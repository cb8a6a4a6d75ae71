/* libFuzzer target: arbitrary text as a prompt preset (presets are shared between
 * users as files). A preset that parses must survive save -> load unchanged, give back
 * settings that validate again, and expand and apply without fault. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sd_preset.h"

static void exercise(const sd_preset *p, const char *subject)
{
    sd_preset_settings s;
    sd_preset_get_settings(p, &s);
    sd_error err = {0};
    sd_preset *copy = NULL;
    const char *negative = s.set & SD_PRESET_NEGATIVE ? sd_preset_negative_prompt(p) : NULL;
    sd_status st = sd_preset_new(sd_preset_name(p), sd_preset_prompt_template(p), negative,
                                 &copy, &err);
    fuzz_check_error(st, &err);
    if (st == SD_OK) {
        /* what a parsed preset holds is valid by definition */
        sd_lora loras[SD_LORA_MAX];
        int n_loras = sd_preset_lora_count(p);
        for (int i = 0; i < n_loras && i < SD_LORA_MAX; i++)
            loras[i] = sd_preset_lora_at(p, i);
        if (sd_preset_set_settings(copy, &s, &err) != SD_OK ||
            sd_preset_set_description(copy, sd_preset_description(p), &err) != SD_OK ||
            (n_loras > 0 && n_loras <= SD_LORA_MAX &&
             sd_preset_set_loras(copy, loras, n_loras, &err) != SD_OK))
            abort();
        sd_preset_settings back;
        sd_preset_get_settings(copy, &back);
        /* an empty "loras" list is no LoRAs: set_loras leaves the key out */
        if ((back.set ^ s.set) & ~(n_loras == 0 ? (unsigned)SD_PRESET_LORAS : 0u))
            abort();
        sd_preset_free(copy);
    }

    char *expanded = sd_preset_expand(sd_preset_prompt_template(p), subject);
    free(expanded);

    sd_job job;
    sd_job_defaults(&job);
    char *owned_prompt = NULL, *owned_negative = NULL;
    st = sd_preset_apply(p, subject, 0, &job, &owned_prompt, &owned_negative, &err);
    fuzz_check_error(st, &err);
    free(owned_prompt);
    free(owned_negative);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    if (!text)
        return 0;
    sd_preset *p = NULL;
    sd_error err = {0};
    sd_status st = sd_preset_parse(text, "fuzz.json", &p, &err);
    fuzz_check_error(st, &err);
    if ((st == SD_OK) != (p != NULL))
        abort();
    if (p) {
        /* the input's tail doubles as the subject, so {prompt} meets odd text too */
        exercise(p, text + size / 2);

        char path[512];
        snprintf(path, sizeof path, "%s/preset.json", fuzz_temp_dir());
        char *json = sd_preset_to_json(p);
        st = sd_preset_save_file(p, path, &err);
        fuzz_check_error(st, &err);
        sd_preset *back = NULL;
        if (st == SD_OK) {
            st = sd_preset_load_file(path, &back, &err);
            if (st != SD_OK) {
                fprintf(stderr, "saved preset does not load again: %s\n", err.message);
                abort();
            }
            char *json2 = sd_preset_to_json(back);
            if (json && json2 && strcmp(json, json2) != 0) {
                fprintf(stderr, "save/load changed the preset:\n%s\n---\n%s\n", json, json2);
                abort();
            }
            free(json2);
            sd_preset_free(back);
        }
        free(json);
        sd_preset_free(p);
    }
    free(text);
    return 0;
}
