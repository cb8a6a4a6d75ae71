/* libFuzzer target: an arbitrary file handed to the LoRA reader (nets/lora_file.c), as a
 * downloaded LoRA would be: format and family checks, down/up/alpha pairing, the PEFT
 * LoraConfig JSON in the header, every value converted and checked finite. When
 * SD_FUZZ_MODEL names a checkpoint (the tiny model), an accepted LoRA is also mapped onto
 * it, merged and detached, so a shape the mapping let through that the merge would
 * overrun shows up under ASan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "io/weights.h"
#include "nets/lora.h"
#include "nets/model_config.h"

static sd_weights *model;
static sd_model_config model_cfg;

static void load_model_once(void)
{
    static int tried;
    if (tried)
        return;
    tried = 1;
    const char *path = getenv("SD_FUZZ_MODEL");
    sd_error err = {0};
    if (!path || sd_weights_open(path, &model, &err) != SD_OK)
        return;
    if (sd_model_config_detect(sd_weights_file(model), &model_cfg, &err) != SD_OK) {
        sd_weights_free(model);
        model = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_model_once();
    char path[64];
    int whole;
    int fd = fuzz_memfd("fuzz-lora.safetensors", data, size, path, sizeof path, &whole);
    if (fd < 0)
        return 0;
    sd_lora_file *l = NULL;
    sd_error err = {0};
    sd_status st = whole ? sd_lora_read(path, &l, &err) : SD_ERR_IO;
    if (whole)
        fuzz_check_error(st, &err);
    if (st == SD_OK) {
        int te = 0;
        if (sd_lora_modules(l, &te) < 1 || te < 0)
            abort();
        if (model) {
            st = sd_lora_map(l, model, &model_cfg, &err);
            fuzz_check_error(st, &err);
            if (st == SD_OK) {
                st = sd_lora_apply(l, model, 0.5f, &err);
                fuzz_check_error(st, &err);
            }
            sd_lora_detach(model);
        }
        sd_lora_free(l);
    }
    close(fd);
    return 0;
}
