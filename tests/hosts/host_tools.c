/* Helpers of the host tests; see host_tools.h. */
#include "host_tools.h"

#include "test_commands.h"

#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int ht_system(const char *cmd, const char *log_path)
{
    size_t n = strlen(cmd) + strlen(log_path) + 32;
    char *full = malloc(n);
    snprintf(full, n, "(%s) >>'%s' 2>&1", cmd, log_path);
    const int st = system(full);
    free(full);
    return test_exit_status(st);
}

const char *ht_plugins_dir(void)
{
    static char path[PATH_MAX];
    const char *build = getenv("DGXM_BUILD_DIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/plugins", build ? build : "build");
    return realpath(dir, path) ? path : NULL;
}

bool ht_audio_read(const char *path, ht_audio *a)
{
    memset(a, 0, sizeof *a);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        printf("cannot read %s: %s\n", path, sf_strerror(NULL));
        return false;
    }
    a->frames = info.frames;
    a->channels = info.channels;
    a->rate = info.samplerate;
    a->data = calloc((size_t)info.frames * (size_t)info.channels + 1, sizeof *a->data);
    sf_count_t got = sf_readf_float(f, a->data, info.frames);
    sf_close(f);
    if (got != info.frames) {
        printf("%s: read %lld of %lld frames\n", path, (long long)got, (long long)info.frames);
        ht_audio_free(a);
        return false;
    }
    return true;
}

void ht_audio_free(ht_audio *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

double ht_rms(const ht_audio *a, int ch, int64_t from, int64_t to)
{
    if (to > a->frames)
        to = a->frames;
    if (from < 0)
        from = 0;
    if (to <= from)
        return 0.0;
    double e = 0;
    for (int64_t i = from; i < to; i++) {
        double x = a->data[i * a->channels + ch];
        e += x * x;
    }
    return sqrt(e / (double)(to - from));
}

int64_t ht_first_above(const ht_audio *a, int ch, int64_t from, float level)
{
    for (int64_t i = from < 0 ? 0 : from; i < a->frames; i++)
        if (fabsf(a->data[i * a->channels + ch]) > level)
            return i;
    return -1;
}

bool ht_md5(const char *path, char out[33])
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "md5sum '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    char line[PATH_MAX + 64] = "";
    bool ok = fgets(line, sizeof line, p) != NULL;
    ok = pclose(p) == 0 && ok && strlen(line) >= 32;
    if (ok) {
        memcpy(out, line, 32);
        out[32] = '\0';
    }
    return ok;
}
