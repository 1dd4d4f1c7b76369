/* test_cli.c - the command-line contract, through the real ddbhost binary: what a user sees
 * on stdout and stderr, and the exit status, for usage errors, bad input, routing by
 * manifest, failure semantics, tumbling windows and `ddbhost check`. The fixture plugins
 * print which records they handled, so routing and order are asserted from stdout alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ddb/plugin.h>

#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)
/* This host's plugin ABI version as it prints it, e.g. "1.1". */
#define HOST_ABI CLI_STR(DDB_ABI_MAJOR) "." CLI_STR(DDB_ABI_MINOR)

#include "run.h"

#define FIXTURES DDB_SOURCE_DIR "/tests/cli/fixtures"
#define FAIL_WHEN DDB_BINARY_DIR "/tests/cli/fail_when.so"
#define INSERT_ONLY DDB_BINARY_DIR "/tests/cli/insert_only.so"
#define PARTIAL_LINE DDB_BINARY_DIR "/tests/cli/partial_line.so"
#define WINDOW_SUM DDB_BINARY_DIR "/tests/cli/window_sum.so"
#define ABI_FIXTURES DDB_BINARY_DIR "/tests/abi"

#define ORDERS FIXTURES "/orders.json" /* Orders 100..104; 102 and 104 carry fail: true */
#define TABLES FIXTURES "/tables.json" /* 200 Orders, 201 Users, 202 Audit, 203 Orders, 204 none */
#define NAMES FIXTURES "/names.json"   /* Orders: 300 INSERT, 301 MODIFY, 302 REMOVE */
#define PAIR FIXTURES "/pair.json"     /* Orders 400..404; 401 fail_a: true, 403 fail_b: true */
/* A tumbling window of Orders: 500 INSERT amount 10, 501 MODIFY 20, 502 REMOVE, state
 * {"other":...}; then its last invocation, no record, the state with "window-sum" 35 in it. */
#define WINDOW FIXTURES "/window.json"
#define WINDOW_FINAL FIXTURES "/window-final.json"
#define WINDOW_ARN "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2020-07-30T16:00:00.000"

#define NO_FAILURES "{\"batchItemFailures\":[]}\n"
#define TRY_HELP "Try 'ddbhost --help'.\n"

static char cli_tmp[1024]; /* a fresh directory for the manifests of this run */

/* ---- helpers ---------------------------------------------------------------------------- */

/* Runs ddbhost with the given arguments (after argv[0]); stdin from stdin_path or nothing. */
#define CLI_RUN(r, stdin_path, ...) \
    cli_run((r), (stdin_path), (const char *const[]){DDB_HOST_BIN, __VA_ARGS__, NULL})

static void cli_run(run_output *r, const char *stdin_path, const char *const argv[])
{
    assert_true(run_program(argv, stdin_path, r));
}

/* Exactly this exit status, stdout and stderr (a NULL text is not checked). */
static void cli_expect(run_output *r, int status, const char *out, const char *err)
{
    bool ok = r->status == status && (!out || !strcmp(r->out, out)) && (!err || !strcmp(r->err, err));
    if (!ok)
        print_error("expected exit status %d, got %d\n--- expected stdout ---\n%s--- got stdout "
                    "---\n%s--- expected stderr ---\n%s--- got stderr ---\n%s",
                    status, r->status, out ? out : "(not checked)\n", r->out,
                    err ? err : "(not checked)\n", r->err);
    run_output_free(r);
    if (!ok) fail();
}

/* A refusal: this exit status, nothing on stdout and one stderr line that starts with
 * prefix and contains each of the NULL-terminated strings that follow. */
static void cli_expect_one_line(run_output *r, int status, const char *prefix, ...)
{
    run_lines err;
    const char *want;
    va_list ap;
    bool ok;
    run_split_lines(r->err, r->err_len, &err);
    ok = r->status == status && r->out_len == 0 && err.count == 1 && err.ends_with_newline &&
         !strncmp(r->err, prefix, strlen(prefix));
    va_start(ap, prefix);
    while ((want = va_arg(ap, const char *)) != NULL) ok = ok && strstr(r->err, want);
    va_end(ap);
    run_lines_free(&err);
    if (!ok) {
        va_start(ap, prefix);
        print_error("expected exit status %d, empty stdout and one stderr line starting\n  %s\n",
                    status, prefix);
        while ((want = va_arg(ap, const char *)) != NULL) print_error("  containing: %s\n", want);
        va_end(ap);
        print_error("got exit status %d\n--- stdout ---\n%s--- stderr ---\n%s", r->status, r->out,
                    r->err);
    }
    run_output_free(r);
    if (!ok) fail();
}

/* Writes a manifest into the run's directory; path receives its absolute path. */
static void cli_manifest(char *path, size_t cap, const char *name, const char *text)
{
    snprintf(path, cap, "%s/%s", cli_tmp, name);
    assert_true(run_write_file(path, text));
}

static int cli_setup(void **state)
{
    (void)state;
    return run_make_tmpdir(cli_tmp, sizeof cli_tmp, "ddbhost-cli") ? 0 : -1;
}

static int cli_teardown(void **state)
{
    (void)state;
    return run_remove_tree(cli_tmp);
}

/* ---- usage ------------------------------------------------------------------------------ */

