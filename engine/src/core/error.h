/* Error reporting inside the engine: return a status, fill the caller's sd_error. */
#ifndef SD_ERROR_H
#define SD_ERROR_H

#include "sd.h"

#if defined(__GNUC__)
#define SD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SD_PRINTF(a, b)
#endif

/* Sets err (if non-NULL) to code + formatted message and returns code, so a caller
 * can write `return sd_fail(err, SD_ERR_FORMAT, "bad dtype %s", s);`. */
sd_status sd_fail(sd_error *err, sd_status code, const char *fmt, ...) SD_PRINTF(3, 4);

/* Prefixes an existing message with context ("loading unet: " + old message). */
sd_status sd_fail_context(sd_error *err, const char *fmt, ...) SD_PRINTF(2, 3);

void sd_error_clear(sd_error *err);

#endif
