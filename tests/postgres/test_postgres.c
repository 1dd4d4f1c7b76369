/* test_postgres.c - the postgres sink against a real PostgreSQL server (pgserver.c): through
 * the real ddbhost for what a user sees (the tables, the exact values, the responses and the
 * one-line refusals), and through a small fake host where the test must act between two
 * records (the server killed mid-batch, the connection ended between batches). The tables
 * are read back with libpq. Skipped, saying why, when there is no PostgreSQL to run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "event.h"
#include "pgserver.h"
#include "run.h"

#define PG_SO DDB_BINARY_DIR "/plugins/postgres.so"
#define NO_FAILURES "{\"batchItemFailures\":[]}\n"

static pgserver server;
static char work[256]; /* manifests and events of this run */

/* ---- events ------------------------------------------------------------------------------ */

/* Records of table Orders keyed by "pk" (S). MEMBERS: the image's members after pk, each
 * after a comma: ",\"v\":{\"N\":\"1\"}". */
#define ARN "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-05-01T12:00:00.000"
#define TTL_USER                                                                                   \
    ",\"userIdentity\":{\"type\":\"Service\",\"principalId\":\"dynamodb.amazonaws.com\"}"
#define REC(event, pk, seq, images, extra)                                                         \
    "{\"eventID\":\"id-" seq "\",\"eventName\":\"" event "\",\"eventVersion\":\"1.1\","            \
    "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\"" extra ",\"dynamodb\":{"         \
    "\"ApproximateCreationDateTime\":1714566000,\"Keys\":{\"pk\":{\"S\":\"" pk "\"}}" images       \
    ",\"SequenceNumber\":\"" seq "\",\"SizeBytes\":10,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}," \
    "\"eventSourceARN\":\"" ARN "\"}"
#define IMAGE(which, pk, members) ",\"" which "\":{\"pk\":{\"S\":\"" pk "\"}" members "}"
#define INSERT(pk, seq, members) REC("INSERT", pk, seq, IMAGE("NewImage", pk, members), "")
#define MODIFY(pk, seq, members, old)                                                              \
    REC("MODIFY", pk, seq, IMAGE("NewImage", pk, members) IMAGE("OldImage", pk, old), "")
#define REMOVE(pk, seq, old) REC("REMOVE", pk, seq, IMAGE("OldImage", pk, old), "")
#define TTL_REMOVE(pk, seq, old) REC("REMOVE", pk, seq, IMAGE("OldImage", pk, old), TTL_USER)
/* An INSERT whose key pk is an N, with no image. */
#define KEYS_ONLY_N(pk, seq)                                                                       \
    "{\"eventName\":\"INSERT\",\"eventSource\":\"aws:dynamodb\",\"dynamodb\":{\"Keys\":"           \
    "{\"pk\":{\"N\":\"" pk "\"}},\"SequenceNumber\":\"" seq "\"},"                                 \
    "\"eventSourceARN\":\"" ARN "\"}"
#define EVENT(...) "{\"Records\":[" __VA_ARGS__ "]}"

/* ---- through ddbhost ------------------------------------------------------------------- */

/* Runs `ddbhost --manifest M --invoke E` with a manifest routing Orders to the sink with
 * config {"conninfo": the server, "key": {"pk": "S"}, CONFIG}, or {CONFIG} alone when CONFIG
 * starts with '!', and on_failure. */
static void pg_invoke(run_output *r, const char *config, const char *on_failure, const char *event)
{
    char manifest[512], event_path[512], *text;
    size_t n = strlen(config) + strlen(server.conninfo) + 512;
    text = malloc(n);
    assert_non_null(text);
    if (config[0] == '!')
        snprintf(text, n,
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" PG_SO "\", \"config\": {%s}}},"
                 " \"on_failure\": \"%s\"}",
                 config + 1, on_failure);
    else
        snprintf(text, n,
                 "{\"tables\": {\"Orders\": {\"plugin\": \"" PG_SO "\", \"config\": "
                 "{\"conninfo\": \"%s\", \"key\": {\"pk\": \"S\"}, %s}}}, \"on_failure\": \"%s\"}",
                 server.conninfo, config, on_failure);
    snprintf(manifest, sizeof manifest, "%s/m.json", work);
    snprintf(event_path, sizeof event_path, "%s/e.json", work);
    assert_true(run_write_file(manifest, text));
    assert_true(run_write_file(event_path, event));
    free(text);
    assert_true(run_program(
        (const char *const[]){DDB_HOST_BIN, "--manifest", manifest, "--invoke", event_path, NULL},
        NULL, r));
}