static void test_help_prints_usage_on_stdout_and_exits_0(void **state)
{
    run_output r;
    bool ok;
    (void)state;
    CLI_RUN(&r, NULL, "--help");
    ok = r.status == 0 && r.err_len == 0 && strstr(r.out, "--invoke") &&
         strstr(r.out, "--manifest") && strstr(r.out, "check");
    if (!ok)
        print_error("expected exit 0, usage on stdout naming --invoke, --manifest and check, "
                    "nothing on stderr\ngot exit %d\n--- stdout ---\n%s--- stderr ---\n%s",
                    r.status, r.out, r.err);
    run_output_free(&r);
    if (!ok) fail();
}

static void test_version_names_the_host_and_the_plugin_abi(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--version");
    cli_expect(&r, 0, "ddbhost 0.1.0 (plugin ABI " HOST_ABI ")\n", "");
}

/* A usage error: exit 2, nothing on stdout, the error (naming what is wrong) then the hint. */
static void cli_expect_usage_error(run_output *r, const char *mentions)
{
    run_lines err;
    bool ok;
    run_split_lines(r->err, r->err_len, &err);
    ok = r->status == 2 && r->out_len == 0 && err.count == 2 && err.ends_with_newline &&
         !strncmp(err.line[0], "ddbhost: error: ", 16) &&
         (!mentions || strstr(err.line[0], mentions)) &&
         !strcmp(err.line[1], "Try 'ddbhost --help'.");
    run_lines_free(&err);
    if (!ok)
        print_error("expected exit 2, empty stdout, stderr \"ddbhost: error: ...%s...\" then "
                    "\"%s\"\ngot exit %d\n--- stdout ---\n%s--- stderr ---\n%s",
                    mentions ? mentions : "", TRY_HELP, r->status, r->out, r->err);
    run_output_free(r);
    if (!ok) fail();
}

static void test_no_arguments_is_a_usage_error(void **state)
{
    const char *const argv[] = {DDB_HOST_BIN, NULL};
    run_output r;
    (void)state;
    cli_run(&r, NULL, argv);
    cli_expect_usage_error(&r, NULL);
}

/* Every command of --help, by the name that selects it. */
static const char *const cli_commands[] = {"--invoke", "check", "template", "policy",
                                           "new", "event", "serve"};

/* A usage error that lists every command, and --help that shows each. */
static void cli_expect_every_command(run_output *r)
{
    run_output help;
    const char *const argv[] = {DDB_HOST_BIN, "--help", NULL};
    cli_run(&help, NULL, argv);
    for (size_t i = 0; i < sizeof cli_commands / sizeof *cli_commands; i++) {
        char word[64];
        snprintf(word, sizeof word, "ddbhost %s", cli_commands[i]);
        if (!strstr(r->err, cli_commands[i]) || !strstr(help.out, word))
            fail_msg("\"%s\" missing from the usage error or --help:\n%s--- --help ---\n%s",
                     cli_commands[i], r->err, help.out);
    }
    run_output_free(&help);
}

static void test_no_command_is_a_usage_error_that_lists_every_command(void **state)
{
    const char *const argv[] = {DDB_HOST_BIN, "--log-level", "warn", NULL};
    run_output r;
    (void)state;
    cli_run(&r, NULL, argv);
    cli_expect_every_command(&r);
    cli_expect_usage_error(&r, "nothing to do");
}

static void test_an_unknown_command_is_a_usage_error_that_lists_every_command(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "frobnicate", "x.json");
    cli_expect_every_command(&r);
    cli_expect_usage_error(&r, "unknown command \"frobnicate\"");
}

/* A plugin's unfinished last line, from printf or from write(2) after the host's own last
 * flush, never shares a line with the batch response. */
static void test_the_response_is_a_line_of_its_own_after_a_plugin_leaves_a_line_unfinished(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", PARTIAL_LINE, NAMES);
    cli_expect(&r, 0, "partial 300 end\n" NO_FAILURES, NULL);
}

/* The same when stdout is a file that already holds text: it is read back, not piped. */
static void test_the_response_is_a_line_of_its_own_in_a_file_after_an_unfinished_line(void **state)
{
    char path[1100];
    size_t len;
    run_output r;
    (void)state;
    snprintf(path, sizeof path, "%s/partial-stdout.txt", cli_tmp);
    assert_true(run_write_file(path, "before\n"));
    const char *const argv[] = {"/bin/sh", "-c", "exec \"$0\" --invoke \"$1\" \"$2\" >> \"$3\"",
                                DDB_HOST_BIN, PARTIAL_LINE, NAMES, path, NULL};
    cli_run(&r, NULL, argv);
    cli_expect(&r, 0, "", NULL);
    char *text = run_read_file(path, &len);
    assert_non_null(text);
    assert_string_equal(text, "before\npartial 300 end\n" NO_FAILURES);
    free(text);
}

static void test_an_unknown_option_is_a_usage_error_that_names_it(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--frobnicate", "--invoke", FAIL_WHEN, ORDERS);
    cli_expect_usage_error(&r, "--frobnicate");
}

static void test_invoke_without_an_event_is_a_usage_error(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", FAIL_WHEN);
    cli_expect_usage_error(&r, NULL);
}

static void test_an_unknown_log_level_is_a_usage_error_that_names_it(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--log-level", "loud", "--invoke", FAIL_WHEN, ORDERS);
    cli_expect_usage_error(&r, "loud");
}

/* ---- bad input: exit 1, one line ------------------------------------------------------- */

