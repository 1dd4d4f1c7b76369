/* test_runtime.c - ddbhost as a Lambda custom runtime, end to end: the real binary serves a
 * local Runtime API server (server.py) on loopback, and each test asserts on what the server
 * received (answers, errors, init errors, refused requests) and on ddbhost's stderr. Every
 * wait is bounded: a hung runtime fails its test, it never hangs the suite. Expected answers
 * come from `ddbhost --invoke` on the same files, since both are the same code path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "run.h"

#define PROBE DDB_BINARY_DIR "/tests/runtime/probe.so"
#define ECHO DDB_BINARY_DIR "/plugins/echo.so"
#define ABI_FIXTURES DDB_BINARY_DIR "/tests/abi"
#define CORPUS DDB_SOURCE_DIR "/tests/conformance/corpus"
#define CLI_FIXTURES DDB_SOURCE_DIR "/tests/cli/fixtures"
#define EVENTS DDB_SOURCE_DIR "/tests/runtime/fixtures/events"

#define ORDERS CLI_FIXTURES "/orders.json"     /* Orders 100..104; 102 and 104 carry fail: true */
#define NAMES CLI_FIXTURES "/names.json"       /* Orders 300 INSERT, 301 MODIFY, 302 REMOVE */
#define NOT_JSON CLI_FIXTURES "/not_json.json" /* plain text */
#define TEN EVENTS "/ten.json"                 /* Orders 500..509, all INSERT */
#define NOT_AN_ARRAY EVENTS "/records-not-an-array.json"

#define FUNCTION_ARN "arn:aws:lambda:us-east-1:123456789012:function:ddbhost-test"
#define NO_FAILURES "{\"batchItemFailures\":[]}"
#define WAIT_MS 120000 /* only stops a hung test: nothing here should come near it */

/* One run: the server, ddbhost, and what they left behind. */
typedef struct rt_run {
    harness_server server;
    harness_proc host;
    json_object *log; /* the server's entries */
    char *err;        /* ddbhost's stderr */
} rt_run;

/* ---- running ------------------------------------------------------------------------------ */

static void rt_dump(rt_run *r)
{
    char *log = harness_slurp(r->server.state_path), *serr = harness_slurp(r->server.proc.err_path);
    char *err = r->err ? NULL : harness_slurp(r->host.err_path);
    print_error("--- ddbhost exit status %d, stderr ---\n%s--- server log ---\n%s--- server stderr "
                "---\n%s",
                r->host.status, r->err ? r->err : err, log, serr);
    free(log), free(serr), free(err);
}

#define RT_CHECK(r, cond, ...)           \
    do {                                 \
        if (!(cond)) {                   \
            print_error(__VA_ARGS__);    \
            print_error("\n");           \
            rt_dump(r);                  \
            rt_free(r);                  \
            fail();                      \
        }                                \
    } while (0)

static void rt_free(rt_run *r)
{
    harness_stop(&r->host);
    harness_stop(&r->server.proc);
    if (r->log) json_object_put(r->log);
    free(r->err);
    r->log = NULL;
    r->err = NULL;
}

