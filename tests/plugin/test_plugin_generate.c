/* The generator inside a lilv host with a real worker thread, on the mono fixture model: a
 * note-on generates a take (progress, take info and the seed used on notify) and the next note
 * plays it back equal, sample for sample, to the engine's own output for the same job; the
 * take is not regenerated; cancel and a new prompt stop the job in flight; a bad model folder, a
 * bad prompt file, invalid UTF-8 and absurd parameters each give an ERROR naming the value; a
 * host without the worker is refused with a log line naming the feature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dgxm/engine.h"
#include <lv2/patch/patch.h>
#include "dgxm/job.h"
#include "plugin_host.h"
#include "protocol.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE   48000
#define PROMPT "warm analog synth arpeggio"

static ph_host *new_host(double seconds)
{
    ph_options o = { .rate = RATE, .block = 256 };
    ph_host *h = ph_new(&o);
    if (!h)
        fail_msg("the plugin did not instantiate: %s", ph_log());
    ph_set_port(h, DGXM_GEN_PORT_DURATION, (float)seconds);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, PROMPT);
    return h;
}

/* The engine's own output for the job the plugin made: interleaved stereo at RATE. */
static float *engine_output(int64_t seed, double seconds, uint64_t *frames)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_engine_config cfg = { .model_dir = test_fixture_path("models/mono"), .device = "cpu" };
    dgxm_engine *e = dgxm_engine_acquire(&cfg, &err);
    if (!e)
        fail_msg("acquire: %s", err.message);
    dgxm_job_params p;
    dgxm_job_params_init(&p);
    p.prompt = PROMPT;
    p.seconds = seconds;
    p.seed = seed;
    p.sample_rate = RATE;
    p.channels = 2;
    p.output = DGXM_JOB_STREAM;
    dgxm_job *job = dgxm_job_submit(e, &p, &err);
    if (!job)
        fail_msg("submit: %s", err.message);
    const struct timespec ms = { 0, 1000000 };
    while (dgxm_job_get_state(job) == DGXM_JOB_QUEUED ||
           dgxm_job_get_state(job) == DGXM_JOB_RUNNING)
        nanosleep(&ms, NULL);
    const float *take = dgxm_job_take(job, frames);
    assert_non_null(take);
    float *copy = malloc(*frames * 2 * sizeof *copy);
    memcpy(copy, take, *frames * 2 * sizeof *copy);
    dgxm_job_release(job);
    dgxm_engine_release(e);
    return copy;
}

