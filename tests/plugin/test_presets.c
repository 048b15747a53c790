/* The factory presets (presets/dgx-music-presets.lv2, built next to the plugin's bundle):
 * lv2_validate passes on every preset TTL together with the plugin's TTL files, lilv lists at
 * least 12 presets for the plugin, each claims a prompt and every numeric control port, and each
 * loads through lilv's state API into an instance in the test host and sets exactly the prompt
 * and the port values its file claims (read here from the file with lilv's world queries, apart
 * from the state API that loads it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plugin_host.h"
#include "protocol.h"
#include "test_commands.h"
#include "test_support.h"

#include <lilv/lilv.h>
#include <lv2/presets/presets.h>
#include <lv2/state/state.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MIN_PRESETS 12
#define MAX_PRESETS 64

/* The numeric control ports a preset sets (freewheel is the host's, never a preset's). */
static const struct {
    const char *symbol;
    uint32_t index;
    float sentinel; /* a value no preset uses: proves the load wrote the port */
} ports[] = {
    { "duration", DGXM_GEN_PORT_DURATION, 299.0f },
    { "guidance", DGXM_GEN_PORT_GUIDANCE, 19.5f },
    { "temperature", DGXM_GEN_PORT_TEMPERATURE, 9.5f },
    { "top_k", DGXM_GEN_PORT_TOP_K, 2047.0f },
    { "seed", DGXM_GEN_PORT_SEED, 16777000.0f },
    { "gain", DGXM_GEN_PORT_GAIN, 23.0f },
    { "sync", DGXM_GEN_PORT_SYNC, 0.5f },
};
#define N_PRESET_PORTS (sizeof ports / sizeof ports[0])

typedef struct preset {
    char uri[512], label[256];
    char prompt[8192];
    float value[N_PRESET_PORTS];
    bool has[N_PRESET_PORTS];
} preset;

static char plugins_dir[4096];
static preset presets[MAX_PRESETS];
static int n_presets;

static void presets_validate_with_the_plugin(void **state)
{
    (void)state;
    if (!test_have_tool("lv2_validate") || !test_have_tool("sord_validate")) {
        printf("skipping: lv2_validate or sord_validate not installed (lv2-dev, sordi)\n");
        skip();
    }
    char cmd[9000], out[65536];
    snprintf(cmd, sizeof cmd,
             "lv2_validate %s/generator.lv2/*.ttl %s/dgx-music-presets.lv2/*.ttl 2>&1", plugins_dir,
             plugins_dir);
    int rc = test_capture(cmd, out, sizeof out);
    const char *summary = strstr(out, "Found ");
    printf("lv2_validate (plugin + presets): %s", summary ? summary : out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Found 0 errors"));
}

/* A copy of the value of `subject predicate ?` (the caller frees it), or NULL. */
static LilvNode *one(LilvWorld *w, const LilvNode *s, const char *predicate_uri)
{
    LilvNode *p = lilv_new_uri(w, predicate_uri);
    LilvNodes *all = lilv_world_find_nodes(w, s, p, NULL);
    lilv_node_free(p);
    LilvNode *v = NULL;
    if (all && lilv_nodes_size(all) > 0)
        v = lilv_node_duplicate(lilv_nodes_get(all, lilv_nodes_begin(all)));
    lilv_nodes_free(all);
    return v;
}

/* One lv2:port [ lv2:symbol; pset:value ] of a preset into p. */
static void read_port(LilvWorld *w, const LilvNode *port_node, preset *p)
{
    LilvNode *sym = one(w, port_node, LILV_NS_LV2 "symbol");
    LilvNode *val = one(w, port_node, LV2_PRESETS__value);
    if (!sym || !val)
        fail_msg("%s: an lv2:port without lv2:symbol or pset:value", p->uri);
    bool known = false;
    for (size_t k = 0; k < N_PRESET_PORTS; k++)
        if (!strcmp(lilv_node_as_string(sym), ports[k].symbol)) {
            p->value[k] = lilv_node_as_float(val);
            p->has[k] = known = true;
        }
    if (!known)
        fail_msg("%s sets port %s, which a preset must not set", p->uri, lilv_node_as_string(sym));
    lilv_node_free(sym);
    lilv_node_free(val);
}

/* Reads what each preset's file claims, through lilv's world queries (not its state API). */
static void read_claims(LilvWorld *w, const LilvNode *preset_node, preset *p)
{
    snprintf(p->uri, sizeof p->uri, "%s", lilv_node_as_uri(preset_node));
    lilv_world_load_resource(w, preset_node);
    LilvNode *label = one(w, preset_node, LILV_NS_RDFS "label");
    snprintf(p->label, sizeof p->label, "%s", label ? lilv_node_as_string(label) : "");
    LilvNode *st = one(w, preset_node, LV2_STATE__state);
    LilvNode *prompt = st ? one(w, st, DGXM_GEN__prompt) : NULL;
    snprintf(p->prompt, sizeof p->prompt, "%s", prompt ? lilv_node_as_string(prompt) : "");
    lilv_node_free(label);
    lilv_node_free(st);
    lilv_node_free(prompt);

    LilvNode *port_pred = lilv_new_uri(w, LILV_NS_LV2 "port");
    LilvNodes *port_nodes = lilv_world_find_nodes(w, preset_node, port_pred, NULL);
    LILV_FOREACH(nodes, i, port_nodes)
    read_port(w, lilv_nodes_get(port_nodes, i), p);
    lilv_nodes_free(port_nodes);
    lilv_node_free(port_pred);
}

static void lilv_lists_the_presets(void **state)
{
    (void)state;
    setenv("LV2_PATH", plugins_dir, 1);
    LilvWorld *w = lilv_world_new();
    lilv_world_load_all(w);
    LilvNode *uri = lilv_new_uri(w, DGXM_GEN_URI);
    const LilvPlugin *plugin = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(w), uri);
    lilv_node_free(uri);
    if (!plugin)
        fail_msg("the plugin %s is not in %s", DGXM_GEN_URI, plugins_dir);
    LilvNode *pset = lilv_new_uri(w, LV2_PRESETS__Preset);
    LilvNodes *related = lilv_plugin_get_related(plugin, pset);
    n_presets = 0;
    LILV_FOREACH(nodes, i, related)
    {
        assert_true(n_presets < MAX_PRESETS);
        read_claims(w, lilv_nodes_get(related, i), &presets[n_presets++]);
    }
    lilv_nodes_free(related);
    lilv_node_free(pset);
    lilv_world_free(w);
    printf("lilv lists %d presets for %s\n", n_presets, DGXM_GEN_URI);
    assert_true(n_presets >= MIN_PRESETS);
    for (int i = 0; i < n_presets; i++) {
        const preset *p = &presets[i];
        printf("  %-28s %-32s sync %.0f, duration %g\n", p->uri + strlen("urn:dgx-music:preset:"),
               p->label, (double)p->value[6], (double)p->value[0]);
        if (!p->label[0])
            fail_msg("%s has no rdfs:label", p->uri);
        if (!p->prompt[0])
            fail_msg("%s has no prompt in its state:state", p->uri);
        for (size_t k = 0; k < N_PRESET_PORTS; k++)
            if (!p->has[k])
                fail_msg("%s does not set port %s", p->uri, ports[k].symbol);
        for (int j = 0; j < i; j++)
            if (!strcmp(presets[j].label, p->label))
                fail_msg("%s and %s share the label \"%s\"", presets[j].uri, p->uri, p->label);
    }
}