/* Starts the server with --exit-when-done and args (NULL-terminated). */
static void rt_start_server(rt_run *r, const char *const args[])
{
    const char *argv[64] = {"--exit-when-done"};
    size_t n = 1;
    for (; args && args[n - 1] && n < 63; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    assert_true(harness_server_start(&r->server, argv));
}

/* Waits for the run to end and collects it. A serving run ends when the server has answered
 * everything and exits: ddbhost must still be running then (it retries the lost connection),
 * and is stopped. A failing start (host_exits) ends when ddbhost exits on its own. */
static void rt_finish(rt_run *r, bool host_exits)
{
    harness_proc *first = harness_wait_either(&r->server.proc, &r->host, WAIT_MS);
    RT_CHECK(r, first, "timed out after %d ms: ddbhost and the server were both still running",
             WAIT_MS);
    if (host_exits) {
        RT_CHECK(r, first == &r->host || harness_wait(&r->host, WAIT_MS),
                 "ddbhost did not exit after its init error");
    } else {
        RT_CHECK(r, first == &r->server.proc,
                 "ddbhost exited (status %d) before the server had served every event",
                 r->host.status);
    }
    harness_stop(&r->host);
    harness_stop(&r->server.proc);
    r->log = harness_log(&r->server);
    r->err = harness_slurp(r->host.err_path);
    RT_CHECK(r, !harness_sanitizer_report(r->err), "a sanitizer reported an error in ddbhost");
    {
        char *serr = harness_slurp(r->server.proc.err_path);
        bool quiet = !*serr;
        free(serr);
        RT_CHECK(r, quiet, "the Runtime API server wrote to its stderr (a request it failed on?)");
    }
}

static void rt_serve(rt_run *r, const char *const server_args[], const char *const env[])
{
    memset(r, 0, sizeof *r);
    rt_start_server(r, server_args);
    assert_true(harness_host_start(&r->host, r->server.port, NULL, env));
    rt_finish(r, false);
}

/* ---- expectations ------------------------------------------------------------------------- */

/* The answer (response or error entry) to the n-th invocation; fails the test without one. */
static json_object *rt_answer(rt_run *r, size_t n, const char **event)
{
    json_object *next = harness_entry(r->log, "next", n, NULL);
    const char *rid = harness_str(next, "request_id");
    size_t i;
    RT_CHECK(r, next, "the server never handed out invocation %zu", n + 1);
    if (event) *event = harness_str(next, "event");
    for (i = 0; i < json_object_array_length(r->log); i++) {
        json_object *e = json_object_array_get_idx(r->log, i);
        const char *kind = harness_str(e, "kind");
        if ((!strcmp(kind, "response") || !strcmp(kind, "error")) &&
            !strcmp(harness_str(e, "request_id"), rid))
            return e;
    }
    RT_CHECK(r, false, "invocation %zu (%s, request id %s) was never answered", n + 1,
             harness_str(next, "event"), rid);
    return NULL;
}

/* Invocation n was answered in time with exactly this response body. */
static void rt_expect_response(rt_run *r, size_t n, const char *body)
{
    const char *event;
    json_object *a = rt_answer(r, n, &event);
    RT_CHECK(r, !strcmp(harness_str(a, "kind"), "response") && !strcmp(harness_str(a, "body"), body),
             "invocation %zu (%s): expected the response\n  %s\ngot %s\n  %s", n + 1, event, body,
             harness_str(a, "kind"), harness_str(a, "body"));
    RT_CHECK(r, !strcmp(harness_str(a, "content_type"), "application/json"),
             "invocation %zu: expected Content-Type application/json, got \"%s\"", n + 1,
             harness_str(a, "content_type"));
    RT_CHECK(r, !json_object_get_boolean(json_object_object_get(a, "late")),
             "invocation %zu (%s) was answered after its deadline", n + 1, event);
}

/* Invocation n was answered with /error, this type and message. */
static void rt_expect_error(rt_run *r, size_t n, const char *type, const char *message)
{
    const char *event;
    json_object *a = rt_answer(r, n, &event);
    RT_CHECK(r, !strcmp(harness_str(a, "kind"), "error") && !strcmp(harness_str(a, "error_type"), type) &&
                    !strcmp(harness_str(a, "error_message"), message),
             "invocation %zu (%s): expected /error %s \"%s\"\ngot %s %s \"%s\" %s", n + 1, event,
             type, message, harness_str(a, "kind"), harness_str(a, "error_type"),
             harness_str(a, "error_message"), harness_str(a, "body"));
}

/* The server handed out exactly `invocations` events and refused no request. */
static void rt_expect_clean(rt_run *r, size_t invocations)
{
    size_t served, refused;
    harness_entry(r->log, "next", 0, &served);
    harness_entry(r->log, "refused", 0, &refused);
    RT_CHECK(r, served == invocations, "expected %zu invocations, the server handed out %zu",
             invocations, served);
    RT_CHECK(r, refused == 0, "the server refused %zu requests (see \"refused\" in its log)",
             refused);
}

static void rt_expect_stderr_has(rt_run *r, const char *text)
{
    RT_CHECK(r, strstr(r->err, text), "expected ddbhost's stderr to contain\n  %s", text);
}

/* What `ddbhost ARGS...` says: the last stdout line on success, else stderr's first line
 * after "ddbhost: error: ". Owned: free(). */
static char *rt_cli(const char *const argv[], int *status)
{
    run_output o;
    run_lines lines;
    char *said;
    assert_true(run_program(argv, NULL, &o));
    *status = o.status;
    if (o.status == 0) {
        run_split_lines(o.out, o.out_len, &lines);
        said = strdup(lines.count ? lines.line[lines.count - 1] : "");
    } else {
        run_split_lines(o.err, o.err_len, &lines);
        said = strdup(lines.count && !strncmp(lines.line[0], "ddbhost: error: ", 16)
                          ? lines.line[0] + 16
                          : "(no error line)");
    }
    run_lines_free(&lines);
    run_output_free(&o);
    return said;
}

/* What the runtime must answer for an event, per `--invoke`: a response body, or for an
 * event --invoke refuses, the /error message "event: <the decoder's message>". */
static char *rt_expected(const char *manifest, const char *event, bool *is_error)
{
    const char *const argv[] = {DDB_HOST_BIN, "--manifest", manifest, "--invoke", event, NULL};
    char prefix[1100], *said, *msg;
    int status;
    said = rt_cli(argv, &status);
    *is_error = status != 0;
    if (!*is_error) return said;
    snprintf(prefix, sizeof prefix, "event \"%s\": ", event);
    assert_true(asprintf(&msg, "event: %s",
                         strncmp(said, prefix, strlen(prefix)) ? said : said + strlen(prefix)) > 0);
    free(said);
    return msg;
}

static void rt_manifest(char *path, size_t cap, const char *name, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    assert_true(harness_write(path, cap, name, text));
}

/* ---- many events in a row ----------------------------------------------------------------- */

static int rt_by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_every_corpus_event_is_answered_as_invoke_answers_it_twice_in_a_row(void **state)
{
    char manifest[600], *names[256], *expected[256], path[1200];
    bool is_error[256];
    size_t n = 0, i, k;
    struct dirent *d;
    DIR *dir = opendir(CORPUS "/events");
    rt_run r;
    (void)state;
    rt_manifest(manifest, sizeof manifest, "echo.json", "{\"tables\":{\"*\":{\"plugin\":\"%s\"}}}",
                ECHO);
    assert_non_null(dir);
    while ((d = readdir(dir)) != NULL && n < 255)
        if (strstr(d->d_name, ".json")) names[n++] = strdup(d->d_name);
    closedir(dir);
    qsort(names, n, sizeof *names, rt_by_name); /* the server's order */
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof path, CORPUS "/events/%s", names[i]);
        expected[i] = rt_expected(manifest, path, &is_error[i]);
    }
    {
        char env_manifest[700];
        const char *const args[] = {"--events-dir", CORPUS "/events", "--repeat", "2", NULL};
        const char *const env[] = {env_manifest, NULL};
        snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
        rt_serve(&r, args, env);
    }
    rt_expect_clean(&r, 2 * n);
    for (k = 0; k < 2 * n; k++) {
        i = k % n;
        if (is_error[i]) rt_expect_error(&r, k, "Runtime.InvalidEvent", expected[i]);
        else rt_expect_response(&r, k, expected[i]);
    }
    for (i = 0; i < n; i++) free(names[i]), free(expected[i]);
    rt_free(&r);
}