static void test_a_missing_plugin_file_is_refused_with_one_line_naming_it(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", "/nonexistent/ddbhost-test/missing.so", ORDERS);
    cli_expect_one_line(&r, 1, "ddbhost: error: ", "\"/nonexistent/ddbhost-test/missing.so\"",
                        "No such file or directory", NULL);
}

static void test_a_missing_event_file_is_refused_with_one_line(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", FAIL_WHEN, FIXTURES "/no-such-event.json");
    cli_expect(&r, 1, "",
               "ddbhost: error: cannot read event \"" FIXTURES
               "/no-such-event.json\": No such file or directory\n");
}

/* not_json.json is the text "this is not an event": the error must say it is not JSON and
 * where, not guess a JSON type from its first letter. */
static void test_an_event_that_is_not_json_is_called_invalid_json_at_byte_0(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", FAIL_WHEN, FIXTURES "/not_json.json");
    cli_expect_one_line(&r, 1, "ddbhost: error: event \"" FIXTURES "/not_json.json\": ",
                        "invalid JSON", "byte 0", NULL);
}

static void test_a_plugin_built_for_another_abi_major_is_refused_with_both_versions(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", ABI_FIXTURES "/major_mismatch.so", ORDERS);
    cli_expect(&r, 1, "",
               "ddbhost: error: plugin \"" ABI_FIXTURES "/major_mismatch.so\" was built for plugin "
               "ABI 2.0, this host supports " HOST_ABI " (hint: rebuild the plugin against this host's "
               "plugin.h, or upgrade the host)\n");
}

static void test_a_plugin_without_record_callbacks_is_refused_with_one_line(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", ABI_FIXTURES "/no_callbacks.so", ORDERS);
    cli_expect_one_line(&r, 1, "ddbhost: error: plugin \"" ABI_FIXTURES "/no_callbacks.so\"",
                        NULL);
}

static void test_a_plugin_whose_init_fails_stops_the_host_with_its_reason(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", ABI_FIXTURES "/init_fails.so", ORDERS);
    cli_expect(&r, 1, "",
               "ddbhost: error: plugin \"" ABI_FIXTURES "/init_fails.so\" (init-fails 1.0.0) "
               "failed to initialise: cannot open database \"x\"\n");
}

/* ---- --invoke and stdin ---------------------------------------------------------------- */

static void test_invoke_delivers_every_record_and_prints_the_response_last(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", FAIL_WHEN, NAMES);
    cli_expect(&r, 0,
               "fail-when handled 300\nfail-when handled 301\nfail-when handled 302\n" NO_FAILURES,
               "ddbhost: 3 records: 3 delivered, 0 failed, 0 skipped\n");
}

static void test_an_event_read_from_stdin_is_processed_like_a_file(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NAMES, "--invoke", FAIL_WHEN, "-");
    cli_expect(&r, 0,
               "fail-when handled 300\nfail-when handled 301\nfail-when handled 302\n" NO_FAILURES,
               "ddbhost: 3 records: 3 delivered, 0 failed, 0 skipped\n");
}

static void test_log_level_warn_hides_the_info_line_and_error_hides_warnings(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--log-level", "warn", "--invoke", FAIL_WHEN, ORDERS);
    cli_expect(&r, 0, NULL,
               "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in plugin "
               "\"fail-when\": handler failed\n");
    CLI_RUN(&r, NULL, "--log-level", "error", "--invoke", FAIL_WHEN, ORDERS);
    cli_expect(&r, 0, NULL, "");
}

/* ---- routing by manifest --------------------------------------------------------------- */

static void test_records_reach_their_tables_handler_and_unrouted_ones_are_skipped(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "routes.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"orders\"}}, \"Users\": {\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"users\"}}}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", TABLES);
    cli_expect(&r, 0, "orders handled 200\nusers handled 201\norders handled 203\n" NO_FAILURES,
               "ddbhost: 5 records: 3 delivered, 0 failed, 2 skipped\n");
}

static void test_the_star_route_catches_other_tables_and_records_without_a_table(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "star.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"orders\"}}, \"*\": {\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"any\"}}}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", TABLES);
    cli_expect(&r, 0,
               "orders handled 200\nany handled 201\nany handled 202\norders handled 203\n"
               "any handled 204\n" NO_FAILURES,
               "ddbhost: 5 records: 5 delivered, 0 failed, 0 skipped\n");
}

static void test_the_events_filter_skips_other_event_names(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "events.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"f\"}, \"events\": [\"INSERT\", \"REMOVE\"]}}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", NAMES);
    cli_expect(&r, 0, "f handled 300\nf handled 302\n" NO_FAILURES,
               "ddbhost: 3 records: 2 delivered, 0 failed, 1 skipped\n");
}

static void test_two_handlers_of_one_table_are_called_in_manifest_order(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "two.json",
                 "{\"tables\": {\"Orders\": [{\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"first\"}}, {\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"second\"}}]}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", NAMES);
    cli_expect(&r, 0,
               "first handled 300\nsecond handled 300\nfirst handled 301\nsecond handled 301\n"
               "first handled 302\nsecond handled 302\n" NO_FAILURES,
               "ddbhost: 3 records: 3 delivered, 0 failed, 0 skipped\n");
}

