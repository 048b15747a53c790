/* One safetensors file: map it, parse the JSON header, validate every entry. See safetensors.h.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON, then the data area. Each header
 * entry gives dtype, shape and data_offsets [begin, end) relative to the data area.
 */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    /* The reference implementation refuses larger headers; so do we, so that a hostile length
     * cannot make the JSON parser chew through gigabytes. */
    HEADER_MAX = 100000000
};

struct dgxm_safetensors {
    char *path;
    void *map; /* owned mapping (open) or NULL (parse over caller memory) */
    size_t map_len;
    dgxm_tensor *tensors; /* sorted by name */
    size_t count;
    char *names; /* every tensor name, NUL-separated */
};

void dgxm_safetensors_free(dgxm_safetensors *st)
{
    if (!st)
        return;
    if (st->map)
        munmap(st->map, st->map_len);
    free(st->tensors);
    free(st->names);
    free(st->path);
    free(st);
}

static uint64_t read_u64_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static dgxm_status parse_dtype(const char *file, const char *name, json_t *entry, dgxm_tensor *t,
                               dgxm_error *err)
{
    json_t *j = json_object_get(entry, "dtype");
    if (!j)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: dtype: missing", file, name);
    if (!json_is_string(j))
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: dtype: not a string", file,
                              name);
    int d = dgxm_dtype_parse(json_string_value(j));
    if (d < 0)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: dtype \"%s\" is unknown", file,
                              name, json_string_value(j));
    t->dtype = (dgxm_dtype)d;
    return DGXM_OK;
}

static dgxm_status parse_shape(const char *file, const char *name, json_t *entry, dgxm_tensor *t,
                               dgxm_error *err)
{
    json_t *j = json_object_get(entry, "shape");
    if (!j)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: shape: missing", file, name);
    if (!json_is_array(j))
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: shape: not an array", file,
                              name);
    size_t ndim = json_array_size(j);
    if (ndim > DGXM_TENSOR_MAX_DIMS)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: tensor %s: shape: %zu dimensions, at most %d supported", file,
                              name, ndim, DGXM_TENSOR_MAX_DIMS);
    int64_t numel = 1;
    for (size_t i = 0; i < ndim; i++) {
        json_t *d = json_array_get(j, i);
        if (!json_is_integer(d))
            return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: shape[%zu]: not an integer",
                                  file, name, i);
        json_int_t v = json_integer_value(d);
        if (v < 0)
            return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: shape[%zu]: %lld < 0", file,
                                  name, i, (long long)v);
        if (__builtin_mul_overflow(numel, (int64_t)v, &numel))
            return dgxm_error_set(err, DGXM_ERR_FORMAT,
                                  "%s: tensor %s: shape: element count overflows", file, name);
        t->shape[i] = v;
    }
    t->ndim = (int)ndim;
    t->numel = numel;
    return DGXM_OK;
}

/* data_offsets must be two integers inside the data area spanning exactly numel * dtype size. */
static dgxm_status parse_offsets(const char *file, const char *name, json_t *entry, size_t data_len,
                                 dgxm_tensor *t, uint64_t *begin_out, dgxm_error *err)
{
    json_t *j = json_object_get(entry, "data_offsets");
    if (!j)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: data_offsets: missing", file,
                              name);
    if (!json_is_array(j) || json_array_size(j) != 2 || !json_is_integer(json_array_get(j, 0)) ||
        !json_is_integer(json_array_get(j, 1)))
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: tensor %s: data_offsets: expected two integers", file, name);
    json_int_t b = json_integer_value(json_array_get(j, 0));
    json_int_t e = json_integer_value(json_array_get(j, 1));
    if (b < 0 || e < b || (uint64_t)e > data_len)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: tensor %s: data_offsets [%lld, %lld] outside the data area of "
                              "%zu bytes",
                              file, name, (long long)b, (long long)e, data_len);
    int64_t need;
    if (__builtin_mul_overflow(t->numel, (int64_t)dgxm_dtype_size(t->dtype), &need) ||
        need != (int64_t)(e - b)) {
        char shape[160];
        dgxm_shape_format(t->ndim, t->shape, shape, sizeof shape);
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: tensor %s: data_offsets [%lld, %lld] hold %lld bytes, but %s "
                              "%s needs %lld",
                              file, name, (long long)b, (long long)e, (long long)(e - b),
                              dgxm_dtype_name(t->dtype), shape, (long long)need);
    }
    t->nbytes = (size_t)(e - b);
    *begin_out = (uint64_t)b;
    return DGXM_OK;
}

static dgxm_status check_metadata(const char *file, json_t *meta, dgxm_error *err)
{
    if (!json_is_object(meta))
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: __metadata__: not an object", file);
    const char *key;
    json_t *v;
    json_object_foreach(meta, key, v)
    {
        if (!json_is_string(v))
            return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: __metadata__.%s: not a string", file,
                                  key);
    }
    return DGXM_OK;
}

