/* test_hostile.c - plugins that crash, exit, hang, flood stdout or could have been replaced
 * by someone else, run through the real binary (`ddbhost --manifest M --invoke EVENT`), and
 * what the user sees of each: the exit status, the batch response on stdout, the lines on
 * stderr. With "isolation": "process" a misbehaving plugin costs its record and the host
 * answers; without it the host dies and nothing claims success. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"
#include "run.h"

extern char **environ;

#define FIXTURES DDB_BINARY_DIR "/tests/hostile"
#define WALK DDB_BINARY_DIR "/bench/walk.so"
/* Orders 100..104 (INSERT, MODIFY, INSERT, REMOVE, INSERT); 102 and 104 carry fail: true,
 * the records every fixture misbehaves on. */
#define ORDERS DDB_SOURCE_DIR "/tests/cli/fixtures/orders.json"
/* Orders 300..302, none flagged. */
#define NAMES DDB_SOURCE_DIR "/tests/cli/fixtures/names.json"
/* Orders 200, Users 201, Audit 202, Orders 203, and 204 of no table; none flagged. */
#define TABLES DDB_SOURCE_DIR "/tests/cli/fixtures/tables.json"

#define NO_FAILURES "{\"batchItemFailures\":[]}"
#define FAILED_102 "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"}]}"
#define FAILED_102_104 \
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"},{\"itemIdentifier\":\"104\"}]}"

/* Sanitizer builds only (other builds ignore the variable). Without AddressSanitizer's own
 * SIGSEGV handler a crash is the plain signal a production build sees, so its name can be
 * asserted. Without LeakSanitizer a process that exits early is not checked for leaks: a
 * worker that a plugin's exit() ends runs the check and replaces the plugin's exit status
 * with its own, and the host never frees the state of an isolated handler (its on_fini runs
 * in a worker, on the worker's copy). */
#define PLAIN_SEGV "handle_segv=0"
#define NO_LEAK_CHECK "detect_leaks=0"

static char dir[64];

/* ---- files --------------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    return run_make_tmpdir(dir, sizeof dir, "ddbhost-hostile") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return run_remove_tree(dir);
}

static const char *fixture(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, FIXTURES "/%s.so", name);
    return path;
}

/* dir/name, in a buffer of the caller's. */
static char *in_dir(char *out, size_t cap, const char *name)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", dir, name) < cap);
    return out;
}

/* Writes dir/m.json from fmt and returns its path. */
static const char *manifest(const char *fmt, ...)
{
    static char path[128];
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    assert_true((size_t)vsnprintf(text, sizeof text, fmt, ap) < sizeof text);
    va_end(ap);
    assert_true(run_write_file(in_dir(path, sizeof path, "m.json"), text));
    return path;
}

/* A copy of src at dst with this mode. */
static void copy_file(const char *src, const char *dst, mode_t mode)
{
    size_t len;
    char *bytes = run_read_file(src, &len);
    FILE *f = fopen(dst, "wb");
    assert_non_null(bytes);
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(dst, mode), 0);
    free(bytes);
}

/* ---- running ------------------------------------------------------------------------------- */

/* Runs argv (ddbhost and its arguments), with asan_options (may be NULL) added to
 * ASAN_OPTIONS for this run only. */
static void invoke_argv(run_output *r, const char *const argv[], const char *asan_options)
{
    const char *old = getenv("ASAN_OPTIONS");
    char *saved = old ? strdup(old) : NULL, options[1024];
    if (asan_options) {
        snprintf(options, sizeof options, "%s%s%s", old ? old : "", old ? ":" : "", asan_options);
        setenv("ASAN_OPTIONS", options, 1);
    }
    assert_true(run_program(argv, NULL, r));
    if (saved) setenv("ASAN_OPTIONS", saved, 1);
    else unsetenv("ASAN_OPTIONS");
    free(saved);
}

/* Runs `ddbhost --manifest m --invoke event`, as invoke_argv does. */
static void invoke(run_output *r, const char *m, const char *event, const char *asan_options)
{
    const char *argv[] = {DDB_HOST_BIN, "--manifest", m, "--invoke", event, NULL};
    invoke_argv(r, argv, asan_options);
}

static void dump(const run_output *r)
{
    print_error("--- exit status %d, stdout (%zu bytes) ---\n%.4000s\n--- stderr ---\n%.8000s\n",
                r->status, r->out_len, r->out, r->err);
}

/* The host exited 0 and the last line of its stdout is exactly this response. */
static void expect_response(const run_output *r, const char *response)
{
    run_lines lines;
    run_split_lines(r->out, r->out_len, &lines);
    if (r->status != 0 || !lines.count || strcmp(lines.line[lines.count - 1], response) != 0) {
        print_error("expected exit status 0 and the response %s\n", response);
        dump(r);
        fail();
    }
    assert_true(lines.ends_with_newline);
    run_lines_free(&lines);
}

/* The host did not survive: a non-zero status and no response, not even an empty one. */
static void expect_no_response(const run_output *r)
{
    if (r->status == 0 || strstr(r->out, "batchItemFailures")) {
        print_error("expected the host to die without a response\n");
        dump(r);
        fail();
    }
}