static void test_plugin_paths_are_relative_to_the_manifest_directory(void **state)
{
    char dir[4200], link[4300], m[4096];
    run_output r;
    (void)state;
    snprintf(dir, sizeof dir, "%s/plugins", cli_tmp);
    snprintf(link, sizeof link, "%s/fail_when.so", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(symlink(FAIL_WHEN, link), 0);
    cli_manifest(m, sizeof m, "relative.json",
                 "{\"tables\": {\"*\": {\"plugin\": \"plugins/fail_when.so\"}}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", NAMES);
    cli_expect(&r, 0,
               "fail-when handled 300\nfail-when handled 301\nfail-when handled 302\n" NO_FAILURES,
               "ddbhost: 3 records: 3 delivered, 0 failed, 0 skipped\n");
}

/* ---- failure semantics ----------------------------------------------------------------- */

#define ORDERS_STOPPED_OUT                                                                   \
    "fail-when handled 100\nfail-when handled 101\nfail-when handled 102\n"                  \
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"}]}\n"
#define ORDERS_STOPPED_ERR                                                                   \
    "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in plugin "        \
    "\"fail-when\": handler failed\n"                                                        \
    "ddbhost: 5 records: 3 delivered, 1 failed, 0 skipped, 2 not attempted after a failure\n"

static void test_stop_is_the_default_and_ends_the_batch_at_the_first_failure(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", FAIL_WHEN, ORDERS);
    cli_expect(&r, 0, ORDERS_STOPPED_OUT, ORDERS_STOPPED_ERR);
}

static void test_stop_in_the_manifest_ends_the_batch_at_the_first_failure(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "stop.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" FAIL_WHEN "\"}}, \"on_failure\": "
                 "\"stop\"}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", ORDERS);
    cli_expect(&r, 0, ORDERS_STOPPED_OUT, ORDERS_STOPPED_ERR);
}

static void test_continue_delivers_every_record_and_reports_every_failure_in_order(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "continue.json",
                 "{\"on_failure\": \"continue\", \"tables\": {\"Orders\": {\"plugin\": \"" FAIL_WHEN
                 "\"}}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", ORDERS);
    cli_expect(&r, 0,
               "fail-when handled 100\nfail-when handled 101\nfail-when handled 102\n"
               "fail-when handled 103\nfail-when handled 104\n"
               "{\"batchItemFailures\":[{\"itemIdentifier\":\"102\"},{\"itemIdentifier\":\"104\"}]}\n",
               "ddbhost: warning: record 2 (table Orders, SequenceNumber 102) failed in plugin "
               "\"fail-when\": handler failed\n"
               "ddbhost: warning: record 4 (table Orders, SequenceNumber 104) failed in plugin "
               "\"fail-when\": handler failed\n"
               "ddbhost: 5 records: 5 delivered, 2 failed, 0 skipped\n");
}

static void test_a_record_fails_when_its_second_handler_fails(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "pair-continue.json",
                 "{\"on_failure\": \"continue\", \"tables\": {\"Orders\": [{\"plugin\": \"" FAIL_WHEN
                 "\", \"config\": {\"tag\": \"a\", \"attr\": \"never\"}}, {\"plugin\": \"" FAIL_WHEN
                 "\", \"config\": {\"tag\": \"b\", \"attr\": \"fail_b\"}}]}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", PAIR);
    cli_expect(&r, 0,
               "a handled 400\nb handled 400\na handled 401\nb handled 401\na handled 402\n"
               "b handled 402\na handled 403\nb handled 403\na handled 404\nb handled 404\n"
               "{\"batchItemFailures\":[{\"itemIdentifier\":\"403\"}]}\n",
               "ddbhost: warning: record 3 (table Orders, SequenceNumber 403) failed in plugin "
               "\"fail-when\": handler failed\n"
               "ddbhost: 5 records: 5 delivered, 1 failed, 0 skipped\n");
}

static void test_when_a_first_handler_fails_under_stop_the_second_is_not_called(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "pair-stop.json",
                 "{\"tables\": {\"Orders\": [{\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"a\", \"attr\": \"fail_a\"}}, {\"plugin\": \"" FAIL_WHEN "\", \"config\": "
                 "{\"tag\": \"b\", \"attr\": \"fail_b\"}}]}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", PAIR);
    cli_expect(&r, 0,
               "a handled 400\nb handled 400\na handled 401\n"
               "{\"batchItemFailures\":[{\"itemIdentifier\":\"401\"}]}\n",
               "ddbhost: warning: record 1 (table Orders, SequenceNumber 401) failed in plugin "
               "\"fail-when\": handler failed\n"
               "ddbhost: 5 records: 2 delivered, 1 failed, 0 skipped, 3 not attempted after a "
               "failure\n");
}

static void test_the_response_comes_after_what_plugins_print_in_on_fini(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "fini.json",
                 "{\"tables\": {\"*\": {\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": "
                 "\"t\", \"say_fini\": true}}}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", NAMES);
    cli_expect(&r, 0, "t handled 300\nt handled 301\nt handled 302\nt fini\n" NO_FAILURES, NULL);
}

/* ---- ddbhost check --------------------------------------------------------------------- */