/* ---- failures and the deadline ------------------------------------------------------------ */

static void test_a_record_the_plugin_fails_is_named_in_the_response(void **state)
{
    char manifest[600], env_manifest[700];
    const char *const args[] = {"--event", ORDERS, "--event", NAMES, NULL};
    const char *const env[] = {env_manifest, NULL};
    rt_run r;
    (void)state;
    rt_manifest(manifest, sizeof manifest, "m.json", "{\"tables\":{\"Orders\":{\"plugin\":\"%s\"}}}",
                PROBE);
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    rt_serve(&r, args, env);
    rt_expect_clean(&r, 2);
    rt_expect_response(&r, 0, "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"}]}");
    rt_expect_response(&r, 1, NO_FAILURES);
    rt_expect_stderr_has(&r, "SequenceNumber 102) failed in plugin \"probe\"");
    rt_free(&r);
}

/* With "metrics": true, each invocation leaves one CloudWatch Embedded Metric Format line:
 * the directive declares every metric it carries, and the counts are this invocation's. */
static void test_metrics_leave_one_embedded_metric_format_line_per_invocation(void **state)
{
    char manifest[600], env_manifest[700];
    const char *const args[] = {"--event", ORDERS, NULL};
    const char *const env[] = {env_manifest, "AWS_LAMBDA_FUNCTION_NAME=orders-audit", NULL};
    rt_run r;
    run_lines lines;
    json_object *emf = NULL;
    (void)state;
    rt_manifest(manifest, sizeof manifest, "m.json",
                "{\"metrics\":true,\"on_failure\":\"continue\","
                "\"tables\":{\"Orders\":{\"plugin\":\"%s\"}}}",
                PROBE);
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    rt_serve(&r, args, env);
    rt_expect_clean(&r, 1);
    run_split_lines(r.err, strlen(r.err), &lines);
    size_t found = 0;
    for (size_t i = 0; i < lines.count; i++) {
        json_object *o = lines.line[i][0] == '{' ? json_tokener_parse(lines.line[i]) : NULL;
        if (o && json_object_object_get(o, "_aws")) {
            found++;
            if (!emf) emf = json_object_get(o);
        }
        if (o) json_object_put(o);
    }
    run_lines_free(&lines);
    RT_CHECK(&r, found == 1, "expected exactly one EMF line on stderr, found %zu", found);
    json_object *aws = json_object_object_get(emf, "_aws");
    json_object *directive = json_object_array_get_idx(json_object_object_get(aws, "CloudWatchMetrics"), 0);
    json_object *metrics = json_object_object_get(directive, "Metrics");
    RT_CHECK(&r, !strcmp(harness_str(directive, "Namespace"), "ddbhost") &&
                     json_object_is_type(json_object_object_get(aws, "Timestamp"), json_type_int),
             "the EMF directive lacks its namespace or timestamp");
    /* every declared metric is a member of the line */
    for (size_t i = 0; metrics && i < json_object_array_length(metrics); i++) {
        const char *name = harness_str(json_object_array_get_idx(metrics, i), "Name");
        RT_CHECK(&r, json_object_object_get(emf, name) != NULL, "metric %s is declared but absent", name);
    }
    RT_CHECK(&r, !strcmp(harness_str(emf, "FunctionName"), "orders-audit"), "FunctionName");
    RT_CHECK(&r, harness_int(emf, "Records") == 5 && harness_int(emf, "Failed") == 2 &&
                     harness_int(emf, "Records.Orders") == 5,
             "expected Records 5, Failed 2 (102 and 104), Records.Orders 5 in %s", json_object_to_json_string(emf));
    json_object_put(emf);
    rt_free(&r);
}

static void test_a_short_deadline_stops_delivery_and_names_the_first_undelivered_record(void **state)
{
    char manifest[900], env_manifest[1000], seen[600], want[200], warn[200];
    const char *const args[] = {"--timeout-ms", "1500", "--event", TEN,
                                "--timeout-ms", "600000", "--event", NAMES, NULL};
    const char *const env[] = {env_manifest, NULL};
    char *text;
    run_lines lines;
    size_t handled = 0, i;
    rt_run r;
    (void)state;
    snprintf(seen, sizeof seen, "%s/seen.tsv", harness_dir());
    rt_manifest(manifest, sizeof manifest, "m.json",
                "{\"tables\":{\"*\":{\"plugin\":\"%s\",\"config\":{\"sleep_ms\":300,\"path\":\"%s\"}}},"
                "\"deadline_margin_ms\":600}",
                PROBE, seen);
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    rt_serve(&r, args, env);
    rt_expect_clean(&r, 2);

    /* 10 records of 300 ms each cannot fit 1500 ms less a 600 ms margin: some are delivered,
     * in order, and the rest are left for Lambda's retry. How many depends on the machine. */
    text = harness_slurp(seen);
    run_split_lines(text, strlen(text), &lines);
    while (handled < lines.count && !strncmp(lines.line[handled], "50", 2)) handled++;
    for (i = 0; i < handled; i++) {
        char seq[8];
        snprintf(seq, sizeof seq, "%zu\t", 500 + i);
        RT_CHECK(&r, !strncmp(lines.line[i], seq, strlen(seq)), "record %zu delivered out of order: %s",
                 i, lines.line[i]);
    }
    run_lines_free(&lines);
    free(text);
    RT_CHECK(&r, handled >= 1 && handled < 10,
             "expected the deadline to stop delivery part-way, the plugin handled %zu of 10", handled);
    snprintf(want, sizeof want, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%zu\"}]}", 500 + handled);
    rt_expect_response(&r, 0, want);
    rt_expect_stderr_has(&r, "deadline: stopped before record ");
    rt_expect_stderr_has(&r, " of 10 with ");
    snprintf(warn, sizeof warn, "(margin 600 ms); Lambda retries from SequenceNumber %zu", 500 + handled);
    rt_expect_stderr_has(&r, warn);
    rt_expect_response(&r, 1, NO_FAILURES); /* the next invocation is whole again */
    rt_free(&r);
}

