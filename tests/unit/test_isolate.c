/* test_isolate.c - the worker process and its pipe, without plugins: what a request carries
 * and what comes back (a status, a line, bytes), and how the host learns that a worker
 * crashed, exited or hung. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isolate.h"

enum { OP_KEEP = 1, OP_CHECK, OP_REPLY, OP_SIGNAL, OP_EXIT, OP_HANG, OP_BYTES };

/* In the worker: OP_KEEP keeps a pointer to its bytes, OP_CHECK says whether they are still
 * what they were, OP_BYTES answers with `a` bytes (i % 251 for byte i), the others do as
 * they are named. */
static ddb_status worker(void *ctx, const isolate_request *q, isolate_reply *reply)
{
    static const char *kept;
    static char *bytes;
    (void)ctx;
    switch (q->op) {
    case OP_KEEP: kept = q->data; return q->len == 5 && !memcmp(q->data, "hello", 6) ? DDB_OK : DDB_ERR_INVALID;
    case OP_CHECK: return kept && !memcmp(kept, "hello", 5) ? DDB_OK : DDB_ERR_FAILED;
    case OP_REPLY:
        snprintf(reply->text, reply->cap, "op %u, a %u, b %u", q->op, q->a, q->b);
        return DDB_ERR_RANGE;
    case OP_BYTES:
        free(bytes);
        if (!(bytes = malloc(q->a ? q->a : 1))) return DDB_ERR_NOMEM;
        for (uint32_t i = 0; i < q->a; i++) bytes[i] = (char)(i % 251);
        reply->data = bytes;
        reply->len = q->a;
        snprintf(reply->text, reply->cap, "%u bytes", q->a);
        return DDB_OK;
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

/* A tumbling-window state of a megabyte and more comes back whole, after the text, and the
 * next answer without bytes has none. */
static void test_bytes_of_any_length_come_back_with_an_answer(void **state)
{
    char why[256];
    ddb_status st = DDB_ERR_FAILED;
    size_t len;
    (void)state;
    isolate *w = isolate_start(worker, NULL);
    assert_non_null(w);
    const uint32_t sizes[] = {1, 4096, 3u << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        isolate_request q = {OP_BYTES, sizes[k], 0, NULL, 0};
        assert_int_equal(isolate_call(w, &q, 5000, &st, why, sizeof why), ISOLATE_DONE);
        assert_int_equal(st, DDB_OK);
        const char *data = isolate_data(w, &len);
        assert_int_equal(len, sizes[k]);
        for (uint32_t i = 0; i < sizes[k]; i++)
            if (data[i] != (char)(i % 251)) fail_msg("byte %u of %u differs", i, sizes[k]);
    }
    assert_string_equal(why, "3145728 bytes");
    assert_int_equal(call(w, OP_REPLY, NULL, 5000, &st, why, sizeof why), ISOLATE_DONE);
    assert_null(isolate_data(w, &len));
    assert_int_equal(len, 0);
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
        cmocka_unit_test(test_bytes_of_any_length_come_back_with_an_answer),
        cmocka_unit_test(test_a_worker_killed_by_a_signal_is_named_by_it),
        cmocka_unit_test(test_a_worker_that_exits_is_named_by_its_status),
        cmocka_unit_test(test_a_worker_that_does_not_answer_in_time_is_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