static void test_check_lists_every_handler_with_its_events_and_the_totals(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "check.json",
                 "{\"tables\": {"
                 "\"Orders\": [{\"plugin\": \"" FAIL_WHEN "\", \"config\": {\"tag\": \"a\"}},"
                 " {\"plugin\": \"" INSERT_ONLY "\"}],"
                 " \"Users\": {\"plugin\": \"" FAIL_WHEN "\", \"events\": [\"INSERT\", \"REMOVE\"]},"
                 " \"*\": {\"plugin\": \"" FAIL_WHEN "\", \"events\": [\"MODIFY\"]}}}");
    CLI_RUN(&r, NULL, "check", m);
    /* stderr may carry info lines, but no complaint: show it whole if it has one */
    if (strstr(r.err, "error") || strstr(r.err, "warning")) cli_expect(&r, 0, NULL, "");
    cli_expect(&r, 0,
               "Orders: fail-when 1.0.0 (" FAIL_WHEN ") on INSERT, MODIFY, REMOVE\n"
               "Orders: insert-only 0.3.0 (" INSERT_ONLY ") on INSERT\n"
               "Users: fail-when 1.0.0 (" FAIL_WHEN ") on INSERT, REMOVE\n"
               "*: fail-when 1.0.0 (" FAIL_WHEN ") on MODIFY\n"
               "ok: 3 routes, 4 handlers\n",
               NULL);
}

static void test_check_warns_once_per_route_whose_failed_records_would_leave_no_trace(void **state)
{
    char m[4096], want[4096 + 512];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "dropping.json",
                 "{\"tables\": {"
                 "\"Orders\": {\"handlers\": {\"plugin\": \"" FAIL_WHEN "\"}, \"stream\": "
                 "{\"max_retries\": 10}},"
                 " \"Users\": {\"handlers\": {\"plugin\": \"" FAIL_WHEN "\"}, \"stream\": "
                 "{\"max_retries\": 10, \"on_failure\": \"arn:aws:sqs:eu-west-1:123456789012:q\"}}}}");
    CLI_RUN(&r, NULL, "check", m);
    snprintf(want, sizeof want,
             "ddbhost: warning: manifest \"%s\": tables.Orders.stream: max_retries is 10 and no "
             "\"on_failure\" is set: Lambda drops a batch that still fails with no trace (hint: "
             "set \"on_failure\" to the ARN of an SQS queue, SNS topic or S3 bucket)\n", m);
    /* a warning, not a refusal: the manifest is valid and check says so */
    cli_expect(&r, 0,
               "Orders: fail-when 1.0.0 (" FAIL_WHEN ") on INSERT, MODIFY, REMOVE\n"
               "Users: fail-when 1.0.0 (" FAIL_WHEN ") on INSERT, MODIFY, REMOVE\n"
               "ok: 2 routes, 2 handlers\n",
               want);
}

static void test_check_warns_of_a_window_whose_state_no_handler_keeps(void **state)
{
    char m[4096], want[4096 + 512];
    run_output r;
    (void)state;
    /* older_minor.so is built for ABI 1.1: it cannot see or set a window's state */
    cli_manifest(m, sizeof m, "window.json",
                 "{\"tables\": {"
                 "\"Orders\": {\"handlers\": {\"plugin\": \"" DDB_BINARY_DIR
                 "/tests/abi/older_minor.so\"}, \"stream\": {\"tumbling_window_s\": 60}},"
                 " \"Users\": {\"handlers\": {\"plugin\": \"" WINDOW_SUM "\"}, \"stream\": "
                 "{\"tumbling_window_s\": 60}}}}");
    CLI_RUN(&r, NULL, "check", m);
    snprintf(want, sizeof want,
             "ddbhost: warning: manifest \"%s\": tables.Orders.stream: tumbling_window_s is 60 and "
             "no handler of the route is a plugin built for ABI 1.2 or later, so the window's "
             "state passes through untouched (hint: rebuild the plugin against this host's "
             "plugin.h and set its state with host->set_window_state)\n", m);
    assert_non_null(strstr(r.out, "ok: 2 routes, 2 handlers"));
    cli_expect(&r, 0, NULL, want);
}

static void test_check_refuses_a_manifest_with_an_unknown_key_naming_it(void **state)
{
    char m[4096], prefix[4200];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "colour.json",
                 "{\"tables\": {\"*\": {\"plugin\": \"" FAIL_WHEN "\"}}, \"colour\": \"blue\"}");
    snprintf(prefix, sizeof prefix, "ddbhost: error: manifest \"%s\"", m);
    CLI_RUN(&r, NULL, "check", m);
    cli_expect_one_line(&r, 1, prefix, "colour", NULL);
}

static void test_check_refuses_an_unknown_event_name_naming_it(void **state)
{
    char m[4096], prefix[4200];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "upsert.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" FAIL_WHEN "\", \"events\": "
                 "[\"INSERT\", \"UPSERT\"]}}}");
    snprintf(prefix, sizeof prefix, "ddbhost: error: manifest \"%s\"", m);
    CLI_RUN(&r, NULL, "check", m);
    cli_expect_one_line(&r, 1, prefix, "UPSERT", NULL);
}

static void test_check_refuses_a_manifest_that_is_not_json(void **state)
{
    char m[4096], prefix[4200];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "broken.json", "{\"tables\": {\"*\": ");
    snprintf(prefix, sizeof prefix, "ddbhost: error: manifest \"%s\"", m);
    CLI_RUN(&r, NULL, "check", m);
    cli_expect_one_line(&r, 1, prefix, NULL);
}

static void test_check_refuses_a_manifest_whose_plugin_is_missing_naming_it(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "missing-plugin.json",
                 "{\"tables\": {\"*\": {\"plugin\": \"/nonexistent/ddbhost-test/gone.so\"}}}");
    CLI_RUN(&r, NULL, "check", m);
    cli_expect_one_line(&r, 1, "ddbhost: error: ", "/nonexistent/ddbhost-test/gone.so", NULL);
}