static void expect_stderr(const run_output *r, const char *text, bool present)
{
    if ((strstr(r->err, text) != NULL) == present) return;
    print_error("expected stderr %s\n  %s\n", present ? "to contain" : "not to contain", text);
    dump(r);
    fail();
}

static void expect_handled(const run_output *r, const char *plugin, const char *seqs_handled,
                           const char *seqs_not_handled)
{
    char line[128];
    for (const char *s = seqs_handled; *s; s += 3) {
        snprintf(line, sizeof line, "%s handled %.3s\n", plugin, s);
        expect_stderr(r, line, true);
    }
    for (const char *s = seqs_not_handled; *s; s += 3) {
        snprintf(line, sizeof line, "%s handled %.3s\n", plugin, s);
        expect_stderr(r, line, false);
    }
}

/* ---- a plugin others could have replaced --------------------------------------------------- */

/* A plugin at path must be refused with exactly `why` by the loader, and by the binary with
 * one line and status 1, before any of its code runs (its constructor says when it does). */
static void expect_refused(const char *path, const char *why)
{
    const char *argv[] = {DDB_HOST_BIN, "--invoke", path, ORDERS, NULL};
    char err[1024] = "", line[1100];
    loader_plugin p;
    run_output r;
    run_lines lines;
    assert_false(loader_open(path, &p, err, sizeof err));
    assert_string_equal(err, why);
    assert_null(p.dl);

    assert_true(run_program(argv, NULL, &r));
    run_split_lines(r.err, r.err_len, &lines);
    snprintf(line, sizeof line, "ddbhost: error: %s", why);
    if (r.status != 1 || lines.count != 1 || strcmp(lines.line[0], line) != 0) {
        print_error("expected exit status 1 and the one line\n  %s\n", line);
        dump(&r);
        fail();
    }
    assert_int_equal(r.out_len, 0);
    run_lines_free(&lines);
    run_output_free(&r);
}

static void expect_loads(const char *path)
{
    const char *argv[] = {DDB_HOST_BIN, "--invoke", path, ORDERS, NULL};
    run_output r;
    assert_true(run_program(argv, NULL, &r));
    expect_response(&r, NO_FAILURES);
    expect_stderr(&r, "runs-on-load: constructor ran\n", true);
    run_output_free(&r);
}

static void test_a_plugin_file_writable_by_others_is_refused_before_any_of_its_code_runs(void **state)
{
    char path[128], why[1024];
    (void)state;
    copy_file(fixture("runs_on_load"), in_dir(path, sizeof path, "x.so"), 0666);
    snprintf(why, sizeof why, "plugin \"%s\" is writable by group or others (mode 0666): loading it "
             "would run code that anyone could have replaced (hint: chmod go-w %s)", path, path);
    expect_refused(path, why);
}

static void test_a_plugin_file_writable_by_its_group_is_refused(void **state)
{
    char path[128], why[1024];
    (void)state;
    copy_file(fixture("runs_on_load"), in_dir(path, sizeof path, "x.so"), 0775);
    snprintf(why, sizeof why, "plugin \"%s\" is writable by group or others (mode 0775): loading it "
             "would run code that anyone could have replaced (hint: chmod go-w %s)", path, path);
    expect_refused(path, why);
}

static void test_the_refused_plugin_loads_once_the_hint_is_followed(void **state)
{
    char path[128];
    (void)state;
    copy_file(fixture("runs_on_load"), in_dir(path, sizeof path, "x.so"), 0666);
    assert_int_equal(chmod(path, 0666 & ~(S_IWGRP | S_IWOTH)), 0); /* chmod go-w x.so */
    expect_loads(path);
}

