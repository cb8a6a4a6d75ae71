/* A1111's prompt syntax (stable-diffusion-webui modules/prompt_parser.py,
 * parse_prompt_attention, and modules/extra_networks.py for the <lora:…> tags), reproduced:
 *
 *   (text)        weight × 1.1            ((text)) × 1.21, …
 *   (text:1.3)    weight × 1.3
 *   [text]        weight ÷ 1.1
 *   \( \) \[ \] \\  the literal character
 *   BREAK         (a whole word, with the spaces around it) starts a new 75-token chunk
 *   <lora:name:w> / <lora:name>   (also <lyco:…>, A1111's alias) removed from the text and
 *                 returned: LoRA `name` at weight w (1.0 when absent)
 *
 * Unbalanced brackets as A1111: a '(' or '[' never closed applies to the end of the text,
 * a ')' or ']' that closes nothing is plain text. Adjacent spans of equal weight merge.
 * Weights are doubles, as A1111's Python floats (the merge compares them exactly). */
#ifndef SD_PROMPT_PARSE_H
#define SD_PROMPT_PARSE_H

#include "sd.h"

/* A1111's multipliers (round_bracket_multiplier, square_bracket_multiplier = 1 / 1.1). */
#define SD_PROMPT_ROUND_MULTIPLIER 1.1
/* The weight A1111 gives its ["BREAK", -1] marker span. */
#define SD_PROMPT_BREAK_WEIGHT (-1.0)

typedef struct {
    char *text;      /* UTF-8, owned; "BREAK" for a break marker */
    double weight;   /* SD_PROMPT_BREAK_WEIGHT for a break marker */
} sd_prompt_span;

typedef struct {
    char *name;      /* as written in the tag, owned */
    double weight;
} sd_prompt_lora;

typedef struct {
    sd_prompt_span *spans;    /* at least one: ("", 1.0) for an empty prompt */
    int n_spans;
    sd_prompt_lora *loras;    /* in the order of the prompt */
    int n_loras;
} sd_prompt_parsed;

/* Parses `text` (NULL reads as ""). Returns SD_OK; SD_ERR_INVALID_ARG for a weight that is
 * not a number ("(cat:1.2.3)": A1111 fails there too) or a malformed <lora:…> tag (empty
 * name, weight not a number, more than one weight); SD_ERR_NOMEM. On failure *out is
 * empty (nothing to free, freeing is harmless). */
sd_status sd_prompt_parse(const char *text, sd_prompt_parsed *out, sd_error *err);
void sd_prompt_parsed_free(sd_prompt_parsed *p);

/* *out = the prompt with its <lora:…>/<lyco:…> tags cut out (A1111's
 * extra_networks.parse_prompt), malloc'd; *loras / *n_loras receive the tags (loras may be
 * NULL to drop them; free each name and the array). Other <word:…> tags (hypernetworks)
 * give SD_ERR_UNSUPPORTED; errors as sd_prompt_parse, with *out NULL. */
sd_status sd_prompt_strip_loras(const char *text, char **out, sd_prompt_lora **loras,
                                int *n_loras, sd_error *err);

#endif
