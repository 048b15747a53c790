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

/* Parses and validates a whole safetensors file held in memory (file_len bytes: length, header,
 * data area), with the same checks as open; used by open and by the fuzz target.
 * name_for_errors is the file name used in messages. The object does not copy file_bytes: the
 * caller keeps them alive and unchanged until dgxm_safetensors_free. */
dgxm_safetensors *dgxm_safetensors_parse(const char *name_for_errors, const void *file_bytes,
                                         size_t file_len, dgxm_error *err);

void dgxm_safetensors_free(dgxm_safetensors *st);

/* The entries, sorted by name (at returns NULL past the end); __metadata__ is validated
 * (string -> string) but not exposed. */
size_t dgxm_safetensors_count(const dgxm_safetensors *st);
const dgxm_tensor *dgxm_safetensors_at(const dgxm_safetensors *st, size_t index);
/* Binary search by exact name; NULL when absent. */
const dgxm_tensor *dgxm_safetensors_find(const dgxm_safetensors *st, const char *name);
const char *dgxm_safetensors_path(const dgxm_safetensors *st);

#endif
