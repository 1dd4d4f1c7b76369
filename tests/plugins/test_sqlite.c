/* test_sqlite.c - the sqlite sink against a small fake host: events decoded by the host's own
 * decoder, callbacks and batch hooks called as the router calls them, log lines captured, the file
 * read back with SQLite. What tests/sinks cannot aim at: refusals of config and layout,
 * projections, view types, log mode, savepoints, pruning, a file shared by two handlers. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "api.h"
#include "event.h"
#include "run.h"

/* ---- the fake host ------------------------------------------------------------------- */

typedef ddb_status (*record_fn)(const ddb_record *, void *);
typedef ddb_status (*batch_fn)(const ddb_batch *, void *);

static struct {
    void *dl;
    record_fn on_record[4]; /* indexed by ddb_event_name */
    batch_fn begin, end;
    ddb_status (*on_init)(const ddb_init *, void **);
    void (*on_fini)(void *);
} so;

/* What the plugin logged since the last take_log(), one line per message. */
static char logged[8192];

static void capture_log(const ddb_handle *self, ddb_log_level level, const char *fmt, ...)
{
    size_t n = strlen(logged);
    va_list ap;
    (void)self, (void)level;
    va_start(ap, fmt);
    vsnprintf(logged + n, sizeof logged - n, fmt, ap);
    va_end(ap);
    n = strlen(logged);
    if (n + 1 < sizeof logged) strcpy(logged + n, "\n");
}

static ddb_host_api host;

static int load_sqlite(void **unused)
{
    (void)unused;
    so.dl = dlopen(DDB_BINARY_DIR "/plugins/sqlite.so", RTLD_NOW | RTLD_LOCAL);
    if (!so.dl) {
        fprintf(stderr, "cannot load sqlite.so: %s\n", dlerror());
        return -1;
    }
    so.on_record[DDB_INSERT] = (record_fn)dlsym(so.dl, "on_insert");
    so.on_record[DDB_MODIFY] = (record_fn)dlsym(so.dl, "on_modify");
    so.on_record[DDB_REMOVE] = (record_fn)dlsym(so.dl, "on_remove");
    so.begin = (batch_fn)dlsym(so.dl, "on_batch_begin");
    so.end = (batch_fn)dlsym(so.dl, "on_batch_end");
    so.on_init = (ddb_status(*)(const ddb_init *, void **))dlsym(so.dl, "on_init");
    so.on_fini = (void (*)(void *))dlsym(so.dl, "on_fini");
    host = *api_table();
    host.log = capture_log;
    return so.on_record[1] && so.on_record[2] && so.on_record[3] && so.begin && so.end &&
                   so.on_init && so.on_fini ? 0 : -1;
}

static int unload_sqlite(void **unused)
{
    (void)unused;
    dlclose(so.dl);
    return 0;
}

/* Text written with ' for ", to keep JSON in C strings readable; owned by the caller. */
static char *dq(const char *text)
{
    char *s = strdup(text);
    for (char *c = s; *c; c++)
        if (*c == '\'') *c = '"';
    return s;
}

