/* test_session.c - the session every front door holds: it opens a manifest or one plugin,
 * keeps what it needs (the manifest file may go), answers each event with the batch
 * response, says which kind of failure stopped it from opening, passes the invocation's
 * deadline on with the manifest's margin, and hands a tumbling window's state back with the
 * members its handlers set. Driven through the probe plugin, which logs every call it gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

#define PROBE DDB_BINARY_DIR "/tests/unit/batch_probe.so"
#define MAJOR_MISMATCH DDB_BINARY_DIR "/tests/abi/major_mismatch.so"
#define ARN "arn:aws:dynamodb:eu-west-1:123456789012:table/%s/stream/2024-01-01T00:00:00.000"

static char dir[] = "/tmp/ddbhost-session-XXXXXX";
static char log_path[256], manifest_path[256];

/* An event of one INSERT into table, SequenceNumber seq, failed by the probe when fail. */
static char *one_insert(const char *table, const char *seq, bool fail, size_t *len)
{
    char arn[160], *text = malloc(1024);
    assert_non_null(text);
    snprintf(arn, sizeof arn, ARN, table);
    *len = (size_t)snprintf(text, 1024,
                            "{\"Records\":[{\"eventSource\":\"aws:dynamodb\",\"eventName\":\"INSERT\","
                            "\"eventSourceARN\":\"%s\",\"dynamodb\":{\"SequenceNumber\":\"%s\","
                            "\"Keys\":{\"id\":{\"S\":\"%s\"}%s}}}]}",
                            arn, seq, seq, fail ? ",\"fail\":{\"BOOL\":true}" : "");
    return text;
}