static void note_generates_then_plays_engine_output(void **state)
{
    (void)state;
    const double seconds = 2.0;
    ph_host *h = new_host(seconds);
    ph_note_on(h, 10, 60);
    /* audio streams in while generating */
    float l[256], r[256];
    double heard = 0;
    const struct timespec ms = { 0, 1000000 };
    for (int i = 0; i < 20000 && !ph_notes_get(h)->saw_state[ph_state_index("Ready")]; i++) {
        ph_run(h, l, r);
        for (int k = 0; k < 256; k++)
            heard += (double)l[k] * l[k];
        if (ph_notes_get(h)->errors)
            fail_msg("error: %s", ph_notes_get(h)->error);
        nanosleep(&ms, NULL);
    }
    const ph_notes *n = ph_notes_get(h);
    assert_true(n->saw_state[ph_state_index("Ready")]);
    assert_true(heard > 0); /* the first note played the take while it streamed in */
    ph_run(h, NULL, NULL);  /* the take list follows Ready */
    assert_int_equal(n->takes_count, 1);
    assert_int_equal(n->takes_current, 0);
    int64_t seed = n->take_seed[0];
    printf("take 0: seed %lld, %.3f s, file %s, %d PROGRESS messages, last seed %lld\n",
           (long long)seed, (double)n->take_seconds[0], n->take_file[0], n->progress,
           (long long)n->progress_seed);
    assert_true(seed >= 0 && seed <= 16777215);
    assert_int_equal(n->progress_seed, seed);
    assert_true(n->take_seconds[0] > 1.999f && n->take_seconds[0] < 2.001f);
    assert_string_equal(n->take_prompt[0], PROMPT);
    assert_true(strstr(n->take_file[0], ".flac") != NULL);
    assert_true(n->state_changed >= 1);

    /* the second note plays the take from its start, with no new job */
    ph_clear_notes(h);
    uint64_t frames = 0;
    float *want = engine_output(seed, seconds, &frames);
    assert_int_equal(frames, (uint64_t)(seconds * RATE));
    ph_note_on(h, 0, 62);
    uint64_t got = 0, mismatches = 0;
    while (got < frames) {
        ph_run(h, l, r);
        for (int k = 0; k < 256 && got < frames; k++, got++)
            if (l[k] != want[got * 2] || r[k] != want[got * 2 + 1])
                mismatches++;
    }
    ph_run(h, l, r);
    printf("replay: %llu frames compared with the engine's own output, %llu differ\n",
           (unsigned long long)got, (unsigned long long)mismatches);
    assert_int_equal(mismatches, 0);
    for (int k = 0; k < 256; k++)
        assert_true(l[k] == 0.0f); /* a take plays once, then silence */
    assert_false(ph_notes_get(h)->saw_state[ph_state_index("Generating")]);
    assert_false(ph_notes_get(h)->saw_state[ph_state_index("Queued")]);
    free(want);

    /* Generate makes a new take even though one matches */
    ph_command(h, DGXM_GEN__Generate);
    assert_true(ph_run_until_state(h, "Ready", 60));
    ph_run(h, NULL, NULL);
    assert_int_equal(ph_notes_get(h)->takes_count, 2);
    /* patch:Get answers with the parameters and the take list */
    ph_clear_notes(h);
    ph_command(h, LV2_PATCH__Get);
    ph_run(h, NULL, NULL);
    assert_string_equal(ph_notes_get(h)->prompt, PROMPT);
    assert_string_equal(ph_notes_get(h)->model, test_fixture_path("models/mono"));
    assert_int_equal(ph_notes_get(h)->takes_count, 2);
    assert_int_equal(ph_notes_get(h)->take_seen, 2);
    /* select and delete */
    ph_take_command(h, DGXM_GEN__SelectTake, 0);
    ph_run(h, NULL, NULL);
    assert_int_equal(ph_notes_get(h)->takes_current, 0);
    ph_take_command(h, DGXM_GEN__DeleteTake, 1);
    ph_run(h, NULL, NULL);
    assert_int_equal(ph_notes_get(h)->takes_count, 1);
    ph_take_command(h, DGXM_GEN__DeleteTake, 7);
    ph_run(h, NULL, NULL);
    assert_non_null(strstr(ph_notes_get(h)->error, "no take 7"));
    ph_free(h);
}

static void cancel_and_new_prompt_stop_the_job(void **state)
{
    (void)state;
    ph_host *h = new_host(120.0); /* long enough to be in flight for a while */
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Generating", 30));
    ph_command(h, DGXM_GEN__Cancel);
    assert_true(ph_run_until_state(h, "Cancelled", 5));
    for (int i = 0; i < 200; i++)
        ph_run(h, NULL, NULL);
    assert_true(ph_notes_get(h)->takes_count <= 0); /* no take was added */

    ph_clear_notes(h);
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Generating", 30));
    ph_patch_set(h, DGXM_GEN__prompt, false, "a different prompt");
    assert_true(ph_run_until_state(h, "Cancelled", 5));
    assert_string_equal(ph_notes_get(h)->prompt, "a different prompt");
    ph_free(h);
}

/* Runs blocks until an ERROR arrives (at most 20 s); its text. */
static const char *await_error(ph_host *h)
{
    const struct timespec ms = { 0, 1000000 };
    for (int i = 0; i < 20000 && !ph_notes_get(h)->errors; i++) {
        ph_run(h, NULL, NULL);
        nanosleep(&ms, NULL);
    }
    if (!ph_notes_get(h)->errors)
        fail_msg("no ERROR notification");
    printf("ERROR: %s\n", ph_notes_get(h)->error);
    return ph_notes_get(h)->error;
}