/* ---- init errors -------------------------------------------------------------------------- */

/* ddbhost started with env must post /init/error of this type with the message `ddbhost
 * check CHECK_PATH` prints, never ask for an event, and exit 1. */
static void rt_expect_init_error(const char *const env[], const char *check_path, const char *type)
{
    const char *const check[] = {DDB_HOST_BIN, "check", check_path, NULL};
    const char *const args[] = {"--event", NAMES, NULL};
    json_object *e;
    size_t count, served;
    int status;
    char *message = rt_cli(check, &status);
    rt_run r;
    assert_int_equal(status, 1);
    memset(&r, 0, sizeof r);
    rt_start_server(&r, args);
    assert_true(harness_host_start(&r.host, r.server.port, NULL, env));
    rt_finish(&r, true);
    e = harness_entry(r.log, "init_error", 0, &count);
    harness_entry(r.log, "next", 0, &served);
    RT_CHECK(&r, count == 1 && !strcmp(harness_str(e, "error_type"), type) &&
                     !strcmp(harness_str(e, "error_message"), message),
             "expected one /init/error %s \"%s\"\ngot %zu, the first: %s \"%s\"", type, message,
             count, harness_str(e, "error_type"), harness_str(e, "error_message"));
    RT_CHECK(&r, served == 0, "ddbhost asked for an event after its init error");
    RT_CHECK(&r, r.host.status == 1, "expected ddbhost to exit 1, got %d", r.host.status);
    free(message);
    rt_free(&r);
}

static void test_an_invalid_manifest_is_an_init_error_with_the_clis_message(void **state)
{
    char manifest[600], env_manifest[700];
    const char *const env[] = {env_manifest, NULL};
    (void)state;
    rt_manifest(manifest, sizeof manifest, "bad.json", "{\"tables\":{\"Orders\":{\"plugn\":\"x.so\"}}}");
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    rt_expect_init_error(env, manifest, "Runtime.InvalidManifest");
}

static void test_a_missing_manifest_is_an_init_error_naming_where_it_looked(void **state)
{
    char root[600], env_root[700], expect_path[700];
    const char *const env[] = {env_root, "_HANDLER=function.handler", NULL};
    (void)state;
    snprintf(root, sizeof root, "%s/empty-task", harness_dir());
    assert_int_equal(mkdir(root, 0700), 0);
    snprintf(env_root, sizeof env_root, "LAMBDA_TASK_ROOT=%s", root);
    snprintf(expect_path, sizeof expect_path, "%s/manifest.json", root);
    rt_expect_init_error(env, expect_path, "Runtime.InvalidManifest");
}

static void test_a_plugin_built_for_another_abi_is_an_init_error_naming_it(void **state)
{
    char manifest[600], env_manifest[700];
    const char *const env[] = {env_manifest, NULL};
    (void)state;
    rt_manifest(manifest, sizeof manifest, "m.json", "{\"tables\":{\"*\":{\"plugin\":\"%s\"}}}",
                ABI_FIXTURES "/major_mismatch.so");
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    rt_expect_init_error(env, manifest, "Runtime.PluginRefused");
}

static void test_a_plugin_whose_init_fails_is_an_init_error_with_its_reason(void **state)
{
    char manifest[600], env_manifest[700];
    const char *const env[] = {env_manifest, NULL};
    (void)state;
    rt_manifest(manifest, sizeof manifest, "m.json", "{\"tables\":{\"*\":{\"plugin\":\"%s\"}}}",
                ABI_FIXTURES "/init_fails.so");
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    rt_expect_init_error(env, manifest, "Runtime.PluginInitFailed");
}

/* ---- an invocation a handler fails -------------------------------------------------------- */

/* A tumbling-window state that is no JSON object cannot go back to Lambda: the invocation fails
 * as the handler's fault (Runtime.HandlerFailed), not the event's, and the next is served. */
static void test_a_bad_window_state_fails_the_invocation_as_the_handlers_fault(void **state)
{
    char manifest[600], env_manifest[700], prefix[700], *said, want[1200];
    const char *const args[] = {"--event", CLI_FIXTURES "/window.json", "--event", NAMES, NULL};
    const char *const env[] = {env_manifest, NULL};
    int status;
    rt_run r;
    (void)state;
    rt_manifest(manifest, sizeof manifest, "m.json",
                "{\"tables\":{\"*\":{\"plugin\":\"%s\",\"config\":{\"bad_state\":\"[1]\"}}}}",
                DDB_BINARY_DIR "/tests/cli/window_sum.so");
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    const char *const argv[] = {DDB_HOST_BIN, "--manifest", manifest, "--invoke",
                                CLI_FIXTURES "/window.json", NULL};
    said = rt_cli(argv, &status);
    assert_int_not_equal(status, 0);
    snprintf(prefix, sizeof prefix, "event \"%s\": ", CLI_FIXTURES "/window.json");
    assert_true(strncmp(said, prefix, strlen(prefix)) == 0);
    snprintf(want, sizeof want, "invocation: %s", said + strlen(prefix));
    free(said);
    assert_non_null(strstr(want, "set a tumbling-window state that is not a JSON object"));
    rt_serve(&r, args, env);
    rt_expect_clean(&r, 2);
    bool is_error;
    char *next = rt_expected(manifest, NAMES, &is_error); /* what --invoke answers for it */
    assert_false(is_error);
    rt_expect_error(&r, 0, "Runtime.HandlerFailed", want);
    rt_expect_response(&r, 1, next);
    free(next);
    rt_free(&r);
}

