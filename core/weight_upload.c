/* Checkpoint tensors into backend memory; see weight_upload.h. */
#include "weight_upload.h"

#include <stdlib.h>

float *dgxm_weights_load_host(const dgxm_weights *w, const char *name, int ndim,
                              const int64_t *shape, dgxm_error *err)
{
    const dgxm_tensor *t = dgxm_weights_require(w, name, ndim, shape, err);
    if (!t)
        return NULL;
    float *host = malloc((size_t)t->numel * sizeof(float) + 1);
    if (!host) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: %lld floats", name, (long long)t->numel);
        return NULL;
    }
    if (dgxm_tensor_to_f32(t, host, err) != DGXM_OK) {
        free(host);
        return NULL;
    }
    return host;
}

float *dgxm_backend_upload_floats(dgxm_backend *b, const float *host, size_t count,
                                  const char *what, dgxm_error *err)
{
    size_t bytes = count * sizeof(float);
    float *dev = b->ops->alloc(b, bytes);
    if (!dev) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: %zu bytes on the %s backend", what, bytes,
                       b->ops->name);
        return NULL;
    }
    if (b->ops->copy_to_device(b, dev, host, bytes, err) != DGXM_OK) {
        b->ops->release(b, dev);
        return NULL;
    }
    return dev;
}

float *dgxm_weights_upload(dgxm_backend *b, const dgxm_weights *w, const char *name, int ndim,
                           const int64_t *shape, dgxm_error *err)
{
    float *host = dgxm_weights_load_host(w, name, ndim, shape, err);
    if (!host)
        return NULL;
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)shape[i];
    float *dev = dgxm_backend_upload_floats(b, host, count, name, err);
    free(host);
    return dev;
}

dgxm_status dgxm_weights_upload_matrix(dgxm_backend *b, const dgxm_weights *w, const char *name,
                                       int rows, int cols, dgxm_weight_format format,
                                       dgxm_matrix *out, dgxm_error *err)
{
    const int64_t shape[2] = { rows, cols };
    float *host = dgxm_weights_load_host(w, name, 2, shape, err);
    if (!host)
        return err && err->status ? err->status : DGXM_ERR_FORMAT;
    dgxm_status st = b->ops->matrix_upload(b, host, rows, cols, format, out, err);
    free(host);
    return st;
}
