/* The loaded model: weights bound into the three networks, and the tokenizer. */
#ifndef SD_MODEL_H
#define SD_MODEL_H

#include "nets/clip.h"
#include "nets/model_config.h"
#include "sd.h"
#include "text/tokenizer.h"
#include "nets/unet.h"
#include "nets/taesd.h"
#include "nets/vae.h"
#include "io/weights.h"

/* Key prefixes packed for bf16: the U-Net, and the VAE decoder but its fp32 head
 * (pipeline/precision.c). */
#define SD_MODEL_BF16_PACKS 7

struct sd_model {
    sd_model_config cfg;
    sd_weights *weights;      /* owns every fp32 tensor the networks point into */
    sd_tokenizer *tokenizer;
    sd_clip clip;
    sd_unet unet;
    sd_vae vae;
    sd_taesd taesd;           /* draft VAE and previews; has_decoder 0 when none loaded */
    size_t memory_budget;     /* bytes; 0 = what the system has available per job */
    char *lora_paths[SD_LORA_MAX];  /* the LoRAs merged into weights (model_lora.h) */
    float lora_weights[SD_LORA_MAX];
    int n_loras;
    sd_precision precision;   /* what runs (resolved at load: fp32 or bf16) */
    int bf16_isa;             /* ops_bf16_isa of the packed weights (bf16) */
    struct sd_layers_bf16_pack *bf16_packs[SD_MODEL_BF16_PACKS];   /* by prefix */
    struct sd_layers_bf16_pack *taesd_packs[2];   /* bf16: the TAESD's encoder, decoder */
};

/* The networks whose weights are used one phase at a time. */
typedef enum {
    SD_NET_TEXT_ENCODER,
    SD_NET_VAE_ENCODER,
    SD_NET_UNET,
    SD_NET_VAE_DECODER,
    SD_NET_COUNT
} sd_network;

/* Gives back the resident memory of a network's weights that are read in place from the
 * checkpoint (sd_weights_release) once a phase is done with them, so that at any time
 * only the running network's weights are resident: a 512² job's peak is the U-Net plus
 * its activations, not every network at once. The next use faults them in again from the
 * page cache. */
void sd_model_release(sd_model *m, sd_network net);

#endif
