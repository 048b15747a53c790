/* The UI's protocol and behaviour without X (plugins/generator_ui/ui_protocol.c,
 * controller.c): the messages it forges parse back to what protocol.h says, the plugin's
 * notifications update its model and editors, keys and clicks send the right messages, and
 * malformed or truncated atoms are refused without touching the model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "controller.h"
#include "protocol.h"

#include <lv2/atom/util.h>
#include <lv2/patch/patch.h>

#include <stdlib.h>
#include <string.h>

/* ---- a URID map and a recording write function ------------------------------------------------
 */

static char uris[128][160];
static int n_uris;

static LV2_URID map_uri(LV2_URID_Map_Handle h, const char *uri)
{
    (void)h;
    for (int i = 0; i < n_uris; i++)
        if (!strcmp(uris[i], uri))
            return (LV2_URID)i + 1;
    assert_true(n_uris < 128);
    strncpy(uris[n_uris], uri, sizeof uris[0] - 1);
    return (LV2_URID)++n_uris;
}

static LV2_URID_Map map = { NULL, map_uri };
#define U(uri) map_uri(NULL, uri)

typedef struct sent {
    uint32_t port, format, size;
    uint8_t body[16384];
} sent;
static sent out[32];
static int n_out;

static void record(LV2UI_Controller host, uint32_t port, uint32_t size, uint32_t format,
                   const void *buffer)
{
    (void)host;
    assert_true(n_out < 32);
    assert_true(size <= sizeof out[0].body);
    out[n_out].port = port;
    out[n_out].format = format;
    out[n_out].size = size;
    memcpy(out[n_out].body, buffer, size);
    n_out++;
}

static const LV2_Atom_Object *sent_object(int i, LV2_URID otype)
{
    assert_true(i < n_out);
    assert_int_equal(out[i].port, DGXM_GEN_PORT_CONTROL);
    assert_int_equal(out[i].format, U(LV2_ATOM__eventTransfer));
    const LV2_Atom_Object *obj = (const LV2_Atom_Object *)out[i].body;
    assert_int_equal(obj->atom.type, U(LV2_ATOM__Object));
    assert_int_equal(lv2_atom_total_size(&obj->atom), out[i].size);
    assert_int_equal(obj->body.otype, otype);
    return obj;
}

static void assert_sent_set(int i, const char *property, const char *type, const char *value)
{
    const LV2_Atom_Object *obj = sent_object(i, U(LV2_PATCH__Set));
    const LV2_Atom *p = NULL, *v = NULL;
    lv2_atom_object_get(obj, U(LV2_PATCH__property), &p, U(LV2_PATCH__value), &v, 0);
    assert_non_null(p);
    assert_non_null(v);
    assert_int_equal(((const LV2_Atom_URID *)p)->body, U(property));
    assert_int_equal(v->type, U(type));
    assert_string_equal((const char *)LV2_ATOM_BODY_CONST(v), value);
}

static float sent_port(int i, uint32_t port)
{
    assert_true(i < n_out);
    assert_int_equal(out[i].port, port);
    assert_int_equal(out[i].format, 0);
    assert_int_equal(out[i].size, sizeof(float));
    float v;
    memcpy(&v, out[i].body, sizeof v);
    return v;
}

/* ---- notifications forged the way notify.c does -----------------------------------------------
 */

static uint8_t note[20000];
static LV2_Atom_Forge forge;

static const LV2_Atom *begin(LV2_Atom_Forge_Frame *f, const char *type)
{
    lv2_atom_forge_init(&forge, &map);
    lv2_atom_forge_set_buffer(&forge, note, sizeof note);
    lv2_atom_forge_object(&forge, f, 0, U(type));
    return (const LV2_Atom *)note;
}

static void deliver(ui_controller *c, const LV2_Atom *a)
{
    ui_controller_port_event(c, DGXM_GEN_PORT_NOTIFY, lv2_atom_total_size(a),
                             U(LV2_ATOM__eventTransfer), a);
}

static void notify_progress(ui_controller *c, const char *state, float fraction, float eta,
                            int64_t seed)
{
    LV2_Atom_Forge_Frame f;
    const LV2_Atom *a = begin(&f, DGXM_GEN__Progress);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__state));
    lv2_atom_forge_urid(&forge, U(state));
    lv2_atom_forge_key(&forge, U(DGXM_GEN__fraction));
    lv2_atom_forge_float(&forge, fraction);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__frames));
    lv2_atom_forge_long(&forge, 1000);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__eta));
    lv2_atom_forge_float(&forge, eta);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__seed));
    lv2_atom_forge_long(&forge, seed);
    lv2_atom_forge_pop(&forge, &f);
    deliver(c, a);
}