static void each_preset_loads_and_sets_what_it_claims(void **state)
{
    (void)state;
    if (n_presets < MIN_PRESETS)
        fail_msg("the listing test found %d presets", n_presets);
    ph_options o = { .rate = 48000 };
    ph_host *h = ph_new(&o);
    if (!h)
        fail_msg("no instance: %s", ph_log());
    for (int i = 0; i < n_presets; i++) {
        const preset *p = &presets[i];
        for (size_t k = 0; k < N_PRESET_PORTS; k++)
            ph_set_port(h, ports[k].index, ports[k].sentinel);
        ph_patch_set(h, DGXM_GEN__prompt, false, "a prompt no preset has");
        ph_run(h, NULL, NULL);
        if (!ph_load_preset(h, p->uri))
            fail_msg("lilv could not load the state of %s", p->uri);
        ph_clear_notes(h);
        ph_command(h, "http://lv2plug.in/ns/ext/patch#Get");
        ph_run(h, NULL, NULL);
        const ph_notes *n = ph_notes_get(h);
        if (strcmp(n->prompt, p->prompt) != 0)
            fail_msg("%s: the plugin's prompt is \"%s\", the preset claims \"%s\"", p->uri,
                     n->prompt, p->prompt);
        if (n->errors)
            fail_msg("%s: ERROR %s", p->uri, n->error);
        for (size_t k = 0; k < N_PRESET_PORTS; k++)
            if (ph_get_port(h, ports[k].index) != p->value[k])
                fail_msg("%s: port %s is %g, the preset claims %g", p->uri, ports[k].symbol,
                         (double)ph_get_port(h, ports[k].index), (double)p->value[k]);
    }
    printf("%d presets loaded: prompt and %zu ports each as claimed\n", n_presets, N_PRESET_PORTS);
    ph_free(h);
}

/* A preset is not a session: loading one after a take was made keeps the take list, the
 * current take and the model, and changes the prompt. */
static void preset_keeps_the_takes_and_the_model(void **state)
{
    (void)state;
    ph_options o = { .rate = 48000 };
    ph_host *h = ph_new(&o);
    if (!h)
        fail_msg("no instance: %s", ph_log());
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 1.0f);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, "warm analog synth arpeggio");
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Ready", 60));
    ph_run(h, NULL, NULL);
    assert_int_equal(ph_notes_get(h)->takes_count, 1);
    assert_true(ph_load_preset(h, "urn:dgx-music:preset:solo-piano"));
    ph_clear_notes(h);
    ph_command(h, "http://lv2plug.in/ns/ext/patch#Get");
    ph_run(h, NULL, NULL);
    const ph_notes *n = ph_notes_get(h);
    printf("after the preset: %d take(s), current %d, model %s, prompt \"%s\"\n", n->takes_count,
           n->takes_current, n->model, n->prompt);
    assert_int_equal(n->takes_count, 1);
    assert_int_equal(n->takes_current, 0);
    assert_string_equal(n->model, test_fixture_path("models/mono"));
    assert_non_null(strstr(n->prompt, "solo acoustic grand piano"));
    ph_free(h);
}

int main(void)
{
    const char *build = getenv("DGXM_BUILD_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/plugins", build ? build : "build");
    if (!realpath(dir, plugins_dir)) { /* LV2_PATH takes absolute folders only */
        fprintf(stderr, "no built plugins in %s: build first\n", dir);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(presets_validate_with_the_plugin),
        cmocka_unit_test(lilv_lists_the_presets),
        cmocka_unit_test(each_preset_loads_and_sets_what_it_claims),
        cmocka_unit_test(preset_keeps_the_takes_and_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
