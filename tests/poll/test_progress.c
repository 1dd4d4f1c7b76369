/* test_progress.c - what `ddbhost poll` shows of its work (host/poll/progress.c), fed a fake
 * sequence of batches on a fake clock: the JSON lines a machine reads (--json), the view a
 * person reads on a terminal, the EMF line of each batch, and the view erased before a log
 * line so that neither garbles the other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "progress.h"

#define T0_MS 1796400000000LL /* the fake clock's start: a whole second */

static int64_t fake_now;

static int64_t fake_clock(void) { return fake_now; }

/* A captured stream: open_memstream's buffer. */
typedef struct capture {
    FILE *f;
    char *text;
    size_t len;
} capture;

static void capture_open(capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
}

static const char *capture_text(capture *c)
{
    fflush(c->f);
    return c->text;
}

static void capture_close(capture *c)
{
    fclose(c->f);
    free(c->text);
}

/* Records with SequenceNumbers first, first + 1, ... all created at created_s. */
static stream_record *records(size_t n, int first, int64_t created_s)
{
    stream_record *r = calloc(n, sizeof *r);
    assert_non_null(r);
    for (size_t i = 0; i < n; i++) {
        char seq[32];
        snprintf(seq, sizeof seq, "%d", first + (int)i);
        r[i].seq = strdup(seq);
        r[i].created_s = created_s;
    }
    return r;
}

static void records_free(stream_record *r, size_t n)
{
    for (size_t i = 0; i < n; i++) free(r[i].seq);
    free(r);
}

/* A manifest of one route, Orders, as progress_batch reads it. */
static manifest one_route(manifest_route *route, bool metrics)
{
    manifest m;
    memset(&m, 0, sizeof m);
    memset(route, 0, sizeof *route);
    route->table = "Orders";
    m.routes = route;
    m.count = 1;
    m.metrics = metrics;
    return m;
}

/* What the router says of a batch of n records of which failed failed. */
static router_result result(size_t n, size_t failed, const size_t *route_records)
{
    router_result r;
    memset(&r, 0, sizeof r);
    r.records = n;
    r.delivered = n - failed;
    r.failed = failed;
    r.route_records = route_records;
    return r;
}

/* records[0..n) of a shard's lane, outside a tumbling window. */
static progress_span span(const char *table, const char *shard, unsigned lane,
                          const stream_record *records, size_t n)
{
    return (progress_span){table, shard, lane, &records[0], &records[n - 1], n, NULL, NULL};
}