static void notify_set(ui_controller *c, const char *property, const char *value)
{
    LV2_Atom_Forge_Frame f;
    const LV2_Atom *a = begin(&f, LV2_PATCH__Set);
    lv2_atom_forge_key(&forge, U(LV2_PATCH__property));
    lv2_atom_forge_urid(&forge, U(property));
    lv2_atom_forge_key(&forge, U(LV2_PATCH__value));
    lv2_atom_forge_string(&forge, value, (uint32_t)strlen(value));
    lv2_atom_forge_pop(&forge, &f);
    deliver(c, a);
}

static void notify_takes(ui_controller *c, int count, int current)
{
    LV2_Atom_Forge_Frame f;
    const LV2_Atom *a = begin(&f, DGXM_GEN__Takes);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__count));
    lv2_atom_forge_int(&forge, count);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__current));
    lv2_atom_forge_int(&forge, current);
    lv2_atom_forge_pop(&forge, &f);
    deliver(c, a);
}

static void notify_take(ui_controller *c, int i, const char *prompt, int64_t seed, float seconds)
{
    LV2_Atom_Forge_Frame f;
    const LV2_Atom *a = begin(&f, DGXM_GEN__Take);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__take));
    lv2_atom_forge_int(&forge, i);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__prompt));
    lv2_atom_forge_string(&forge, prompt, (uint32_t)strlen(prompt));
    lv2_atom_forge_key(&forge, U(DGXM_GEN__seed));
    lv2_atom_forge_long(&forge, seed);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__seconds));
    lv2_atom_forge_float(&forge, seconds);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__bpm));
    lv2_atom_forge_float(&forge, 0);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__bars));
    lv2_atom_forge_int(&forge, 0);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__file));
    lv2_atom_forge_path(&forge, "/tmp/take-1.flac", 16);
    lv2_atom_forge_pop(&forge, &f);
    deliver(c, a);
}