static void write_manifest(const char *text)
{
    FILE *f = fopen(manifest_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A manifest routing Orders to the probe, with extra top-level settings. */
static void probe_manifest(const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"tables\":{\"Orders\":{\"plugin\":\"%s\",\"config\":{\"log\":\"%s\"}}}%s}",
             PROBE, log_path, extra);
    write_manifest(text);
}

static char *probe_log(void)
{
    static char text[4096];
    FILE *f = fopen(log_path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    return text;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(log_path, sizeof log_path, "%s/probe.log", dir);
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(log_path);
    unlink(manifest_path);
    return rmdir(dir);
}

static int fresh_log(void **state)
{
    (void)state;
    unlink(log_path);
    return 0;
}

/* A session of the manifest routing Orders to the probe, with extra top-level settings. */
static session *open_probe(const char *extra)
{
    char err[512];
    probe_manifest(extra);
    session *s = session_open(manifest_path, NULL, NULL, err, sizeof err);
    if (!s) fail_msg("%s", err);
    return s;
}

static void test_a_session_keeps_working_after_its_manifest_file_is_gone(void **state)
{
    (void)state;
    char err[512];
    size_t len;
    router_result res;
    session *s = open_probe("");
    assert_int_equal(unlink(manifest_path), 0);
    char *event = one_insert("Orders", "101", false, &len);
    char *response = session_process(s, event, len, NULL, &res, NULL, err, sizeof err);
    assert_non_null(response);
    assert_string_equal(response, "{\"batchItemFailures\":[]}");
    assert_int_equal(res.delivered, 1);
    assert_string_equal(session_manifest(s)->routes[0].table, "Orders");
    session_close(s);
    assert_string_equal(probe_log(), "begin 1\ninsert 101\nend ok\nfini\n");
    free(response);
    free(event);
}

static void test_a_failed_record_is_named_in_the_response_event_after_event(void **state)
{
    (void)state;
    char err[512];
    size_t len;
    router_result res;
    session *s = open_probe("");
    for (int i = 0; i < 3; i++) {
        char seq[16];
        snprintf(seq, sizeof seq, "%d", 200 + i);
        char *event = one_insert("Orders", seq, i == 1, &len);
        char *response = session_process(s, event, len, NULL, &res, NULL, err, sizeof err);
        char want[128];
        snprintf(want, sizeof want, "{\"batchItemFailures\":[%s]}",
                 i == 1 ? "{\"itemIdentifier\":\"201\"}" : "");
        assert_non_null(response);
        assert_string_equal(response, want);
        free(response);
        free(event);
    }
    session_close(s);
}

static void test_an_event_that_does_not_decode_gives_no_response_and_the_decoders_line(void **state)
{
    (void)state;
    char err[512], event[] = "{\"Records\": 7}";
    router_result res;
    session *s = open_probe("");
    assert_null(session_process(s, event, strlen(event), NULL, &res, NULL, err, sizeof err));
    assert_non_null(strstr(err, "Records"));
    session_close(s);
    assert_string_equal(probe_log(), "fini\n"); /* no record, no batch hook */
}

static void test_each_failure_to_open_says_its_kind(void **state)
{
    (void)state;
    char err[512];
    session_failure why;
    write_manifest("{\"tables\": ");
    assert_null(session_open(manifest_path, NULL, &why, err, sizeof err));
    assert_int_equal(why, SESSION_INVALID_MANIFEST);
    assert_non_null(strstr(err, manifest_path));
    write_manifest("{\"tables\":{\"Orders\":{\"plugin\":\"/nonexistent/x.so\"}}}");
    assert_null(session_open(manifest_path, NULL, &why, err, sizeof err));
    assert_int_equal(why, SESSION_INVALID_MANIFEST); /* the manifest names a file that is not there */
    assert_non_null(strstr(err, "/nonexistent/x.so"));
    char text[512];
    snprintf(text, sizeof text, "{\"tables\":{\"Orders\":{\"plugin\":\"%s\"}}}", MAJOR_MISMATCH);
    write_manifest(text);
    assert_null(session_open(manifest_path, NULL, &why, err, sizeof err));
    assert_int_equal(why, SESSION_REFUSED);
    assert_non_null(strstr(err, "major_mismatch.so"));
    snprintf(text, sizeof text, "{\"tables\":{\"Orders\":{\"plugin\":\"%s\"}}}", PROBE);
    write_manifest(text); /* no "log" in config: the probe's on_init fails */
    assert_null(session_open(manifest_path, NULL, &why, err, sizeof err));
    assert_int_equal(why, SESSION_INIT_FAILED);
    assert_non_null(strstr(err, "config \"log\" must name a writable file"));
    assert_null(session_open(NULL, MAJOR_MISMATCH, &why, err, sizeof err));
    assert_int_equal(why, SESSION_REFUSED);
}

/* With 10 ms left and the default margin of 1000 ms, no record is attempted; with the
 * margin at 0, the record is delivered. */
static void test_the_invocation_deadline_stops_delivery_by_the_manifests_margin(void **state)
{
    (void)state;
    char err[512];
    size_t len;
    router_result res;
    for (int margin0 = 0; margin0 < 2; margin0++) {
        session *s = open_probe(margin0 ? ",\"deadline_margin_ms\":0" : "");
        api_invocation inv = {"req-1", "arn:aws:lambda:eu-west-1:1:function:f", api_now_ms() + 10};
        char *event = one_insert("Orders", "301", false, &len);
        char *response = session_process(s, event, len, &inv, &res, NULL, err, sizeof err);
        assert_non_null(response);
        assert_int_equal(res.delivered, margin0 ? 1 : 0);
        assert_int_equal(res.deadline_cut, !margin0);
        free(response);
        free(event);
        session_close(s);
    }
}

/* ---- tumbling windows ------------------------------------------------------------------ */

/* A session of the probe on Orders that sets window_state (NULL: none) as its window state. */
static session *open_window_probe(const char *window_state)
{
    char text[1024], err[512];
    snprintf(text, sizeof text,
             "{\"tables\":{\"Orders\":{\"plugin\":\"%s\",\"config\":{\"log\":\"%s\"%s%s%s}}}}",
             PROBE, log_path, window_state ? ",\"window_state\":\"" : "",
             window_state ? window_state : "", window_state ? "\"" : "");
    write_manifest(text);
    session *s = session_open(manifest_path, NULL, NULL, err, sizeof err);
    if (!s) fail_msg("%s", err);
    return s;
}

/* The response to a tumbling-window event of table with `records` INSERTs (101, 102 ...) and
 * the given "state" text. free() it. */
static char *window_response(session *s, const char *table, int records, const char *state)
{
    char arn[160], event[4096], err[512];
    router_result res;
    snprintf(arn, sizeof arn, ARN, table);
    int n = snprintf(event, sizeof event, "{\"Records\":[");
    for (int i = 0; i < records; i++)
        n += snprintf(event + n, sizeof event - (size_t)n,
                      "%s{\"eventSource\":\"aws:dynamodb\",\"eventName\":\"INSERT\",\"eventSourceARN\":"
                      "\"%s\",\"dynamodb\":{\"SequenceNumber\":\"%d\",\"Keys\":{\"id\":{\"S\":\"k\"}}}}",
                      i ? "," : "", arn, 101 + i);
    snprintf(event + n, sizeof event - (size_t)n,
             "],\"window\":{\"start\":\"2020-07-30T17:00:00Z\",\"end\":\"2020-07-30T17:05:00Z\"},"
             "\"state\":%s,\"shardId\":\"shard-1\",\"eventSourceARN\":\"%s\","
             "\"isFinalInvokeForWindow\":%s,\"isWindowTerminatedEarly\":false}",
             state, arn, records ? "false" : "true");
    char *response = session_process(s, event, strlen(event), NULL, &res, NULL, err, sizeof err);
    if (!response) fail_msg("%s", err);
    return response;
}

static void test_a_window_state_set_replaces_the_handlers_member_where_it_was(void **state)
{
    (void)state;
    session *s = open_window_probe("{\\\"n\\\": 1}");
    char *r = window_response(s, "Orders", 1, "{\"a\":1,\"batch-probe\": {\"old\":true},\"b\":[2]}");
    assert_string_equal(r, "{\"state\":{\"a\":1,\"batch-probe\":{\"n\":1},\"b\":[2]},"
                           "\"batchItemFailures\":[]}");
    free(r);
    session_close(s);
    assert_string_equal(probe_log(), "begin 1 window {\"old\":true}\ninsert 101\nend ok\nfini\n");
}

static void test_a_window_state_set_is_added_after_the_events_members(void **state)
{
    (void)state;
    session *s = open_window_probe("{}");
    char *r = window_response(s, "Orders", 2, "{\"a\":1}");
    assert_string_equal(r, "{\"state\":{\"a\":1,\"batch-probe\":{}},\"batchItemFailures\":[]}");
    free(r);
    r = window_response(s, "Orders", 1, "null"); /* not an object: nothing of it to keep */
    assert_string_equal(r, "{\"state\":{\"batch-probe\":{}},\"batchItemFailures\":[]}");
    free(r);
    session_close(s);
}

static void test_without_a_state_set_the_events_state_goes_back_as_it_came(void **state)
{
    (void)state;
    session *s = open_window_probe(NULL);
    char *r = window_response(s, "Orders", 1, "{ \"a\" : [1, 2],\n \"batch-probe\": {} }");
    assert_string_equal(r, "{\"state\":{\"a\":[1,2],\"batch-probe\":{}},\"batchItemFailures\":[]}");
    free(r);
    session_close(s);
}

/* The window's last invocation carries no record: the handlers of the event's table still
 * see it, those of other tables do not. */
static void test_a_window_without_records_reaches_the_handlers_of_its_table_only(void **state)
{
    (void)state;
    session *s = open_window_probe("{\\\"done\\\":true}");
    char *r = window_response(s, "Users", 0, "{}");
    assert_string_equal(r, "{\"state\":{},\"batchItemFailures\":[]}");
    free(r);
    r = window_response(s, "Orders", 0, "{}");
    assert_string_equal(r, "{\"state\":{\"batch-probe\":{\"done\":true}},\"batchItemFailures\":[]}");
    free(r);
    session_close(s);
    assert_string_equal(probe_log(), "begin 0 window {}\nend ok\nfini\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_a_session_keeps_working_after_its_manifest_file_is_gone, fresh_log),
        cmocka_unit_test_setup(test_a_failed_record_is_named_in_the_response_event_after_event, fresh_log),
        cmocka_unit_test_setup(test_an_event_that_does_not_decode_gives_no_response_and_the_decoders_line,
                               fresh_log),
        cmocka_unit_test(test_each_failure_to_open_says_its_kind),
        cmocka_unit_test_setup(test_the_invocation_deadline_stops_delivery_by_the_manifests_margin, fresh_log),
        cmocka_unit_test_setup(test_a_window_state_set_replaces_the_handlers_member_where_it_was, fresh_log),
        cmocka_unit_test_setup(test_a_window_state_set_is_added_after_the_events_members, fresh_log),
        cmocka_unit_test_setup(test_without_a_state_set_the_events_state_goes_back_as_it_came, fresh_log),
        cmocka_unit_test_setup(test_a_window_without_records_reaches_the_handlers_of_its_table_only,
                               fresh_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