static void test_a_plugin_in_a_directory_others_can_write_to_is_refused(void **state)
{
    char sub[128], path[160], why[1024];
    (void)state;
    assert_int_equal(mkdir(in_dir(sub, sizeof sub, "shared"), 0755), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    snprintf(path, sizeof path, "%s/x.so", sub);
    copy_file(fixture("runs_on_load"), path, 0755);
    snprintf(why, sizeof why, "plugin \"%s\" is in a directory writable by group or others (\"%s\", "
             "mode 0777): loading it would run code that anyone could have replaced (hint: "
             "chmod go-w %s)", path, sub, sub);
    expect_refused(path, why);
}

/* The descriptor is read from the file: a plugin for another ABI is refused before dlopen
 * would run its constructors. */
static void test_a_plugin_refused_for_its_abi_never_runs_its_constructors(void **state)
{
    const char *argv[] = {DDB_HOST_BIN, "--invoke", fixture("runs_on_load_for_abi_2"), ORDERS, NULL};
    run_output r;
    (void)state;
    assert_true(run_program(argv, NULL, &r));
    if (r.status != 1 || !strstr(r.err, "was built for plugin ABI 2.0") ||
        strstr(r.err, "constructor ran")) {
        print_error("expected exit status 1, the ABI refusal and no constructor\n");
        dump(&r);
        fail();
    }
    run_output_free(&r);
}

/* A link is judged by what it points to: the file and the directory it is really in. */
static void test_a_link_to_a_plugin_in_a_directory_others_can_write_to_is_refused(void **state)
{
    char sub[128], real[160], link[160], resolved[PATH_MAX], why[4 * PATH_MAX];
    (void)state;
    assert_int_equal(mkdir(in_dir(sub, sizeof sub, "shared"), 0755), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    snprintf(real, sizeof real, "%s/x.so", sub);
    copy_file(fixture("runs_on_load"), real, 0755);
    assert_int_equal(symlink(real, in_dir(link, sizeof link, "link.so")), 0);
    assert_non_null(realpath(sub, resolved));
    snprintf(why, sizeof why, "plugin \"%s\" links to \"%s/x.so\", which is in a directory "
             "writable by group or others (\"%s\", mode 0777): loading it would run code that "
             "anyone could have replaced (hint: chmod go-w %s)", link, resolved, resolved, resolved);
    expect_refused(link, why);
}

static void test_a_link_to_a_plugin_file_others_can_write_is_refused(void **state)
{
    char real[160], link[160], resolved[PATH_MAX], why[4 * PATH_MAX];
    (void)state;
    copy_file(fixture("runs_on_load"), in_dir(real, sizeof real, "x.so"), 0666);
    assert_int_equal(symlink(real, in_dir(link, sizeof link, "link.so")), 0);
    assert_non_null(realpath(real, resolved));
    snprintf(why, sizeof why, "plugin \"%s\" links to \"%s\", which is writable by group or "
             "others (mode 0666): loading it would run code that anyone could have replaced "
             "(hint: chmod go-w %s)", link, resolved, resolved);
    expect_refused(link, why);
}

/* From a directory anyone can write to, a link could be pointed at another file. */
static void test_a_link_in_a_directory_others_can_write_to_is_refused(void **state)
{
    char sub[128], real[160], link[160], why[2048];
    (void)state;
    copy_file(fixture("runs_on_load"), in_dir(real, sizeof real, "x.so"), 0755);
    assert_int_equal(mkdir(in_dir(sub, sizeof sub, "shared"), 0755), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    snprintf(link, sizeof link, "%s/link.so", sub);
    assert_int_equal(symlink(real, link), 0);
    snprintf(why, sizeof why, "plugin \"%s\" is a link that is in a directory writable by group "
             "or others (\"%s\", mode 0777): loading it would run code that anyone could have "
             "replaced (hint: chmod go-w %s)", link, sub, sub);
    expect_refused(link, why);
}

static void test_a_link_to_a_plugin_no_one_else_can_replace_loads(void **state)
{
    char real[160], link[160];
    (void)state;
    copy_file(fixture("runs_on_load"), in_dir(real, sizeof real, "x.so"), 0755);
    assert_int_equal(symlink(real, in_dir(link, sizeof link, "link.so")), 0);
    expect_loads(link);
}

/* In a sticky directory (/tmp's mode) only a file's owner may rename or delete it. */
static void test_a_plugin_of_ours_in_a_sticky_directory_such_as_tmp_loads(void **state)
{
    char sub[128], path[160];
    (void)state;
    assert_int_equal(mkdir(in_dir(sub, sizeof sub, "sticky"), 0755), 0);
    assert_int_equal(chmod(sub, 01777), 0);
    snprintf(path, sizeof path, "%s/x.so", sub);
    copy_file(fixture("runs_on_load"), path, 0755);
    expect_loads(path);
}

static void test_a_plugin_of_another_user_in_a_sticky_directory_is_refused(void **state)
{
    char sub[128], path[160], why[1024];
    (void)state;
    if (geteuid() != 0) skip(); /* only root can give a file away */
    assert_int_equal(mkdir(in_dir(sub, sizeof sub, "sticky"), 0755), 0);
    assert_int_equal(chmod(sub, 01777), 0);
    snprintf(path, sizeof path, "%s/x.so", sub);
    copy_file(fixture("runs_on_load"), path, 0755);
    assert_int_equal(chown(path, 65534, 65534), 0);
    snprintf(why, sizeof why, "plugin \"%s\" is in a directory writable by group or others (\"%s\", "
             "mode 1777): loading it would run code that anyone could have replaced (hint: "
             "chmod go-w %s)", path, sub, sub);
    expect_refused(path, why);
}

/* ---- crashes in a record callback ---------------------------------------------------------- */

static void test_with_isolation_a_crash_fails_only_its_record_and_the_host_answers(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("crash_in_record")),
           ORDERS, NULL);
    expect_response(&r, FAILED_102);
    expect_stderr(&r, "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in "
                      "plugin \"crash-in-record\": ", true);
    /* "stop": nothing after the crash is delivered, so Lambda retries from 102. */
    expect_handled(&r, "crash-in-record", "100101", "103104");
    expect_stderr(&r, "ddbhost: 5 records: 3 delivered, 1 failed, 0 skipped, 2 not attempted "
                      "after a failure\n", true);
    run_output_free(&r);
}

static void test_with_isolation_and_continue_the_records_after_a_crash_are_delivered(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"on_failure\": \"continue\", \"tables\": "
                        "{\"Orders\": {\"plugin\": \"%s\"}}}", fixture("crash_in_record")),
           ORDERS, NULL);
    expect_response(&r, FAILED_102_104);
    expect_handled(&r, "crash-in-record", "100101103", "");
    expect_stderr(&r, "SequenceNumber 104) failed in plugin \"crash-in-record\": ", true);
    expect_stderr(&r, "ddbhost: 5 records: 5 delivered, 2 failed, 0 skipped\n", true);
    run_output_free(&r);
}