static ui_controller *fresh(void)
{
    n_out = 0;
    ui_controller *c = ui_controller_new(&map, record, NULL, 1.0);
    assert_non_null(c);
    return c;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void a_new_ui_asks_for_the_plugin_state(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    assert_int_equal(n_out, 1);
    sent_object(0, U(LV2_PATCH__Get));
    ui_controller_free(c);
}

static void forged_messages_parse_back(void **state)
{
    (void)state;
    ui_protocol p;
    ui_protocol_init(&p, &map);
    uint8_t buf[256];
    const LV2_Atom *a = ui_forge_take_command(&p, buf, sizeof buf, p.uris.DeleteTake, 3);
    assert_non_null(a);
    const LV2_Atom *take = NULL;
    lv2_atom_object_get((const LV2_Atom_Object *)a, U(DGXM_GEN__take), &take, 0);
    assert_non_null(take);
    assert_int_equal(take->type, U(LV2_ATOM__Int));
    assert_int_equal(((const LV2_Atom_Int *)take)->body, 3);
    /* a buffer too small gives NULL, never a cut object */
    assert_null(ui_forge_set(&p, buf, 40, p.uris.prompt, p.uris.atom_String,
                             "a prompt longer than the buffer"));
    assert_null(ui_forge_command(&p, buf, 8, p.uris.Generate));
    assert_non_null(ui_forge_command(&p, buf, 16, p.uris.Generate));
}

static void typing_then_enter_sets_the_prompt_and_generates(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    ui_controller_text(c, "bossa nova, nylon guitar ", 25);
    ui_controller_text(c, "\xe2\x99\xaa", 3);
    assert_int_equal(n_out, 1); /* nothing sent while typing */
    ui_controller_key(c, UI_KEY_ENTER, UI_MOD_SHIFT);
    ui_controller_text(c, "warm", 4);
    assert_int_equal(n_out, 1);
    ui_controller_key(c, UI_KEY_ENTER, 0);
    assert_int_equal(n_out, 3);
    assert_sent_set(1, DGXM_GEN__prompt, LV2_ATOM__String,
                    "bossa nova, nylon guitar \xe2\x99\xaa\nwarm");
    sent_object(2, U(DGXM_GEN__Generate));
    ui_controller_key(c, UI_KEY_ENTER, 0); /* unchanged prompt: Generate alone */
    assert_int_equal(n_out, 4);
    sent_object(3, U(DGXM_GEN__Generate));
    ui_controller_key(c, UI_KEY_ESCAPE, 0);
    sent_object(4, U(DGXM_GEN__Cancel));
    ui_controller_free(c);
}

static void generate_without_a_prompt_explains(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    ui_controller_generate(c);
    assert_int_equal(n_out, 1);
    assert_true(c->model.message_is_error);
    assert_non_null(strstr(c->model.message, "prompt"));
    ui_controller_free(c);
}

static void notifications_update_the_model(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    notify_set(c, DGXM_GEN__prompt, "restored prompt");
    assert_string_equal(c->prompt.buf, "restored prompt");
    notify_progress(c, DGXM_GEN__Idle, 0, -1, 0);
    assert_int_equal(c->model.state, UI_STATE_IDLE);
    assert_true(c->model.seed < 0); /* Idle's seed field is not a seed */
    notify_progress(c, DGXM_GEN__Generating, 0.42f, 2.2f, 4242);
    assert_int_equal(c->model.state, UI_STATE_GENERATING);
    assert_int_equal(c->model.seed, 4242);
    char text[96];
    ui_progress_text(&c->model, text, sizeof text);
    assert_string_equal(text, "Generating 42%, 3 s left");
    notify_takes(c, 2, 1);
    notify_take(c, 0, "first", 7, 8.0f);
    notify_take(c, 1, "second\nline", 4242, 4.0f);
    assert_int_equal(c->model.take_count, 2);
    assert_int_equal(c->model.current, 1);
    assert_string_equal(c->model.takes[1].prompt, "second\nline");
    assert_string_equal(c->model.takes[0].file, "/tmp/take-1.flac");
    ui_take_text(&c->model, 1, text, sizeof text);
    assert_string_equal(text, "2  seed 4242  4.0 s  second line");

    LV2_Atom_Forge_Frame f;
    const LV2_Atom *a = begin(&f, DGXM_GEN__Error);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__message));
    lv2_atom_forge_string(&forge, "model: no such folder", 21);
    lv2_atom_forge_pop(&forge, &f);
    deliver(c, a);
    assert_string_equal(c->model.message, "model: no such folder");
    assert_true(c->model.message_is_error);
    ui_controller_free(c);
}

static void an_edited_prompt_is_not_overwritten(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    ui_controller_text(c, "mine", 4);
    notify_set(c, DGXM_GEN__prompt, "theirs");
    assert_string_equal(c->prompt.buf, "mine");
    assert_string_equal(c->model.prompt, "theirs");
    ui_controller_key(c, UI_KEY_TAB, 0); /* leaving the field sends it */
    assert_sent_set(1, DGXM_GEN__prompt, LV2_ATOM__String, "mine");
    notify_set(c, DGXM_GEN__prompt, "theirs again"); /* clean now: follows the plugin */
    assert_string_equal(c->prompt.buf, "theirs again");
    ui_controller_free(c);
}

static void malformed_atoms_change_nothing(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    notify_takes(c, 1, 0);
    /* truncated: the host's size is smaller than the atom says */
    LV2_Atom_Forge_Frame f;
    const LV2_Atom *a = begin(&f, DGXM_GEN__Takes);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__count));
    lv2_atom_forge_int(&forge, 5);
    lv2_atom_forge_pop(&forge, &f);
    ui_controller_port_event(c, DGXM_GEN_PORT_NOTIFY, lv2_atom_total_size(a) - 4,
                             U(LV2_ATOM__eventTransfer), a);
    assert_int_equal(c->model.take_count, 1);
    /* too many takes, a take index out of range, a state that is not a URID */
    notify_takes(c, 99, 0);
    assert_int_equal(c->model.take_count, 1);
    notify_take(c, 7, "ghost", 1, 1);
    assert_false(c->model.takes[0].known);
    a = begin(&f, DGXM_GEN__Progress);
    lv2_atom_forge_key(&forge, U(DGXM_GEN__state));
    lv2_atom_forge_int(&forge, 3);
    lv2_atom_forge_pop(&forge, &f);
    deliver(c, a);
    assert_int_equal(c->model.state, UI_STATE_UNKNOWN);
    /* a patch:Set whose value is a number, and a foreign object */
    a = begin(&f, LV2_PATCH__Set);
    lv2_atom_forge_key(&forge, U(LV2_PATCH__property));
    lv2_atom_forge_urid(&forge, U(DGXM_GEN__prompt));
    lv2_atom_forge_key(&forge, U(LV2_PATCH__value));
    lv2_atom_forge_int(&forge, 1);
    lv2_atom_forge_pop(&forge, &f);
    deliver(c, a);
    assert_string_equal(c->model.prompt, "");
    ui_protocol p;
    ui_protocol_init(&p, &map);
    a = begin(&f, "urn:other#Thing");
    lv2_atom_forge_pop(&forge, &f);
    assert_false(ui_protocol_read(&p, &c->model, a));
    /* a control port event of the wrong size */
    double d = 3;
    ui_controller_port_event(c, DGXM_GEN_PORT_DURATION, sizeof d, 0, &d);
    assert_true(c->model.duration == 8.0f);
    ui_controller_free(c);
}

