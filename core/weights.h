/* The tensors of a checkpoint directory: model.safetensors, or the shards named by
 * model.safetensors.index.json. Tensors are looked up by their Hugging Face names.
 *
 * Ownership: the caller frees the object with dgxm_weights_free; tensor views live until then.
 * Threads: open/free on a control thread; lookups from any thread after open returns.
 */
#ifndef DGXM_WEIGHTS_H
#define DGXM_WEIGHTS_H

#include "tensor.h"

typedef struct dgxm_weights dgxm_weights;

/* Opens dir/model.safetensors, or, when it is absent, dir/model.safetensors.index.json and
 * every shard its weight_map names (each shard must hold exactly the tensors the map gives it).
 * A missing directory or file, a malformed index or a shard that disagrees is an error naming
 * the file and the entry. */
dgxm_weights *dgxm_weights_open(const char *dir, dgxm_error *err);
void dgxm_weights_free(dgxm_weights *w);

/* NULL when absent. */
const dgxm_tensor *dgxm_weights_find(const dgxm_weights *w, const char *name);
size_t dgxm_weights_count(const dgxm_weights *w);
const dgxm_tensor *dgxm_weights_at(const dgxm_weights *w, size_t index);

/* Looks up name and checks its shape; a missing tensor or a wrong shape is an error naming the
 * tensor, the checkpoint directory and both shapes. dtype must be F32, F16 or BF16. */
const dgxm_tensor *dgxm_weights_require(const dgxm_weights *w, const char *name, int ndim,
                                        const int64_t *shape, dgxm_error *err);

#endif