/* ---- events that cannot be decoded -------------------------------------------------------- */

static void test_an_undecodable_event_gets_an_invalid_event_error_and_the_next_is_served(void **state)
{
    char manifest[600], env_manifest[700], *want[2];
    const char *const args[] = {"--event", NOT_JSON, "--event", NOT_AN_ARRAY, "--event", NAMES, NULL};
    const char *const env[] = {env_manifest, NULL};
    bool is_error;
    rt_run r;
    (void)state;
    rt_manifest(manifest, sizeof manifest, "m.json", "{\"tables\":{\"*\":{\"plugin\":\"%s\"}}}", PROBE);
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    want[0] = rt_expected(manifest, NOT_JSON, &is_error);
    assert_true(is_error);
    want[1] = rt_expected(manifest, NOT_AN_ARRAY, &is_error);
    assert_true(is_error);
    rt_serve(&r, args, env);
    rt_expect_clean(&r, 3);
    rt_expect_error(&r, 0, "Runtime.InvalidEvent", want[0]);
    rt_expect_error(&r, 1, "Runtime.InvalidEvent", want[1]);
    rt_expect_response(&r, 2, NO_FAILURES);
    free(want[0]), free(want[1]);
    rt_free(&r);
}

/* ---- where the manifest is found ---------------------------------------------------------- */

/* A task root as Lambda unpacks a function: probe.so beside an invalid manifest.json (a decoy
 * that fails the start if it is read) and a valid app.json whose plugin path is relative. */
static void rt_task_root(char *root, size_t cap, bool good_default)
{
    char path[800];
    snprintf(root, cap, "%s/task", harness_dir());
    assert_int_equal(mkdir(root, 0700), 0);
    snprintf(path, sizeof path, "%s/probe.so", root);
    assert_int_equal(symlink(PROBE, path), 0);
    rt_manifest(path, sizeof path, "task/app.json", "{\"tables\":{\"*\":{\"plugin\":\"probe.so\"}}}");
    rt_manifest(path, sizeof path, "task/manifest.json", good_default
                    ? "{\"tables\":{\"*\":{\"plugin\":\"probe.so\"}}}"
                    : "{\"tables\":{}}");
}

static void rt_expect_serves(const char *const env[])
{
    const char *const args[] = {"--event", NAMES, NULL};
    size_t init_errors;
    rt_run r;
    rt_serve(&r, args, env);
    harness_entry(r.log, "init_error", 0, &init_errors);
    RT_CHECK(&r, init_errors == 0, "ddbhost read the wrong manifest: %s",
             harness_str(harness_entry(r.log, "init_error", 0, NULL), "error_message"));
    rt_expect_clean(&r, 1);
    rt_expect_response(&r, 0, NO_FAILURES);
    rt_free(&r);
}

static void test_ddbhost_manifest_wins_over_the_task_root(void **state)
{
    char root[600], env_root[700], manifest[600], env_manifest[700];
    const char *const env[] = {env_manifest, env_root, "_HANDLER=manifest.json", NULL};
    (void)state;
    rt_task_root(root, sizeof root, false);
    rt_manifest(manifest, sizeof manifest, "elsewhere.json", "{\"tables\":{\"*\":{\"plugin\":\"%s\"}}}",
                PROBE);
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    snprintf(env_root, sizeof env_root, "LAMBDA_TASK_ROOT=%s", root);
    rt_expect_serves(env);
}

static void test_a_handler_naming_a_json_file_is_the_manifest_in_the_task_root(void **state)
{
    char root[600], env_root[700];
    const char *const env[] = {env_root, "_HANDLER=app.json", NULL};
    (void)state;
    rt_task_root(root, sizeof root, false);
    snprintf(env_root, sizeof env_root, "LAMBDA_TASK_ROOT=%s", root);
    rt_expect_serves(env);
}

static void test_manifest_json_in_the_task_root_is_the_default(void **state)
{
    char root[600], env_root[700];
    const char *const env[] = {env_root, "_HANDLER=function.handler", NULL};
    (void)state;
    rt_task_root(root, sizeof root, true);
    snprintf(env_root, sizeof env_root, "LAMBDA_TASK_ROOT=%s", root);
    rt_expect_serves(env);
}

/* ---- the connection to the Runtime API ---------------------------------------------------- */

static void rt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void rt_probe_env(char *env_manifest, size_t cap)
{
    char manifest[600];
    rt_manifest(manifest, sizeof manifest, "m.json", "{\"tables\":{\"*\":{\"plugin\":\"%s\"}}}", PROBE);
    snprintf(env_manifest, cap, "DDBHOST_MANIFEST=%s", manifest);
}