static void clicks_send_take_and_port_messages(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    notify_takes(c, 2, 0);
    notify_take(c, 0, "a", 1, 8);
    notify_take(c, 1, "b", 2, 8);
    notify_progress(c, DGXM_GEN__Ready, 1, 0, 99);
    const ui_layout *l = &c->layout;
    ui_rect row = ui_layout_take_row(l, 1);
    ui_controller_press(c, row.x + 10, row.y + row.h / 2, 0);
    const LV2_Atom *take = NULL; /* lv2_atom_object_get fills only NULL pointers */
    lv2_atom_object_get(sent_object(1, U(DGXM_GEN__SelectTake)), U(DGXM_GEN__take), &take, 0);
    assert_int_equal(((const LV2_Atom_Int *)take)->body, 1);
    ui_rect del = ui_layout_take_delete(l, 0);
    ui_controller_press(c, del.x + del.w / 2, del.y + del.h / 2, 0);
    take = NULL;
    lv2_atom_object_get(sent_object(2, U(DGXM_GEN__DeleteTake)), U(DGXM_GEN__take), &take, 0);
    assert_non_null(take);
    assert_int_equal(((const LV2_Atom_Int *)take)->body, 0);
    ui_rect seed = l->r[UI_W_SEED];
    ui_controller_press(c, seed.x + 5, seed.y + 5, 0); /* lock the seed in use */
    assert_true(sent_port(3, DGXM_GEN_PORT_SEED) == 99.0f);
    ui_rect up = l->r[UI_W_DURATION_UP];
    ui_controller_press(c, up.x + 2, up.y + 2, 0);
    assert_true(sent_port(4, DGXM_GEN_PORT_DURATION) == 9.0f);
    ui_rect sync = l->r[UI_W_SYNC];
    ui_controller_press(c, sync.x + 2, sync.y + 2, 0);
    assert_true(sent_port(5, DGXM_GEN_PORT_SYNC) == 1.0f);
    ui_controller_key(c, UI_KEY_SPACE, 0); /* Space toggles the focused checkbox */
    assert_true(sent_port(6, DGXM_GEN_PORT_SYNC) == 0.0f);
    ui_controller_free(c);
}

static void model_entry_sends_a_path_on_enter(void **state)
{
    (void)state;
    ui_controller *c = fresh();
    ui_rect r = c->layout.r[UI_W_MODEL];
    ui_controller_press(c, r.x + 4, r.y + 4, 0);
    assert_int_equal(c->focus, UI_W_MODEL);
    ui_controller_paste(c, "/models/musicgen-small\n", 23);
    ui_controller_key(c, UI_KEY_BACKSPACE, 0); /* the newline became a space */
    ui_controller_key(c, UI_KEY_ENTER, 0);
    assert_sent_set(1, DGXM_GEN__model, LV2_ATOM__Path, "/models/musicgen-small");
    ui_controller_paste(c, "\xff", 1); /* invalid paste: repaired and said so */
    assert_non_null(strstr(c->model.message, "UTF-8"));
    ui_controller_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_ui_asks_for_the_plugin_state),
        cmocka_unit_test(forged_messages_parse_back),
        cmocka_unit_test(typing_then_enter_sets_the_prompt_and_generates),
        cmocka_unit_test(generate_without_a_prompt_explains),
        cmocka_unit_test(notifications_update_the_model),
        cmocka_unit_test(an_edited_prompt_is_not_overwritten),
        cmocka_unit_test(malformed_atoms_change_nothing),
        cmocka_unit_test(clicks_send_take_and_port_messages),
        cmocka_unit_test(model_entry_sends_a_path_on_enter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
