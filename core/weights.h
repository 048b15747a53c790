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

/* DGXM_OK when dir exists and is a directory, else an error naming it. Any thread. */
dgxm_status dgxm_checkpoint_dir_check(const char *dir, dgxm_error *err);
void dgxm_weights_free(dgxm_weights *w);

/* Lookup by exact name (binary search over the sorted index); NULL when absent. */
const dgxm_tensor *dgxm_weights_find(const dgxm_weights *w, const char *name);
/* Every tensor of the checkpoint, sorted by name; at returns NULL past the end. */
size_t dgxm_weights_count(const dgxm_weights *w);
const dgxm_tensor *dgxm_weights_at(const dgxm_weights *w, size_t index);

/* The directory given to open; whether it was opened through the index; how many files. */
const char *dgxm_weights_dir(const dgxm_weights *w);
bool dgxm_weights_sharded(const dgxm_weights *w);
size_t dgxm_weights_file_count(const dgxm_weights *w);

/* Checks a tensor already found: dtype F32, F16 or BF16 and exactly the given shape; errors
 * name the tensor, its file and the directory. */
dgxm_status dgxm_weights_check(const dgxm_weights *w, const dgxm_tensor *t, int ndim,
                               const int64_t *shape, dgxm_error *err);

/* Looks up name and checks its shape; a missing tensor or a wrong shape is an error naming the
 * tensor, the checkpoint directory and both shapes. dtype must be F32, F16 or BF16. */
const dgxm_tensor *dgxm_weights_require(const dgxm_weights *w, const char *name, int ndim,
                                        const int64_t *shape, dgxm_error *err);

#endif