static void bad_input_gives_errors_naming_the_value(void **state)
{
    (void)state;
    ph_options o = { .rate = RATE };
    ph_host *h = ph_new(&o);
    assert_non_null(h);
    ph_patch_set(h, DGXM_GEN__model, true, "/nonexistent/musicgen-folder");
    assert_non_null(strstr(await_error(h), "/nonexistent/musicgen-folder"));
    assert_non_null(strstr(ph_log(), "/nonexistent/musicgen-folder")); /* and the LV2 log */

    ph_clear_notes(h);
    ph_patch_set(h, DGXM_GEN__prompt, false, "drums");
    ph_note_on(h, 0, 60); /* generating with the bad model fails, naming it again */
    assert_non_null(strstr(await_error(h), "/nonexistent/musicgen-folder"));

    ph_clear_notes(h);
    ph_patch_set_bytes(h, DGXM_GEN__prompt, "bad \xff\xfe text", 12);
    assert_non_null(strstr(await_error(h), "prompt is not valid UTF-8"));

    ph_clear_notes(h);
    ph_patch_set(h, DGXM_GEN__prompt_file, true, "/nonexistent/prompt.txt");
    assert_non_null(strstr(await_error(h), "/nonexistent/prompt.txt"));

    ph_clear_notes(h);
    char *dir = test_make_temp_dir();
    assert_int_equal(test_write_file(dir, "prompt.txt", "lofi piano\n", 11), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/prompt.txt", dir);
    ph_patch_set(h, DGXM_GEN__prompt_file, true, path);
    for (int i = 0; i < 2000 && strcmp(ph_notes_get(h)->prompt, "lofi piano") != 0; i++) {
        ph_run(h, NULL, NULL);
        const struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    assert_string_equal(ph_notes_get(h)->prompt, "lofi piano");
    test_remove_tree(dir);
    free(dir);

    ph_clear_notes(h);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 1000.0f);
    ph_note_on(h, 0, 60);
    assert_non_null(strstr(await_error(h), "duration 1000 is outside"));
    ph_clear_notes(h);
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 2.0f);
    ph_set_port(h, DGXM_GEN_PORT_TEMPERATURE, -3.5f);
    ph_note_on(h, 0, 60);
    assert_non_null(strstr(await_error(h), "temperature -3.5 is outside"));
    ph_free(h);
}

/* Export: Ardour runs the worker synchronously and freewheels faster than real time; run()
 * hands the job to the worker as soon as the note arrives and waits for the audio still
 * generating, so the take comes out whole and gapless, starting on the note's frame (here frame
 * 100 of the first block), as a sampler's note would, and silent before it. */
static void freewheel_export_starts_on_the_note(void **state)
{
    (void)state;
    ph_options o = { .rate = RATE, .block = 256, .sync_worker = true };
    ph_host *h = ph_new(&o);
    assert_non_null(h);
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 2.0f);
    ph_set_port(h, DGXM_GEN_PORT_SEED, 11.0f);
    ph_set_port(h, DGXM_GEN_PORT_FREEWHEEL, 1.0f);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, PROMPT);
    const uint32_t note_at = 100;
    ph_note_on(h, note_at, 60);
    const uint64_t frames = 2 * RATE, blocks = frames / 256 + 2;
    float *out = calloc(blocks * 256, sizeof *out);
    float r[256];
    for (uint64_t b = 0; b < blocks; b++) /* no sleeping: as fast as an export */
        ph_run(h, out + b * 256, r);
    uint64_t n = 0;
    float *want = engine_output(11, 2.0, &n);
    uint64_t mismatches = 0, before = 0;
    for (uint64_t k = 0; k < note_at; k++)
        before += out[k] != 0.0f;
    for (uint64_t k = 0; k < n; k++)
        mismatches += out[note_at + k] != want[k * 2];
    printf("export: %llu frames from the note's frame %u, %llu differ from the engine's output, "
           "%llu non-zero frames before the note\n",
           (unsigned long long)n, note_at, (unsigned long long)mismatches,
           (unsigned long long)before);
    assert_int_equal(before, 0);
    assert_int_equal(mismatches, 0);
    free(out);
    free(want);
    ph_free(h);
}

static void host_without_worker_is_refused(void **state)
{
    (void)state;
    ph_options o = { .rate = RATE, .no_worker = true };
    ph_host *h = ph_new(&o);
    assert_null(h);
    assert_non_null(strstr(ph_log(), "the host lacks the required feature"));
    assert_non_null(strstr(ph_log(), "worker#schedule"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(note_generates_then_plays_engine_output),
        cmocka_unit_test(cancel_and_new_prompt_stop_the_job),
        cmocka_unit_test(bad_input_gives_errors_naming_the_value),
        cmocka_unit_test(freewheel_export_starts_on_the_note),
        cmocka_unit_test(host_without_worker_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