typedef struct fixture {
    char dir[256];
    char db[300];          /* dir/t.db */
    json_object *config[4];
    void *state[4];        /* handlers, each on_init'ed with config[i] */
    event_decoder *decoder;
    char *event;           /* the text the decoder's records borrow from */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx || !run_make_tmpdir(fx->dir, sizeof fx->dir, "ddbhost-sqlite-test")) return -1;
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    fx->decoder = event_decoder_new();
    logged[0] = '\0';
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < 4; i++) {
        if (fx->state[i]) so.on_fini(fx->state[i]);
        json_object_put(fx->config[i]);
    }
    event_decoder_free(fx->decoder);
    free(fx->event);
    run_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* on_init of handler i of route, with config (' for "; @DB@ stands for the database path);
 * its status, with the reason in error. */
static ddb_status init_as(fixture *fx, int i, const char *route, const char *config, char *error, size_t cap)
{
    static const struct ddb_handle self = {.name = "sqlite", .route = "Orders"};
    char text[4096], *quoted = dq(config), *at = strstr(quoted, "@DB@");
    if (at) snprintf(text, sizeof text, "%.*s%s%s", (int)(at - quoted), quoted, fx->db, at + 4);
    else snprintf(text, sizeof text, "%s", quoted);
    free(quoted);
    json_object_put(fx->config[i]);
    fx->config[i] = json_tokener_parse(text);
    ddb_init init = {
        .size = sizeof init,
        .host = &host,
        .self = &self,
        .config = api_config(fx->config[i]),
        .config_json = text,
        .plugin_path = DDB_BINARY_DIR "/plugins/sqlite.so",
        .route = route,
        .error = error,
        .error_cap = cap,
    };
    error[0] = '\0';
    fx->state[i] = NULL;
    return so.on_init(&init, &fx->state[i]);
}

static void init_ok(fixture *fx, int i, const char *config)
{
    char error[1024];
    ddb_status st = init_as(fx, i, "Orders", config, error, sizeof error);
    if (st != DDB_OK) print_error("on_init: %s\n", error);
    assert_int_equal(st, DDB_OK);
}

/* One change of an event: JSON texts written with ' for " (NULL: absent). */
typedef struct change {
    const char *event, *seq, *keys, *new_image, *old_image;
    const char *view; /* StreamViewType, NEW_AND_OLD_IMAGES when NULL */
    bool ttl;
} change;

#define CH(event, seq, keys, new_image, old_image) {event, seq, keys, new_image, old_image, NULL, false}
#define CHV(event, seq, keys, new_image, old_image, view) {event, seq, keys, new_image, old_image, view, false}
#define CHT(event, seq, keys, new_image, old_image) {event, seq, keys, new_image, old_image, NULL, true}

/* changes[0..n) as one event, decoded by the host's decoder: its records, borrowed until the
 * next call. */
static const ddb_record *records_of(fixture *fx, const change *changes, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("{\"Records\":[", f);
    for (size_t k = 0; k < n; k++) {
        const change *c = &changes[k];
        fprintf(f, "%s{\"eventID\":\"e%zu\",\"eventName\":\"%s\",\"eventVersion\":\"1.1\","
                   "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\",%s\"dynamodb\":{"
                   "\"ApproximateCreationDateTime\":1714566000.25,\"Keys\":%s,",
                k ? "," : "", k, c->event,
                c->ttl ? "\"userIdentity\":{\"type\":\"Service\",\"principalId\":\"dynamodb.amazonaws.com\"}," : "",
                c->keys);
        if (c->new_image) fprintf(f, "\"NewImage\":%s,", c->new_image);
        if (c->old_image) fprintf(f, "\"OldImage\":%s,", c->old_image);
        fprintf(f, "\"SequenceNumber\":\"%s\",\"SizeBytes\":10,\"StreamViewType\":\"%s\"},"
                   "\"eventSourceARN\":\"arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/"
                   "2024-05-01T12:00:00.000\"}", c->seq, c->view ? c->view : "NEW_AND_OLD_IMAGES");
    }
    fputs("]}", f);
    fclose(f);
    for (char *c = text; *c; c++)
        if (*c == '\'') *c = '"';
    free(fx->event);
    fx->event = text = realloc(text, len + 1); /* the decoder's spare byte */
    event_batch batch;
    if (!event_decode(fx->decoder, text, len, &batch)) print_error("%s\n", event_error(fx->decoder));
    assert_int_equal(batch.count, n);
    return batch.records;
}

/* changes[0..n) in one batch of handler h, as the router delivers them: begin, each record,
 * end. each[k] gets record k's status; returns on_batch_end's. */
static ddb_status deliver_to(fixture *fx, int h, const change *changes, size_t n, ddb_status *each)
{
    const ddb_record *recs = records_of(fx, changes, n);
    ddb_batch hook = {.size = sizeof hook, .records = (uint32_t)n, .status = DDB_OK};
    assert_int_equal(so.begin(&hook, fx->state[h]), DDB_OK);
    for (size_t k = 0; k < n; k++) {
        each[k] = so.on_record[recs[k].event_name](&recs[k], fx->state[h]);
        if (each[k] != DDB_OK && hook.status == DDB_OK) hook.status = each[k];
    }
    return so.end(&hook, fx->state[h]);
}

/* Delivers the changes to handler 0 and asserts that every one succeeds. */
#define DELIVER_OK(fx, ...)                                                                        \
    do {                                                                                           \
        const change cs_[] = {__VA_ARGS__};                                                        \
        ddb_status each_[sizeof cs_ / sizeof *cs_];                                                \
        assert_int_equal(deliver_to(fx, 0, cs_, sizeof cs_ / sizeof *cs_, each_), DDB_OK);         \
        for (size_t k_ = 0; k_ < sizeof cs_ / sizeof *cs_; k_++) assert_int_equal(each_[k_], DDB_OK); \
    } while (0)

/* What a query returns: columns joined by '|', rows by '\n', NULL as "NULL". Owned: free(). */
static char *query(const fixture *fx, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) print_error("%s: %s\n", sql, sqlite3_errmsg(db));
    assert_non_null(st);
    for (int rows = 0; sqlite3_step(st) == SQLITE_ROW; rows++) {
        if (rows) fputc('\n', f);
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            fprintf(f, "%s%s", c ? "|" : "", t ? (const char *)t : "NULL");
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    fclose(f);
    return out;
}

static void assert_query(const fixture *fx, const char *sql, const char *expected)
{
    char *got = query(fx, sql), *want = dq(expected);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void exec_sql(const fixture *fx, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) print_error("%s: %s\n", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_errcode(db), SQLITE_OK);
    sqlite3_close(db);
}

static void assert_one_line_with(const char *text, const char *part)
{
    if (!strstr(text, part)) print_error("expected \"%s\" in: %s\n", part, text);
    assert_non_null(strstr(text, part));
    const char *nl = strchr(text, '\n');
    assert_true(!nl || nl[1] == '\0');
}

#define KEY(id) "{'id':{'S':'" id "'}}"
#define PAD(seq) "000000000000000000000000000000000000000" seq /* to 40 digits for 1-digit seqs */

/* ---- the mirror ---------------------------------------------------------------------- */

static void test_mirror_upserts_and_removes_with_the_item_as_exact_dynamodb_json(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@'}");
    DELIVER_OK(fx, CH("INSERT", "1", KEY("a"), "{'id':{'S':'a'},'n':{'N':'-12.50E3'},'b':{'B':'3q2+7w=='}}", NULL),
               CH("INSERT", "2", KEY("b"), "{'id':{'S':'b'},'s':{'S':'Z\\u00fcrich \\\"q\\\"\\n'}}", NULL),
               CH("MODIFY", "3", KEY("a"), "{'id':{'S':'a'},'ss':{'SS':['x','y']},'l':{'L':[{'NULL':true},{'BOOL':false}]}}",
                KEY("a")));
    assert_query(fx, "SELECT id, item, seq FROM Orders ORDER BY id",
                 "a|{'id':{'S':'a'},'ss':{'SS':['x','y']},'l':{'L':[{'NULL':true},{'BOOL':false}]}}|" PAD("3") "\n"
                 "b|{'id':{'S':'b'},'s':{'S':'Z\xc3\xbcrich \\'q\\'\\n'}}|" PAD("2"));
    DELIVER_OK(fx, CH("REMOVE", "4", KEY("b"), NULL, "{'id':{'S':'b'}}"));
    assert_query(fx, "SELECT id FROM Orders", "a");
    assert_query(fx, "SELECT id, seq FROM Orders_tombstones", "b|" PAD("4"));
}

static void test_sequence_numbers_compare_as_numbers_not_as_text(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@'}");
    DELIVER_OK(fx, CH("INSERT", "9", KEY("a"), "{'id':{'S':'a'},'v':{'N':'9'}}", NULL),
               CH("MODIFY", "10", KEY("a"), "{'id':{'S':'a'},'v':{'N':'10'}}", NULL));
    assert_query(fx, "SELECT item FROM Orders", "{'id':{'S':'a'},'v':{'N':'10'}}");
    /* "9" > "10" as text: a replay of the older change must still lose */
    DELIVER_OK(fx, CH("INSERT", "9", KEY("a"), "{'id':{'S':'a'},'v':{'N':'9'}}", NULL));
    assert_query(fx, "SELECT item, seq FROM Orders", "{'id':{'S':'a'},'v':{'N':'10'}}|0000000000000000000000000000000000000010");
    /* 39 digits, then 40 */
    DELIVER_OK(fx, CH("MODIFY", "999999999999999999999999999999999999999", KEY("a"), "{'v':{'N':'39'}}", NULL),
               CH("MODIFY", "1000000000000000000000000000000000000000", KEY("a"), "{'v':{'N':'40'}}", NULL),
               CH("MODIFY", "999999999999999999999999999999999999998", KEY("a"), "{'v':{'N':'38'}}", NULL));
    assert_query(fx, "SELECT item, seq FROM Orders", "{'v':{'N':'40'}}|1000000000000000000000000000000000000000");
}

static void test_a_tombstone_keeps_an_older_insert_replayed_later_from_resurrecting_the_item(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@'}");
    DELIVER_OK(fx, CH("INSERT", "5", KEY("a"), "{'id':{'S':'a'}}", NULL),
               CH("REMOVE", "7", KEY("a"), NULL, "{'id':{'S':'a'}}"));
    DELIVER_OK(fx, CH("INSERT", "5", KEY("a"), "{'id':{'S':'a'}}", NULL),
               CH("MODIFY", "6", KEY("a"), "{'id':{'S':'a'},'late':{'BOOL':true}}", NULL));
    assert_query(fx, "SELECT count(*) FROM Orders", "0");
    assert_query(fx, "SELECT id, seq FROM Orders_tombstones", "a|" PAD("7"));
    /* an older REMOVE replayed keeps the newer tombstone */
    DELIVER_OK(fx, CH("REMOVE", "6", KEY("a"), NULL, NULL));
    assert_query(fx, "SELECT seq FROM Orders_tombstones", PAD("7"));
    /* a newer INSERT brings it back, and the tombstone goes: the two tables never share a key */
    DELIVER_OK(fx, CH("INSERT", "8", KEY("a"), "{'id':{'S':'a'},'again':{'BOOL':true}}", NULL));
    assert_query(fx, "SELECT item, seq FROM Orders", "{'id':{'S':'a'},'again':{'BOOL':true}}|" PAD("8"));
    assert_query(fx, "SELECT count(*) FROM Orders_tombstones", "0");
    /* a REMOVE older than the live item is ignored, and leaves no tombstone */
    DELIVER_OK(fx, CH("REMOVE", "7", KEY("a"), NULL, NULL));
    assert_query(fx, "SELECT seq FROM Orders", PAD("8"));
    assert_query(fx, "SELECT count(*) FROM Orders_tombstones", "0");
}

static void test_tombstones_older_than_tombstone_days_are_pruned_at_a_batch(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'key': {'id': 'S'}, 'tombstone_days': 3}");
    exec_sql(fx, "INSERT INTO Orders_tombstones VALUES ('old', '1', unixepoch() - 4 * 86400),"
                 " ('young', '1', unixepoch() - 2 * 86400)");
    DELIVER_OK(fx, CH("INSERT", "5", KEY("a"), "{'id':{'S':'a'}}", NULL));
    assert_query(fx, "SELECT id FROM Orders_tombstones", "young");
}