static void test_json_lines_say_each_batch_discard_finished_shard_reload_and_the_totals(void **state)
{
    (void)state;
    static const char want[] =
        "{\"event\":\"start\",\"manifest\":\"m.json\",\"tables\":[\"Orders\"]}\n"
        "{\"event\":\"batch\",\"table\":\"Orders\",\"shard\":\"shard-1\",\"lane\":0,\"records\":3,\"done\":3,"
        "\"failed\":0,\"discarded\":0,\"iterator_age_ms\":2500,\"duration_ms\":1.250,"
        "\"first_sequence_number\":\"100\",\"last_sequence_number\":\"102\"}\n"
        "{\"event\":\"batch\",\"table\":\"Orders\",\"shard\":\"shard-1\",\"lane\":2,\"records\":2,\"done\":1,"
        "\"failed\":1,\"discarded\":1,\"iterator_age_ms\":3000,\"duration_ms\":0.500,"
        "\"first_sequence_number\":\"103\",\"last_sequence_number\":\"104\"}\n"
        "{\"event\":\"discard\",\"table\":\"Orders\",\"shard\":\"shard-1\",\"lane\":2,\"records\":1,"
        "\"condition\":\"RetryAttemptsExhausted\",\"first_sequence_number\":\"104\","
        "\"last_sequence_number\":\"104\"}\n"
        "{\"event\":\"discard\",\"table\":\"Orders\",\"shard\":\"shard-2\",\"lane\":0,\"records\":2,"
        "\"condition\":\"RecordAgeExceeded\",\"first_sequence_number\":\"200\","
        "\"last_sequence_number\":\"201\"}\n"
        "{\"event\":\"batch\",\"table\":\"Orders\",\"shard\":\"shard-2\",\"lane\":0,\"records\":1,\"done\":0,"
        "\"failed\":1,\"discarded\":0,\"iterator_age_ms\":null,\"duration_ms\":7.000,"
        "\"first_sequence_number\":\"202\",\"last_sequence_number\":\"202\"}\n"
        "{\"event\":\"batch\",\"table\":\"Orders\",\"shard\":\"shard-2\",\"lane\":1,"
        "\"window\":{\"start\":\"2026-12-05T09:10:00Z\",\"end\":\"2026-12-05T09:10:02Z\"},"
        "\"records\":1,\"done\":1,\"failed\":0,\"discarded\":0,\"iterator_age_ms\":null,"
        "\"duration_ms\":1.000,\"first_sequence_number\":\"201\",\"last_sequence_number\":\"201\"}\n"
        "{\"event\":\"window_final\",\"table\":\"Orders\",\"shard\":\"shard-2\",\"lane\":1,"
        "\"window\":{\"start\":\"2026-12-05T09:10:00Z\",\"end\":\"2026-12-05T09:10:02Z\"},"
        "\"terminated_early\":true,\"state_bytes\":42}\n"
        "{\"event\":\"shard_finished\",\"table\":\"Orders\",\"shard\":\"shard-1\",\"gone\":false}\n"
        "{\"event\":\"reload\",\"cause\":\"SIGHUP\",\"ok\":false,\"error\":\"no such file \\\"x.so\\\"\"}\n"
        "{\"event\":\"reload\",\"cause\":\"a file changed\",\"ok\":true}\n"
        "{\"event\":\"stop\",\"status\":0,\"batches\":4,\"done\":5,\"failed\":2,\"discarded\":3}\n";
    capture out, err;
    manifest_route route;
    manifest m = one_route(&route, false);
    size_t counts[1] = {3};
    capture_open(&out);
    capture_open(&err);
    fake_now = T0_MS;
    progress *pg = progress_new(out.f, err.f, false, fake_clock);
    assert_non_null(pg);
    progress_shard(pg, "Orders", "shard-1", NULL, false);
    progress_shard(pg, "Orders", "shard-2", "shard-1", false);
    progress_start(pg, &m, "m.json");

    stream_record *a = records(3, 100, T0_MS / 1000 - 2);
    fake_now = T0_MS + 500;
    router_result ra = result(3, 0, counts);
    progress_span sa = span("Orders", "shard-1", 0, a, 3);
    progress_batch(pg, &m, &sa, 3, &ra, NULL, 1.25);

    /* a failed record retried until it is discarded: the discard is the batch's */
    stream_record *b = records(2, 103, T0_MS / 1000 - 2);
    fake_now = T0_MS + 1000;
    router_result rb = result(2, 1, counts);
    progress_span sb = span("Orders", "shard-1", 2, b, 2), sb1 = span("Orders", "shard-1", 2, b + 1, 1);
    progress_batch(pg, &m, &sb, 1, &rb, NULL, 0.5);
    progress_discard(pg, &sb1, "RetryAttemptsExhausted");

    /* records too old are discarded before any batch; a batch that failed whole (no result)
       of records without a creation time */
    stream_record *c = records(3, 200, 0);
    progress_span sc = span("Orders", "shard-2", 0, c, 2), sc2 = span("Orders", "shard-2", 0, c + 2, 1);
    progress_discard(pg, &sc, "RecordAgeExceeded");
    progress_batch(pg, &m, &sc2, 0, NULL, NULL, 7);
    /* a batch in a tumbling window, and the window's final invoke (no records) */
    router_result rw = result(1, 0, counts);
    progress_span sw = span("Orders", "shard-2", 1, c + 1, 1), sf = sw;
    sw.window_start = sf.window_start = "2026-12-05T09:10:00Z";
    sw.window_end = sf.window_end = "2026-12-05T09:10:02Z";
    sf.first = sf.last = NULL;
    sf.n = 0;
    progress_batch(pg, &m, &sw, 1, &rw, NULL, 1);
    progress_window_final(pg, &sf, true, 42);
    progress_finished(pg, "Orders", "shard-1", false);
    progress_reload(pg, "SIGHUP", "no such file \"x.so\"");
    progress_reload(pg, "a file changed", NULL);
    progress_stop(pg, 0);
    progress_free(pg);

    assert_string_equal(capture_text(&out), want);
    assert_string_equal(capture_text(&err), ""); /* no view, no metrics */
    records_free(a, 3);
    records_free(b, 2);
    records_free(c, 3);
    capture_close(&out);
    capture_close(&err);
}