/* The run answered out with exit status 0, and its stderr holds each of the NULL-terminated
 * strings that follow. */
static void pg_expect(run_output *r, const char *out, ...)
{
    va_list ap;
    const char *want;
    bool ok = r->status == 0 && !strcmp(r->out, out);
    va_start(ap, out);
    while ((want = va_arg(ap, const char *)) != NULL) ok = ok && strstr(r->err, want);
    va_end(ap);
    if (!ok)
        print_error(
            "expected exit status 0 and stdout\n%s--- got %d, stdout ---\n%s--- stderr ---\n%s",
            out, r->status, r->out, r->err);
    run_output_free(r);
    if (!ok) fail();
}

/* A refusal: exit status 1, nothing on stdout, one stderr line holding each string. */
static void pg_expect_refused(run_output *r, ...)
{
    va_list ap;
    const char *want;
    run_lines err;
    bool ok;
    run_split_lines(r->err, r->err_len, &err);
    ok = r->status == 1 && r->out_len == 0 && err.count == 1;
    run_lines_free(&err);
    va_start(ap, r);
    while ((want = va_arg(ap, const char *)) != NULL) ok = ok && strstr(r->err, want);
    va_end(ap);
    if (!ok)
        print_error("expected exit status 1 and one stderr line; got %d\n--- stdout ---\n%s"
                    "--- stderr ---\n%s",
                    r->status, r->out, r->err);
    run_output_free(r);
    if (!ok) fail();
}

/* The query's rows (pgserver_rows) are exactly want. */
static void pg_expect_rows(const char *sql, const char *want)
{
    char *got = pgserver_rows(&server, sql);
    bool same = got && !strcmp(got, want);
    if (got && !same) print_error("%s\n--- expected ---\n%s--- got ---\n%s", sql, want, got);
    free(got);
    if (!same) fail();
}

/* ---- values ---------------------------------------------------------------------------- */

#define TYPES_ITEM                                                                                 \
    ",\"amount\":{\"N\":\"12345678901234567890123456789012345678\"}"                               \
    ",\"negative\":{\"N\":\"-0.12345678901234567890123456789012345678\"}"                          \
    ",\"tiny\":{\"N\":\"1E-130\"},\"huge\":{\"N\":\"9.9999999999999999999999999999999999999E+"     \
    "125\"}"                                                                                       \
    ",\"price\":{\"N\":\"19.99\"},\"count\":{\"N\":\"9223372036854775807\"}"                       \
    ",\"blob\":{\"B\":\"3q2+7w==\"},\"flag\":{\"BOOL\":true}"                                      \
    ",\"title\":{\"S\":\"quote \\\" back\\\\slash Z\xc3\xbcrich\"}"                                \
    ",\"tags\":{\"SS\":[\"a\\\"b\",\"c\\\\d\",\"e,f\",\"{g}\"]}"                                   \
    ",\"scores\":{\"NS\":[\"1.50\",\"-2\",\"12345678901234567890123456789012345678\"]}"            \
    ",\"chunks\":{\"BS\":[\"AQID\",\"/w==\"]}"                                                     \
    ",\"meta\":{\"M\":{\"n\":{\"N\":\"0.1\"},\"l\":{\"L\":[{\"S\":\"x\"},{\"NULL\":true}]}}}"      \
    ",\"nothing\":{\"NULL\":true}"

#define TYPES_COLUMNS                                                                              \
    "\"columns\": {\"amount\": \"numeric\", \"negative\": \"NUMERIC\", \"price\": \"numeric(10, "  \
    "2)\","                                                                                        \
    " \"count\": \"bigint\", \"blob\": \"bytea\", \"flag\": \"boolean\", \"title\": \"text\","     \
    " \"tags\": \"text[]\", \"scores\": \"numeric[]\", \"chunks\": \"bytea[]\", \"meta\": "        \
    "\"jsonb\","                                                                                   \
    " \"nothing\": \"text\", \"absent\": \"numeric\"}"

