/* test_deadline.c - isolated plugins in Lambda: ddbhost serves the local Runtime API of
 * tests/runtime (server.py). A plugin that never returns is given up by the invocation's
 * deadline, in time for the answer to name the hung record, and the next invocation is served
 * as usual; a plugin in the worker sees each invocation (request id, time left, trace id) as
 * one in the host does; a crash in on_init is Lambda's init error, not a dead runtime. */
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
#define CRASH_IN_INIT DDB_BINARY_DIR "/tests/hostile/crash_in_init.so"
/* Writes a line per record: SEQ, request id, function ARN, ms left, _X_AMZN_TRACE_ID. */
#define PROBE DDB_BINARY_DIR "/tests/runtime/probe.so"
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

/* Starts the server with args, then ddbhost serving it with the manifest text (and one more
 * environment variable, when not NULL). */
static void start(harness_server *s, harness_proc *h, const char *const args[], const char *text,
                  const char *extra_env)
{
    char manifest[1024], env_manifest[1100];
    const char *const env[] = {env_manifest, extra_env, NULL};
    assert_true(harness_write(manifest, sizeof manifest, "m.json", text));
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    assert_true(harness_server_start(s, args));
    assert_true(harness_host_start(h, s->port, NULL, env));
}

/* Waits for the server to serve every event, then stops both. */
static void wait_served(harness_server *s, harness_proc *h)
{
    bool served = harness_wait(&s->proc, WAIT_MS);
    harness_stop(h);
    harness_stop(&s->proc);
    if (!served) dump(s, h);
    assert_true(served);
}

static void test_an_isolated_plugin_hanging_past_the_deadline_is_cut_off_in_time(void **state)
{
    const char *const args[] = {"--exit-when-done", "--timeout-ms", "3000", "--event", ORDERS,
                                "--timeout-ms", "600000", "--event", NAMES, NULL};
    harness_server s;
    harness_proc h;
    (void)state;
    /* The record budget (30 s by default) is far beyond the 3 s invocation: the deadline
     * less its margin must cut the hung record short. */
    start(&s, &h, args, "{\"isolation\": \"process\", \"deadline_margin_ms\": 1000, \"tables\": "
          "{\"Orders\": {\"plugin\": \"" HANG "\"}}}", NULL);
    wait_served(&s, &h);

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

/* The worker was forked long before the invocation: what it knows of it, it learns from the
 * host, per invocation. Two invocations of 60 s, three records each. */
static void test_an_isolated_plugin_sees_each_invocation_as_a_plugin_in_the_host_does(void **state)
{
    char lines[600], text[1024];
    const char *const args[] = {"--exit-when-done", "--timeout-ms", "60000", "--event", NAMES,
                                "--event", NAMES, NULL};
    harness_server s;
    harness_proc h;
    (void)state;
    snprintf(lines, sizeof lines, "%s/lines", harness_dir());
    snprintf(text, sizeof text, "{\"isolation\": \"process\", \"tables\": {\"*\": {\"plugin\": "
             "\"" PROBE "\", \"config\": {\"path\": \"%s\"}}}}", lines);
    start(&s, &h, args, text, NULL);
    wait_served(&s, &h);

    json_object *log = harness_log(&s);
    char *seen = harness_slurp(lines), *save = NULL, *line = strtok_r(seen, "\n", &save);
    bool ok = true;
    for (size_t i = 0; i < 6 && ok; i++, line = strtok_r(NULL, "\n", &save)) {
        json_object *next = harness_entry(log, "next", i / 3, NULL);
        char want[1024], rid[128] = "", arn[512] = "", trace[512] = "";
        long long left = -1;
        snprintf(want, sizeof want, "%zu\t", 300 + i % 3);
        ok = line && next && !strncmp(line, want, strlen(want)) &&
             sscanf(line + strlen(want), "%127[^\t]\t%511[^\t]\t%lld\t%511[^\n]", rid, arn, &left,
                    trace) == 4 &&
             !strcmp(rid, harness_str(next, "request_id")) && left > 1000 && left <= 60000 &&
             !strcmp(trace, harness_str(next, "trace_id"));
        if (!ok)
            fprintf(stderr, "record line %zu: expected request id %s, 1000 < ms left <= 60000, trace "
                    "id %s\n  got: %s\n", i, harness_str(next, "request_id"),
                    harness_str(next, "trace_id"), line ? line : "(none)");
    }
    if (!ok) dump(&s, &h);
    free(seen);
    json_object_put(log);
    assert_true(ok);
}

/* The plugin is loaded and initialised in the worker, whose death the host reports: Lambda
 * gets /init/error with the one line the CLI prints, and the runtime exits 1. */
static void test_an_isolated_plugin_crashing_in_on_init_is_an_init_error(void **state)
{
    char asan[1024], want[1024];
    const char *const args[] = {"--event", NAMES, NULL};
    const char *old = getenv("ASAN_OPTIONS");
    harness_server s;
    harness_proc h;
    size_t count, served;
    (void)state;
    /* The plain SIGSEGV a production build sees, not AddressSanitizer's report of it. */
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%shandle_segv=0", old ? old : "", old ? ":" : "");
    start(&s, &h, args, "{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \""
          CRASH_IN_INIT "\"}}}", asan);
    bool ended = harness_wait(&h, WAIT_MS);
    harness_stop(&h);
    harness_stop(&s.proc);

    json_object *log = harness_log(&s);
    json_object *e = harness_entry(log, "init_error", 0, &count);
    harness_entry(log, "next", 0, &served);
    snprintf(want, sizeof want, "plugin \"%s\" (crash-in-init 1.0.0) killed by signal 11 "
             "(Segmentation fault) in on_init", CRASH_IN_INIT);
    bool ok = ended && h.status == 1 && count == 1 && served == 0 &&
              !strcmp(harness_str(e, "error_type"), "Runtime.PluginInitFailed") &&
              !strcmp(harness_str(e, "error_message"), want);
    if (!ok) {
        fprintf(stderr, "expected exit status 1 and one /init/error Runtime.PluginInitFailed \"%s\", "
                "no event asked for\n", want);
        dump(&s, &h);
    }
    json_object_put(log);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_an_isolated_plugin_hanging_past_the_deadline_is_cut_off_in_time,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_an_isolated_plugin_sees_each_invocation_as_a_plugin_in_the_host_does,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_an_isolated_plugin_crashing_in_on_init_is_an_init_error,
                                        harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