static void test_a_missing_manifest_is_refused_with_one_line_naming_it(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "check", FIXTURES "/no-such-manifest.json");
    cli_expect_one_line(&r, 1, "ddbhost: error: ", FIXTURES "/no-such-manifest.json", NULL);
}

static void test_a_bad_manifest_stops_invoke_before_any_record(void **state)
{
    char m[4096], prefix[4200];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "colour2.json",
                 "{\"tables\": {\"*\": {\"plugin\": \"" FAIL_WHEN "\"}}, \"colour\": \"blue\"}");
    snprintf(prefix, sizeof prefix, "ddbhost: error: manifest \"%s\"", m);
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", NAMES);
    cli_expect_one_line(&r, 1, prefix, "colour", NULL);
}

static void test_check_refuses_a_manifest_whose_plugin_the_loader_refuses(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "major.json",
                 "{\"tables\": {\"*\": {\"plugin\": \"" ABI_FIXTURES "/major_mismatch.so\"}}}");
    CLI_RUN(&r, NULL, "check", m);
    cli_expect_one_line(&r, 1, "ddbhost: error: plugin \"" ABI_FIXTURES "/major_mismatch.so\"",
                        "ABI 2.0", NULL);
}

/* ---- tumbling windows ------------------------------------------------------------------- */

#define WINDOW_BEGIN(tag, records, state, final)                                              \
    tag " begin " records " records: state " state ", window 2020-07-30T17:00:00Z.."          \
    "2020-07-30T17:05:00Z (1596128400000..1596128700000 ms), shard "                           \
    "shardId-00000001596128000000-0a1b2c3d, final " final ", early no\n"
#define WINDOW_OTHER "\"other\":{\"kept\":[1,2]}"
#define WINDOW_30 "{\"sum\":\"30\",\"records\":\"2\"}"
#define WINDOW_35 "{\"sum\":\"35\",\"records\":\"3\"}"
#define WINDOW_FIRST_OUT                                                                       \
    WINDOW_BEGIN("window-sum", "3", "{}", "no")                                                \
    "window-sum end: " WINDOW_30 " (ok)\n"                                                     \
    "{\"state\":{" WINDOW_OTHER ",\"window-sum\":" WINDOW_30 "},\"batchItemFailures\":[]}\n"
#define WINDOW_FINAL_OUT                                                                       \
    WINDOW_BEGIN("window-sum", "0", WINDOW_35, "yes")                                          \
    "window-sum end: " WINDOW_35 " (ok)\n"                                                     \
    "{\"state\":{" WINDOW_OTHER ",\"window-sum\":" WINDOW_35 "},\"batchItemFailures\":[]}\n"

/* The window's next invocation: one INSERT of amount 5, with the state the last one returned
 * (the "state" member of its response line). */
static void cli_next_window_event(char *path, size_t cap, const char *response)
{
    const char *state = strstr(response, "{\"state\":"), *end = strstr(response, ",\"batchItemFailures\"");
    char text[4096];
    assert_non_null(state);
    assert_non_null(end);
    state += strlen("{\"state\":");
    snprintf(text, sizeof text,
             "{\"Records\":[{\"eventID\":\"e503\",\"eventName\":\"INSERT\",\"eventVersion\":\"1.1\","
             "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"us-east-1\",\"dynamodb\":{\"Keys\":"
             "{\"id\":{\"S\":\"o4\"}},\"NewImage\":{\"id\":{\"S\":\"o4\"},\"amount\":{\"N\":\"5\"}},"
             "\"SequenceNumber\":\"503\",\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},"
             "\"eventSourceARN\":\"" WINDOW_ARN "\"}],"
             "\"window\":{\"start\":\"2020-07-30T17:00:00Z\",\"end\":\"2020-07-30T17:05:00Z\"},"
             "\"state\":%.*s,\"shardId\":\"shardId-00000001596128000000-0a1b2c3d\","
             "\"eventSourceARN\":\"" WINDOW_ARN "\",\"isFinalInvokeForWindow\":false,"
             "\"isWindowTerminatedEarly\":false}",
             (int)(end - state), state);
    cli_manifest(path, cap, "window-next.json", text);
}

/* Two invocations of one window through the plugin, the second fed the state the first
 * returned; then the window's last invocation, which carries no record. */
static void cli_expect_a_window_summed(const char *manifest)
{
    char next[4096];
    run_output r;
    if (manifest) CLI_RUN(&r, NULL, "--manifest", manifest, "--invoke", WINDOW);
    else CLI_RUN(&r, NULL, "--invoke", WINDOW_SUM, WINDOW);
    cli_next_window_event(next, sizeof next, r.out);
    cli_expect(&r, 0, WINDOW_FIRST_OUT, "ddbhost: 3 records: 2 delivered, 0 failed, 1 skipped\n");
    if (manifest) CLI_RUN(&r, NULL, "--manifest", manifest, "--invoke", next);
    else CLI_RUN(&r, NULL, "--invoke", WINDOW_SUM, next);
    cli_expect(&r, 0,
               WINDOW_BEGIN("window-sum", "1", WINDOW_30, "no")
               "window-sum end: " WINDOW_35 " (ok)\n"
               "{\"state\":{" WINDOW_OTHER ",\"window-sum\":" WINDOW_35 "},\"batchItemFailures\":[]}\n",
               "ddbhost: 1 record: 1 delivered, 0 failed, 0 skipped\n");
    if (manifest) CLI_RUN(&r, NULL, "--manifest", manifest, "--invoke", WINDOW_FINAL);
    else CLI_RUN(&r, NULL, "--invoke", WINDOW_SUM, WINDOW_FINAL);
    cli_expect(&r, 0, WINDOW_FINAL_OUT, "ddbhost: 0 records: 0 delivered, 0 failed, 0 skipped\n");
}

