#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sd_status_name(sd_status code)
{
    switch (code) {
    case SD_OK: return "ok";
    case SD_ERR_INVALID_ARG: return "invalid argument";
    case SD_ERR_IO: return "i/o error";
    case SD_ERR_FORMAT: return "bad file format";
    case SD_ERR_UNSUPPORTED: return "unsupported";
    case SD_ERR_NOMEM: return "out of memory";
    case SD_ERR_CANCELLED: return "cancelled";
    case SD_ERR_NUMERIC: return "numeric error";
    case SD_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

sd_status sd_fail(sd_error *err, sd_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

sd_status sd_fail_context(sd_error *err, sd_status code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* prefix + ": " + old message, truncated to the buffer; built by hand because the
     * old message lives in the destination. No separator when there is nothing after. */
    size_t cap = sizeof err->message, plen = strlen(prefix), olen = strlen(err->message);
    size_t sep = olen ? 2 : 0;
    if (plen + sep >= cap)
        plen = cap - 1 - sep;
    if (plen + sep + olen >= cap)
        olen = cap - 1 - plen - sep;
    memmove(err->message + plen + sep, err->message, olen);
    memcpy(err->message, prefix, plen);
    if (sep) {
        err->message[plen] = ':';
        err->message[plen + 1] = ' ';
    }
    err->message[plen + sep + olen] = '\0';
    return code;
}

void sd_error_clear(sd_error *err)
{
    if (err) {
        err->code = SD_OK;
        err->message[0] = '\0';
    }
}