static void test_keys_only_streams_mirror_which_items_exist_with_item_null(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'columns': {'total': 'NUMERIC'}}");
    DELIVER_OK(fx, CHV("INSERT", "1", KEY("a"), NULL, NULL, "KEYS_ONLY"),
               CHV("INSERT", "2", KEY("b"), NULL, NULL, "KEYS_ONLY"),
               CHV("REMOVE", "3", KEY("b"), NULL, NULL, "KEYS_ONLY"));
    assert_query(fx, "SELECT id, quote(item), quote(total) FROM Orders", "a|NULL|NULL");
    assert_query(fx, "SELECT id FROM Orders_tombstones", "b");
}

static void test_old_image_streams_never_store_the_old_image_as_the_item(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@'}");
    DELIVER_OK(fx, CHV("INSERT", "1", KEY("a"), NULL, NULL, "OLD_IMAGE"),
               CHV("MODIFY", "2", KEY("a"), NULL, "{'id':{'S':'a'},'before':{'N':'1'}}", "OLD_IMAGE"));
    assert_query(fx, "SELECT id, quote(item), seq FROM Orders", "a|NULL|" PAD("2"));
    DELIVER_OK(fx, CHV("REMOVE", "3", KEY("a"), NULL, "{'id':{'S':'a'}}", "OLD_IMAGE"));
    assert_query(fx, "SELECT count(*) FROM Orders", "0");
}

