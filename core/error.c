/* Error recording for library calls: see dgxm/status.h. */
#include "dgxm/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

dgxm_status dgxm_error_set(dgxm_error *err, dgxm_status code, const char *fmt, ...)
{
    if (!err || err->status != DGXM_OK)
        return code;
    err->status = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

void dgxm_error_clear(dgxm_error *err)
{
    if (!err)
        return;
    err->status = DGXM_OK;
    err->message[0] = '\0';
}

const char *dgxm_status_name(dgxm_status code)
{
    switch (code) {
    case DGXM_OK: return "ok";
    case DGXM_ERR_IO: return "i/o error";
    case DGXM_ERR_FORMAT: return "format error";
    case DGXM_ERR_INVALID_ARG: return "invalid argument";
    case DGXM_ERR_NOMEM: return "out of memory";
    case DGXM_ERR_UNSUPPORTED: return "unsupported";
    case DGXM_ERR_CANCELLED: return "cancelled";
    case DGXM_ERR_BACKEND: return "backend error";
    }
    return "unknown status";
}
