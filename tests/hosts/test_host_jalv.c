/* The plugin in jalv, under a private jackd with the dummy driver (no sound card needed), on
 * the mono fixture model: jalv loads a state folder (jalv -l DIR) holding a prompt and a 2 s
 * duration; this program is a small JACK client that sends a note-on to the plugin's control
 * port and records its two outputs. The recording must hold about 2 s of sound (the duration
 * from the state; an empty prompt would have refused to generate) with an RMS above 0.05, and
 * jalv's log no error from the plugin.
 *
 * Waits are on conditions, with deadlines, never on a fixed sleep, because a note can be lost
 * on the way to the plugin with nothing wrong in it: jalv's ports appear before its client is
 * active (JACK refuses to connect them until then), a new connection takes effect at a later
 * cycle, and jalv runs the plugin only once jack_activate has returned in its main thread: until
 * then its process callback drops its MIDI input (play state "paused"). On a loaded machine
 * that main thread can be held past the first note: the note was lost and the recording silent.
 * So the connections are retried, the note is sent again while no sound has answered it (a
 * repeated note for the same settings plays the same take or job: no second take), and the
 * recording runs until the sound has ended. The plugin's own refusals still fail: they are in
 * jalv's log.
 *
 * Every external process runs under timeout(1) and is stopped at the end; the server has a
 * name of its own, so a JACK server already running is left alone, and is started by
 * tests/support/jackd_dummy.sh, which recovers from a JACK registry full of dead servers. Skips
 * when jackd or jalv is absent (Debian packages jackd2, jalv; setup.sh installs them) and in the
 * sanitizer build (an instrumented plugin cannot load into an uninstrumented jalv). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host_tools.h"
#include "test_commands.h"
#include "test_support.h"

#include <jack/jack.h>
#include <jack/midiport.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RATE       48000
#define SECONDS    2.0 /* the duration in the state */
#define RECORD_MAX (20 * RATE)
#define MIN_RMS    0.05
#define QUIET      1e-4f           /* sound is any sample above this */
#define NOTE_RETRY (RATE / 2)      /* frames without sound before the note is sent again */
#define NOTES_MAX  20              /* 10 s of notes: past that the plugin did not answer */
#define TAIL       (SECONDS + 3.0) /* seconds recorded from the onset: too long a sound shows */
#define CONNECT_S  15.0            /* deadline for jalv's ports to appear and accept connections */
#define GEN_CLIENT "dgxm-generator"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static const char manifest_ttl[] =
    "@prefix lv2:  <http://lv2plug.in/ns/lv2core#> .\n"
    "@prefix pset: <http://lv2plug.in/ns/ext/presets#> .\n"
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    "<state.ttl> a pset:Preset ; lv2:appliesTo <urn:dgx-music:generator> ;\n"
    "\trdfs:seeAlso <state.ttl> .\n";

static const char state_ttl[] =
    "@prefix gen:   <urn:dgx-music:generator#> .\n"
    "@prefix lv2:   <http://lv2plug.in/ns/lv2core#> .\n"
    "@prefix pset:  <http://lv2plug.in/ns/ext/presets#> .\n"
    "@prefix state: <http://lv2plug.in/ns/ext/state#> .\n"
    "<> a pset:Preset ;\n"
    "\tlv2:appliesTo <urn:dgx-music:generator> ;\n"
    "\tlv2:port [ lv2:symbol \"duration\" ; pset:value 2.0 ] ,\n"
    "\t\t[ lv2:symbol \"seed\" ; pset:value 3.0 ] ;\n"
    "\tstate:state [ gen:prompt \"solo acoustic grand piano, gentle melody\" ] .\n";

/* The recording client: its process callback sends the note and records, nothing else. */
static struct {
    jack_port_t *midi_out, *in[2];
    float rec[2][RECORD_MAX];
    atomic_bool armed;
    atomic_int notes;    /* note-ons sent */
    atomic_int recorded; /* frames in rec */
    atomic_int onset;    /* the first frame of sound, -1 until one is heard */
    int since_note;      /* process thread: frames since the last note-on */
} rec = { .onset = -1 };

/* Process thread: a note-on at the start of this block when none was sent yet, or when the last
 * one had NOTE_RETRY frames without an answer (see the file comment for how it gets lost). */
