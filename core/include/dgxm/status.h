/* Status codes and error messages shared by every dgx-music library call.
 *
 * Library code never exits and never prints: a failing call returns a dgxm_status and, when the
 * caller passed a dgxm_error, fills it with one line naming the file, field, tensor or value at
 * fault. The caller owns the dgxm_error; it is plain memory, so any thread may use its own.
 */
#ifndef DGXM_STATUS_H
#define DGXM_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dgxm_status {
    DGXM_OK = 0,
    DGXM_ERR_IO,          /* a file is missing, unreadable or unwritable */
    DGXM_ERR_FORMAT,      /* a file's contents are malformed, truncated or inconsistent */
    DGXM_ERR_INVALID_ARG, /* a parameter or input value is out of range or not valid */
    DGXM_ERR_NOMEM,       /* an allocation failed */
    DGXM_ERR_UNSUPPORTED, /* valid input that this build cannot handle */
    DGXM_ERR_CANCELLED,   /* the work was cancelled by request */
    DGXM_ERR_BACKEND      /* the compute backend failed */
} dgxm_status;

enum {
    DGXM_ERROR_MESSAGE_MAX = 512
};

typedef struct dgxm_error {
    dgxm_status status;
    char message[DGXM_ERROR_MESSAGE_MAX];
} dgxm_error;

/* Records a failure in err (which may be NULL) and returns code, so a caller can write
 * `return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: ...", path);`. The first failure recorded
 * wins: a later call does not overwrite a message already set, so the innermost cause survives.
 * Any thread. */
dgxm_status dgxm_error_set(dgxm_error *err, dgxm_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to DGXM_OK with an empty message. Any thread. */
void dgxm_error_clear(dgxm_error *err);

/* err itself, or `local` (cleared) when err is NULL, so that code below a public entry point may
 * always read err->status. Any thread. */
static inline dgxm_error *dgxm_error_or(dgxm_error *err, dgxm_error *local)
{
    if (err)
        return err;
    local->status = DGXM_OK;
    local->message[0] = '\0';
    return local;
}

/* A short fixed name for a status ("format error", ...). Static storage. Any thread. */
const char *dgxm_status_name(dgxm_status code);

#ifdef __cplusplus
}
#endif

#endif
