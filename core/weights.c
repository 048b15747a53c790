/* The tensors of a checkpoint directory, single-file or sharded: see weights.h. */
#include "weights.h"

#include "safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    INDEX_MAX_BYTES = 64 << 20, /* a real index is ~100 KB */
    MAX_SHARDS = 4096
};

typedef struct shard {
    dgxm_safetensors *st;
    char *file; /* name inside the checkpoint directory */
} shard;

typedef struct index_entry {
    const dgxm_tensor *tensor;
} index_entry;

struct dgxm_weights {
    char *dir;
    bool sharded; /* opened through model.safetensors.index.json */
    shard *shards;
    size_t shard_count;
    index_entry *index; /* every tensor, sorted by name */
    size_t count;
};

/* The status a failed callee left in err (never OK), for callees that return NULL. */
static dgxm_status failure(const dgxm_error *err, dgxm_status fallback)
{
    return err && err->status != DGXM_OK ? err->status : fallback;
}

void dgxm_weights_free(dgxm_weights *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->shard_count; i++) {
        dgxm_safetensors_free(w->shards[i].st);
        free(w->shards[i].file);
    }
    free(w->shards);
    free(w->index);
    free(w->dir);
    free(w);
}

static char *join_path(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static int entry_cmp(const void *a, const void *b)
{
    const index_entry *x = a, *y = b;
    return strcmp(x->tensor->name, y->tensor->name);
}

/* Opens dir/file and appends it to the shard list; false (err set) on failure. */
static bool add_shard(dgxm_weights *w, const char *file, dgxm_error *err)
{
    char *path = join_path(w->dir, file);
    if (!path) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", w->dir);
        return false;
    }
    dgxm_safetensors *st = dgxm_safetensors_open(path, err);
    free(path);
    if (!st)
        return false;
    shard *grown = realloc(w->shards, (w->shard_count + 1) * sizeof *grown);
    char *copy = strdup(file);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            w->shards = grown;
        dgxm_safetensors_free(st);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", w->dir);
        return false;
    }
    w->shards = grown;
    w->shards[w->shard_count++] = (shard){ st, copy };
    return true;
}

static dgxm_status open_single(dgxm_weights *w, dgxm_error *err)
{
    if (!add_shard(w, "model.safetensors", err))
        return failure(err, DGXM_ERR_IO);
    const dgxm_safetensors *st = w->shards[0].st;
    w->count = dgxm_safetensors_count(st);
    w->index = calloc(w->count ? w->count : 1, sizeof *w->index);
    if (!w->index)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", w->dir);
    for (size_t i = 0; i < w->count; i++)
        w->index[i].tensor = dgxm_safetensors_at(st, i); /* already sorted by name */
    return DGXM_OK;
}

/* A shard name must be a plain file name inside the checkpoint directory. */
static bool plain_file_name(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static size_t shard_of(const dgxm_weights *w, const char *file)
{
    for (size_t i = 0; i < w->shard_count; i++)
        if (!strcmp(w->shards[i].file, file))
            return i;
    return (size_t)-1;
}

static bool file_exists(const char *path, off_t *size)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return false;
    *size = sb.st_size;
    return true;
}

/* Opens a shard named by the index the first time one of its tensors comes up; false (err set)
 * when it is missing or unreadable. */
static bool open_listed_shard(dgxm_weights *w, const char *index_path, const char *tensor,
                              const char *file, dgxm_error *err)
{
    if (w->shard_count >= MAX_SHARDS) {
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: more than %d shards", index_path, MAX_SHARDS);
        return false;
    }
    char *path = join_path(w->dir, file);
    off_t size;
    bool there = path && file_exists(path, &size);
    free(path);
    if (!there) {
        dgxm_error_set(err, DGXM_ERR_IO,
                       "%s: weight_map.%s: shard %s/%s is missing from the directory", index_path,
                       tensor, w->dir, file);
        return false;
    }
    return add_shard(w, file, err);
}

/* Opens every shard the weight map names (once each) and records each mapped tensor. */
static dgxm_status load_weight_map(dgxm_weights *w, const char *index_path, json_t *map,
                                   dgxm_error *err)
{
    size_t n = json_object_size(map);
    w->index = calloc(n ? n : 1, sizeof *w->index);
    if (!w->index)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", index_path);
    const char *name;
    json_t *file;
    dgxm_status s = DGXM_OK;
    json_object_foreach(map, name, file)
    {
        if (!json_is_string(file) || !plain_file_name(json_string_value(file))) {
            s = dgxm_error_set(err, DGXM_ERR_FORMAT,
                               "%s: weight_map.%s: not a file name in the checkpoint directory",
                               index_path, name);
            break;
        }
        const char *f = json_string_value(file);
        size_t at = shard_of(w, f);
        if (at == (size_t)-1) {
            if (!open_listed_shard(w, index_path, name, f, err)) {
                s = failure(err, DGXM_ERR_IO);
                break;
            }
            at = w->shard_count - 1;
        }
        const dgxm_tensor *t = dgxm_safetensors_find(w->shards[at].st, name);
        if (!t) {
            s = dgxm_error_set(err, DGXM_ERR_FORMAT,
                               "%s: weight_map.%s: tensor %s is not in shard %s", index_path, name,
                               name, dgxm_safetensors_path(w->shards[at].st));
            break;
        }
        w->index[w->count++].tensor = t;
    }
    /* The converse: a shard holding a tensor the map sends elsewhere (or nowhere) disagrees. */
    for (size_t i = 0; !s && i < w->shard_count; i++) {
        const dgxm_safetensors *st = w->shards[i].st;
        for (size_t j = 0; j < dgxm_safetensors_count(st); j++) {
            const dgxm_tensor *t = dgxm_safetensors_at(st, j);
            json_t *f = json_object_get(map, t->name);
            if (!f || shard_of(w, json_string_value(f)) != i) {
                s = dgxm_error_set(err, DGXM_ERR_FORMAT,
                                   "%s: tensor %s is in shard %s but weight_map %s", index_path,
                                   t->name, dgxm_safetensors_path(st),
                                   f ? "names another shard" : "does not list it");
                break;
            }
        }
    }
    return s;
}

