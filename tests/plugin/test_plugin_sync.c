/* Tempo sync: with sync on and the host's time:Position, a 4-bar take is a loop of exactly
 * 4 bars in frames (at 48 kHz: 384000 at 120 bpm, round(16 * 60 / 93 * 48000) = 495484 at
 * 93 bpm), its take file holds exactly that many frames, the prompt got the tempo hint, and it
 * plays aligned to the bars: at bar 4 (a loop start) the output is the loop's first frame.
 * Without tempo information it falls back to free mode and says so with a NOTICE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plugin_host.h"
#include "protocol.h"
#include "test_support.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ph_host *synced_host(void)
{
    ph_options o = { .rate = 48000 };
    ph_host *h = ph_new(&o);
    if (!h)
        fail_msg("no instance: %s", ph_log());
    ph_set_port(h, DGXM_GEN_PORT_SYNC, 1.0f);
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 4.0f); /* bars */
    ph_set_port(h, DGXM_GEN_PORT_SEED, 7.0f);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, "funk drums");
    return h;
}

/* Frames in the take file, and its first frame's left sample. */
static sf_count_t file_frames(const char *path, float *first)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        fail_msg("cannot open %s", path);
    float frame[2];
    sf_readf_float(f, frame, 1);
    *first = frame[0];
    sf_close(f);
    return info.frames;
}

static void loop_is_exactly_n_bars(double bpm, sf_count_t expected)
{
    ph_host *h = synced_host();
    ph_position(h, bpm, 4, 0, 0, 1);
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Ready", 120));
    ph_run(h, NULL, NULL);
    const ph_notes *n = ph_notes_get(h);
    assert_int_equal(n->takes_count, 1);
    assert_int_equal(n->take_bars[0], 4);
    assert_true(fabsf(n->take_bpm[0] - (float)bpm) < 1e-3f);
    float first = 0;
    sf_count_t frames = file_frames(n->take_file[0], &first);
    printf("%g bpm: 4 bars = %lld frames (expected %lld), %.6f s\n", bpm, (long long)frames,
           (long long)expected, (double)n->take_seconds[0]);
    assert_int_equal(frames, expected);

    /* aligned to bar lines: at bar 4 (a loop start) the first output frame is loop frame 0 */
    ph_position(h, bpm, 4, 4, 0, 1);
    float l[256], r[256];
    ph_run(h, l, r);
    printf("bar 4, first frame: %.7f, loop frame 0 in the file: %.7f\n", (double)l[0],
           (double)first);
    assert_true(fabsf(l[0] - first) < 1e-6f);
    double energy = 0;
    for (int i = 0; i < 256; i++)
        energy += (double)l[i] * l[i];
    assert_true(energy > 0);         /* the loop plays while the transport rolls */
    ph_position(h, bpm, 4, 5, 0, 0); /* stopped: silence */
    ph_run(h, l, r);
    for (int i = 0; i < 256; i++)
        assert_true(l[i] == 0.0f);
    ph_free(h);
}

static void four_bars_at_120_bpm(void **state)
{
    (void)state;
    loop_is_exactly_n_bars(120.0, 384000);
}

static void four_bars_at_93_bpm(void **state)
{
    (void)state;
    loop_is_exactly_n_bars(93.0, (sf_count_t)llround(16.0 * 60.0 / 93.0 * 48000.0));
}

static void no_tempo_falls_back_to_free_mode(void **state)
{
    (void)state;
    ph_host *h = synced_host();
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Ready", 60));
    ph_run(h, NULL, NULL);
    const ph_notes *n = ph_notes_get(h);
    printf("NOTICE: %s\n", n->notice);
    assert_int_equal(n->notices, 1);
    assert_non_null(strstr(n->notice, "no host tempo"));
    assert_int_equal(n->take_bars[0], 0);
    assert_true(fabsf(n->take_seconds[0] - 4.0f) < 1e-3f); /* the duration counted seconds */
    ph_free(h);
}

/* Export as Ardour does it (sync worker, freewheel, 1024-frame blocks): every block comes with a
 * time:Position whose barBeat is rounded down to Ardour's tick grid (1920 per beat: 12.5 frames
 * at 120 bpm) and the exact time:frame. Playback must follow the transport frame for frame,
 * not the rounded beat: output frame x is loop frame x mod loop in every block (before the fix
 * it drifted by a frame per block and jumped back every 12 blocks). */
static void export_ignores_tick_rounding_of_the_host_position(void **state)
{
    (void)state;
    const double bpm = 120, rate = 48000, frames_per_beat = 60.0 / bpm * rate;
    const uint32_t block = 1024;
    ph_options o = { .rate = rate, .block = block, .sync_worker = true };
    ph_host *h = ph_new(&o);
    if (!h)
        fail_msg("no instance: %s", ph_log());
    ph_set_port(h, DGXM_GEN_PORT_SYNC, 1.0f);
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 2.0f); /* bars: a 192000-frame loop */
    ph_set_port(h, DGXM_GEN_PORT_SEED, 5.0f);
    ph_set_port(h, DGXM_GEN_PORT_FREEWHEEL, 1.0f);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, "funk drums");
    const uint64_t n_blocks = 300; /* 1.6 loops */
    float *out = calloc(n_blocks * block, sizeof *out);
    float r[1024];
    for (uint64_t b = 0; b < n_blocks; b++) {
        int64_t frame = (int64_t)(b * block);
        double ticks = floor((double)frame / frames_per_beat * 1920.0);
        double beats = ticks / 1920.0;
        int64_t bar = (int64_t)(beats / 4);
        ph_position_frame(h, bpm, 4, bar, beats - (double)bar * 4, 1, frame);
        if (b == 0)
            ph_note_on(h, 0, 60);
        ph_run(h, out + b * block, r);
    }
    ph_run(h, NULL, NULL);
    const ph_notes *n = ph_notes_get(h);
    assert_int_equal(n->takes_count, 1);
    float first = 0;
    sf_count_t loop = file_frames(n->take_file[0], &first);
    assert_int_equal(loop, 192000);
    float *take = calloc((size_t)loop * 2, sizeof *take);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(n->take_file[0], SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(sf_readf_float(f, take, loop), loop);
    sf_close(f);
    /* the first pass plays the job as it streamed in, before the loop-point crossfade was made:
     * its first 480 frames are left out of the comparison */
    uint64_t compared = 0, differ = 0, first_bad = 0;
    for (uint64_t x = 0; x < n_blocks * block; x++) {
        uint64_t idx = x % (uint64_t)loop;
        if (x < (uint64_t)loop && idx < 480)
            continue;
        compared++;
        if (fabsf(out[x] - take[idx * 2]) > 1e-4f && !differ++)
            first_bad = x;
    }
    printf("%llu frames compared with loop frame (x mod %lld): %llu differ (first at %llu)\n",
           (unsigned long long)compared, (long long)loop, (unsigned long long)differ,
           (unsigned long long)first_bad);
    assert_int_equal(differ, 0);
    free(take);
    free(out);
    ph_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(four_bars_at_120_bpm),
        cmocka_unit_test(four_bars_at_93_bpm),
        cmocka_unit_test(no_tempo_falls_back_to_free_mode),
        cmocka_unit_test(export_ignores_tick_rounding_of_the_host_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
