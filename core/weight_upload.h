/* Moving checkpoint tensors into a backend: shape-checked lookup, conversion to float32 and
 * upload, shared by the model files (t5.c, decoder.c, encodec.c).
 *
 * Threads: the engine thread that owns the backend. Returned memory belongs to the caller:
 * host buffers are freed with free(), backend buffers with b->ops->release, matrices with
 * b->ops->matrix_free.
 */
#ifndef DGXM_WEIGHT_UPLOAD_H
#define DGXM_WEIGHT_UPLOAD_H

#include "backend.h"
#include "weights.h"

/* The tensor `name` with exactly this shape, as a malloc'ed host float32 array. */
float *dgxm_weights_load_host(const dgxm_weights *w, const char *name, int ndim,
                              const int64_t *shape, dgxm_error *err);

/* Copies host floats into new backend memory; NULL on failure (err says why). */
float *dgxm_backend_upload_floats(dgxm_backend *b, const float *host, size_t count,
                                  const char *what, dgxm_error *err);

/* The tensor `name` with exactly this shape, in backend memory as float32. */
float *dgxm_weights_upload(dgxm_backend *b, const dgxm_weights *w, const char *name, int ndim,
                           const int64_t *shape, dgxm_error *err);

/* The [rows][cols] tensor `name` as a backend matrix in the given weight format. */
dgxm_status dgxm_weights_upload_matrix(dgxm_backend *b, const dgxm_weights *w, const char *name,
                                       int rows, int cols, dgxm_weight_format format,
                                       dgxm_matrix *out, dgxm_error *err);

#endif