static void send_note(void *midi, jack_nframes_t n)
{
    int notes = atomic_load(&rec.notes);
    rec.since_note += (int)n;
    if (atomic_load(&rec.onset) >= 0 || notes >= NOTES_MAX ||
        (notes > 0 && rec.since_note < NOTE_RETRY))
        return;
    jack_midi_data_t *ev = jack_midi_event_reserve(midi, 0, 3);
    if (!ev)
        return;
    ev[0] = 0x90, ev[1] = 60, ev[2] = 100;
    atomic_store(&rec.notes, notes + 1);
    rec.since_note = 0;
}

/* Process thread: appends this block of both inputs and notes where the sound starts. */
static void record(jack_nframes_t n)
{
    int at = atomic_load(&rec.recorded);
    int k = at + (int)n <= RECORD_MAX ? (int)n : RECORD_MAX - at;
    for (int c = 0; c < 2; c++) {
        const float *in = jack_port_get_buffer(rec.in[c], n);
        memcpy(rec.rec[c] + at, in, (size_t)k * sizeof(float));
    }
    for (int i = 0; i < k && atomic_load(&rec.onset) < 0; i++)
        if (fabsf(rec.rec[0][at + i]) > QUIET)
            atomic_store(&rec.onset, at + i);
    atomic_store(&rec.recorded, at + k);
}

static int process(jack_nframes_t n, void *arg)
{
    (void)arg;
    void *midi = jack_port_get_buffer(rec.midi_out, n);
    jack_midi_clear_buffer(midi);
    if (!atomic_load(&rec.armed))
        return 0;
    send_note(midi, n);
    record(n);
    return 0;
}

/* libjack's complaints while the server is still starting are expected; a real failure is
 * reported by the test itself. */
static void quiet(const char *msg)
{
    (void)msg;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
    const struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&t, NULL);
}