static void test_mirror_keeps_every_type_exactly_in_item_and_typed_columns(void **state)
{
    run_output r;
    (void)state;
    pg_invoke(&r, "\"table\": \"Types\", " TYPES_COLUMNS, "stop",
              EVENT(INSERT("o-1", "700", TYPES_ITEM)));
    pg_expect(&r, NO_FAILURES, NULL);
    pg_expect_rows(
        "SELECT pk, seq, amount, negative, price, count, encode(blob, 'hex'), flag, title, "
        "tags, scores, chunks, meta, nothing, absent FROM \"Types\"",
        "o-1|700|12345678901234567890123456789012345678|"
        "-0.12345678901234567890123456789012345678|19.99|9223372036854775807|deadbeef|t|"
        "quote \" back\\slash Z\xc3\xbcrich|{\"a\\\"b\",\"c\\\\d\",\"e,f\",\"{g}\"}|"
        "{1.50,-2,12345678901234567890123456789012345678}|{\"\\\\x010203\",\"\\\\xff\"}|"
        "{\"l\": [\"x\", null], \"n\": 0.1}|NULL|NULL\n");
    /* the item: plain JSON, numbers with their digits (1E-130 and the 38 nines are exact) */
    pg_expect_rows(
        "SELECT item = '{\"pk\": \"o-1\", \"amount\": 12345678901234567890123456789012345678,"
        " \"negative\": -0.12345678901234567890123456789012345678, \"tiny\": 1E-130,"
        " \"huge\": 9.9999999999999999999999999999999999999E+125, \"price\": 19.99,"
        " \"count\": 9223372036854775807, \"blob\": \"3q2+7w==\", \"flag\": true,"
        " \"title\": \"quote \\\" back\\\\slash Z\xc3\xbcrich\", \"tags\": [\"a\\\"b\", \"c\\\\d\","
        " \"e,f\", \"{g}\"], \"scores\": [1.50, -2, 12345678901234567890123456789012345678],"
        " \"chunks\": [\"AQID\", \"/w==\"], \"meta\": {\"n\": 0.1, \"l\": [\"x\", null]},"
        " \"nothing\": null}'::jsonb, (item->>'tiny')::numeric = 1E-130, item->>'huge', "
        "item->'scores' FROM \"Types\"",
        "t|t|99999999999999999999999999999999999999000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000|[1.50, -2, "
        "12345678901234567890123456789012345678]\n");
    pg_expect_rows(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
        "'\"Types\"'::regclass AND attnum > 0 AND attname IN ('pk', 'item', 'seq', 'price') "
        "ORDER BY attnum",
        "pk|text\nitem|jsonb\nseq|numeric\nprice|numeric(10,2)\n");
}

/* ---- the sequence rule ----------------------------------------------------------------- */

static void test_a_change_applies_only_when_newer_comparing_sequence_numbers_as_integers(void **state)
{
    run_output r;
    (void)state;
    /* 999 < 1000, which text would order the other way; the replays change nothing, and the
     * tombstone keeps the replayed MODIFY from bringing "a" back */
    pg_invoke(&r, "\"table\": \"Seq\"", "stop",
              EVENT(INSERT("a", "999", ",\"v\":{\"N\":\"1\"}") ","
                    MODIFY("a", "1000", ",\"v\":{\"N\":\"2\"}", ",\"v\":{\"N\":\"1\"}") ","
                    INSERT("a", "999", ",\"v\":{\"N\":\"1\"}") ","
                    INSERT("b", "5", ",\"v\":{\"N\":\"1\"}") ","
                    REMOVE("a", "1001", ",\"v\":{\"N\":\"2\"}") ","
                    MODIFY("a", "1000", ",\"v\":{\"N\":\"2\"}", ",\"v\":{\"N\":\"1\"}") ","
                    INSERT("a", "999", ",\"v\":{\"N\":\"1\"}")));
    pg_expect(&r, NO_FAILURES, NULL);
    pg_expect_rows("SELECT pk, seq, item->>'v' FROM \"Seq\" ORDER BY pk", "b|5|1\n");
    pg_expect_rows("SELECT pk, seq FROM \"Seq_tombstones\"", "a|1001\n");
    /* a newer INSERT brings it back, and from then on the row's seq guards the key */
    pg_invoke(&r, "\"table\": \"Seq\"", "stop",
              EVENT(INSERT("a", "1002", ",\"v\":{\"N\":\"3\"}") "," REMOVE("a", "1001", "")));
    pg_expect(&r, NO_FAILURES, NULL);
    pg_expect_rows("SELECT pk, seq, item->>'v' FROM \"Seq\" ORDER BY pk", "a|1002|3\nb|5|1\n");
    pg_expect_rows("SELECT count(*) FROM \"Seq_tombstones\"", "0\n");
}