/* After a crash the host starts another worker once per event: when that one dies in
 * on_init too, the event's later isolated records fail at once instead of each forking a
 * worker to die the same way. */
static void test_a_worker_that_cannot_be_started_again_is_tried_once_per_event(void **state)
{
    run_output r;
    char starts[128];
    size_t len;
    (void)state;
    in_dir(starts, sizeof starts, "starts.txt");
    invoke(&r, manifest("{\"isolation\": \"process\", \"on_failure\": \"continue\", \"tables\": "
                        "{\"Orders\": {\"plugin\": \"%s\", \"config\": {\"starts\": \"%s\"}}}}",
                        fixture("crash_in_init_again"), starts),
           ORDERS, PLAIN_SEGV);
    expect_response(&r, "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"},"
                        "{\"itemIdentifier\":\"103\"},{\"itemIdentifier\":\"104\"}]}");
    expect_handled(&r, "crash-in-init-again", "100101", "103104");
    char *text = run_read_file(starts, &len);
    assert_non_null(text);
    assert_string_equal(text, "start\nstart\n"); /* the first worker, and one try after the crash */
    free(text);
    run_output_free(&r);
}

static void test_the_log_names_the_signal_that_killed_the_worker(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("crash_in_record")),
           ORDERS, PLAIN_SEGV);
    expect_response(&r, FAILED_102);
    expect_stderr(&r, "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in "
                      "plugin \"crash-in-record\": killed by signal 11 (Segmentation fault)\n", true);
    run_output_free(&r);
}

static void test_isolation_set_on_the_handler_alone_is_enough(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"tables\": {\"Orders\": {\"plugin\": \"%s\", \"isolation\": \"process\"}}}",
                        fixture("crash_in_record")),
           ORDERS, NULL);
    expect_response(&r, FAILED_102);
    run_output_free(&r);
}

static void test_without_isolation_a_crash_takes_the_host_down_and_nothing_claims_success(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}", fixture("crash_in_record")),
           ORDERS, NULL);
    expect_no_response(&r);
    expect_handled(&r, "crash-in-record", "100101", "103104");
    expect_stderr(&r, " delivered, ", false);
    run_output_free(&r);
}

/* ---- exit() in a record callback ----------------------------------------------------------- */

static void test_with_isolation_a_plugin_calling_exit_fails_its_record_with_the_status(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"on_failure\": \"continue\", \"tables\": "
                        "{\"Orders\": {\"plugin\": \"%s\"}}}", fixture("exit_in_record")),
           ORDERS, NO_LEAK_CHECK);
    expect_response(&r, FAILED_102_104);
    expect_stderr(&r, "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in "
                      "plugin \"exit-in-record\": exited with status 3\n", true);
    expect_stderr(&r, "ddbhost: warning: record 4 (table Orders, SequenceNumber 104) failed in "
                      "plugin \"exit-in-record\": exited with status 3\n", true);
    expect_handled(&r, "exit-in-record", "100101103", "");
    run_output_free(&r);
}

static void test_without_isolation_a_plugin_calling_exit_ends_the_host_without_a_response(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}", fixture("exit_in_record")),
           ORDERS, NULL);
    expect_no_response(&r);
    assert_int_equal(r.status, 3);
    run_output_free(&r);
}

/* ---- a record that never returns ----------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void test_with_isolation_a_record_that_never_returns_is_killed_after_its_budget(void **state)
{
    run_output r;
    (void)state;
    double t0 = now_ms();
    invoke(&r, manifest("{\"isolation\": \"process\", \"record_timeout_ms\": 500, \"on_failure\": "
                        "\"continue\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("hang_in_record")),
           ORDERS, NULL);
    double ms = now_ms() - t0;
    expect_response(&r, FAILED_102_104);
    expect_stderr(&r, "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in "
                      "plugin \"hang-in-record\": gave no answer within 500 ms and was killed\n",
                  true);
    expect_stderr(&r, "ddbhost: warning: record 4 (table Orders, SequenceNumber 104) failed in "
                      "plugin \"hang-in-record\": gave no answer within 500 ms and was killed\n",
                  true);
    expect_handled(&r, "hang-in-record", "100101103", "");
    /* Two budgets of 500 ms, and not much more: the host waits for nothing else. */
    assert_true(ms >= 1000);
    assert_true(ms < 30000);
    run_output_free(&r);
}

/* ---- on_init and on_fini ------------------------------------------------------------------- */

static void test_with_isolation_a_crash_in_on_fini_is_logged_and_the_response_stands(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("crash_in_fini")),
           ORDERS, PLAIN_SEGV);
    expect_response(&r, NO_FAILURES);
    expect_handled(&r, "crash-in-fini", "100101102103104", "");
    expect_stderr(&r, "ddbhost: warning: plugin \"crash-in-fini\" killed by signal 11 "
                      "(Segmentation fault) in on_fini\n", true);
    run_output_free(&r);
}

/* The response is printed after every on_fini has run: a crash there loses it. */
static void test_without_isolation_a_crash_in_on_fini_loses_the_response(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}", fixture("crash_in_fini")),
           ORDERS, NULL);
    expect_no_response(&r);
    expect_handled(&r, "crash-in-fini", "100101102103104", "");
    run_output_free(&r);
}