static void test_binary_and_number_keys_are_blob_and_exact_text(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'table': 'Blobs'}");
    DELIVER_OK(fx, CH("INSERT", "1", "{'h':{'B':'AAEC'},'r':{'N':'1E-130'}}", "{'h':{'B':'AAEC'},'r':{'N':'1E-130'}}", NULL),
               CH("INSERT", "2", "{'h':{'B':'AAEC'},'r':{'N':'12345678901234567890123456789012345678'}}", "{}", NULL));
    assert_query(fx, "SELECT hex(h), typeof(r), r FROM Blobs ORDER BY seq",
                 "000102|text|1E-130\n000102|text|12345678901234567890123456789012345678");
    assert_query(fx, "SELECT name, type, pk FROM pragma_table_info('Blobs') WHERE pk",
                 "h|BLOB|1\nr|TEXT|2");
}

static void test_a_record_whose_keys_are_not_the_tables_fails_with_one_line(void **state)
{
    fixture *fx = *state;
    change cs[] = {CH("INSERT", "1", KEY("a"), "{'id':{'S':'a'}}", NULL),
                   CH("INSERT", "2", "{'other':{'S':'a'}}", "{'other':{'S':'a'}}", NULL),
                   CH("INSERT", "3", "{'id':{'N':'1'},'sk':{'S':'x'}}", "{}", NULL),
                   CH("INSERT", "4", "{'id':{'B':'AA=='}}", "{}", NULL)};
    ddb_status each[4];
    init_ok(fx, 0, "{'db': '@DB@'}");
    assert_int_equal(deliver_to(fx, 0, cs, 4, each), DDB_OK);
    assert_int_equal(each[0], DDB_OK);
    assert_int_not_equal(each[1], DDB_OK);
    assert_int_not_equal(each[2], DDB_OK);
    assert_int_not_equal(each[3], DDB_OK);
    assert_non_null(strstr(logged, "record 1 (SequenceNumber 2): its Keys lack \"id\", a key column of table \"Orders\"\n"));
    assert_non_null(strstr(logged, "record 2 (SequenceNumber 3): its Keys have 2 attributes, table \"Orders\" has 1 key columns\n"));
    assert_non_null(strstr(logged, "record 3 (SequenceNumber 4): key attribute \"id\" is B, column \"id\" holds S or N\n"));
    assert_query(fx, "SELECT id FROM Orders", "a");
}

/* ---- projections ----------------------------------------------------------------------- */

static void test_projected_columns_take_their_attribute_typed_and_null_when_absent(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'columns': {'total': 'NUMERIC', 'status': 'text', 'qty': 'INTEGER',"
                   " 'ratio': 'REAL', 'digest': 'BLOB', 'tags': 'JSON', 'paid': 'INTEGER'}}");
    DELIVER_OK(fx, CH("INSERT", "1", KEY("a"),
                    "{'id':{'S':'a'},'total':{'N':'19.99'},'status':{'S':'NEW'},'qty':{'N':'3'},"
                    "'ratio':{'N':'1'},'digest':{'B':'3q2+7w=='},'tags':{'M':{'n':{'N':'-0.50'},'s':{'SS':['x']}}},"
                    "'paid':{'BOOL':true}}", NULL),
               CH("INSERT", "2", KEY("b"), "{'id':{'S':'b'},'total':{'N':'1.5E+3'},'status':{'N':'12.0'},"
                    "'qty':{'NULL':true},'tags':{'S':'plain'}}", NULL));
    assert_query(fx, "SELECT id, total, typeof(total), status, typeof(status), qty, ratio, typeof(ratio),"
                     " hex(digest), tags, paid FROM Orders ORDER BY id",
                 "a|19.99|real|NEW|text|3|1.0|real|DEADBEEF|{'n':-0.50,'s':['x']}|1\n"
                 "b|1500|integer|12.0|text|NULL|NULL|null||'plain'|NULL");
    assert_query(fx, "SELECT name, type FROM pragma_table_info('Orders') WHERE name IN ('status', 'tags')",
                 "status|TEXT\ntags|TEXT");
}