typedef struct span {
    uint64_t begin;
    uint64_t end;
    size_t index;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int tensor_name_cmp(const void *a, const void *b)
{
    return strcmp(((const dgxm_tensor *)a)->name, ((const dgxm_tensor *)b)->name);
}

/* Two non-empty entries may not share a byte; empty ones occupy nothing. */
static dgxm_status check_overlaps(const dgxm_safetensors *st, span *spans, dgxm_error *err)
{
    qsort(spans, st->count, sizeof *spans, span_cmp);
    const span *last = NULL;
    for (size_t i = 0; i < st->count; i++) {
        const span *s = &spans[i];
        if (s->begin == s->end)
            continue;
        if (last && s->begin < last->end)
            return dgxm_error_set(err, DGXM_ERR_FORMAT,
                                  "%s: tensor %s: data_offsets [%llu, %llu] overlap tensor %s "
                                  "[%llu, %llu]",
                                  st->path, st->tensors[s->index].name,
                                  (unsigned long long)s->begin, (unsigned long long)s->end,
                                  st->tensors[last->index].name, (unsigned long long)last->begin,
                                  (unsigned long long)last->end);
        if (!last || s->end > last->end)
            last = s;
    }
    return DGXM_OK;
}

static dgxm_status parse_entries(dgxm_safetensors *st, json_t *root, const unsigned char *data,
                                 size_t data_len, dgxm_error *err)
{
    size_t names_len = 0, n = 0;
    const char *key;
    json_t *entry;
    json_object_foreach(root, key, entry)
    {
        if (strcmp(key, "__metadata__") != 0) {
            names_len += strlen(key) + 1;
            n++;
        }
    }
    st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
    st->names = malloc(names_len ? names_len : 1);
    span *spans = calloc(n ? n : 1, sizeof *spans);
    if (!st->tensors || !st->names || !spans) {
        free(spans);
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory for %zu header entries", st->path,
                              n);
    }
    char *name_at = st->names;
    dgxm_status s = DGXM_OK;
    json_object_foreach(root, key, entry)
    {
        if (!strcmp(key, "__metadata__")) {
            s = check_metadata(st->path, entry, err);
            if (s)
                break;
            continue;
        }
        dgxm_tensor *t = &st->tensors[st->count];
        size_t len = strlen(key) + 1;
        memcpy(name_at, key, len);
        t->name = name_at;
        name_at += len;
        t->file = st->path;
        if (!json_is_object(entry)) {
            s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: entry is not an object",
                               st->path, key);
            break;
        }
        uint64_t begin = 0;
        s = parse_dtype(st->path, key, entry, t, err);
        if (!s)
            s = parse_shape(st->path, key, entry, t, err);
        if (!s)
            s = parse_offsets(st->path, key, entry, data_len, t, &begin, err);
        if (s)
            break;
        t->data = data + begin;
        spans[st->count] = (span){ begin, begin + t->nbytes, st->count };
        st->count++;
    }
    if (!s)
        s = check_overlaps(st, spans, err);
    free(spans);
    if (!s)
        qsort(st->tensors, st->count, sizeof *st->tensors, tensor_name_cmp);
    return s;
}

dgxm_safetensors *dgxm_safetensors_parse(const char *name_for_errors, const void *file_bytes,
                                         size_t file_len, dgxm_error *err)
{
    const char *file = name_for_errors ? name_for_errors : "(memory)";
    if (file_len < 8) {
        dgxm_error_set(err, DGXM_ERR_FORMAT,
                       "%s: file is %zu bytes, shorter than the 8-byte header length", file,
                       file_len);
        return NULL;
    }
    const unsigned char *bytes = file_bytes;
    uint64_t hlen = read_u64_le(bytes);
    if (hlen > file_len - 8) {
        dgxm_error_set(err, DGXM_ERR_FORMAT,
                       "%s: header length %llu runs past the end of the file (%zu bytes): "
                       "truncated or not a safetensors file",
                       file, (unsigned long long)hlen, file_len);
        return NULL;
    }
    if (hlen > HEADER_MAX) {
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: header length %llu exceeds the limit of %d", file,
                       (unsigned long long)hlen, HEADER_MAX);
        return NULL;
    }
    dgxm_safetensors *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(file))) {
        free(st);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", file);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)bytes + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    dgxm_status s;
    if (!root)
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: header JSON: %s (line %d, column %d)", file,
                           jerr.text, jerr.line, jerr.column);
    else if (!json_is_object(root))
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: header JSON is not an object", file);
    else
        s = parse_entries(st, root, bytes + 8 + hlen, file_len - 8 - (size_t)hlen, err);
    json_decref(root);
    if (s) {
        dgxm_safetensors_free(st);
        return NULL;
    }
    return st;
}

dgxm_safetensors *dgxm_safetensors_open(const char *path, dgxm_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t len = (size_t)sb.st_size;
    void *map = NULL;
    if (len >= 8) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot map %zu bytes: %s", path, len,
                           strerror(errno));
            close(fd);
            return NULL;
        }
    }
    close(fd); /* the mapping keeps the file contents reachable */
    static const unsigned char empty[1];
    dgxm_safetensors *st = dgxm_safetensors_parse(path, map ? map : empty, len, err);
    if (!st) {
        if (map)
            munmap(map, len);
        return NULL;
    }
    st->map = map;
    st->map_len = len;
    return st;
}

size_t dgxm_safetensors_count(const dgxm_safetensors *st)
{
    return st->count;
}

const dgxm_tensor *dgxm_safetensors_at(const dgxm_safetensors *st, size_t index)
{
    return index < st->count ? &st->tensors[index] : NULL;
}

const dgxm_tensor *dgxm_safetensors_find(const dgxm_safetensors *st, const char *name)
{
    dgxm_tensor key = { .name = name };
    return bsearch(&key, st->tensors, st->count, sizeof key, tensor_name_cmp);
}

const char *dgxm_safetensors_path(const dgxm_safetensors *st)
{
    return st->path;
}