/* sh -c cmd in a process group of its own, output appended to log; its pid. */
static pid_t spawn(const char *cmd, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Stops the process group and reaps its leader. The grace is long (10 s, then SIGKILL) because
 * a jackd killed before it has left its registry entry behind, and a loaded machine can make
 * its shutdown slow. */
static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(-pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        sleep_ms(100);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void print_file(const char *what, const char *path)
{
    char *text = test_read_file(path, NULL);
    printf("---- %s\n%s----\n", what, text ? text : "(none)");
    free(text);
}

/* Connects the recorder and jalv by the deadline. jalv registers its ports before it activates
 * its client, and JACK refuses connections to an inactive client's ports: retried. */
static bool connect_jalv(jack_client_t *client, double deadline)
{
    static const char *const pairs[][2] = {
        { "dgxm-recorder:note", GEN_CLIENT ":control" },
        { GEN_CLIENT ":out_l", "dgxm-recorder:in_l" },
        { GEN_CLIENT ":out_r", "dgxm-recorder:in_r" },
    };
    bool done[3] = { false, false, false };
    for (;;) {
        int left = 0;
        for (int i = 0; i < 3; i++) {
            if (!done[i]) {
                int r = jack_connect(client, pairs[i][0], pairs[i][1]);
                done[i] = r == 0 || r == EEXIST;
            }
            left += !done[i];
        }
        if (left == 0)
            return true;
        if (now() > deadline)
            return false;
        sleep_ms(20);
    }
}

/* Until the sound has been heard and TAIL seconds recorded from its onset, or the recording is
 * full (RECORD_MAX: a plugin that never answered). The dummy driver runs in real time; the
 * deadline is for a server that stopped calling back. */
static void wait_for_recording(void)
{
    const double deadline = now() + (double)RECORD_MAX / RATE + 10.0;
    for (;;) {
        int onset = atomic_load(&rec.onset), at = atomic_load(&rec.recorded);
        if (at >= RECORD_MAX || (onset >= 0 && at - onset >= (int)(TAIL * RATE)) ||
            now() > deadline)
            return;
        sleep_ms(50);
    }
}

static void jalv_plays_a_note_from_a_saved_state(void **state)
{
    (void)state;
#ifdef SANITIZED
    printf("skipping: the sanitizer build's plugin cannot load into an uninstrumented jalv\n");
    skip();
#endif
    if (!test_have_tool("jackd") || !test_have_tool("jalv")) {
        printf("skipping: jackd or jalv not installed (Debian packages jackd2, jalv; "
               "./setup.sh --deps)\n");
        skip();
    }
    assert_non_null(ht_plugins_dir());
    char *dir = test_make_temp_dir();
    char state_dir[4200], jackd_log[4200], jalv_log[4200], server[64], cmd[16384];
    snprintf(state_dir, sizeof state_dir, "%s/state", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", state_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(test_write_file(state_dir, "manifest.ttl", manifest_ttl, strlen(manifest_ttl)),
                     0);
    assert_int_equal(test_write_file(state_dir, "state.ttl", state_ttl, strlen(state_ttl)), 0);
    snprintf(jackd_log, sizeof jackd_log, "%s/jackd.log", dir);
    snprintf(jalv_log, sizeof jalv_log, "%s/jalv.log", dir);
    snprintf(server, sizeof server, "dgxm-test-%d", (int)getpid());
    setenv("JACK_NO_AUDIO_RESERVATION", "1", 1); /* no D-Bus device reservation */
    setenv("JACK_DEFAULT_SERVER", server, 1);
    double t0 = now();

    snprintf(cmd, sizeof cmd, "exec timeout -k 10 60 tests/support/jackd_dummy.sh %s %d </dev/null",
             server, RATE);
    pid_t jackd = spawn(cmd, jackd_log);
    jack_set_error_function(quiet);
    jack_client_t *client = NULL;
    jack_status_t status;
    for (int i = 0; i < 100 && !client; i++) {
        client =
            jack_client_open("dgxm-recorder", JackNoStartServer | JackServerName, &status, server);
        if (!client)
            sleep_ms(100);
    }
    if (!client) {
        stop(jackd);
        print_file("jackd", jackd_log);
        fail_msg("jackd -d dummy did not come up within 10 s");
    }
    printf("jackd (dummy, %d Hz) up after %.1f s\n", RATE, now() - t0);

    /* jalv 1.6 ends when its stdin closes: keep it open with sleep */
    snprintf(cmd, sizeof cmd,
             "sleep 50 | LV2_PATH='%s' DGXM_MODEL='%s' DGXM_DEVICE=cpu exec timeout -k 2 50 jalv "
             "-t -x -n %s -l '%s' urn:dgx-music:generator",
             ht_plugins_dir(), test_fixture_path("models/mono"), GEN_CLIENT, state_dir);
    pid_t jalv = spawn(cmd, jalv_log);

    rec.midi_out = jack_port_register(client, "note", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    rec.in[0] = jack_port_register(client, "in_l", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    rec.in[1] = jack_port_register(client, "in_r", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    assert_true(rec.midi_out && rec.in[0] && rec.in[1]);
    jack_set_process_callback(client, process, NULL);
    assert_int_equal(jack_activate(client), 0);
    const bool connected = connect_jalv(client, now() + CONNECT_S);
    const bool up = connected || jack_port_by_name(client, GEN_CLIENT ":out_r") != NULL;
    if (connected) {
        printf("jalv's ports are connected after %.1f s; sending the note, recording\n",
               now() - t0);
        atomic_store(&rec.armed, true);
        wait_for_recording();
    }
    jack_deactivate(client);
    jack_client_close(client);
    stop(jalv);
    stop(jackd);
    double wall = now() - t0;
    if (!connected) {
        print_file("jalv", jalv_log);
        print_file("jackd", jackd_log);
        fail_msg("%s", up ? "could not connect to jalv's ports within 15 s"
                          : "jalv's ports did not appear within 15 s");
    }

    int frames = atomic_load(&rec.recorded);
    ht_audio a = { .frames = frames, .channels = 1, .rate = RATE, .data = rec.rec[0] };
    int64_t onset = ht_first_above(&a, 0, 0, QUIET), last = -1;
    for (int i = frames - 1; i >= 0 && last < 0; i--)
        if (fabsf(rec.rec[0][i]) > QUIET)
            last = i;
    double rms = onset >= 0 ? ht_rms(&a, 0, onset, last + 1) : 0.0;
    double sound = onset >= 0 ? (double)(last + 1 - onset) / RATE : 0.0;
    printf("recorded %.2f s after %d note-on(s): sound from %.3f s for %.3f s, RMS %.4f (left); "
           "%.1f s in all\n",
           (double)frames / RATE, atomic_load(&rec.notes), onset >= 0 ? (double)onset / RATE : -1.0,
           sound, rms, wall);
    char *log = test_read_file(jalv_log, NULL);
    const bool plugin_error = log && strstr(log, "dgx-music generator:");
    free(log);
    if (plugin_error || rms < MIN_RMS || !(sound > SECONDS - 0.1 && sound < SECONDS + 2.0))
        print_file("jalv", jalv_log);
    /* a note the plugin refused (no prompt, no model) is logged: never hidden by a repeat */
    assert_false(plugin_error);
    assert_true(rms > MIN_RMS);
    /* the state's 2 s, plus any waits while audio streamed in */
    assert_true(sound > SECONDS - 0.1 && sound < SECONDS + 2.0);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jalv_plays_a_note_from_a_saved_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