/* An isolated plugin is loaded and initialised in the worker, never in the host: a crash in
 * on_init is one error line naming the plugin and the signal, and exit status 1. */
static void test_with_isolation_a_crash_in_on_init_is_one_error_line_and_exit_status_1(void **state)
{
    run_output r;
    char want[1024];
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("crash_in_init")),
           ORDERS, PLAIN_SEGV);
    snprintf(want, sizeof want, "ddbhost: error: plugin \"%s\" (crash-in-init 1.0.0) killed by signal "
             "11 (Segmentation fault) in on_init\n", fixture("crash_in_init"));
    if (r.status != 1 || r.out_len != 0 || strcmp(r.err, want) != 0) {
        print_error("expected exit status 1, no stdout and the one line\n  %s", want);
        dump(&r);
        fail();
    }
    run_output_free(&r);
}

/* Without isolation on_init runs in the host: a crash there is the host's. */
static void test_without_isolation_a_crash_in_on_init_takes_the_host_down(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}", fixture("crash_in_init")),
           ORDERS, PLAIN_SEGV);
    expect_no_response(&r);
    assert_int_equal(r.out_len, 0);
    expect_stderr(&r, "crash-in-init handled", false);
    run_output_free(&r);
}

/* Not even a constructor of an isolated plugin runs in the host: the process it runs in is
 * the host's child (the worker), not the test's. */
static void test_with_isolation_a_plugins_constructor_runs_in_the_worker_only(void **state)
{
    run_output r;
    char host_child[128], test_child[128];
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("runs_on_load")),
           ORDERS, NULL);
    expect_response(&r, NO_FAILURES);
    snprintf(test_child, sizeof test_child, "runs-on-load: constructor's parent is %ld\n", (long)getpid());
    snprintf(host_child, sizeof host_child, "runs-on-load: constructor's parent is ");
    expect_stderr(&r, host_child, true);
    expect_stderr(&r, test_child, false);
    run_output_free(&r);
}

/* ---- which process runs an isolated plugin ------------------------------------------------- */

/* One line of tells_where_it_runs's trace: what ran and its numbers (see the fixture). */
typedef struct where_line {
    char what[8];
    long n[4];
} where_line;

typedef struct where_trace {
    where_line line[64];
    size_t count;
    long host; /* the host's pid: the parent of the process that ran the first record */
} where_trace;

static void where_dump(const where_trace *t)
{
    print_error("--- trace (host %ld) ---\n", t->host);
    for (size_t i = 0; i < t->count; i++)
        print_error("%s %ld %ld %ld %ld\n", t->line[i].what, t->line[i].n[0], t->line[i].n[1],
                    t->line[i].n[2], t->line[i].n[3]);
}

/* `ddbhost --manifest m --repeat repeat --invoke event` with tells_where_it_runs's trace in
 * dir/trace, read into *t. */
static void where_run(run_output *r, where_trace *t, const char *m, const char *event,
                      const char *repeat, const char *asan_options)
{
    const char *argv[] = {DDB_HOST_BIN, "--manifest", m, "--repeat", repeat, "--invoke", event, NULL};
    char path[128], *save = NULL;
    in_dir(path, sizeof path, "trace");
    unlink(path);
    setenv("HOSTILE_TRACE", path, 1);
    invoke_argv(r, argv, asan_options);
    unsetenv("HOSTILE_TRACE");
    memset(t, 0, sizeof *t);
    char *text = run_read_file(path, NULL);
    if (!text) return; /* nothing of the plugin ran */
    for (char *s = strtok_r(text, "\n", &save); s && t->count < 64; s = strtok_r(NULL, "\n", &save)) {
        where_line *l = &t->line[t->count++];
        sscanf(s, "%7s %ld %ld %ld %ld", l->what, &l->n[0], &l->n[1], &l->n[2], &l->n[3]);
        if (!t->host && !strcmp(l->what, "record")) t->host = l->n[2];
    }
    free(text);
}

/* The pid of the process that ran line l. */
static long where_pid(const where_line *l) { return strcmp(l->what, "record") ? l->n[0] : l->n[1]; }

/* The k-th line (from 0) of this kind; fails the test when there is none. */
static const where_line *where_nth(const where_trace *t, const char *what, size_t k)
{
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->line[i].what, what) && k-- == 0) return &t->line[i];
    print_error("expected a line \"%s\" more in the trace\n", what);
    where_dump(t);
    fail();
    return NULL;
}

static size_t where_count(const where_trace *t, const char *what)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++) n += !strcmp(t->line[i].what, what);
    return n;
}

static void where_expect(bool ok, const where_trace *t, const char *what)
{
    if (ok) return;
    print_error("expected %s\n", what);
    where_dump(t);
    fail();
}

/* Its constructor, on_init, records, on_fini and destructor all run in one process, the
 * worker: a child of the host, never the host itself. */