static void test_a_window_plugin_sums_into_its_state_across_invocations(void **state)
{
    (void)state;
    cli_expect_a_window_summed(NULL);
}

static void test_an_isolated_window_plugin_gets_and_returns_its_state_the_same(void **state)
{
    char m[4096];
    (void)state;
    cli_manifest(m, sizeof m, "window-isolated.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" WINDOW_SUM "\", \"isolation\": "
                 "\"process\"}}}");
    cli_expect_a_window_summed(m);
}

/* Each handler has its own member of the state: a second appearance of a plugin on the route
 * is "NAME#2". */
static void test_two_handlers_of_a_window_plugin_keep_a_state_each(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "window-two.json",
                 "{\"tables\": {\"Orders\": [{\"plugin\": \"" WINDOW_SUM "\", \"config\": {\"tag\": "
                 "\"a\"}}, {\"plugin\": \"" WINDOW_SUM "\", \"config\": {\"tag\": \"b\"}}]}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", WINDOW_FINAL);
    cli_expect(&r, 0,
               WINDOW_BEGIN("a", "0", WINDOW_35, "yes") WINDOW_BEGIN("b", "0", "{}", "yes")
               "a end: " WINDOW_35 " (ok)\nb end: {\"sum\":\"0\",\"records\":\"0\"} (ok)\n"
               "{\"state\":{" WINDOW_OTHER ",\"window-sum\":" WINDOW_35 ",\"window-sum#2\":"
               "{\"sum\":\"0\",\"records\":\"0\"}},\"batchItemFailures\":[]}\n",
               NULL);
}

/* A plugin built before tumbling windows is called as it was, and the state goes back as it
 * came. */
static void test_an_abi_1_1_plugin_runs_and_the_window_state_passes_through(void **state)
{
    run_output r;
    (void)state;
    CLI_RUN(&r, NULL, "--invoke", ABI_FIXTURES "/older_minor.so", WINDOW);
    cli_expect(&r, 0,
               "older-minor begin 3 records\nolder-minor handled 500\nolder-minor end ok\n"
               "{\"state\":{" WINDOW_OTHER "},\"batchItemFailures\":[]}\n",
               "ddbhost: 3 records: 1 delivered, 0 failed, 2 skipped\n");
    CLI_RUN(&r, NULL, "--invoke", ABI_FIXTURES "/older_minor.so", WINDOW_FINAL);
    cli_expect(&r, 0,
               "{\"state\":{" WINDOW_OTHER ",\"window-sum\":" WINDOW_35 "},\"batchItemFailures\":[]}\n",
               NULL);
}

/* Lambda would keep such a state and send it back in an event the host refuses: the
 * invocation fails instead, and Lambda calls again with the state it had. */
static void test_a_state_that_is_not_a_json_object_fails_the_invocation_naming_the_plugin(void **state)
{
    char m[4096], err[8192];
    run_output r;
    (void)state;
    for (int isolated = 0; isolated < 2; isolated++) {
        cli_manifest(m, sizeof m, "window-bad.json",
                     isolated ? "{\"tables\": {\"Orders\": {\"plugin\": \"" WINDOW_SUM "\", "
                                "\"isolation\": \"process\", \"config\": {\"bad_state\": \"{\\\"sum\\\":\"}}}}"
                              : "{\"tables\": {\"Orders\": {\"plugin\": \"" WINDOW_SUM "\", "
                                "\"config\": {\"bad_state\": \"{\\\"sum\\\":\"}}}}");
        snprintf(err, sizeof err, "ddbhost: error: event \"%s\": plugin \"window-sum\" set a "
                 "tumbling-window state that is not a JSON object: invalid JSON at byte 7: "
                 "unexpected end of input\n", WINDOW);
        CLI_RUN(&r, NULL, "--manifest", m, "--invoke", WINDOW);
        cli_expect(&r, 1, WINDOW_BEGIN("window-sum", "3", "{}", "no") "window-sum end: {} (invalid argument)\n",
                   err);
    }
}

/* The window's last invocation brings no record that Lambda could retry: when the batch of a
 * plugin fails there, the invocation fails. */
static void test_a_failed_batch_end_without_records_fails_the_invocation(void **state)
{
    char m[4096], err[8192];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "window-fail-end.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" WINDOW_SUM "\", \"config\": "
                 "{\"fail_end\": true}}}}");
    snprintf(err, sizeof err, "ddbhost: error: event \"%s\": plugin \"window-sum\" failed to end a "
             "tumbling-window invocation in which it received no record: handler failed (hint: "
             "the invocation fails, so that Lambda calls it again with the same state)\n",
             WINDOW_FINAL);
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", WINDOW_FINAL);
    cli_expect(&r, 1, WINDOW_BEGIN("window-sum", "0", WINDOW_35, "yes") "window-sum end: " WINDOW_35 " (ok)\n",
               err);
}

/* With records, they are retried as any sink's, and the state the plugin set is dropped: the
 * retried records come back with the state it had. */
