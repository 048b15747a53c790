/* One safetensors file, memory-mapped, with its header parsed and validated.
 *
 * Ownership: dgxm_safetensors_open returns an object the caller frees with
 * dgxm_safetensors_free; tensor views it hands out stay valid until then.
 * Threads: open/free on a control thread; lookups are read-only and safe from any thread once
 * open has returned.
 */
#ifndef DGXM_SAFETENSORS_H
#define DGXM_SAFETENSORS_H

#include "tensor.h"

typedef struct dgxm_safetensors dgxm_safetensors;

/* Maps path and validates the whole header: the 8-byte length inside the file, JSON syntax,
 * every entry's dtype, shape and data_offsets (inside the data area, matching dtype x shape,
 * not overlapping another entry). Errors name the file and the tensor or field at fault. */
dgxm_safetensors *dgxm_safetensors_open(const char *path, dgxm_error *err);

/* Parses a header held in memory (header JSON of len bytes, data area of data_len bytes);
 * used by open and by the fuzz target. name_for_errors is the file name used in messages. */
dgxm_safetensors *dgxm_safetensors_parse(const char *name_for_errors, const void *file_bytes,
                                         size_t file_len, dgxm_error *err);

void dgxm_safetensors_free(dgxm_safetensors *st);

size_t dgxm_safetensors_count(const dgxm_safetensors *st);
const dgxm_tensor *dgxm_safetensors_at(const dgxm_safetensors *st, size_t index);
/* NULL when absent. */
const dgxm_tensor *dgxm_safetensors_find(const dgxm_safetensors *st, const char *name);
const char *dgxm_safetensors_path(const dgxm_safetensors *st);

#endif
