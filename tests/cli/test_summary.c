/* test_summary.c - what `ddbhost --invoke` tells about the event it processed: a few lines
 * for a person when stderr is a terminal (run here on a real pseudo-terminal), one line of
 * JSON with --json, nothing with --quiet; stdout keeps the plugins' lines and the response. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

#define ECHO_PLUGIN DDB_BINARY_DIR "/plugins/echo.so"
#define FAIL_WHEN DDB_BINARY_DIR "/tests/cli/fail_when.so"
#define ORDERS DDB_SOURCE_DIR "/examples/events/orders.json"
#define FIXTURE_ORDERS DDB_SOURCE_DIR "/tests/cli/fixtures/orders.json"

static void test_json_gives_one_parsable_summary_line_on_stderr(void **state)
{
    (void)state;
    const char *argv[] = {DDB_HOST_BIN, "--json", "--invoke", FAIL_WHEN, FIXTURE_ORDERS, NULL};
    run_output r;
    assert_true(run_program(argv, NULL, &r));
    assert_int_equal(r.status, 0);
    run_lines l;
    run_split_lines(r.err, r.err_len, &l);
    assert_int_equal(l.count, 1);
    json_object *o = json_tokener_parse(l.line[0]);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "records", &v));
    assert_int_equal(json_object_get_int(v), 5);
    assert_true(json_object_object_get_ex(o, "failed", &v));
    assert_int_equal(json_object_get_int(v), 1);
    assert_true(json_object_object_get_ex(o, "not_attempted", &v));
    assert_int_equal(json_object_get_int(v), 2);
    assert_true(json_object_object_get_ex(o, "failures", &v));
    assert_int_equal(json_object_array_length(v), 1);
    json_object *f = json_object_array_get_idx(v, 0), *seq, *plugin;
    assert_true(json_object_object_get_ex(f, "SequenceNumber", &seq));
    assert_true(json_object_object_get_ex(f, "plugin", &plugin));
    assert_string_equal(json_object_get_string(plugin), "fail-when");
    /* stdout's last line names the same record for Lambda. */
    char want[128];
    snprintf(want, sizeof want, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}\n",
             json_object_get_string(seq));
    assert_true(r.out_len >= strlen(want));
    assert_string_equal(r.out + r.out_len - strlen(want), want);
    json_object_put(o);
    run_lines_free(&l);
    run_output_free(&r);
}

static void test_quiet_prints_nothing_on_stderr_but_keeps_the_response(void **state)
{
    (void)state;
    const char *argv[] = {DDB_HOST_BIN, "--quiet", "--invoke", ECHO_PLUGIN, ORDERS, NULL};
    run_output r;
    assert_true(run_program(argv, NULL, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "{\"batchItemFailures\":[]}\n"));
    run_output_free(&r);
}

static void test_quiet_and_json_together_are_a_usage_error(void **state)
{
    (void)state;
    const char *argv[] = {DDB_HOST_BIN, "--quiet", "--json", "--invoke", ECHO_PLUGIN, ORDERS, NULL};
    run_output r;
    assert_true(run_program(argv, NULL, &r));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--quiet and --json do not go together"));
    run_output_free(&r);
}

/* Runs argv with stdout and stderr on a pseudo-terminal; returns everything it printed. */
static char *run_on_terminal(char *const argv[], int *status)
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        ssize_t k = read(master, buf + n, cap - 1 - n);
        if (k <= 0) break; /* EIO once the child has closed the terminal */
        n += (size_t)k;
    }
    buf[n] = '\0';
    close(master);
    assert_int_equal(waitpid(pid, status, 0), pid);
    return buf;
}

static void test_on_a_terminal_a_person_sees_tables_and_failures(void **state)
{
    (void)state;
    char *argv[] = {DDB_HOST_BIN, "--invoke", FAIL_WHEN, FIXTURE_ORDERS, NULL};
    int status;
    char *text = run_on_terminal(argv, &status);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_non_null(strstr(text, "ddbhost: " FIXTURE_ORDERS ": 5 records in "));
    assert_non_null(strstr(text, ": 3 delivered, 1 failed, 0 skipped"));
    assert_non_null(strstr(text, "  Orders: "));
    assert_non_null(strstr(text, "  failed: record 2 (Orders, SequenceNumber "));
    assert_non_null(strstr(text, "in plugin \"fail-when\": handler failed"));
    assert_non_null(strstr(text, "  not attempted: 2 records after the first failure"));
    /* the plain info line is replaced by the summary */
    assert_null(strstr(text, "5 records: 3 delivered"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_gives_one_parsable_summary_line_on_stderr),
        cmocka_unit_test(test_quiet_prints_nothing_on_stderr_but_keeps_the_response),
        cmocka_unit_test(test_quiet_and_json_together_are_a_usage_error),
        cmocka_unit_test(test_on_a_terminal_a_person_sees_tables_and_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