static void test_a_failed_batch_end_with_records_fails_them_and_keeps_the_old_state(void **state)
{
    char m[4096];
    run_output r;
    (void)state;
    cli_manifest(m, sizeof m, "window-fail-end2.json",
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" WINDOW_SUM "\", \"config\": "
                 "{\"fail_end\": true}}}}");
    CLI_RUN(&r, NULL, "--manifest", m, "--invoke", WINDOW);
    cli_expect(&r, 0,
               WINDOW_BEGIN("window-sum", "3", "{}", "no") "window-sum end: " WINDOW_30 " (ok)\n"
               "{\"state\":{" WINDOW_OTHER "},\"batchItemFailures\":[{\"itemIdentifier\":\"500\"}]}\n",
               "ddbhost: warning: plugin \"window-sum\" failed to end the batch: handler failed; "
               "its records are retried\n"
               "ddbhost: 3 records: 2 delivered, 2 failed, 1 skipped\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_prints_usage_on_stdout_and_exits_0),
        cmocka_unit_test(test_version_names_the_host_and_the_plugin_abi),
        cmocka_unit_test(test_no_arguments_is_a_usage_error),
        cmocka_unit_test(test_no_command_is_a_usage_error_that_lists_every_command),
        cmocka_unit_test(test_an_unknown_command_is_a_usage_error_that_lists_every_command),
        cmocka_unit_test(test_the_response_is_a_line_of_its_own_after_a_plugin_leaves_a_line_unfinished),
        cmocka_unit_test(test_the_response_is_a_line_of_its_own_in_a_file_after_an_unfinished_line),
        cmocka_unit_test(test_an_unknown_option_is_a_usage_error_that_names_it),
        cmocka_unit_test(test_invoke_without_an_event_is_a_usage_error),
        cmocka_unit_test(test_an_unknown_log_level_is_a_usage_error_that_names_it),
        cmocka_unit_test(test_a_missing_plugin_file_is_refused_with_one_line_naming_it),
        cmocka_unit_test(test_a_missing_event_file_is_refused_with_one_line),
        cmocka_unit_test(test_an_event_that_is_not_json_is_called_invalid_json_at_byte_0),
        cmocka_unit_test(test_a_plugin_built_for_another_abi_major_is_refused_with_both_versions),
        cmocka_unit_test(test_a_plugin_without_record_callbacks_is_refused_with_one_line),
        cmocka_unit_test(test_a_plugin_whose_init_fails_stops_the_host_with_its_reason),
        cmocka_unit_test(test_invoke_delivers_every_record_and_prints_the_response_last),
        cmocka_unit_test(test_an_event_read_from_stdin_is_processed_like_a_file),
        cmocka_unit_test(test_log_level_warn_hides_the_info_line_and_error_hides_warnings),
        cmocka_unit_test(test_records_reach_their_tables_handler_and_unrouted_ones_are_skipped),
        cmocka_unit_test(test_the_star_route_catches_other_tables_and_records_without_a_table),
        cmocka_unit_test(test_the_events_filter_skips_other_event_names),
        cmocka_unit_test(test_two_handlers_of_one_table_are_called_in_manifest_order),
        cmocka_unit_test(test_plugin_paths_are_relative_to_the_manifest_directory),
        cmocka_unit_test(test_stop_is_the_default_and_ends_the_batch_at_the_first_failure),
        cmocka_unit_test(test_stop_in_the_manifest_ends_the_batch_at_the_first_failure),
        cmocka_unit_test(test_continue_delivers_every_record_and_reports_every_failure_in_order),
        cmocka_unit_test(test_a_record_fails_when_its_second_handler_fails),
        cmocka_unit_test(test_when_a_first_handler_fails_under_stop_the_second_is_not_called),
        cmocka_unit_test(test_the_response_comes_after_what_plugins_print_in_on_fini),
        cmocka_unit_test(test_check_lists_every_handler_with_its_events_and_the_totals),
        cmocka_unit_test(test_check_warns_once_per_route_whose_failed_records_would_leave_no_trace),
        cmocka_unit_test(test_check_warns_of_a_window_whose_state_no_handler_keeps),
        cmocka_unit_test(test_check_refuses_a_manifest_with_an_unknown_key_naming_it),
        cmocka_unit_test(test_check_refuses_an_unknown_event_name_naming_it),
        cmocka_unit_test(test_check_refuses_a_manifest_that_is_not_json),
        cmocka_unit_test(test_check_refuses_a_manifest_whose_plugin_is_missing_naming_it),
        cmocka_unit_test(test_a_missing_manifest_is_refused_with_one_line_naming_it),
        cmocka_unit_test(test_a_bad_manifest_stops_invoke_before_any_record),
        cmocka_unit_test(test_check_refuses_a_manifest_whose_plugin_the_loader_refuses),
        cmocka_unit_test(test_a_window_plugin_sums_into_its_state_across_invocations),
        cmocka_unit_test(test_an_isolated_window_plugin_gets_and_returns_its_state_the_same),
        cmocka_unit_test(test_two_handlers_of_a_window_plugin_keep_a_state_each),
        cmocka_unit_test(test_an_abi_1_1_plugin_runs_and_the_window_state_passes_through),
        cmocka_unit_test(test_a_state_that_is_not_a_json_object_fails_the_invocation_naming_the_plugin),
        cmocka_unit_test(test_a_failed_batch_end_without_records_fails_the_invocation),
        cmocka_unit_test(test_a_failed_batch_end_with_records_fails_them_and_keeps_the_old_state),
    };
    return cmocka_run_group_tests_name("cli", tests, cli_setup, cli_teardown);
}