static void test_a_server_that_starts_after_the_runtime_is_waited_for(void **state)
{
    char env_manifest[700], port[16];
    const char *const env[] = {env_manifest, NULL};
    const char *const args[] = {"--port", port, "--event", NAMES, NULL};
    rt_run r;
    (void)state;
    rt_probe_env(env_manifest, sizeof env_manifest);
    memset(&r, 0, sizeof r);
    snprintf(port, sizeof port, "%d", harness_free_port());
    assert_true(harness_host_start(&r.host, atoi(port), NULL, env));
    rt_sleep_ms(500); /* ddbhost meets a refused connection first */
    rt_start_server(&r, args);
    rt_finish(&r, false);
    rt_expect_clean(&r, 1);
    rt_expect_response(&r, 0, NO_FAILURES);
    rt_free(&r);
}

static void test_a_server_restart_between_invocations_is_survived(void **state)
{
    char env_manifest[700], port[16];
    const char *const env[] = {env_manifest, NULL};
    const char *const first[] = {"--event", ORDERS, NULL};
    const char *const second[] = {"--port", port, "--event", NAMES, NULL};
    rt_run a, b;
    (void)state;
    rt_probe_env(env_manifest, sizeof env_manifest);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    rt_start_server(&a, first);
    snprintf(port, sizeof port, "%d", a.server.port);
    assert_true(harness_host_start(&a.host, a.server.port, NULL, env));
    /* The first server answers one event and goes away while ddbhost waits in `next`. */
    RT_CHECK(&a, harness_wait(&a.server.proc, WAIT_MS), "the first server never finished");
    a.log = harness_log(&a.server);
    rt_expect_response(&a, 0, "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"}]}");
    rt_start_server(&b, second);
    b.host = a.host; /* the same ddbhost, now served by the second server */
    a.host.pid = 0;
    rt_finish(&b, false);
    rt_expect_clean(&b, 1);
    rt_expect_response(&b, 0, NO_FAILURES);
    rt_free(&a);
    rt_free(&b);
}

static void test_no_server_at_all_ends_with_the_unreachable_error(void **state)
{
    char env_manifest[700], want[200];
    const char *const env[] = {env_manifest, NULL};
    int port = harness_free_port();
    run_lines lines;
    rt_run r;
    (void)state;
    rt_probe_env(env_manifest, sizeof env_manifest);
    memset(&r, 0, sizeof r);
    assert_true(harness_host_start(&r.host, port, NULL, env));
    RT_CHECK(&r, harness_wait(&r.host, 60000),
             "ddbhost was still retrying after 60 s with no Runtime API (its budget is about 10 s)");
    r.err = harness_slurp(r.host.err_path);
    run_split_lines(r.err, strlen(r.err), &lines);
    snprintf(want, sizeof want, "ddbhost: error: Runtime API at 127.0.0.1:%d unreachable: ", port);
    RT_CHECK(&r, r.host.status == 3 && lines.count > 0 &&
                     !strncmp(lines.line[lines.count - 1], want, strlen(want)),
             "expected exit status 3 (the Runtime API is gone) and a last stderr line starting\n  %s",
             want);
    run_lines_free(&lines);
    rt_free(&r);
}

/* The probe served by a server given args, until ddbhost exits of its own accord. */
static void rt_probe_until_it_exits(rt_run *r, const char *const args[])
{
    char env_manifest[700];
    const char *const env[] = {env_manifest, NULL};
    rt_probe_env(env_manifest, sizeof env_manifest);
    memset(r, 0, sizeof *r);
    rt_start_server(r, args);
    assert_true(harness_host_start(&r->host, r->server.port, NULL, env));
    rt_finish(r, true);
}

/* Lambda answers 500 when its side has failed, and asks the runtime to exit: ddbhost exits 3
 * at once, and neither sends the response again nor asks for another event. */
static void test_a_500_to_a_response_ends_the_runtime_without_sending_it_again(void **state)
{
    const char *const args[] = {"--answer-response", "500", "--event", NAMES, "--event", NAMES, NULL};
    size_t responses, served;
    rt_run r;
    (void)state;
    rt_probe_until_it_exits(&r, args);
    json_object *e = harness_entry(r.log, "response", 0, &responses);
    harness_entry(r.log, "next", 0, &served);
    RT_CHECK(&r, r.host.status == 3, "expected ddbhost to exit 3, got %d", r.host.status);
    RT_CHECK(&r, responses == 1 && served == 1,
             "expected one event and one response, got %zu and %zu", served, responses);
    RT_CHECK(&r, e && json_object_get_int(json_object_object_get(e, "status")) == 500,
             "the one response was not the one answered 500");
    rt_expect_stderr_has(&r, "answered 500 to invocation/");
    rt_expect_stderr_has(&r, "(it asks the runtime to exit)");
    rt_free(&r);
}

/* A response whose answer never comes (the connection drops) may have been taken: it is not
 * sent again, and with the API gone the runtime exits 3. */
static void test_a_response_whose_answer_is_lost_is_not_sent_again(void **state)
{
    const char *const args[] = {"--answer-response", "0", "--event", NAMES, "--event", NAMES, NULL};
    size_t responses;
    rt_run r;
    (void)state;
    rt_probe_until_it_exits(&r, args);
    harness_entry(r.log, "response", 0, &responses);
    RT_CHECK(&r, r.host.status == 3, "expected ddbhost to exit 3, got %d", r.host.status);
    RT_CHECK(&r, responses == 1, "the response was sent %zu times", responses);
    rt_expect_stderr_has(&r, "(the request was sent, so it is not sent again)");
    rt_free(&r);
}