static void test_with_isolation_no_code_of_the_plugin_runs_in_the_host_process(void **state)
{
    run_output r;
    where_trace t;
    (void)state;
    where_run(&r, &t, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": "
                               "\"%s\"}}}", fixture("tells_where_it_runs")),
              NAMES, "1", NULL);
    expect_response(&r, NO_FAILURES);
    long worker = where_pid(where_nth(&t, "record", 0));
    where_expect(t.host != worker && t.host != (long)getpid(), &t, "the records in a child of the host");
    static const char *const kinds[] = {"load", "init", "fini", "unload"};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        where_expect(where_count(&t, kinds[k]) == 1, &t, "one line of each: load, init, fini, unload");
    for (size_t i = 0; i < t.count; i++)
        where_expect(where_pid(&t.line[i]) == worker, &t, "every line from the worker, none from the host");
    run_output_free(&r);
}

/* As the Lambda runtime does, --repeat hands one process batch after batch: on_init runs
 * once, in the one worker, and the state it returned counts every record of every batch. */
static void test_with_isolation_on_init_runs_once_and_the_state_lasts_from_batch_to_batch(void **state)
{
    run_output r;
    where_trace t;
    (void)state;
    where_run(&r, &t, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": "
                               "\"%s\"}}}", fixture("tells_where_it_runs")),
              NAMES, "5", NULL);
    expect_response(&r, NO_FAILURES);
    where_expect(where_count(&t, "init") == 1 && where_count(&t, "record") == 15, &t,
                 "one on_init for 5 batches of 3 records");
    long worker = where_pid(where_nth(&t, "init", 0));
    where_expect(worker != t.host, &t, "on_init in the worker");
    for (size_t k = 0; k < 15; k++) {
        const where_line *l = where_nth(&t, "record", k);
        where_expect(l->n[1] == worker && l->n[3] == (long)k + 1, &t,
                     "record k of 15 in the worker of on_init, its state counting k");
    }
    where_expect(where_nth(&t, "fini", 0)->n[1] == 15, &t, "on_fini seeing the 15 records");
    run_output_free(&r);
}

/* A crash takes the worker and the plugin's state with it: the next record gets a new worker,
 * which loads the plugin and runs on_init again, and counts from 1. */
static void test_with_isolation_a_crash_starts_a_new_worker_that_runs_on_init_again(void **state)
{
    run_output r;
    where_trace t;
    (void)state;
    where_run(&r, &t, manifest("{\"isolation\": \"process\", \"on_failure\": \"continue\", \"tables\": "
                               "{\"Orders\": {\"plugin\": \"%s\", \"config\": {\"crash\": true}}}}",
                               fixture("tells_where_it_runs")),
              ORDERS, "1", PLAIN_SEGV);
    expect_response(&r, FAILED_102_104);
    expect_stderr(&r, "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in "
                      "plugin \"tells-where-it-runs\": killed by signal 11 (Segmentation fault)\n", true);
    where_expect(where_count(&t, "load") == 2 && where_count(&t, "init") == 2, &t,
                 "the plugin loaded and initialised twice: once per worker");
    long first = where_pid(where_nth(&t, "init", 0)), second = where_pid(where_nth(&t, "init", 1));
    where_expect(first != second && first != t.host && second != t.host, &t,
                 "two workers, neither of them the host");
    const where_line *r101 = where_nth(&t, "record", 1), *r103 = where_nth(&t, "record", 2);
    where_expect(r101->n[0] == 101 && r101->n[1] == first && r101->n[3] == 2, &t,
                 "101 in the first worker, its second record");
    where_expect(r103->n[0] == 103 && r103->n[1] == second && r103->n[3] == 1, &t,
                 "103 in the second worker, the first record of a new state");
    run_output_free(&r);
}

/* The worker may be killed while it waits for the next event (the kernel's OOM killer, say;
 * here a plugin in the host kills it at the end of the first batch): the next event gets
 * another worker, and no record fails for a death it did not cause. */
static void test_a_worker_killed_between_events_is_replaced_without_failing_a_record(void **state)
{
    run_output r;
    where_trace t;
    char killer[512];
    (void)state;
    snprintf(killer, sizeof killer, "%s", fixture("kills_the_worker"));
    where_run(&r, &t, manifest("{\"tables\": {\"Orders\": [{\"plugin\": \"%s\", \"isolation\": "
                               "\"process\"}, {\"plugin\": \"%s\"}]}}",
                               fixture("tells_where_it_runs"), killer),
              NAMES, "2", NULL);
    expect_response(&r, NO_FAILURES);
    expect_stderr(&r, "ddbhost: warning: the worker process of the isolated handlers killed by "
                      "signal 9 (Killed) between events; starting another (their on_init runs "
                      "again)\n", true);
    expect_stderr(&r, "failed in plugin", false);
    where_expect(where_count(&t, "init") == 2 && where_count(&t, "record") == 6, &t,
                 "two workers, each initialised, and all 6 records");
    const where_line *second = where_nth(&t, "record", 3);
    where_expect(second->n[0] == 300 && second->n[1] == where_pid(where_nth(&t, "init", 1)) &&
                     second->n[3] == 1, &t, "the second batch from its start in the second worker");
    run_output_free(&r);
}

/* ---- plugin state in a worker -------------------------------------------------------------- */

/* walk counts records in its state and prints the count in on_fini. An isolated plugin
 * lives in the worker from start to end, so its state is kept from record to record and
 * on_fini sees the same count as without isolation. */
