/* The loaded model: weights bound into the three networks, and the tokenizer. */
#ifndef SD_MODEL_H
#define SD_MODEL_H

#include "clip.h"
#include "model_config.h"
#include "sd.h"
#include "tokenizer.h"
#include "unet.h"
#include "vae.h"
#include "weights.h"

struct sd_model {
    sd_model_config cfg;
    sd_weights *weights;      /* owns every fp32 tensor the networks point into */
    sd_tokenizer *tokenizer;
    sd_clip clip;
    sd_unet unet;
    sd_vae vae;
    int threads;              /* 0 = library default */
    size_t memory_budget;     /* bytes; 0 = what the system has available per job */
};

#endif