static void test_a_projected_attribute_of_the_wrong_type_fails_the_record_with_one_line_naming_it(void **state)
{
    fixture *fx = *state;
    change cs[] = {CH("INSERT", "1", KEY("a"), "{'id':{'S':'a'},'total':{'S':'12'}}", NULL),
                   CH("INSERT", "2", KEY("b"), "{'id':{'S':'b'},'total':{'N':'12'}}", NULL)};
    ddb_status each[2];
    init_ok(fx, 0, "{'db': '@DB@', 'columns': {'total': 'NUMERIC'}}");
    assert_int_equal(deliver_to(fx, 0, cs, 2, each), DDB_OK);
    assert_int_not_equal(each[0], DDB_OK);
    assert_int_equal(each[1], DDB_OK);
    assert_string_equal(logged, "record 0 (SequenceNumber 1): attribute \"total\" is S, column \"total\" "
                                "(NUMERIC) takes N or BOOL\n");
    assert_query(fx, "SELECT id, total FROM Orders", "b|12");

    logged[0] = '\0';
    init_ok(fx, 1, "{'db': '@DB@', 'table': 'Counts', 'columns': {'n': 'INTEGER'}}");
    change big[] = {CH("INSERT", "1", KEY("a"), "{'n':{'N':'1.5'}}", NULL),
                    CH("INSERT", "2", KEY("b"), "{'n':{'N':'9223372036854775808'}}", NULL),
                    CH("INSERT", "3", KEY("c"), "{'n':{'N':'-9223372036854775808'}}", NULL)};
    ddb_status e3[3];
    assert_int_equal(deliver_to(fx, 1, big, 3, e3), DDB_OK);
    assert_int_not_equal(e3[0], DDB_OK);
    assert_int_not_equal(e3[1], DDB_OK);
    assert_int_equal(e3[2], DDB_OK);
    assert_string_equal(logged,
                        "record 0 (SequenceNumber 1): attribute \"n\" is N 1.5, not an integer, column \"n\" "
                        "(INTEGER) takes N (an integer of 64 bits) or BOOL\n"
                        "record 1 (SequenceNumber 2): attribute \"n\" is N 9223372036854775808, beyond 64 bits, "
                        "column \"n\" (INTEGER) takes N (an integer of 64 bits) or BOOL\n");
    assert_query(fx, "SELECT id, n FROM Counts", "c|-9223372036854775808");
}

static void test_names_with_quotes_spaces_and_keywords_are_quoted_as_identifiers(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'table': 'my \\'odd\\' table; DROP TABLE x', "
                   "'columns': {'select': 'TEXT', 'a \\'b\\' c': 'INTEGER', '\u00e9t\u00e9': 'JSON'}}");
    DELIVER_OK(fx, CH("INSERT", "1", "{'order':{'S':'x'}}",
                      "{'order':{'S':'x'},'select':{'S':'s'},'a \\'b\\' c':{'N':'2'},'\u00e9t\u00e9':{'BOOL':true}}", NULL));
    assert_query(fx, "SELECT \"order\", \"select\", \"a \"\"b\"\" c\", \"\xc3\xa9t\xc3\xa9\" FROM "
                     "\"my \"\"odd\"\" table; DROP TABLE x\"", "x|s|2|true");
    assert_query(fx, "SELECT count(*) FROM sqlite_master WHERE name = 'my \"odd\" table; DROP TABLE x_tombstones'", "1");
}

/* ---- log mode -------------------------------------------------------------------------- */

static void test_log_mode_writes_one_row_per_change_and_a_replay_is_a_no_op(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'mode': 'log', 'columns': {'total': 'REAL'}}");
    const change cs[] = {CH("INSERT", "1", KEY("a"), "{'id':{'S':'a'},'total':{'N':'0.1'}}", NULL),
                         CH("MODIFY", "2", KEY("a"), "{'id':{'S':'a'},'total':{'N':'2'}}", "{'id':{'S':'a'},'total':{'N':'0.1'}}"),
                         CHT("REMOVE", "3", KEY("a"), NULL, "{'id':{'S':'a'},'total':{'N':'2'}}")};
    ddb_status each[3];
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(deliver_to(fx, 0, cs, 3, each), DDB_OK);
        for (int k = 0; k < 3; k++) assert_int_equal(each[k], DDB_OK);
    }
    assert_query(fx, "SELECT id, event, seq, ttl_delete, old, new, at, total FROM Orders ORDER BY seq",
                 "a|INSERT|" PAD("1") "|0|NULL|{'id':{'S':'a'},'total':{'N':'0.1'}}|2024-05-01T12:20:00.250Z|0.1\n"
                 "a|MODIFY|" PAD("2") "|0|{'id':{'S':'a'},'total':{'N':'0.1'}}|{'id':{'S':'a'},'total':{'N':'2'}}|"
                 "2024-05-01T12:20:00.250Z|2.0\n"
                 "a|REMOVE|" PAD("3") "|1|{'id':{'S':'a'},'total':{'N':'2'}}|NULL|2024-05-01T12:20:00.250Z|2.0");
    assert_query(fx, "SELECT count(*) FROM sqlite_master WHERE name = 'Orders_tombstones'", "0");
}

/* ---- transactions ---------------------------------------------------------------------- */