static dgxm_status open_sharded(dgxm_weights *w, const char *index_path, dgxm_error *err)
{
    FILE *f = fopen(index_path, "rb");
    if (!f)
        return dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot open: %s", index_path, strerror(errno));
    json_error_t jerr;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!root)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: JSON: %s (line %d, column %d)", index_path,
                              jerr.text, jerr.line, jerr.column);
    dgxm_status s;
    json_t *map = json_is_object(root) ? json_object_get(root, "weight_map") : NULL;
    if (!json_is_object(root))
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: not a JSON object", index_path);
    else if (!map)
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: weight_map: missing", index_path);
    else if (!json_is_object(map))
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: weight_map: not an object", index_path);
    else
        s = load_weight_map(w, index_path, map, err);
    json_decref(root);
    if (!s)
        qsort(w->index, w->count, sizeof *w->index, entry_cmp);
    return s;
}

dgxm_status dgxm_checkpoint_dir_check(const char *dir, dgxm_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return dgxm_error_set(err, DGXM_ERR_IO, "%s: checkpoint directory: %s", dir,
                              strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return dgxm_error_set(err, DGXM_ERR_IO, "%s: checkpoint directory: not a directory", dir);
    return DGXM_OK;
}

dgxm_weights *dgxm_weights_open(const char *dir, dgxm_error *err)
{
    if (dgxm_checkpoint_dir_check(dir, err) != DGXM_OK)
        return NULL;
    dgxm_weights *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", dir);
        return NULL;
    }
    char *single = join_path(dir, "model.safetensors");
    char *index = join_path(dir, "model.safetensors.index.json");
    off_t size = 0;
    dgxm_status s;
    if (!single || !index)
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", dir);
    else if (file_exists(single, &size))
        s = open_single(w, err);
    else if (!file_exists(index, &size))
        s = dgxm_error_set(err, DGXM_ERR_IO,
                           "%s: no weights: neither model.safetensors nor "
                           "model.safetensors.index.json is there",
                           dir);
    else if (size > INDEX_MAX_BYTES)
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: %lld bytes, more than an index can be", index,
                           (long long)size);
    else {
        w->sharded = true;
        s = open_sharded(w, index, err);
    }
    free(single);
    free(index);
    if (s) {
        dgxm_weights_free(w);
        return NULL;
    }
    return w;
}

const dgxm_tensor *dgxm_weights_find(const dgxm_weights *w, const char *name)
{
    dgxm_tensor key = { .name = name };
    index_entry probe = { &key };
    const index_entry *hit = bsearch(&probe, w->index, w->count, sizeof *w->index, entry_cmp);
    return hit ? hit->tensor : NULL;
}

size_t dgxm_weights_count(const dgxm_weights *w)
{
    return w->count;
}

const dgxm_tensor *dgxm_weights_at(const dgxm_weights *w, size_t index)
{
    return index < w->count ? w->index[index].tensor : NULL;
}

const char *dgxm_weights_dir(const dgxm_weights *w)
{
    return w->dir;
}

size_t dgxm_weights_file_count(const dgxm_weights *w)
{
    return w->shard_count;
}

bool dgxm_weights_sharded(const dgxm_weights *w)
{
    return w->sharded;
}

dgxm_status dgxm_weights_check(const dgxm_weights *w, const dgxm_tensor *t, int ndim,
                               const int64_t *shape, dgxm_error *err)
{
    if (!dgxm_dtype_is_float(t->dtype) || t->dtype == DGXM_DTYPE_F64)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: tensor %s: dtype %s, expected F32, F16 or BF16 (in %s)", t->file,
                              t->name, dgxm_dtype_name(t->dtype), w->dir);
    return dgxm_tensor_check_shape(t, ndim, shape, err);
}

const dgxm_tensor *dgxm_weights_require(const dgxm_weights *w, const char *name, int ndim,
                                        const int64_t *shape, dgxm_error *err)
{
    const dgxm_tensor *t = dgxm_weights_find(w, name);
    if (!t) {
        char want[160];
        dgxm_shape_format(ndim, shape, want, sizeof want);
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s %s: missing", w->dir, name, want);
        return NULL;
    }
    return dgxm_weights_check(w, t, ndim, shape, err) ? NULL : t;
}