static void test_log_mode_keeps_each_change_once_however_often_it_comes(void **state)
{
    static const char event[] =
        EVENT(INSERT("a", "10", ",\"v\":{\"N\":\"1\"}") ","
              MODIFY("a", "11", ",\"v\":{\"N\":\"2\"}", ",\"v\":{\"N\":\"1\"}") ","
              TTL_REMOVE("a", "12", ",\"v\":{\"N\":\"2\"}"));
    run_output r;
    (void)state;
    for (int i = 0; i < 2; i++) {
        pg_invoke(&r, "\"table\": \"Log\", \"mode\": \"log\", \"columns\": {\"v\": \"numeric\"}",
                  "stop", event);
        pg_expect(&r, NO_FAILURES, NULL);
    }
    pg_expect_rows(
        "SELECT pk, event, seq, ttl_delete, old->>'v', new->>'v', extract(epoch FROM at), v "
        "FROM \"Log\" ORDER BY seq",
        "a|INSERT|10|f|NULL|1|1714566000.000000|1\n"
        "a|MODIFY|11|f|1|2|1714566000.000000|2\n"
        "a|REMOVE|12|t|2|NULL|1714566000.000000|2\n");
}

static void test_tombstones_older_than_tombstone_days_are_pruned(void **state)
{
    run_output r;
    (void)state;
    pg_invoke(&r, "\"table\": \"Prune\", \"tombstone_days\": 2", "stop",
              EVENT(INSERT("a", "1", "") "," REMOVE("a", "2", "") ","
                    INSERT("b", "3", "") "," REMOVE("b", "4", "")));
    pg_expect(&r, NO_FAILURES, NULL);
    assert_true(pgserver_exec(&server,
                              "UPDATE \"Prune_tombstones\" SET at = now() - interval '3 days' "
                              "WHERE pk = 'a'"));
    pg_invoke(&r, "\"table\": \"Prune\", \"tombstone_days\": 2", "stop",
              EVENT(INSERT("c", "5", "")));
    pg_expect(&r, NO_FAILURES, NULL);
    pg_expect_rows("SELECT pk, seq FROM \"Prune_tombstones\"", "b|4\n");
    /* 0: never */
    assert_true(
        pgserver_exec(&server, "UPDATE \"Prune_tombstones\" SET at = now() - interval '300 days'"));
    pg_invoke(&r, "\"table\": \"Prune\", \"tombstone_days\": 0", "stop",
              EVENT(INSERT("d", "6", "")));
    pg_expect(&r, NO_FAILURES, NULL);
    pg_expect_rows("SELECT pk, seq FROM \"Prune_tombstones\"", "b|4\n");
}

/* ---- records that fail ----------------------------------------------------------------- */