static void test_the_view_shows_each_shard_with_its_counts_age_and_state(void **state)
{
    (void)state;
    static const char want[] =
        "poll up 1m05s: 2 tables, 4 shards, 2 batches: 7 done, 1 failed, 1 discarded\n"
        "TABLE          DONE  FAILED  DISCARDED     AGE  STATE               SHARD\n"
        "Orders            5       0          0    2.5s  reading             shardId-00000001-aaaa\n"
        "Orders            0       0          0       -  waiting for parent  shardId-00000002-bbbb\n"
        "Customers         2       1          1    4.0s  reading             shardId-00000003-cccc\n"
        "Orders            0       0          0       -  finished            shardId-00000000-0000\n";
    capture err;
    manifest_route route;
    manifest m = one_route(&route, false);
    size_t counts[1] = {5};
    char text[4096];
    capture_open(&err);
    fake_now = T0_MS;
    progress *pg = progress_new(NULL, err.f, false, fake_clock);
    progress_shard(pg, "Orders", "shardId-00000000-0000", NULL, true);
    progress_shard(pg, "Orders", "shardId-00000001-aaaa", "shardId-00000000-0000", false);
    progress_shard(pg, "Orders", "shardId-00000002-bbbb", "shardId-00000001-aaaa", false);
    progress_shard(pg, "Customers", "shardId-00000003-cccc", NULL, false);
    stream_record *a = records(5, 1, T0_MS / 1000);
    fake_now = T0_MS + 2500;
    router_result ra = result(5, 0, counts);
    progress_span s1 = span("Orders", "shardId-00000001-aaaa", 0, a, 5);
    progress_batch(pg, &m, &s1, 5, &ra, NULL, 1);
    fake_now = T0_MS + 4000;
    router_result rb = result(3, 1, counts);
    progress_span s3 = span("Customers", "shardId-00000003-cccc", 0, a, 3);
    progress_span s3d = span("Customers", "shardId-00000003-cccc", 0, a + 2, 1);
    progress_batch(pg, &m, &s3, 2, &rb, NULL, 1);
    progress_discard(pg, &s3d, "RetryAttemptsExhausted");
    fake_now = T0_MS + 65000;
    int lines = progress_render(pg, text, sizeof text, 120);
    assert_string_equal(text, want);
    assert_int_equal(lines, 6);

    /* once its parent is finished, a child is read */
    progress_finished(pg, "Orders", "shardId-00000001-aaaa", false);
    progress_render(pg, text, sizeof text, 120);
    assert_non_null(strstr(text, "reading             shardId-00000002-bbbb"));
    assert_null(strstr(text, "waiting for parent"));
    progress_free(pg);
    records_free(a, 5);
    capture_close(&err);
}

static void test_the_view_fits_a_narrow_terminal_and_keeps_the_end_of_shard_ids(void **state)
{
    (void)state;
    capture err;
    char text[4096];
    capture_open(&err);
    fake_now = T0_MS;
    progress *pg = progress_new(NULL, err.f, false, fake_clock);
    for (int i = 0; i < 20; i++) {
        char id[64];
        snprintf(id, sizeof id, "shardId-00000001541626099285-%08x", 0xf35f6200 + i);
        progress_shard(pg, "Orders", id, NULL, false);
    }
    int lines = progress_render(pg, text, sizeof text, 90);
    assert_int_equal(lines, 2 + 12 + 1); /* header, titles, 12 rows, the rest counted */
    /* the id's end, which tells shards apart, in what the columns leave of 90 */
    assert_non_null(strstr(text, "  ...541626099285-f35f6200\n"));
    assert_non_null(strstr(text, "\n... and 8 more shards\n"));
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        assert_non_null(end);
        assert_true(end - line <= 89);
    }
    progress_free(pg);
    capture_close(&err);
}