/* Every request names the runtime in User-Agent, as Lambda's own clients do. */
static void test_requests_carry_the_hosts_user_agent(void **state)
{
    char env_manifest[700];
    const char *const args[] = {"--event", NAMES, NULL};
    const char *const env[] = {env_manifest, NULL};
    rt_run r;
    (void)state;
    rt_probe_env(env_manifest, sizeof env_manifest);
    rt_serve(&r, args, env);
    rt_expect_clean(&r, 1);
    const char *agent = harness_str(harness_entry(r.log, "response", 0, NULL), "user_agent");
    RT_CHECK(&r, agent && !strncmp(agent, "ddbhost/", 8), "expected User-Agent ddbhost/VERSION, got %s",
             agent ? agent : "none");
    rt_free(&r);
}

static void test_serve_without_a_runtime_api_is_a_usage_error(void **state)
{
    const char *const argv[] = {DDB_HOST_BIN, "serve", NULL};
    run_output o;
    bool ok;
    (void)state;
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_true(run_program(argv, NULL, &o));
    ok = o.status == 2 && strstr(o.err, "ddbhost: error: ") && strstr(o.err, "AWS_LAMBDA_RUNTIME_API");
    if (!ok)
        print_error("expected exit 2 and an error naming AWS_LAMBDA_RUNTIME_API\ngot exit %d\n%s",
                    o.status, o.err);
    run_output_free(&o);
    if (!ok) fail();
}

static void test_serve_is_the_explicit_form_of_serving(void **state)
{
    char env_manifest[700];
    const char *const env[] = {env_manifest, NULL};
    const char *const args[] = {"--event", NAMES, NULL};
    const char *const serve[] = {"serve", NULL};
    rt_run r;
    (void)state;
    rt_probe_env(env_manifest, sizeof env_manifest);
    memset(&r, 0, sizeof r);
    rt_start_server(&r, args);
    assert_true(harness_host_start(&r.host, r.server.port, serve, env));
    rt_finish(&r, false);
    rt_expect_clean(&r, 1);
    rt_expect_response(&r, 0, NO_FAILURES);
    rt_free(&r);
}

/* ---- what plugins see of the invocation (ABI 1.1) ----------------------------------------- */

static void test_plugins_see_the_request_id_function_arn_deadline_and_trace(void **state)
{
    char manifest[900], env_manifest[1000], seen[600];
    const char *const args[] = {"--timeout-ms", "60000", "--event", NAMES, "--event", NAMES, NULL};
    const char *const env[] = {env_manifest, NULL};
    char *text;
    run_lines lines;
    size_t i;
    rt_run r;
    (void)state;
    snprintf(seen, sizeof seen, "%s/seen.tsv", harness_dir());
    rt_manifest(manifest, sizeof manifest, "m.json",
                "{\"tables\":{\"*\":{\"plugin\":\"%s\",\"config\":{\"path\":\"%s\"}}}}", PROBE, seen);
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    rt_serve(&r, args, env);
    rt_expect_clean(&r, 2);
    text = harness_slurp(seen);
    run_split_lines(text, strlen(text), &lines);
    RT_CHECK(&r, lines.count == 6, "expected 6 records delivered, got %zu:\n%s", lines.count, text);
    for (i = 0; i < 6; i++) {
        json_object *next = harness_entry(r.log, "next", i / 3, NULL);
        char seq[64], rid[64], arn[200], trace[200];
        long long left = -2;
        int got = sscanf(lines.line[i], "%63[^\t]\t%63[^\t]\t%199[^\t]\t%lld\t%199s", seq, rid, arn,
                         &left, trace);
        RT_CHECK(&r, got == 5 && !strcmp(rid, harness_str(next, "request_id")) &&
                         !strcmp(arn, FUNCTION_ARN) && left > 0 && left <= 60000 &&
                         !strcmp(trace, harness_str(next, "trace_id")),
                 "record %zu: the plugin saw\n  %s\nexpected request id %s, ARN %s, 0 < remaining "
                 "<= 60000, trace %s",
                 i, lines.line[i], harness_str(next, "request_id"), FUNCTION_ARN,
                 harness_str(next, "trace_id"));
    }
    run_lines_free(&lines);
    free(text);
    rt_free(&r);

    /* Under --invoke there is no invocation: no request id, no ARN, no deadline. */
    {
        const char *const argv[] = {DDB_HOST_BIN, "--manifest", manifest, "--invoke", NAMES, NULL};
        int status;
        unlink(seen);
        free(rt_cli(argv, &status));
        assert_int_equal(status, 0);
        text = harness_slurp(seen);
        if (strncmp(text, "300\t-\t-\t-1\t", 11) != 0) {
            print_error("under --invoke the plugin saw\n  %sexpected 300\t-\t-\t-1\t...\n", text);
            free(text);
            fail();
        }
        free(text);
    }
}

/* ---- logs --------------------------------------------------------------------------------- */

static bool rt_matches(const char *text, const char *pattern)
{
    regex_t re;
    bool ok;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) return false;
    ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void rt_log_run(rt_run *r, const char *format, const char *level)
{
    char manifest[600], env_manifest[700];
    const char *env[4] = {env_manifest};
    const char *const args[] = {"--event", ORDERS, NULL};
    size_t n = 1;
    rt_manifest(manifest, sizeof manifest, "m.json",
                "{\"tables\":{\"*\":{\"plugin\":\"%s\",\"config\":{\"log\":true}}}}", PROBE);
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    if (format) env[n++] = format;
    if (level) env[n++] = level;
    env[n] = NULL;
    rt_serve(r, args, env);
    rt_expect_clean(r, 1);
    rt_expect_response(r, 0, "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"}]}");
}

/* The JSON log line whose message contains text; fails the test when there is none. */
static json_object *rt_json_line(rt_run *r, json_object *lines, const char *text)
{
    size_t i;
    for (i = 0; i < json_object_array_length(lines); i++) {
        json_object *l = json_object_array_get_idx(lines, i);
        if (strstr(harness_str(l, "message"), text)) return l;
    }
    json_object_put(lines);
    RT_CHECK(r, false, "no JSON log line has a message containing \"%s\"", text);
    return NULL;
}