static void test_a_record_failing_halfway_is_undone_to_its_savepoint_and_the_others_stay(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'key': {'id': 'S'}}");
    DELIVER_OK(fx, CH("INSERT", "1", KEY("boom"), "{'id':{'S':'boom'}}", NULL),
               CH("REMOVE", "2", KEY("boom"), NULL, NULL));
    /* the upsert of "boom" runs, then the tombstone's delete fails: the upsert must go too */
    exec_sql(fx, "CREATE TRIGGER boom BEFORE DELETE ON Orders_tombstones WHEN old.id = 'boom' "
                 "BEGIN SELECT RAISE(ABORT, 'no deleting boom'); END");
    change cs[] = {CH("INSERT", "3", KEY("a"), "{'id':{'S':'a'}}", NULL),
                   CH("INSERT", "4", KEY("boom"), "{'id':{'S':'boom'}}", NULL),
                   CH("INSERT", "5", KEY("c"), "{'id':{'S':'c'}}", NULL)};
    ddb_status each[3];
    assert_int_equal(deliver_to(fx, 0, cs, 3, each), DDB_OK);
    assert_int_equal(each[0], DDB_OK);
    assert_int_not_equal(each[1], DDB_OK);
    assert_int_equal(each[2], DDB_OK);
    assert_one_line_with(logged, "record 1 (SequenceNumber 4): no deleting boom");
    assert_query(fx, "SELECT id FROM Orders ORDER BY id", "a\nc");
    assert_query(fx, "SELECT id, seq FROM Orders_tombstones", "boom|" PAD("2"));
}

static void test_handlers_naming_one_file_share_one_transaction_and_never_wait_for_each_other(void **state)
{
    fixture *fx = *state;
    init_ok(fx, 0, "{'db': '@DB@', 'busy_timeout_ms': 0}");
    init_ok(fx, 1, "{'db': '@DB@', 'table': 'OrderLog', 'mode': 'log', 'busy_timeout_ms': 0}");
    ddb_batch hook = {.size = sizeof hook, .records = 1, .status = DDB_OK};
    change c = CH("INSERT", "1", KEY("a"), "{'id':{'S':'a'}}", NULL);
    const ddb_record *rec = records_of(fx, &c, 1);
    /* both open their batch before either ends it, as the router does with two handlers of a
     * route: with two connections the second BEGIN IMMEDIATE would find the file locked */
    assert_int_equal(so.begin(&hook, fx->state[0]), DDB_OK);
    assert_int_equal(so.begin(&hook, fx->state[1]), DDB_OK);
    assert_int_equal(so.on_record[DDB_INSERT](rec, fx->state[0]), DDB_OK);
    assert_int_equal(so.on_record[DDB_INSERT](rec, fx->state[1]), DDB_OK);
    assert_int_equal(so.end(&hook, fx->state[0]), DDB_OK);
    assert_int_equal(so.end(&hook, fx->state[1]), DDB_OK);
    assert_query(fx, "SELECT (SELECT count(*) FROM Orders), (SELECT count(*) FROM OrderLog)", "1|1");
    assert_string_equal(logged, "");
}

