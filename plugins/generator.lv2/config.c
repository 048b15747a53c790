/* Default model and device: environment, then the user's config file. Worker thread. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void config_path(char *out, size_t size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(out, size, "%s/dgx-music/config", xdg);
    else
        snprintf(out, size, "%s/.config/dgx-music/config", home ? home : "");
}

/* The value of `key=` in the config file, trimmed; false when absent. */
static bool config_value(const char *key, char *out, size_t size)
{
    char path[4096];
    config_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[4096];
    size_t klen = strlen(key);
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || strncmp(p, key, klen) != 0 || p[klen] != '=')
            continue;
        p += klen + 1;
        size_t n = strcspn(p, "\r\n");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > 0 && n < size) {
            memcpy(out, p, n);
            out[n] = '\0';
            found = true;
        }
    }
    fclose(f);
    return found;
}

bool gen_config_model(const char *asked, char *out, size_t size, char *msg, size_t msg_size)
{
    if (asked && asked[0]) {
        snprintf(out, size, "%s", asked);
        return true;
    }
    const char *env = getenv("DGXM_MODEL");
    if (env && env[0]) {
        snprintf(out, size, "%s", env);
        return true;
    }
    if (config_value("model", out, size))
        return true;
    char path[4096];
    config_path(path, sizeof path);
    snprintf(msg, msg_size, "no model: set the model parameter, DGXM_MODEL, or a model= line in %s",
             path);
    return false;
}

void gen_config_device(char *out, size_t size)
{
    const char *env = getenv("DGXM_DEVICE");
    if (env && env[0])
        snprintf(out, size, "%s", env);
    else if (!config_value("device", out, size))
        out[0] = '\0';
}