static void test_with_isolation_plugin_state_lives_in_the_worker_until_on_fini(void **state)
{
    run_output r;
    (void)state;
    for (int isolated = 0; isolated < 2; isolated++) {
        invoke(&r, manifest("{\"isolation\": \"%s\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                            isolated ? "process" : "none", WALK),
               ORDERS, NO_LEAK_CHECK);
        expect_response(&r, NO_FAILURES);
        expect_stderr(&r, "walk: 5 records, ", true);
        run_output_free(&r);
    }
}

/* ---- batch hooks --------------------------------------------------------------------------- */

static void test_with_isolation_batch_hooks_run_in_the_worker_and_commit_the_batch(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("crash_in_batch")),
           NAMES, NO_LEAK_CHECK);
    expect_response(&r, NO_FAILURES);
    expect_stderr(&r, "crash-in-batch begins a batch\n", true);
    expect_stderr(&r, "crash-in-batch commits 3 records\n", true);
    run_output_free(&r);
}

/* The sink commits in on_batch_end, which never comes for the crashed worker: the records it
 * took there are lost too, so they fail with the crash, and under "stop" the response names
 * the first of them. */
static void test_a_crash_mid_batch_fails_every_record_the_worker_took_under_stop(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("crash_in_batch")),
           ORDERS, NO_LEAK_CHECK);
    expect_response(&r, "{\"batchItemFailures\":[{\"itemIdentifier\":\"100\"}]}");
    expect_handled(&r, "crash-in-batch", "100101", "103104");
    expect_stderr(&r, "SequenceNumber 102) failed in plugin \"crash-in-batch\": ", true);
    expect_stderr(&r, "commits", false);
    expect_stderr(&r, "ddbhost: 5 records: 3 delivered, 3 failed, 0 skipped, 2 not attempted "
                      "after a failure\n", true);
    run_output_free(&r);
}

/* Under "continue" the next worker opens a new batch at 103, which the crash at 104 loses. */
static void test_a_crash_mid_batch_fails_every_record_the_worker_took_under_continue(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"on_failure\": \"continue\", \"tables\": "
                        "{\"Orders\": {\"plugin\": \"%s\"}}}", fixture("crash_in_batch")),
           ORDERS, NO_LEAK_CHECK);
    expect_response(&r, "{\"batchItemFailures\":[{\"itemIdentifier\":\"100\"},{\"itemIdentifier\":"
                        "\"101\"},{\"itemIdentifier\":\"102\"},{\"itemIdentifier\":\"103\"},"
                        "{\"itemIdentifier\":\"104\"}]}");
    expect_handled(&r, "crash-in-batch", "100101103", "");
    expect_stderr(&r, "commits", false);
    run_output_free(&r);
}

/* The commit itself crashes: every record the handler took fails, none is lost. */
static void test_with_isolation_a_crash_in_on_batch_end_fails_the_records_it_would_commit(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}",
                        fixture("crash_in_commit")),
           ORDERS, PLAIN_SEGV);
    expect_response(&r, "{\"batchItemFailures\":[{\"itemIdentifier\":\"100\"}]}");
    expect_handled(&r, "crash-in-commit", "100101102103104", "");
    expect_stderr(&r, "ddbhost: error: plugin \"crash-in-commit\" killed by signal 11 "
                      "(Segmentation fault) in on_batch_end\n", true);
    expect_stderr(&r, "ddbhost: warning: plugin \"crash-in-commit\" failed to end the batch: "
                      "handler failed; its records are retried\n", true);
    expect_stderr(&r, "ddbhost: 5 records: 5 delivered, 5 failed, 0 skipped\n", true);
    run_output_free(&r);
}

/* Two isolated sinks share the worker: when one crashes in on_batch_end, the other's
 * on_batch_end never comes, and the records it took (Orders 200 and 203, before the Audit
 * record 202 of the one that crashed) were never committed: they fail too, so that Lambda
 * retries from 200, not from 202. */
static void test_a_crash_in_on_batch_end_fails_what_the_other_isolated_sinks_had_not_committed(void **state)
{
    run_output r;
    char sink[512];
    (void)state;
    snprintf(sink, sizeof sink, "%s", fixture("crash_in_batch"));
    invoke(&r, manifest("{\"isolation\": \"process\", \"tables\": {\"Audit\": {\"plugin\": \"%s\"}, "
                        "\"Orders\": {\"plugin\": \"%s\"}}}", fixture("crash_in_commit"), sink),
           TABLES, PLAIN_SEGV);
    expect_response(&r, "{\"batchItemFailures\":[{\"itemIdentifier\":\"200\"}]}");
    expect_stderr(&r, "crash-in-batch commits", false);
    expect_stderr(&r, "ddbhost: error: plugin \"crash-in-batch\" could not run on_batch_end: its "
                      "worker process had died\n", true);
    expect_stderr(&r, "ddbhost: 5 records: 3 delivered, 3 failed, 2 skipped\n", true);
    run_output_free(&r);
}

static void test_without_isolation_a_crash_in_on_batch_end_takes_the_host_down(void **state)
{
    run_output r;
    (void)state;
    invoke(&r, manifest("{\"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}", fixture("crash_in_commit")),
           ORDERS, NULL);
    expect_no_response(&r);
    run_output_free(&r);
}

/* ---- a flood on stdout --------------------------------------------------------------------- */

#define FLOOD_BYTES (50u * 1024 * 1024) /* per flagged record: 102 and 104 */