static void test_a_batch_that_cannot_take_the_files_lock_fails_and_the_next_one_applies(void **state)
{
    fixture *fx = *state;
    sqlite3 *other;
    ddb_batch hook = {.size = sizeof hook, .records = 1, .status = DDB_OK};
    init_ok(fx, 0, "{'db': '@DB@', 'key': {'id': 'S'}, 'busy_timeout_ms': 50}");
    assert_int_equal(sqlite3_open(fx->db, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(so.begin(&hook, fx->state[0]), DDB_OK);
    assert_one_line_with(logged, "cannot begin a transaction in \"");
    assert_non_null(strstr(logged, "database is locked"));
    assert_int_equal(so.end(&hook, fx->state[0]), DDB_OK); /* the router ends what it began */
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    DELIVER_OK(fx, CH("INSERT", "1", KEY("a"), "{'id':{'S':'a'}}", NULL));
    assert_query(fx, "SELECT id FROM Orders", "a");
}

/* ---- refusals -------------------------------------------------------------------------- */

static void assert_init_refused(fixture *fx, const char *route, const char *config, const char *part)
{
    char error[1024];
    ddb_status st = init_as(fx, 3, route, config, error, sizeof error);
    if (st == DDB_OK) print_error("accepted: %s\n", config);
    assert_int_not_equal(st, DDB_OK);
    assert_null(fx->state[3]);
    assert_one_line_with(error, part);
}

static void test_bad_config_is_refused_with_one_line_naming_the_key(void **state)
{
    fixture *fx = *state;
    static const char *const cases[][2] = {
        {"null", "config must be an object"},
        {"[]", "config must be an object"},
        {"{}", "config \"db\" must be the path"},
        {"{'db': 5}", "config \"db\""},
        {"{'db': ''}", "config \"db\""},
        {"{'db': '@DB@', 'tabel': 'x'}", "unknown key \"tabel\" (expected \"db\""},
        {"{'db': '@DB@', 'table': ''}", "config \"table\""},
        {"{'db': '@DB@', 'table': 7}", "config \"table\""},
        {"{'db': '@DB@', 'mode': 'mirrors'}", "config \"mode\": \"mirrors\" is neither \"mirror\" nor \"log\""},
        {"{'db': '@DB@', 'mode': null}", "config \"mode\": null"},
        {"{'db': '@DB@', 'columns': []}", "config \"columns\" must be an object"},
        {"{'db': '@DB@', 'columns': {'total': 'NUMBER'}}", "config \"columns\".\"total\": \"NUMBER\" is not a column type"},
        {"{'db': '@DB@', 'columns': {'total': 1}}", "config \"columns\".\"total\": 1 is not"},
        {"{'db': '@DB@', 'columns': {'item': 'TEXT'}}", "config \"columns\".\"item\": the sink writes a column of that name"},
        {"{'db': '@DB@', 'columns': {'SEQ': 'TEXT'}}", "config \"columns\".\"SEQ\""},
        {"{'db': '@DB@', 'mode': 'log', 'columns': {'at': 'TEXT'}}", "config \"columns\".\"at\""},
        {"{'db': '@DB@', 'columns': {'': 'TEXT'}}", "config \"columns\".\"\""},
        {"{'db': '@DB@', 'key': {}}", "config \"key\" must name one or two"},
        {"{'db': '@DB@', 'key': {'a': 'S', 'b': 'N', 'c': 'B'}}", "config \"key\" must name one or two"},
        {"{'db': '@DB@', 'key': {'a': 'BOOL'}}", "config \"key\".\"a\": \"BOOL\" is not a key type"},
        {"{'db': '@DB@', 'key': {'id': 'S'}, 'columns': {'id': 'TEXT'}}", "config \"columns\".\"id\": it is a key attribute"},
        {"{'db': '@DB@', 'key': {'item': 'S'}}", "config \"key\".\"item\""},
        {"{'db': '@DB@', 'tombstone_days': -1}", "config \"tombstone_days\" must be an integer from 0 to 36500"},
        {"{'db': '@DB@', 'tombstone_days': 1.5}", "config \"tombstone_days\""},
        {"{'db': '@DB@', 'tombstone_days': '2'}", "config \"tombstone_days\""},
        {"{'db': '@DB@', 'tombstone_days': 99999999999999999999}", "config \"tombstone_days\""},
        {"{'db': '@DB@', 'busy_timeout_ms': 600001}", "config \"busy_timeout_ms\""},
        {"{'db': '/nonexistent/dir/x.db'}", "cannot open database \"/nonexistent/dir/x.db\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) assert_init_refused(fx, "Orders", cases[i][0], cases[i][1]);
    assert_init_refused(fx, "*", "{'db': '@DB@'}", "config \"table\" is required on the \"*\" route");
}

static void remove_db(const fixture *fx)
{
    char path[400];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", fx->db, (const char *[]){"", "-wal", "-shm"}[i]);
        unlink(path);
    }
}

/* Random configs made of the keys and values that matter: each is accepted, or refused with
 * one line that names a config key or the database; none crashes (the sanitizers watch). */
static void test_random_configs_are_accepted_or_refused_in_one_line_never_crash(void **state)
{
    fixture *fx = *state;
    static const char *const keys[] = {"db", "table", "mode", "key", "columns", "tombstone_days",
                                       "busy_timeout_ms", "Db", "", "columns\\u0000"};
    static const char *const values[] = {
        "'@DB@'", "''", "null", "true", "0", "-1", "1.5", "99999999999999999999999", "[]", "{}",
        "'log'", "'mirror'", "'Orders'", "'sqlite_master'", "'a\\u0000b'", "{'id': 'S'}",
        "{'id': 'S', 'sk': 'B'}", "{'total': 'NUMERIC', 'n': 'json'}", "{'x': {}}", "[1, 2]",
        "{'seq': 'TEXT'}", "{'id': 'N', 'item': 'TEXT'}", "'%%s%%n'", "{'\\u00e9': 'BLOB'}", "7200"};
    unsigned seed = 7;
    char config[2048], error[1024], cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(fx->dir), 0); /* where a relative "db" lands */
    for (int round = 0; round < 1500; round++) {
        size_t len = (size_t)snprintf(config, sizeof config, "%s", "{'db': '@DB@'");
        int members = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 5;
        for (int m = 0; m < members; m++) {
            seed = seed * 1103515245u + 12345u;
            const char *k = keys[(seed >> 16) % (sizeof keys / sizeof *keys)];
            seed = seed * 1103515245u + 12345u;
            const char *v = values[(seed >> 16) % (sizeof values / sizeof *values)];
            len += (size_t)snprintf(config + len, sizeof config - len, ", '%s': %s", k, v);
        }
        snprintf(config + len, sizeof config - len, "}");
        ddb_status st = init_as(fx, 3, round % 7 ? "Orders" : "*", config, error, sizeof error);
        if (st == DDB_OK) {
            so.on_fini(fx->state[3]);
            fx->state[3] = NULL;
            continue;
        }
        bool named = strncmp(error, "config", 6) == 0 || strncmp(error, "table \"", 7) == 0 ||
                     strncmp(error, "cannot ", 7) == 0 || strncmp(error, "\"", 1) == 0;
        if (!named || strchr(error, '\n')) print_error("%s: %s\n", config, error);
        assert_true(named && !strchr(error, '\n'));
        remove_db(fx);
    }
    assert_int_equal(chdir(cwd), 0);
}

/* The schema as SQLite holds it, to show that a refusal changed nothing. */
static char *schema(const fixture *fx)
{
    return query(fx, "SELECT type, name, sql FROM sqlite_master ORDER BY name");
}

static void assert_layout_refused(fixture *fx, const char *ddl, const char *config, const char *part)
{
    remove_db(fx);
    exec_sql(fx, ddl);
    char *before = schema(fx);
    assert_init_refused(fx, "Orders", config, part);
    char *after = schema(fx);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_an_existing_table_of_another_layout_is_refused_and_left_as_it_was(void **state)
{
    fixture *fx = *state;
    static const char *const mirror = "CREATE TABLE Orders (id TEXT NOT NULL, item TEXT, seq TEXT NOT NULL, "
                                      "PRIMARY KEY (id)); CREATE TABLE Orders_tombstones (id TEXT NOT NULL, "
                                      "seq TEXT NOT NULL, removed_at INTEGER NOT NULL, PRIMARY KEY (id));";
    char ddl[1024];
    assert_layout_refused(fx, "CREATE TABLE Orders (id TEXT PRIMARY KEY, total INTEGER)", "{'db': '@DB@'}",
                          "is not what the sink writes in mode \"mirror\": it has a column \"total\" that the "
                          "sink does not write (hint: the sink never alters a table; give config \"table\" "
                          "another name, or drop it)");
    assert_layout_refused(fx, "CREATE TABLE Orders (id TEXT PRIMARY KEY, item TEXT)", "{'db': '@DB@'}",
                          "it has no column \"seq\"");
    assert_layout_refused(fx, "CREATE TABLE Orders (id TEXT PRIMARY KEY, item TEXT, seq INTEGER)", "{'db': '@DB@'}",
                          "column \"seq\" is not declared TEXT");
    assert_layout_refused(fx, "CREATE TABLE Orders (id TEXT, item TEXT, seq TEXT)", "{'db': '@DB@'}",
                          "its primary key is not its key columns");
    assert_layout_refused(fx, "CREATE TABLE Orders (id TEXT PRIMARY KEY, item TEXT, seq TEXT)", "{'db': '@DB@'}",
                          "has no tombstone table \"Orders_tombstones\" beside it");
    assert_layout_refused(fx, mirror, "{'db': '@DB@', 'columns': {'total': 'REAL'}}", "it has no column \"total\"");
    assert_layout_refused(fx, mirror, "{'db': '@DB@', 'key': {'orderId': 'S'}}", "it has a column \"id\" that the sink does not write");
    assert_layout_refused(fx, mirror, "{'db': '@DB@', 'key': {'id': 'B'}}", "column \"id\" is not declared BLOB");
    assert_layout_refused(fx, mirror, "{'db': '@DB@', 'mode': 'log'}", "in mode \"log\"");
    assert_layout_refused(fx, "CREATE TABLE Orders (id TEXT, event TEXT, seq TEXT, ttl_delete INTEGER, old TEXT, "
                              "new TEXT, at TEXT)", "{'db': '@DB@', 'mode': 'log'}",
                          "its column \"seq\" is not UNIQUE");
    assert_layout_refused(fx, "CREATE VIEW Orders AS SELECT 1", "{'db': '@DB@'}", "\"Orders\" in \"");
    snprintf(ddl, sizeof ddl, "%s CREATE TABLE Orders2_tombstones (x TEXT)", mirror);
    assert_layout_refused(fx, ddl, "{'db': '@DB@', 'table': 'Orders2'}", "has tombstones (\"Orders2_tombstones\") but no table");

    /* what the sink made itself it takes again, with or without config "key", and in any case */
    remove_db(fx);
    exec_sql(fx, mirror);
    exec_sql(fx, "CREATE INDEX by_item ON Orders (item)");
    init_ok(fx, 0, "{'db': '@DB@'}");
    init_ok(fx, 1, "{'db': '@DB@', 'key': {'id': 'S'}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_mirror_upserts_and_removes_with_the_item_as_exact_dynamodb_json),
        T(test_sequence_numbers_compare_as_numbers_not_as_text),
        T(test_a_tombstone_keeps_an_older_insert_replayed_later_from_resurrecting_the_item),
        T(test_tombstones_older_than_tombstone_days_are_pruned_at_a_batch),
        T(test_keys_only_streams_mirror_which_items_exist_with_item_null),
        T(test_old_image_streams_never_store_the_old_image_as_the_item),
        T(test_binary_and_number_keys_are_blob_and_exact_text),
        T(test_a_record_whose_keys_are_not_the_tables_fails_with_one_line),
        T(test_projected_columns_take_their_attribute_typed_and_null_when_absent),
        T(test_a_projected_attribute_of_the_wrong_type_fails_the_record_with_one_line_naming_it),
        T(test_names_with_quotes_spaces_and_keywords_are_quoted_as_identifiers),
        T(test_log_mode_writes_one_row_per_change_and_a_replay_is_a_no_op),
        T(test_a_record_failing_halfway_is_undone_to_its_savepoint_and_the_others_stay),
        T(test_handlers_naming_one_file_share_one_transaction_and_never_wait_for_each_other),
        T(test_a_batch_that_cannot_take_the_files_lock_fails_and_the_next_one_applies),
        T(test_bad_config_is_refused_with_one_line_naming_the_key),
        T(test_random_configs_are_accepted_or_refused_in_one_line_never_crash),
        T(test_an_existing_table_of_another_layout_is_refused_and_left_as_it_was),
#undef T
    };
    return cmocka_run_group_tests(tests, load_sqlite, unload_sqlite);
}