static void test_a_record_postgresql_refuses_fails_alone_and_those_before_it_stay(void **state)
{
    static const char event[] = EVENT(INSERT("a", "1", ",\"price\":{\"N\":\"1.5\"}") ","
                                      INSERT("b", "2", ",\"price\":{\"N\":\"123456\"}") ","
                                      INSERT("c", "3", ",\"price\":{\"N\":\"2\"}"));
    run_output r;
    (void)state;
    pg_invoke(&r, "\"table\": \"Refused\", \"columns\": {\"price\": \"numeric(5,2)\"}", "stop",
              event);
    pg_expect(&r, "{\"batchItemFailures\":[{\"itemIdentifier\":\"2\"}]}\n",
              "record 1 (SequenceNumber 2): table \"Refused\": numeric field overflow", NULL);
    pg_expect_rows("SELECT pk, price FROM \"Refused\" ORDER BY pk", "a|1.50\n");
    /* on_failure "continue": the transaction goes on after the refused record */
    pg_invoke(&r, "\"table\": \"Refused\", \"columns\": {\"price\": \"numeric(5,2)\"}", "continue",
              event);
    pg_expect(&r, "{\"batchItemFailures\":[{\"itemIdentifier\":\"2\"}]}\n", NULL);
    pg_expect_rows("SELECT pk, price FROM \"Refused\" ORDER BY pk", "a|1.50\nc|2.00\n");
}

static void test_an_attribute_of_another_type_fails_its_record_naming_it(void **state)
{
    run_output r;
    (void)state;
    pg_invoke(&r, "\"table\": \"Wrong\", \"columns\": {\"price\": \"numeric\", \"n\": \"bigint\"}",
              "continue",
              EVENT(INSERT("a", "1", ",\"price\":{\"S\":\"cheap\"}") ","
                    INSERT("b", "2", ",\"n\":{\"N\":\"1.5\"}") "," KEYS_ONLY_N("7", "3") ","
                    INSERT("d", "4", ",\"price\":{\"N\":\"4\"}")));
    pg_expect(&r,
              "{\"batchItemFailures\":[{\"itemIdentifier\":\"1\"},{\"itemIdentifier\":\"2\"},"
              "{\"itemIdentifier\":\"3\"}]}\n",
              "attribute \"price\" is S; column \"price\" (numeric) takes N",
              "attribute \"n\" is 1.5; column \"n\" (bigint) takes an integer",
              "attribute \"pk\" is N; column \"pk\" (text) takes S", NULL);
    pg_expect_rows("SELECT pk, price FROM \"Wrong\"", "d|4\n");
}

/* ---- refusals at start ----------------------------------------------------------------- */

/* A loopback TCP port where nothing listens. */
static int pg_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_a_server_that_is_down_at_start_is_one_line_naming_host_port_and_why(void **state)
{
    char config[512], want[400], dir[256];
    run_output r;
    (void)state;
    snprintf(config, sizeof config,
             "!\"table\": \"Down\", \"key\": {\"pk\": \"S\"}, \"conninfo\": "
             "\"host=127.0.0.1 port=%d\"",
             pg_free_port());
    pg_invoke(&r, config, "stop", EVENT(INSERT("a", "1", "")));
    snprintf(want, sizeof want, "port %s", strstr(config, "port=") + 5);
    *strchr(want, '"') = '\0';
    pg_expect_refused(&r,
                      "ddbhost: error: plugin \"" PG_SO "\" (postgres 1.0.0) failed to initialise: "
                      "cannot connect to PostgreSQL at host \"127.0.0.1\" ",
                      want, "Connection refused", NULL);
    /* a unix socket where no server runs */
    assert_true(run_make_tmpdir(dir, sizeof dir, "ddbhost-pg-none"));
    snprintf(config, sizeof config,
             "!\"table\": \"Down\", \"key\": {\"pk\": \"S\"}, \"conninfo\": "
             "\"host=%s port=6543\"",
             dir);
    pg_invoke(&r, config, "stop", EVENT(INSERT("a", "1", "")));
    snprintf(want, sizeof want, "at host \"%s\" port 6543: ", dir);
    pg_expect_refused(&r, want, "No such file or directory", NULL);
    run_remove_tree(dir);
}