static void test_json_log_format_gives_json_lines_carrying_the_request_id(void **state)
{
    json_object *lines = json_object_new_array(), *l;
    const char *rid, *checks[][2] = {{"5 records:", "INFO"},
                                     {"SequenceNumber 102) failed", "WARN"},
                                     {"handled 100", "INFO"}};
    run_lines text;
    size_t i;
    rt_run r;
    (void)state;
    rt_log_run(&r, "AWS_LAMBDA_LOG_FORMAT=JSON", NULL);
    rid = harness_str(harness_entry(r.log, "next", 0, NULL), "request_id");
    run_split_lines(r.err, strlen(r.err), &text);
    for (i = 0; i < text.count; i++) {
        json_object *o = json_tokener_parse(text.line[i]);
        bool ok = o && json_object_is_type(o, json_type_object) &&
                  rt_matches(harness_str(o, "timestamp"),
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$") &&
                  rt_matches(harness_str(o, "level"), "^(ERROR|WARN|INFO|DEBUG)$") &&
                  json_object_is_type(json_object_object_get(o, "message"), json_type_string);
        if (!ok) {
            if (o) json_object_put(o);
            print_error("stderr line %zu is not a JSON log line with timestamp, level and "
                        "message:\n  %s\n", i + 1, text.line[i]);
            run_lines_free(&text);
            json_object_put(lines);
            RT_CHECK(&r, false, "AWS_LAMBDA_LOG_FORMAT=JSON");
        }
        json_object_array_add(lines, o);
    }
    run_lines_free(&text);
    for (i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        l = rt_json_line(&r, lines, checks[i][0]);
        if (strcmp(harness_str(l, "level"), checks[i][1]) || strcmp(harness_str(l, "requestId"), rid)) {
            print_error("the line about \"%s\" should have level %s and requestId %s:\n  %s\n",
                        checks[i][0], checks[i][1], rid, json_object_to_json_string(l));
            json_object_put(lines);
            RT_CHECK(&r, false, "AWS_LAMBDA_LOG_FORMAT=JSON");
        }
    }
    json_object_put(lines);
    rt_free(&r);
}

static void test_log_level_error_hides_info_and_warnings_and_warn_hides_info(void **state)
{
    rt_run r;
    (void)state;
    rt_log_run(&r, NULL, "AWS_LAMBDA_LOG_LEVEL=ERROR");
    RT_CHECK(&r, !strstr(r.err, "records:") && !strstr(r.err, "failed in plugin") &&
                     !strstr(r.err, "handled 100"),
             "AWS_LAMBDA_LOG_LEVEL=ERROR: expected no info or warning lines on stderr");
    rt_free(&r);

    rt_log_run(&r, NULL, "AWS_LAMBDA_LOG_LEVEL=warn");
    RT_CHECK(&r, !strstr(r.err, "records:") && !strstr(r.err, "handled 100") &&
                     strstr(r.err, "SequenceNumber 102) failed in plugin"),
             "AWS_LAMBDA_LOG_LEVEL=warn: expected the record's warning and no info line");
    rt_free(&r);

    rt_log_run(&r, NULL, NULL);
    rt_expect_stderr_has(&r, "5 records: ");
    rt_free(&r);
}

int main(void)
{
#define RT_TEST(t) cmocka_unit_test_setup_teardown(t, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        RT_TEST(test_every_corpus_event_is_answered_as_invoke_answers_it_twice_in_a_row),
        RT_TEST(test_a_record_the_plugin_fails_is_named_in_the_response),
        RT_TEST(test_a_500_to_a_response_ends_the_runtime_without_sending_it_again),
        RT_TEST(test_a_response_whose_answer_is_lost_is_not_sent_again),
        RT_TEST(test_requests_carry_the_hosts_user_agent),
        RT_TEST(test_a_short_deadline_stops_delivery_and_names_the_first_undelivered_record),
        RT_TEST(test_an_invalid_manifest_is_an_init_error_with_the_clis_message),
        RT_TEST(test_a_missing_manifest_is_an_init_error_naming_where_it_looked),
        RT_TEST(test_a_plugin_built_for_another_abi_is_an_init_error_naming_it),
        RT_TEST(test_a_plugin_whose_init_fails_is_an_init_error_with_its_reason),
        RT_TEST(test_an_undecodable_event_gets_an_invalid_event_error_and_the_next_is_served),
        RT_TEST(test_a_bad_window_state_fails_the_invocation_as_the_handlers_fault),
        RT_TEST(test_ddbhost_manifest_wins_over_the_task_root),
        RT_TEST(test_a_handler_naming_a_json_file_is_the_manifest_in_the_task_root),
        RT_TEST(test_manifest_json_in_the_task_root_is_the_default),
        RT_TEST(test_a_server_that_starts_after_the_runtime_is_waited_for),
        RT_TEST(test_a_server_restart_between_invocations_is_survived),
        RT_TEST(test_no_server_at_all_ends_with_the_unreachable_error),
        RT_TEST(test_serve_without_a_runtime_api_is_a_usage_error),
        RT_TEST(test_serve_is_the_explicit_form_of_serving),
        RT_TEST(test_plugins_see_the_request_id_function_arn_deadline_and_trace),
        RT_TEST(test_json_log_format_gives_json_lines_carrying_the_request_id),
        RT_TEST(test_metrics_leave_one_embedded_metric_format_line_per_invocation),
        RT_TEST(test_log_level_error_hides_info_and_warnings_and_warn_hides_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
