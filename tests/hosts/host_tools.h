/* Helpers of the host tests (tests/hosts/): external programs run with bounded time, audio
 * files read through libsndfile, and the paths the hosts need. Test code only (single thread). */
#ifndef DGXM_TEST_HOST_TOOLS_H
#define DGXM_TEST_HOST_TOOLS_H

#include <stdbool.h>
#include <stdint.h>

/* Runs `cmd` through sh, stdout and stderr appended to log_path; returns its exit status, or
 * 128 + N when it died of signal N. The command bounds its own time (timeout(1)). */
int ht_system(const char *cmd, const char *log_path);

/* The absolute path of the variant's built plugins folder ($DGXM_BUILD_DIR/plugins), which
 * holds generator.lv2 and dgx-music-presets.lv2: for LV2_PATH. Static buffer; NULL when the
 * folder is not there. */
const char *ht_plugins_dir(void);

/* An audio file: frames x channels interleaved floats (malloc'ed; ht_audio_free). */
typedef struct ht_audio {
    float *data;
    int64_t frames;
    int channels, rate;
} ht_audio;

/* False (with the reason printed) when the file cannot be read. */
bool ht_audio_read(const char *path, ht_audio *a);
void ht_audio_free(ht_audio *a);

/* Root mean square of channel `ch` over frames [from, to). */
double ht_rms(const ht_audio *a, int ch, int64_t from, int64_t to);
/* The first frame at or after `from` whose channel `ch` exceeds `level` in magnitude; -1 none. */
int64_t ht_first_above(const ht_audio *a, int ch, int64_t from, float level);

/* The md5 of a file as 32 hex digits into out (33 bytes); false when md5sum fails. */
bool ht_md5(const char *path, char out[33]);

#endif
