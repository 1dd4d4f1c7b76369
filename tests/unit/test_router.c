/* test_router.c - what handlers receive and what Lambda is told: routing, stop and continue,
 * and the batch hooks around the records a handler takes, through a probe plugin that logs
 * every call it gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "manifest.h"
#include "router.h"

#define PROBE DDB_BINARY_DIR "/tests/unit/batch_probe.so"
#define ARN "arn:aws:dynamodb:eu-west-1:123456789012:table/%s/stream/2024-01-01T00:00:00.000"

static char log_path[] = "/tmp/ddbhost-router-XXXXXX";

typedef struct run {
    manifest m;
    router *r;
    event_decoder *d;
    char *event;
    router_result res;
} run;

/* One record: table, event name, sequence number, whether the probe should fail it. */
static int record(char *out, size_t cap, const char *table, const char *name, const char *seq,
                  bool fail)
{
    char arn[160];
    snprintf(arn, sizeof arn, ARN, table);
    return snprintf(out, cap,
                    "{\"eventSource\":\"aws:dynamodb\",\"eventName\":\"%s\",\"eventSourceARN\":\"%s\","
                    "\"dynamodb\":{\"SequenceNumber\":\"%s\",\"Keys\":{\"id\":{\"S\":\"%s\"}%s}}}",
                    name, arn, seq, seq, fail ? ",\"fail\":{\"BOOL\":true}" : "");
}

/* Loads a manifest whose "Orders" route is the probe with the given extra config, decodes
 * the event and delivers it. */
static void deliver(run *t, const char *on_failure, const char *probe_config, const char *event)
{
    char text[1024], err[512];
    snprintf(text, sizeof text,
             "{\"tables\":{\"Orders\":{\"plugin\":\"%s\",\"config\":{\"log\":\"%s\"%s}}},"
             "\"on_failure\":\"%s\"}",
             PROBE, log_path, probe_config, on_failure);
    assert_true(manifest_parse(text, strlen(text), "/tmp/manifest.json", &t->m, err, sizeof err));
    t->r = router_new(&t->m, NULL, err, sizeof err);
    if (!t->r) fail_msg("%s", err);
    t->d = event_decoder_new();
    size_t len = strlen(event);
    t->event = malloc(len + 1);
    memcpy(t->event, event, len + 1);
    event_batch b;
    if (!event_decode(t->d, t->event, len, &b)) fail_msg("%s", event_error(t->d));
    assert_true(router_deliver(t->r, &b, &t->res, err, sizeof err));
}

static void finish(run *t)
{
    router_free(t->r);
    manifest_free(&t->m);
    event_decoder_free(t->d);
    free(t->event);
}

static char *probe_log(void)
{
    static char buf[4096];
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    strcpy(log_path, "/tmp/ddbhost-router-XXXXXX");
    int fd = mkstemp(log_path);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(log_path);
    return 0;
}

static const char *event3(bool fail_second, const char *second_table)
{
    static char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"Records\":[");
    n += (size_t)record(buf + n, sizeof buf - n, "Orders", "INSERT", "101", false);
    buf[n++] = ',';
    n += (size_t)record(buf + n, sizeof buf - n, second_table, "MODIFY", "102", fail_second);
    buf[n++] = ',';
    n += (size_t)record(buf + n, sizeof buf - n, "Orders", "REMOVE", "103", false);
    snprintf(buf + n, sizeof buf - n, "]}");
    return buf;
}

static void assert_failures(const router_result *res, const char *const *seqs, size_t n)
{
    assert_int_equal(res->nfailures, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(res->failures[i].len, strlen(seqs[i]));
        assert_memory_equal(res->failures[i].ptr, seqs[i], strlen(seqs[i]));
    }
}

static void test_batch_hooks_wrap_the_records_a_handler_receives(void **state)
{
    (void)state;
    run t = {0};
    deliver(&t, "stop", "", event3(false, "Orders"));
    assert_int_equal(t.res.delivered, 3);
    assert_int_equal(t.res.failed, 0);
    assert_failures(&t.res, NULL, 0);
    finish(&t);
    assert_string_equal(probe_log(), "begin 3\ninsert 101\nmodify 102\nremove 103\nend ok\nfini\n");
}

static void test_stop_delivers_nothing_after_the_first_failure_and_names_only_it(void **state)
{
    (void)state;
    run t = {0};
    deliver(&t, "stop", "", event3(true, "Orders"));
    assert_int_equal(t.res.delivered, 2);
    assert_int_equal(t.res.failed, 1);
    assert_int_equal(t.res.undelivered, 1);
    const char *want[] = {"102"};
    assert_failures(&t.res, want, 1);
    finish(&t);
    assert_string_equal(probe_log(), "begin 3\ninsert 101\nmodify 102\nend handler failed\nfini\n");
}

static void test_continue_delivers_every_record_after_a_failure(void **state)
{
    (void)state;
    run t = {0};
    deliver(&t, "continue", "", event3(true, "Orders"));
    assert_int_equal(t.res.delivered, 3);
    assert_int_equal(t.res.failed, 1);
    assert_int_equal(t.res.undelivered, 0);
    const char *want[] = {"102"};
    assert_failures(&t.res, want, 1);
    finish(&t);
    assert_string_equal(probe_log(),
                        "begin 3\ninsert 101\nmodify 102\nremove 103\nend handler failed\nfini\n");
}

static void test_a_failing_batch_end_fails_every_record_the_handler_took(void **state)
{
    (void)state;
    run t = {0};
    deliver(&t, "continue", ",\"fail_end\":true", event3(false, "Customers"));
    /* Customers has no route: its record is skipped, not failed. */
    assert_int_equal(t.res.skipped, 1);
    const char *want[] = {"101", "103"};
    assert_failures(&t.res, want, 2);
    finish(&t);
}

static void test_under_stop_a_failing_batch_end_names_the_first_record_it_took(void **state)
{
    (void)state;
    run t = {0};
    deliver(&t, "stop", ",\"fail_end\":true", event3(false, "Orders"));
    const char *want[] = {"101"};
    assert_failures(&t.res, want, 1);
    finish(&t);
}

static void test_a_failing_batch_begin_fails_records_without_delivering_them(void **state)
{
    (void)state;
    run t = {0};
    deliver(&t, "continue", ",\"fail_begin\":true", event3(false, "Orders"));
    const char *want[] = {"101", "102", "103"};
    assert_failures(&t.res, want, 3);
    finish(&t);
    assert_string_equal(probe_log(), "begin 3\nend handler failed\nfini\n");
}

static void test_a_handler_without_records_in_the_batch_gets_no_hooks(void **state)
{
    (void)state;
    run t = {0};
    char event[1024];
    size_t n = (size_t)snprintf(event, sizeof event, "{\"Records\":[");
    n += (size_t)record(event + n, sizeof event - n, "Customers", "INSERT", "201", false);
    snprintf(event + n, sizeof event - n, "]}");
    deliver(&t, "stop", "", event);
    assert_int_equal(t.res.skipped, 1);
    assert_int_equal(t.res.delivered, 0);
    finish(&t);
    assert_string_equal(probe_log(), "fini\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_hooks_wrap_the_records_a_handler_receives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_delivers_nothing_after_the_first_failure_and_names_only_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_delivers_every_record_after_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_batch_end_fails_every_record_the_handler_took, setup, teardown),
        cmocka_unit_test_setup_teardown(test_under_stop_a_failing_batch_end_names_the_first_record_it_took, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_batch_begin_fails_records_without_delivering_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_handler_without_records_in_the_batch_gets_no_hooks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