static void test_an_existing_table_that_differs_is_refused_and_left_as_it_was(void **state)
{
    run_output r;
    (void)state;
    assert_true(pgserver_exec(
        &server, "CREATE TABLE \"Differs\" (pk text PRIMARY KEY, item jsonb, seq text);"
                 "CREATE TABLE \"NoKey\" (pk text, item jsonb, seq numeric);"
                 "CREATE TABLE \"More\" (pk text PRIMARY KEY, item jsonb, "
                 "seq numeric, note text)"));
    pg_invoke(&r, "\"table\": \"Differs\"", "stop", EVENT(INSERT("a", "1", "")));
    pg_expect_refused(
        &r,
        "table \"Differs\" does not match the configuration: its column \"seq\" is text, "
        "not numeric; hint: a table is never altered",
        NULL);
    pg_invoke(&r, "\"table\": \"NoKey\"", "stop", EVENT(INSERT("a", "1", "")));
    pg_expect_refused(
        &r,
        "table \"NoKey\" does not match the configuration: its primary key is (none), "
        "not (pk)",
        NULL);
    pg_invoke(&r, "\"table\": \"More\"", "stop", EVENT(INSERT("a", "1", "")));
    pg_expect_refused(&r,
                      "table \"More\" does not match the configuration: it has a column \"note\" "
                      "that the configuration does not",
                      NULL);
    pg_invoke(&r, "\"table\": \"Types\", \"columns\": {\"weight\": \"numeric\"}", "stop",
              EVENT(INSERT("a", "1", "")));
    pg_expect_refused(
        &r,
        "table \"Types\" does not match the configuration: it has no column \"weight\" "
        "(numeric)",
        NULL);
    pg_expect_rows(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
        "'\"Differs\"'::regclass AND attnum > 0 ORDER BY attnum",
        "pk|text\nitem|jsonb\nseq|text\n");
    pg_expect_rows(
        "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'r' "
        "AND (relname LIKE 'Differs%' OR relname LIKE 'NoKey%')",
        "Differs,NoKey\n");
}

static void test_a_config_the_sink_cannot_serve_is_refused_naming_the_key(void **state)
{
    static const char *const cases[][2] = {
        {"!\"table\": \"X\"", "config \"key\" is required"},
        {"\"table\": \"X\", \"colums\": {}", "config: unknown key \"colums\""},
        {"\"table\": \"X\", \"mode\": \"append\"", "config \"mode\" must be \"mirror\" or \"log\""},
        {"\"table\": \"X\", \"columns\": {\"d\": \"timestamp\"}", "\"d\" has type \"timestamp\""},
        {"\"table\": \"X\", \"columns\": {\"seq\": \"text\"}",
         "\"seq\" is a column of the mirror layout"},
        {"\"table\": \"X\", \"columns\": {\"pk\": \"text\"}", "\"pk\" is already a key column"},
        {"!\"table\": \"X\", \"key\": {\"pk\": \"SS\"}", "\"pk\" must be \"S\", \"N\" or \"B\""},
        {"\"table\": \"X234567890123456789012345678901234567890123456789012345\"",
         "PostgreSQL names are 1 to 63 bytes, and the mirror's side table adds \"_tombstones\""},
        {"\"tombstone_days\": -1", "config \"tombstone_days\" must be an integer from 0 to 36500"},
    };
    run_output r;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pg_invoke(&r, cases[i][0], "stop", EVENT(INSERT("a", "1", "")));
        pg_expect_refused(&r, "failed to initialise: ", cases[i][1], NULL);
    }
}

/* ---- faults, through a fake host -------------------------------------------------------- */

typedef ddb_status (*pg_record_fn)(const ddb_record *, void *);
typedef ddb_status (*pg_batch_fn)(const ddb_batch *, void *);

static struct {
    void *dl;
    ddb_status (*on_init)(const ddb_init *, void **);
    void (*on_fini)(void *);
    pg_record_fn on_record[4]; /* by ddb_event_name */
    pg_batch_fn begin, end;
} sink;

/* An event decoded as the host decodes it: its records, valid until pg_event_free. */
typedef struct pg_event {
    event_decoder *decoder;
    char *text;
    event_batch batch;
} pg_event;

static void pg_event_decode(pg_event *e, const char *json)
{
    size_t len = strlen(json);
    e->decoder = event_decoder_new();
    e->text = malloc(len + 1);
    assert_non_null(e->decoder);
    assert_non_null(e->text);
    memcpy(e->text, json, len + 1);
    if (!event_decode(e->decoder, e->text, len, &e->batch)) fail_msg("%s", event_error(e->decoder));
}

static void pg_event_free(pg_event *e)
{
    event_decoder_free(e->decoder);
    free(e->text);
}

