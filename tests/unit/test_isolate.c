/* test_isolate.c - the worker process and its pipe, without plugins: what a request carries
 * and what comes back, and how the host learns that a worker crashed, exited or hung. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "isolate.h"

enum { OP_KEEP = 1, OP_CHECK, OP_REPLY, OP_SIGNAL, OP_EXIT, OP_HANG };

/* In the worker: OP_KEEP keeps a pointer to its bytes, OP_CHECK says whether they are still
 * what they were, the others do as they are named. */
static ddb_status worker(void *ctx, const isolate_request *q, char *reply, size_t cap)
{
    static const char *kept;
    (void)ctx;
    switch (q->op) {
    case OP_KEEP: kept = q->data; return q->len == 5 && !memcmp(q->data, "hello", 6) ? DDB_OK : DDB_ERR_INVALID;
    case OP_CHECK: return kept && !memcmp(kept, "hello", 5) ? DDB_OK : DDB_ERR_FAILED;
    case OP_REPLY: snprintf(reply, cap, "op %u, a %u, b %u", q->op, q->a, q->b); return DDB_ERR_RANGE;
    case OP_SIGNAL: signal(SIGTERM, SIG_DFL); raise(SIGTERM); break;
    case OP_EXIT: _exit(3);
    case OP_HANG: for (;;) pause();
    }
    return DDB_ERR_INVALID;
}

static isolate_outcome call(isolate *w, uint32_t op, const char *data, int64_t timeout_ms,
                            ddb_status *st, char *why, size_t cap)
{
    isolate_request q = {op, 7, 9, (char *)data, data ? strlen(data) : 0};
    return isolate_call(w, &q, timeout_ms, st, why, cap);
}

/* The worker decodes an event in place in the bytes it was sent and reads its records in the
 * requests that follow, which carry no bytes. */
static void test_a_request_without_bytes_leaves_the_last_ones_alone(void **state)
{
    char why[256];
    ddb_status st = DDB_ERR_FAILED;
    (void)state;
    isolate *w = isolate_start(worker, NULL);
    assert_non_null(w);
    assert_int_equal(call(w, OP_KEEP, "hello", 5000, &st, why, sizeof why), ISOLATE_DONE);
    assert_int_equal(st, DDB_OK);
    assert_int_equal(call(w, OP_CHECK, NULL, 5000, &st, why, sizeof why), ISOLATE_DONE);
    assert_int_equal(st, DDB_OK);
    isolate_stop(w);
}

static void test_the_status_and_the_reply_text_come_back(void **state)
{
    char why[256];
    ddb_status st = DDB_OK;
    (void)state;
    isolate *w = isolate_start(worker, NULL);
    assert_non_null(w);
    assert_int_equal(call(w, OP_REPLY, NULL, 5000, &st, why, sizeof why), ISOLATE_DONE);
    assert_int_equal(st, DDB_ERR_RANGE);
    assert_string_equal(why, "op 3, a 7, b 9");
    isolate_stop(w);
}

static void test_a_worker_killed_by_a_signal_is_named_by_it(void **state)
{
    char why[256];
    ddb_status st = DDB_OK;
    (void)state;
    isolate *w = isolate_start(worker, NULL);
    assert_non_null(w);
    assert_int_equal(call(w, OP_SIGNAL, NULL, 5000, &st, why, sizeof why), ISOLATE_CRASHED);
    assert_string_equal(why, "killed by signal 15 (Terminated)");
    isolate_stop(w);
}

static void test_a_worker_that_exits_is_named_by_its_status(void **state)
{
    char why[256];
    ddb_status st = DDB_OK;
    (void)state;
    isolate *w = isolate_start(worker, NULL);
    assert_non_null(w);
    assert_int_equal(call(w, OP_EXIT, NULL, 5000, &st, why, sizeof why), ISOLATE_CRASHED);
    assert_string_equal(why, "exited with status 3");
    isolate_stop(w);
}

static void test_a_worker_that_does_not_answer_in_time_is_killed(void **state)
{
    char why[256];
    ddb_status st = DDB_OK;
    (void)state;
    isolate *w = isolate_start(worker, NULL);
    assert_non_null(w);
    assert_int_equal(call(w, OP_HANG, NULL, 100, &st, why, sizeof why), ISOLATE_TIMEOUT);
    assert_string_equal(why, "gave no answer within 100 ms and was killed");
    isolate_stop(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_request_without_bytes_leaves_the_last_ones_alone),
        cmocka_unit_test(test_the_status_and_the_reply_text_come_back),
        cmocka_unit_test(test_a_worker_killed_by_a_signal_is_named_by_it),
        cmocka_unit_test(test_a_worker_that_exits_is_named_by_its_status),
        cmocka_unit_test(test_a_worker_that_does_not_answer_in_time_is_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
