/* test_deadline.c - an isolated plugin that never returns, in Lambda: ddbhost serves the
 * local Runtime API of tests/runtime (server.py), and the invocation's deadline, not the
 * plugin, decides when the record is given up. The answer must reach the server before the
 * deadline and name the hung record, and the next invocation must be served as usual. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define HANG DDB_BINARY_DIR "/tests/hostile/hang_in_record.so"
/* Orders 100..104; 102 and 104 carry fail: true, where hang_in_record never returns. */
#define ORDERS DDB_SOURCE_DIR "/tests/cli/fixtures/orders.json"
/* Orders 300..302, none flagged. */
#define NAMES DDB_SOURCE_DIR "/tests/cli/fixtures/names.json"
#define WAIT_MS 60000 /* only stops a hung test */

static void dump(const harness_server *s, const harness_proc *h)
{
    char *log = harness_slurp(s->state_path), *err = harness_slurp(h->err_path);
    fprintf(stderr, "--- ddbhost exit status %d, stderr ---\n%s--- server log ---\n%s", h->status,
            err, log);
    free(log);
    free(err);
}

/* The answer the server logged for invocation n (from 0), or NULL. */
static json_object *answer(json_object *log, size_t n)
{
    const char *rid = harness_str(harness_entry(log, "next", n, NULL), "request_id");
    for (size_t i = 0; *rid && i < json_object_array_length(log); i++) {
        json_object *e = json_object_array_get_idx(log, i);
        const char *kind = harness_str(e, "kind");
        if ((!strcmp(kind, "response") || !strcmp(kind, "error")) &&
            !strcmp(harness_str(e, "request_id"), rid))
            return e;
    }
    return NULL;
}

static void test_an_isolated_plugin_hanging_past_the_deadline_is_cut_off_in_time(void **state)
{
    char manifest[1024], env_manifest[1100];
    const char *const args[] = {"--exit-when-done", "--timeout-ms", "3000", "--event", ORDERS,
                                "--timeout-ms", "600000", "--event", NAMES, NULL};
    const char *const env[] = {env_manifest, NULL};
    harness_server s;
    harness_proc h;
    (void)state;
    /* The record budget (30 s by default) is far beyond the 3 s invocation: the deadline
     * less its margin must cut the hung record short. */
    assert_true(harness_write(manifest, sizeof manifest, "m.json", "{\"isolation\": \"process\", "
                "\"deadline_margin_ms\": 1000, \"tables\": {\"Orders\": {\"plugin\": \"" HANG "\"}}}"));
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    assert_true(harness_server_start(&s, args));
    assert_true(harness_host_start(&h, s.port, NULL, env));
    bool served = harness_wait(&s.proc, WAIT_MS);
    harness_stop(&h);
    harness_stop(&s.proc);
    if (!served) dump(&s, &h);
    assert_true(served);

    json_object *log = harness_log(&s);
    json_object *first = answer(log, 0), *second = answer(log, 1);
    char *err = harness_slurp(h.err_path);
    bool ok = first && !strcmp(harness_str(first, "kind"), "response") &&
              !strcmp(harness_str(first, "body"),
                      "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"}]}") &&
              !json_object_get_boolean(json_object_object_get(first, "late")) && second &&
              !strcmp(harness_str(second, "body"), "{\"batchItemFailures\":[]}") &&
              strstr(err, "(table Orders, SequenceNumber 102) failed in plugin \"hang-in-record\": "
                          "gave no answer within ") &&
              !harness_sanitizer_report(err);
    if (!ok) dump(&s, &h);
    free(err);
    json_object_put(log);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_an_isolated_plugin_hanging_past_the_deadline_is_cut_off_in_time,
                                        harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