/* The sink's on_init as the host runs it for route Orders with config. */
static void *pg_init(json_object *config)
{
    static const struct ddb_handle self = {"postgres", "Orders", NULL, NULL};
    char error[512] = "";
    void *state = NULL;
    ddb_init init = {.size = sizeof init,
                     .host = api_table(),
                     .self = &self,
                     .config = api_config(config),
                     .config_json = json_object_to_json_string(config),
                     .plugin_path = PG_SO,
                     .route = "Orders",
                     .error = error,
                     .error_cap = sizeof error};
    if (sink.on_init(&init, &state) != DDB_OK) fail_msg("on_init: %s", error);
    return state;
}

static json_object *pg_config(const char *table)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"conninfo\": \"%s\", \"table\": \"%s\", \"key\": {\"pk\": \"S\"}}", server.conninfo,
             table);
    return json_tokener_parse(text);
}

static ddb_status pg_deliver(void *state, const ddb_record *rec)
{
    return sink.on_record[rec->event_name](rec, state);
}

#define SIX_RECORDS                                                                          \
    EVENT(INSERT("r0", "1", "") "," INSERT("r1", "2", "") "," INSERT("r2", "3", "") ","  \
          INSERT("r3", "4", "") "," INSERT("r4", "5", "") "," INSERT("r5", "6", ""))

static void test_the_server_killed_mid_batch_fails_the_rest_and_the_next_batch_reconnects(void **state)
{
    json_object *config = pg_config("Killed");
    pg_event e;
    ddb_batch batch = {.size = sizeof batch, .records = 6};
    void *sink_state = pg_init(config);
    (void)state;
    pg_event_decode(&e, SIX_RECORDS);
    assert_int_equal(sink.begin(&batch, sink_state), DDB_OK);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pg_deliver(sink_state, &e.batch.records[i]), DDB_OK);
    assert_true(pgserver_stop(&server, "immediate")); /* every connection dropped at once */
    for (size_t i = 3; i < 6; i++)
        assert_int_equal(pg_deliver(sink_state, &e.batch.records[i]), DDB_ERR_FAILED);
    /* what the batch had applied went with its transaction: the batch fails whole */
    batch.status = DDB_ERR_FAILED;
    assert_int_equal(sink.end(&batch, sink_state), DDB_ERR_FAILED);
    assert_true(pgserver_restart(&server));
    pg_expect_rows("SELECT count(*) FROM \"Killed\"", "0\n");
    batch.status = DDB_OK;
    assert_int_equal(sink.begin(&batch, sink_state), DDB_OK);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(pg_deliver(sink_state, &e.batch.records[i]), DDB_OK);
    assert_int_equal(sink.end(&batch, sink_state), DDB_OK);
    pg_expect_rows("SELECT string_agg(pk, ',' ORDER BY pk) FROM \"Killed\"", "r0,r1,r2,r3,r4,r5\n");
    sink.on_fini(sink_state);
    pg_event_free(&e);
    json_object_put(config);
}

static void test_a_connection_ended_between_batches_is_replaced_without_failing_a_record(void **state)
{
    json_object *config = pg_config("Ended");
    pg_event e;
    ddb_batch batch = {.size = sizeof batch, .records = 6};
    void *sink_state = pg_init(config);
    (void)state;
    pg_event_decode(&e, SIX_RECORDS);
    for (int round = 0; round < 2; round++) {
        /* an idle timeout, or an administrator, ends the sink's session while Lambda is frozen */
        if (round == 1)
            pg_expect_rows("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE application_name = 'ddbhost'",
                           "1\n");
        assert_int_equal(sink.begin(&batch, sink_state), DDB_OK);
        for (size_t i = 0; i < 6; i++)
            assert_int_equal(pg_deliver(sink_state, &e.batch.records[i]), DDB_OK);
        assert_int_equal(sink.end(&batch, sink_state), DDB_OK);
    }
    pg_expect_rows("SELECT count(*) FROM \"Ended\"", "6\n");
    sink.on_fini(sink_state);
    pg_event_free(&e);
    json_object_put(config);
}