static void test_metrics_true_writes_one_emf_line_per_batch_with_its_counts(void **state)
{
    (void)state;
    capture err;
    manifest_route route;
    manifest m = one_route(&route, true);
    size_t counts[1] = {4};
    session_times times = {0.5, 2};
    stream_record *a = records(4, 1, T0_MS / 1000);
    capture_open(&err);
    fake_now = T0_MS;
    progress *pg = progress_new(NULL, err.f, false, fake_clock);
    router_result r = result(4, 1, counts);
    progress_span sa = span("Orders", "s", 0, a, 4);
    progress_batch(pg, &m, &sa, 1, &r, &times, 3);
    progress_batch(pg, &m, &sa, 0, NULL, &times, 3); /* failed whole: none */
    progress_free(pg);
    const char *text = capture_text(&err);
    const char *nl = strchr(text, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, "");
    json_object *emf = json_tokener_parse(text);
    assert_non_null(emf);
    assert_int_equal(json_object_get_int(json_object_object_get(emf, "Records")), 4);
    assert_int_equal(json_object_get_int(json_object_object_get(emf, "Failed")), 1);
    assert_int_equal(json_object_get_int(json_object_object_get(emf, "Records.Orders")), 4);
    assert_true(json_object_get_double(json_object_object_get(emf, "HandlerTime")) == 2);
    assert_string_equal(json_object_get_string(json_object_object_get(emf, "FunctionName")),
                        getenv("AWS_LAMBDA_FUNCTION_NAME") ? getenv("AWS_LAMBDA_FUNCTION_NAME")
                                                           : "ddbhost");
    json_object_put(emf);
    records_free(a, 4);
    capture_close(&err);
}

static void test_a_log_line_erases_the_view_first_and_stop_leaves_it_drawn(void **state)
{
    (void)state;
    capture err;
    capture_open(&err);
    fake_now = T0_MS;
    progress *pg = progress_new(NULL, err.f, true, fake_clock);
    progress_shard(pg, "Orders", "shard-1", NULL, false);
    progress_tick(pg);
    const char *text = capture_text(&err);
    assert_non_null(strstr(text, "poll up 0.0s: 1 table, 1 shard"));
    assert_null(strstr(text, "\033["));
    log_set_level(DDB_LOG_ERROR);
    log_debug("below the level: no line, nothing erased");
    assert_null(strstr(capture_text(&err), "\033["));
    log_error("a line on stderr");
    /* the three lines of the view are gone before the log line is written, once */
    const char *erase = strstr(capture_text(&err), "\n\033[3A\r\033[J");
    assert_non_null(erase);
    assert_string_equal(erase + 1, "\033[3A\r\033[J");
    log_error("another line: nothing left to erase");
    assert_string_equal(erase + 1, "\033[3A\r\033[J");
    size_t before = err.len;
    progress_stop(pg, 0); /* the view once more, left on the screen */
    assert_non_null(strstr(capture_text(&err) + before, "poll up 0.0s"));
    progress_free(pg);
    log_error("after progress_free: the logger no longer calls it");
    capture_close(&err);
}

static void test_without_a_terminal_no_view_is_drawn(void **state)
{
    (void)state;
    capture err;
    capture_open(&err);
    fake_now = T0_MS;
    progress *pg = progress_new(NULL, err.f, false, fake_clock);
    progress_shard(pg, "Orders", "shard-1", NULL, false);
    progress_tick(pg);
    log_set_level(DDB_LOG_ERROR);
    log_error("a line on stderr");
    progress_stop(pg, 0);
    progress_free(pg);
    assert_string_equal(capture_text(&err), "");
    capture_close(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines_say_each_batch_discard_finished_shard_reload_and_the_totals),
        cmocka_unit_test(test_the_view_shows_each_shard_with_its_counts_age_and_state),
        cmocka_unit_test(test_the_view_fits_a_narrow_terminal_and_keeps_the_end_of_shard_ids),
        cmocka_unit_test(test_metrics_true_writes_one_emf_line_per_batch_with_its_counts),
        cmocka_unit_test(test_a_log_line_erases_the_view_first_and_stop_leaves_it_drawn),
        cmocka_unit_test(test_without_a_terminal_no_view_is_drawn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