/* `ddbhost --manifest m --invoke ORDERS > out`: returns the exit status; stderr goes to
 * err (owned). */
static int invoke_to_file(const char *m, const char *out, char **err)
{
    char *const argv[] = {DDB_HOST_BIN, "--manifest", (char *)m, "--invoke", ORDERS, NULL};
    char err_path[128];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;
    in_dir(err_path, sizeof err_path, "err");
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *err = run_read_file(err_path, NULL);
    assert_non_null(*err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Everything the plugin wrote is there, once, and the response is the last line after it. */
static void expect_flood_then_response(const char *isolation)
{
    char out[128], tail[64], *err;
    const char *want = "x\n" NO_FAILURES "\n";
    struct stat sb;
    int status = invoke_to_file(manifest("{\"isolation\": \"%s\", \"tables\": {\"Orders\": "
                                         "{\"plugin\": \"%s\"}}}",
                                         isolation, fixture("flood_stdout")),
                                in_dir(out, sizeof out, "out"), &err);
    if (status != 0) print_error("isolation %s: exit status %d, stderr:\n%s", isolation, status, err);
    assert_int_equal(status, 0);
    assert_non_null(strstr(err, "flood-stdout handled 104\n"));
    free(err);
    assert_int_equal(stat(out, &sb), 0);
    assert_int_equal((size_t)sb.st_size, 2 * FLOOD_BYTES + strlen(NO_FAILURES) + 1);
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, -(long)strlen(want), SEEK_END), 0);
    size_t n = fread(tail, 1, sizeof tail - 1, f);
    tail[n] = '\0';
    fclose(f);
    assert_string_equal(tail, want);
    unlink(out);
}

static void test_a_plugin_flooding_stdout_neither_stalls_nor_buries_the_response(void **state)
{
    (void)state;
    expect_flood_then_response("none");
}

static void test_with_isolation_a_flood_on_stdout_still_ends_with_the_response(void **state)
{
    (void)state;
    expect_flood_then_response("process");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_plugin_file_writable_by_others_is_refused_before_any_of_its_code_runs),
        T(test_a_plugin_file_writable_by_its_group_is_refused),
        T(test_the_refused_plugin_loads_once_the_hint_is_followed),
        T(test_a_plugin_in_a_directory_others_can_write_to_is_refused),
        T(test_a_plugin_of_ours_in_a_sticky_directory_such_as_tmp_loads),
        T(test_a_plugin_of_another_user_in_a_sticky_directory_is_refused),
        T(test_a_plugin_refused_for_its_abi_never_runs_its_constructors),
        T(test_a_link_to_a_plugin_in_a_directory_others_can_write_to_is_refused),
        T(test_a_link_to_a_plugin_file_others_can_write_is_refused),
        T(test_a_link_in_a_directory_others_can_write_to_is_refused),
        T(test_a_link_to_a_plugin_no_one_else_can_replace_loads),
        T(test_with_isolation_a_crash_fails_only_its_record_and_the_host_answers),
        T(test_with_isolation_and_continue_the_records_after_a_crash_are_delivered),
        T(test_a_worker_that_cannot_be_started_again_is_tried_once_per_event),
        T(test_the_log_names_the_signal_that_killed_the_worker),
        T(test_isolation_set_on_the_handler_alone_is_enough),
        T(test_without_isolation_a_crash_takes_the_host_down_and_nothing_claims_success),
        T(test_with_isolation_a_plugin_calling_exit_fails_its_record_with_the_status),
        T(test_without_isolation_a_plugin_calling_exit_ends_the_host_without_a_response),
        T(test_with_isolation_a_record_that_never_returns_is_killed_after_its_budget),
        T(test_with_isolation_a_crash_in_on_fini_is_logged_and_the_response_stands),
        T(test_without_isolation_a_crash_in_on_fini_loses_the_response),
        T(test_with_isolation_a_crash_in_on_init_is_one_error_line_and_exit_status_1),
        T(test_without_isolation_a_crash_in_on_init_takes_the_host_down),
        T(test_with_isolation_plugin_state_lives_in_the_worker_until_on_fini),
        T(test_with_isolation_a_plugins_constructor_runs_in_the_worker_only),
        T(test_with_isolation_no_code_of_the_plugin_runs_in_the_host_process),
        T(test_with_isolation_on_init_runs_once_and_the_state_lasts_from_batch_to_batch),
        T(test_with_isolation_a_crash_starts_a_new_worker_that_runs_on_init_again),
        T(test_a_worker_killed_between_events_is_replaced_without_failing_a_record),
        T(test_with_isolation_batch_hooks_run_in_the_worker_and_commit_the_batch),
        T(test_a_crash_mid_batch_fails_every_record_the_worker_took_under_stop),
        T(test_a_crash_mid_batch_fails_every_record_the_worker_took_under_continue),
        T(test_with_isolation_a_crash_in_on_batch_end_fails_the_records_it_would_commit),
        T(test_a_crash_in_on_batch_end_fails_what_the_other_isolated_sinks_had_not_committed),
        T(test_without_isolation_a_crash_in_on_batch_end_takes_the_host_down),
        T(test_a_plugin_flooding_stdout_neither_stalls_nor_buries_the_response),
        T(test_with_isolation_a_flood_on_stdout_still_ends_with_the_response),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