static void test_a_connection_ended_mid_batch_fails_the_rest_and_rolls_the_batch_back(void **state)
{
    json_object *config = pg_config("Terminated");
    pg_event e;
    ddb_batch batch = {.size = sizeof batch, .records = 6};
    void *sink_state = pg_init(config);
    (void)state;
    pg_event_decode(&e, SIX_RECORDS);
    assert_int_equal(sink.begin(&batch, sink_state), DDB_OK);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(pg_deliver(sink_state, &e.batch.records[i]), DDB_OK);
    pg_expect_rows("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE application_name = 'ddbhost'",
                   "1\n");
    for (size_t i = 2; i < 6; i++)
        assert_int_equal(pg_deliver(sink_state, &e.batch.records[i]), DDB_ERR_FAILED);
    assert_int_equal(sink.end(&batch, sink_state), DDB_ERR_FAILED);
    pg_expect_rows("SELECT count(*) FROM \"Terminated\"", "0\n");
    assert_int_equal(sink.begin(&batch, sink_state), DDB_OK);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(pg_deliver(sink_state, &e.batch.records[i]), DDB_OK);
    assert_int_equal(sink.end(&batch, sink_state), DDB_OK);
    pg_expect_rows("SELECT count(*) FROM \"Terminated\"", "6\n");
    sink.on_fini(sink_state);
    pg_event_free(&e);
    json_object_put(config);
}

/* ---- setup ---------------------------------------------------------------------------- */

static int pg_setup(void **state)
{
    char why[2048];
    (void)state;
    if (!pgserver_start(&server, why, sizeof why)) {
        fprintf(stderr, "cannot start PostgreSQL: %s\n", why);
        return -1;
    }
    sink.dl = dlopen(PG_SO, RTLD_NOW | RTLD_LOCAL);
    if (!sink.dl) {
        fprintf(stderr, "cannot load %s: %s\n", PG_SO, dlerror());
        return -1;
    }
    *(void **)&sink.on_init = dlsym(sink.dl, "on_init");
    *(void **)&sink.on_fini = dlsym(sink.dl, "on_fini");
    *(void **)&sink.on_record[DDB_INSERT] = dlsym(sink.dl, "on_insert");
    *(void **)&sink.on_record[DDB_MODIFY] = dlsym(sink.dl, "on_modify");
    *(void **)&sink.on_record[DDB_REMOVE] = dlsym(sink.dl, "on_remove");
    *(void **)&sink.begin = dlsym(sink.dl, "on_batch_begin");
    *(void **)&sink.end = dlsym(sink.dl, "on_batch_end");
    return run_make_tmpdir(work, sizeof work, "ddbhost-pg-test") ? 0 : -1;
}

static int pg_teardown(void **state)
{
    (void)state;
    if (sink.dl) dlclose(sink.dl);
    pgserver_destroy(&server);
    return run_remove_tree(work);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mirror_keeps_every_type_exactly_in_item_and_typed_columns),
        cmocka_unit_test(
            test_a_change_applies_only_when_newer_comparing_sequence_numbers_as_integers),
        cmocka_unit_test(test_log_mode_keeps_each_change_once_however_often_it_comes),
        cmocka_unit_test(test_tombstones_older_than_tombstone_days_are_pruned),
        cmocka_unit_test(test_a_record_postgresql_refuses_fails_alone_and_those_before_it_stay),
        cmocka_unit_test(test_an_attribute_of_another_type_fails_its_record_naming_it),
        cmocka_unit_test(test_a_server_that_is_down_at_start_is_one_line_naming_host_port_and_why),
        cmocka_unit_test(test_an_existing_table_that_differs_is_refused_and_left_as_it_was),
        cmocka_unit_test(test_a_config_the_sink_cannot_serve_is_refused_naming_the_key),
        cmocka_unit_test(
            test_the_server_killed_mid_batch_fails_the_rest_and_the_next_batch_reconnects),
        cmocka_unit_test(
            test_a_connection_ended_between_batches_is_replaced_without_failing_a_record),
        cmocka_unit_test(test_a_connection_ended_mid_batch_fails_the_rest_and_rolls_the_batch_back),
    };
    char bin[128], why[512];
    if (!pgserver_find(bin, sizeof bin, why, sizeof why)) {
        printf("skipped: %s\n", why);
        return 77;
    }
    return cmocka_run_group_tests(tests, pg_setup, pg_teardown);
}
