/* test_event.c - `ddbhost event`, through the binary: the event has the shape Lambda
 * delivers (ARN, sequence numbers, SizeBytes, times, images by view type), `ddbhost
 * --invoke` accepts every variant, and every value comes back exactly through the echo
 * plugin. Refusals are one line that names the option, with nothing on stdout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define TRY_HELP "Try 'ddbhost --help'.\n"

static char event_tmp[1024];

/* Runs `ddbhost event ARGS...`. */
#define EVENT(r, ...) \
    assert_true(run_program((const char *const[]){DDB_HOST_BIN, "event", __VA_ARGS__, NULL}, NULL, (r)))

/* ---- helpers ---------------------------------------------------------------------------- */

/* Exit status 0 and an event on stdout: its parsed Records (owned: json_object_put). */
static json_object *event_records(run_output *r)
{
    json_object *root, *records;
    if (r->status != 0) print_error("exit status %d, stderr:\n%s", r->status, r->err);
    assert_int_equal(r->status, 0);
    assert_string_equal(r->err, "");
    root = json_tokener_parse(r->out);
    assert_non_null(root);
    assert_true(json_object_object_get_ex(root, "Records", &records));
    json_object_get(records);
    json_object_put(root);
    run_output_free(r);
    return records;
}

static json_object *event_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v)) print_error("no \"%s\" in %s\n", key, json_object_to_json_string(o));
    assert_non_null(v);
    return v;
}

static const char *event_str(json_object *o, const char *key) { return json_object_get_string(event_get(o, key)); }

static bool event_has(json_object *o, const char *key) { return json_object_object_get_ex(o, key, NULL); }

static bool event_all(const char *s, size_t len, int (*is)(int))
{
    if (strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++)
        if (!is((unsigned char)s[i])) return false;
    return true;
}

static int event_is_lower_hex(int c) { return isdigit(c) || (c >= 'a' && c <= 'f'); }

/* A refusal: this status, nothing on stdout, one stderr line that starts "ddbhost: error: "
 * and contains want, then the usage hint when the status is 2. */
static void event_refused(run_output *r, int status, const char *want)
{
    run_lines err;
    run_split_lines(r->err, r->err_len, &err);
    bool ok = r->status == status && r->out_len == 0 && err.count == (status == 2 ? 2u : 1u) &&
              strncmp(r->err, "ddbhost: error: ", 16) == 0 && strstr(err.line[0], want) &&
              (status != 2 || strcmp(err.line[1], "Try 'ddbhost --help'.") == 0);
    if (!ok)
        print_error("expected exit status %d, no stdout and one error line with \"%s\"; got %d\n"
                    "--- stdout ---\n%s--- stderr ---\n%s",
                    status, want, r->status, r->out, r->err);
    run_lines_free(&err);
    run_output_free(r);
    if (!ok) fail();
}

/* Writes r's stdout to a file and runs `ddbhost --invoke echo.so FILE`: the echo line of
 * record 0 from "Keys" on (the parts the user chose), the rest of stdout in *response. */
static char *event_through_echo(run_output *r, char **response)
{
    char path[1100], *keys, *nl;
    run_output h;
    assert_int_equal(r->status, 0);
    snprintf(path, sizeof path, "%s/event.json", event_tmp);
    assert_true(run_write_file(path, r->out));
    run_output_free(r);
    assert_true(run_program((const char *const[]){DDB_HOST_BIN, "--log-level", "error", "--invoke", DDB_ECHO,
                                                  path, NULL}, NULL, &h));
    if (h.status != 0 || h.err_len) print_error("ddbhost --invoke refused the event:\n%s", h.err);
    assert_int_equal(h.status, 0);
    assert_int_equal(h.err_len, 0);
    keys = strstr(h.out, "\"Keys\":");
    assert_non_null(keys);
    nl = strchr(keys, '\n');
    assert_non_null(nl);
    *response = strdup(nl + 1);
    char *line = strndup(keys, (size_t)(nl - keys));
    run_output_free(&h);
    return line;
}

static int event_setup(void **state)
{
    (void)state;
    return run_make_tmpdir(event_tmp, sizeof event_tmp, "ddbhost-event") ? 0 : -1;
}

static int event_teardown(void **state)
{
    (void)state;
    return run_remove_tree(event_tmp);
}

/* ---- the shape of the event ----------------------------------------------------------------- */

static void test_insert_has_the_fields_and_formats_of_a_real_stream_record(void **state)
{
    (void)state;
    run_output r;
    long long before = (long long)time(NULL);
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"orderId\": \"o-1\", \"total\": 12.50}");
    long long after = (long long)time(NULL);
    json_object *records = event_records(&r);
    assert_int_equal(json_object_array_length(records), 1);
    json_object *rec = json_object_array_get_idx(records, 0), *db = event_get(rec, "dynamodb");
    assert_true(event_all(event_str(rec, "eventID"), 32, event_is_lower_hex));
    assert_string_equal(event_str(rec, "eventName"), "INSERT");
    assert_string_equal(event_str(rec, "eventVersion"), "1.1");
    assert_string_equal(event_str(rec, "eventSource"), "aws:dynamodb");
    assert_string_equal(event_str(rec, "awsRegion"), "us-east-1");
    /* The stream label is an ISO 8601 time: the start of the day. */
    const char *arn = event_str(rec, "eventSourceARN"), *prefix = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/";
    assert_int_equal(strncmp(arn, prefix, strlen(prefix)), 0);
    const char *label = arn + strlen(prefix);
    int y, mo, d;
    char rest[32];
    assert_int_equal(sscanf(label, "%4d-%2d-%2dT%31s", &y, &mo, &d, rest), 4);
    assert_string_equal(rest, "00:00:00.000");
    assert_true(event_all(event_str(db, "SequenceNumber"), 21, isdigit));
    long long created = json_object_get_int64(event_get(db, "ApproximateCreationDateTime"));
    assert_true(created >= before && created <= after);
    assert_string_equal(event_str(db, "StreamViewType"), "NEW_AND_OLD_IMAGES");
    /* Keys: the first attribute. Size: orderId+o-1 twice, total and 12.50 (3 digits: 3). */
    assert_string_equal(json_object_to_json_string_ext(event_get(db, "Keys"), JSON_C_TO_STRING_PLAIN),
                        "{\"orderId\":{\"S\":\"o-1\"}}");
    assert_true(event_has(db, "NewImage"));
    assert_false(event_has(db, "OldImage"));
    assert_int_equal(json_object_get_int64(event_get(db, "SizeBytes")), 10 + 10 + 5 + 3);
    json_object_put(records);
}

/* FORMAT.md §3: which images a record carries, by view type and event name. */
static void test_images_follow_the_view_type_matrix(void **state)
{
    (void)state;
    static const char *const views[] = {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"};
    static const char *const names[] = {"insert", "modify", "remove"};
    /* new[view][name], old[view][name] */
    static const bool has_new[4][3] = {{0, 0, 0}, {1, 1, 0}, {0, 0, 0}, {1, 1, 0}};
    static const bool has_old[4][3] = {{0, 0, 0}, {0, 0, 0}, {0, 1, 1}, {0, 1, 1}};
    for (int v = 0; v < 4; v++) {
        for (int n = 0; n < 3; n++) {
            run_output r;
            const char *item_opt = n == 2 ? "--old" : "--new";
            if (n == 1) EVENT(&r, names[n], "--table", "Orders", "--view", views[v], "--new", "{\"id\": 1, \"v\": 2}",
                              "--old", "{\"id\": 1, \"v\": 1}");
            else EVENT(&r, names[n], "--table", "Orders", "--view", views[v], item_opt, "{\"id\": 1, \"v\": 2}");
            json_object *records = event_records(&r);
            json_object *db = event_get(json_object_array_get_idx(records, 0), "dynamodb");
            if (event_has(db, "NewImage") != has_new[v][n] || event_has(db, "OldImage") != has_old[v][n])
                print_error("%s with %s: NewImage %s, OldImage %s\n", names[n], views[v],
                            event_has(db, "NewImage") ? "present" : "absent", event_has(db, "OldImage") ? "present" : "absent");
            assert_true(event_has(db, "NewImage") == has_new[v][n]);
            assert_true(event_has(db, "OldImage") == has_old[v][n]);
            assert_string_equal(event_str(db, "StreamViewType"), views[v]);
            assert_true(event_has(db, "Keys"));
            json_object_put(records);
        }
    }
}

static void test_count_repeats_the_record_with_increasing_sequence_numbers(void **state)
{
    (void)state;
    run_output r;
    EVENT(&r, "remove", "--table", "Orders", "--old", "{\"id\": \"o-1\"}", "--count", "5", "--region", "eu-west-1");
    json_object *records = event_records(&r);
    assert_int_equal(json_object_array_length(records), 5);
    const char *prev_seq = "", *prev_id = "";
    for (size_t i = 0; i < 5; i++) {
        json_object *rec = json_object_array_get_idx(records, i);
        const char *seq = event_str(event_get(rec, "dynamodb"), "SequenceNumber"), *id = event_str(rec, "eventID");
        assert_int_equal(strlen(seq), 21);
        assert_true(strcmp(seq, prev_seq) > 0); /* same length: text order is number order */
        assert_string_not_equal(id, prev_id);
        assert_string_equal(event_str(rec, "awsRegion"), "eu-west-1");
        assert_non_null(strstr(event_str(rec, "eventSourceARN"), "arn:aws:dynamodb:eu-west-1:"));
        prev_seq = seq;
        prev_id = id;
    }
    json_object_put(records);
}

/* The real captures in tests/conformance/corpus/events/ankcorn-*: keys sk=b, pk=a and a
 * data attribute, with the SizeBytes DynamoDB gave them. */
static void test_size_bytes_matches_what_dynamodb_reported_for_the_same_items(void **state)
{
    (void)state;
    static const struct { const char *name, *view; long long size; } cases[] = {
        {"modify", "NEW_AND_OLD_IMAGES", 35}, {"insert", "NEW_AND_OLD_IMAGES", 20},
        {"remove", "NEW_AND_OLD_IMAGES", 21}, {"modify", "NEW_IMAGE", 21},
        {"modify", "OLD_IMAGE", 20},          {"modify", "KEYS_ONLY", 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_output r;
        const char *keys = "{\"sk\": \"b\", \"pk\": \"a\"}";
        const char *before = "{\"data\": \"test\", \"sk\": \"b\", \"pk\": \"a\"}";
        const char *after = "{\"data\": \"hello\", \"sk\": \"b\", \"pk\": \"a\"}";
        if (strcmp(cases[i].name, "insert") == 0)
            EVENT(&r, "insert", "--table", "Test", "--view", cases[i].view, "--keys", keys, "--new", before);
        else if (strcmp(cases[i].name, "remove") == 0)
            EVENT(&r, "remove", "--table", "Test", "--view", cases[i].view, "--keys", keys, "--old", after);
        else EVENT(&r, "modify", "--table", "Test", "--view", cases[i].view, "--keys", keys, "--new", after, "--old", before);
        json_object *records = event_records(&r);
        json_object *db = event_get(json_object_array_get_idx(records, 0), "dynamodb");
        assert_int_equal(json_object_get_int64(event_get(db, "SizeBytes")), cases[i].size);
        json_object_put(records);
    }
}

/* ---- values, through ddbhost --invoke and echo ------------------------------------------- */

/* Every plain JSON kind and every $-tagged type, with the text echo must print back. */
#define ITEM                                                                                              \
    "{\"id\": \"r-1\", \"s\": \"Z\\u00fcrich \\\"q\\\" \\\\ tab\\t nl\\n ctl\\u0001 \xF0\x9F\x98\x80\", " \
    "\"n\": -12.50E3, \"ledger\": 1234567890123456789.0123456789012345678, \"zero\": -0, "               \
    "\"t\": true, \"f\": false, \"nul\": null, \"m\": {\"a\": {\"b\": [1, \"x\", []]}, \"e\": {}}, "     \
    "\"l\": [], \"ss\": {\"$SS\": [\"b\", \"a\"]}, \"ns\": {\"$NS\": [3, \"17.0\"]}, "                   \
    "\"bs\": {\"$BS\": [\"AQID\", \"/w==\"]}, \"b\": {\"$B\": \"3q2+7w==\"}}"
#define ITEM_ECHO                                                                                          \
    "{\"id\":{\"S\":\"r-1\"},\"s\":{\"S\":\"Z\xC3\xBCrich \\\"q\\\" \\\\ tab\\t nl\\n ctl\\u0001 "          \
    "\xF0\x9F\x98\x80\"},\"n\":{\"N\":\"-12.50E3\"},\"ledger\":{\"N\":\"1234567890123456789."              \
    "0123456789012345678\"},\"zero\":{\"N\":\"-0\"},\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false},"          \
    "\"nul\":{\"NULL\":true},\"m\":{\"M\":{\"a\":{\"M\":{\"b\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"},"        \
    "{\"L\":[]}]}}},\"e\":{\"M\":{}}}},\"l\":{\"L\":[]},\"ss\":{\"SS\":[\"b\",\"a\"]},\"ns\":{\"NS\":"      \
    "[\"3\",\"17.0\"]},\"bs\":{\"BS\":[\"AQID\",\"/w==\"]},\"b\":{\"B\":\"3q2+7w==\"}}"
#define OTHER "{\"id\": \"r-1\", \"n\": 1}"
#define OTHER_ECHO "{\"id\":{\"S\":\"r-1\"},\"n\":{\"N\":\"1\"}}"
#define KEYS_ECHO "\"Keys\":{\"id\":{\"S\":\"r-1\"}}"

static void test_every_variant_is_accepted_by_invoke_and_values_come_back_exactly(void **state)
{
    (void)state;
    static const char *const views[] = {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"};
    static const char *const expected[3][4] = {
        /* insert --new ITEM */
        {KEYS_ECHO "}", KEYS_ECHO ",\"NewImage\":" ITEM_ECHO "}", KEYS_ECHO "}", KEYS_ECHO ",\"NewImage\":" ITEM_ECHO "}"},
        /* modify --new ITEM --old OTHER */
        {KEYS_ECHO "}", KEYS_ECHO ",\"NewImage\":" ITEM_ECHO "}", KEYS_ECHO ",\"OldImage\":" OTHER_ECHO "}",
         KEYS_ECHO ",\"NewImage\":" ITEM_ECHO ",\"OldImage\":" OTHER_ECHO "}"},
        /* remove --old ITEM */
        {KEYS_ECHO "}", KEYS_ECHO "}", KEYS_ECHO ",\"OldImage\":" ITEM_ECHO "}", KEYS_ECHO ",\"OldImage\":" ITEM_ECHO "}"},
    };
    for (int n = 0; n < 3; n++) {
        for (int v = 0; v < 4; v++) {
            run_output r;
            char *response;
            if (n == 0) EVENT(&r, "insert", "--table", "Orders", "--view", views[v], "--new", ITEM);
            else if (n == 1) EVENT(&r, "modify", "--table", "Orders", "--view", views[v], "--new", ITEM, "--old", OTHER);
            else EVENT(&r, "remove", "--table", "Orders", "--view", views[v], "--old", ITEM);
            char *line = event_through_echo(&r, &response);
            if (strcmp(line, expected[n][v]) != 0)
                print_error("event %d, view %s:\n--- expected ---\n%s\n--- got ---\n%s\n", n, views[v], expected[n][v], line);
            assert_string_equal(line, expected[n][v]);
            assert_string_equal(response, "{\"batchItemFailures\":[]}\n");
            free(line);
            free(response);
        }
    }
}

static void test_keys_can_be_given_and_may_be_numbers_or_binary(void **state)
{
    (void)state;
    run_output r;
    char *response;
    EVENT(&r, "insert", "--table", "Orders", "--keys", "{\"pk\": {\"$B\": \"AQI=\"}, \"sk\": 7}", "--view", "KEYS_ONLY",
          "--new", "{\"pk\": {\"$B\": \"AQI=\"}, \"sk\": 7, \"v\": 1}");
    char *line = event_through_echo(&r, &response);
    assert_string_equal(line, "\"Keys\":{\"pk\":{\"B\":\"AQI=\"},\"sk\":{\"N\":\"7\"}}}");
    free(line);
    free(response);
}

static void test_an_item_can_come_from_a_file_with_at(void **state)
{
    (void)state;
    char path[1100], arg[1110], *response;
    run_output r;
    snprintf(path, sizeof path, "%s/item.json", event_tmp);
    snprintf(arg, sizeof arg, "@%s", path);
    assert_true(run_write_file(path, "\xEF\xBB\xBF{\n  \"id\": \"f-1\",\n  \"price\": 19.990\n}\n"));
    EVENT(&r, "insert", "--table", "Orders", "--new", arg);
    char *line = event_through_echo(&r, &response);
    assert_string_equal(line, "\"Keys\":{\"id\":{\"S\":\"f-1\"}},\"NewImage\":{\"id\":{\"S\":\"f-1\"},\"price\":{\"N\":\"19.990\"}}}");
    free(line);
    free(response);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void test_a_refused_option_is_one_line_that_names_it_and_stdout_stays_empty(void **state)
{
    (void)state;
    run_output r;
    EVENT(&r, "insert", "--new", "{\"id\": 1}");
    event_refused(&r, 2, "--table is required");
    EVENT(&r, "insert", "--table", "ab", "--new", "{\"id\": 1}");
    event_refused(&r, 2, "--table \"ab\": a table name is 3 to 255 characters");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1,}");
    event_refused(&r, 2, "--new: invalid JSON at byte 9: expected a member name in double quotes");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 01}");
    event_refused(&r, 2, "--new: invalid JSON at byte 8: expected ',' or '}'");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1, \"id\": 2}");
    event_refused(&r, 2, "--new: invalid JSON at byte 10: member \"id\" appears twice");
    EVENT(&r, "insert", "--table", "Orders", "--new", "[1]");
    event_refused(&r, 2, "--new: expected a JSON object of attributes");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1, \"a\": [{\"x\": 1e400}]}");
    event_refused(&r, 2, "--new: a[0].x: 1e400 is outside DynamoDB's number range");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 123456789012345678901234567890123456789}");
    event_refused(&r, 2, "--new: id: 123456789012345678901234567890123456789 has more than the 38 significant digits");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1, \"s\": {\"$SS\": []}}");
    event_refused(&r, 2, "--new: s: {\"$SS\": ...} takes a non-empty array");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1, \"s\": {\"$NS\": [1, 1]}}");
    event_refused(&r, 2, "--new: s[1]: appears twice in the set");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1, \"b\": {\"$B\": \"not base64\"}}");
    event_refused(&r, 2, "--new: b: {\"$B\": ...} takes a base64 string");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"tags\": [\"a\"]}");
    event_refused(&r, 2, "--keys not given, and the first attribute of --new, \"tags\", cannot be the key");
    EVENT(&r, "insert", "--table", "Orders", "--keys", "{\"a\": 1, \"b\": 2, \"c\": 3}", "--new", "{\"a\": 1}");
    event_refused(&r, 2, "--keys: a table has one or two key attributes");
    EVENT(&r, "insert", "--table", "Orders", "--old", "{\"id\": 1}");
    event_refused(&r, 2, "--old does not go with insert");
    EVENT(&r, "remove", "--table", "Orders", "--new", "{\"id\": 1}");
    event_refused(&r, 2, "--new does not go with remove");
    EVENT(&r, "modify", "--table", "Orders");
    event_refused(&r, 2, "modify needs the item: give --new and --old");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1}", "--view", "new");
    event_refused(&r, 2, "--view \"new\": expected KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1}", "--count", "10001");
    event_refused(&r, 2, "--count takes a number of records from 1 to 10000 (0 with --final), not \"10001\"");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1}", "--region", "EU");
    event_refused(&r, 2, "--region \"EU\"");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": 1}", "--new", "{\"id\": 2}");
    event_refused(&r, 2, "option --new is given twice");
    EVENT(&r, "insert", "--table", "Orders", "--nwe", "{\"id\": 1}");
    event_refused(&r, 2, "unknown option \"--nwe\"");
    EVENT(&r, "insert", "--table");
    event_refused(&r, 2, "option --table needs an argument");
    EVENT(&r, "upsert", "--table", "Orders");
    event_refused(&r, 2, "unknown event \"upsert\" (expected insert, modify or remove)");
    EVENT(&r, "--table", "Orders");
    event_refused(&r, 2, "usage: ddbhost event insert|modify|remove --table TABLE");
    EVENT(&r, "insert", "--table", "Orders", "--new", "@/nonexistent/item.json");
    event_refused(&r, 1, "--new: cannot read \"/nonexistent/item.json\": No such file or directory");
}

static void test_help_describes_the_command_on_stdout(void **state)
{
    (void)state;
    run_output r;
    EVENT(&r, "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Usage: ddbhost event insert|modify|remove --table TABLE"));
    assert_non_null(strstr(r.out, "{\"$SS\": [...]}"));
    assert_string_equal(r.err, "");
    run_output_free(&r);
}

/* ---- tumbling windows, through ddbhost --invoke and window_sum ----------------------------- */

/* Writes r's stdout to a file and runs `ddbhost --invoke window_sum.so FILE`: its stdout
 * (the plugin's begin and end lines, then the response). */
static char *event_through_window_sum(run_output *r)
{
    char path[1100], *out;
    run_output h;
    if (r->status != 0) print_error("ddbhost event failed:\n%s", r->err);
    assert_int_equal(r->status, 0);
    snprintf(path, sizeof path, "%s/window.json", event_tmp);
    assert_true(run_write_file(path, r->out));
    run_output_free(r);
    assert_true(run_program((const char *const[]){DDB_HOST_BIN, "--log-level", "error", "--invoke",
                                                  DDB_WINDOW_SUM, path, NULL}, NULL, &h));
    if (h.status != 0 || h.err_len) print_error("ddbhost --invoke refused the event:\n%s", h.err);
    assert_int_equal(h.status, 0);
    out = strdup(h.out);
    run_output_free(&h);
    return out;
}

/* The window's start and end in ms, from window_sum's "(START..END ms)". */
static void event_window_ms(const char *out, long long *start, long long *end)
{
    const char *at = strstr(out, " ms), ");
    assert_non_null(at);
    while (at > out && at[-1] != '(') at--;
    assert_int_equal(sscanf(at, "%lld..%lld", start, end), 2);
}

static void test_window_event_carries_window_state_and_shard_to_the_plugin(void **state)
{
    (void)state;
    run_output r;
    long long start, end;
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\", \"amount\": 10}", "--count", "2",
          "--window", "120", "--state", "{\"window-sum\": {\"sum\":\"5\",\"records\":\"1\"}}",
          "--shard", "shardId-00000001607497200000-0123abcd");
    char *out = event_through_window_sum(&r);
    if (!strstr(out, "window-sum begin 2 records: state {\"sum\":\"5\",\"records\":\"1\"}, window ") ||
        !strstr(out, "shard shardId-00000001607497200000-0123abcd, final no, early no\n") ||
        !strstr(out, "window-sum end: {\"sum\":\"25\",\"records\":\"3\"}"))
        print_error("unexpected window_sum output:\n%s", out);
    assert_non_null(strstr(out, "window-sum end: {\"sum\":\"25\",\"records\":\"3\"}"));
    assert_non_null(strstr(out, "final no, early no\n"));
    /* The window is the 120 s one holding the records' time, which is now. */
    event_window_ms(out, &start, &end);
    assert_int_equal(start % 120000, 0);
    assert_int_equal(end - start, 120000);
    long long now_ms = (long long)time(NULL) * 1000;
    assert_true(start <= now_ms && now_ms < end + 120000);
    free(out);
}

static void test_final_and_terminated_early_reach_the_plugin_with_an_empty_state_by_default(void **state)
{
    (void)state;
    run_output r;
    long long start, end;
    EVENT(&r, "modify", "--table", "Orders", "--new", "{\"id\": \"o1\", \"amount\": 7}",
          "--old", "{\"id\": \"o1\", \"amount\": 1}", "--window", "1", "--final", "--terminated-early");
    char *out = event_through_window_sum(&r);
    if (!strstr(out, "window-sum begin 1 records: state {}, window ") || !strstr(out, "final yes, early yes\n") ||
        !strstr(out, ", shard shardId-"))
        print_error("unexpected window_sum output:\n%s", out);
    assert_non_null(strstr(out, "window-sum begin 1 records: state {}, window "));
    assert_non_null(strstr(out, ", shard shardId-"));
    assert_non_null(strstr(out, "final yes, early yes\n"));
    event_window_ms(out, &start, &end);
    assert_int_equal(end - start, 1000);
    free(out);
}

static void test_a_final_invoke_with_count_0_has_no_records_and_needs_no_item(void **state)
{
    (void)state;
    run_output r;
    EVENT(&r, "insert", "--table", "Orders", "--window", "60", "--final", "--count", "0", "--state",
          "{\"window-sum\": {\"sum\":\"25\",\"records\":\"3\"}}");
    assert_non_null(strstr(r.out, "\"Records\": [\n  ],\n  \"window\": "));
    char *out = event_through_window_sum(&r);
    if (!strstr(out, "window-sum begin 0 records: state {\"sum\":\"25\",\"records\":\"3\"}, window ") ||
        !strstr(out, "final yes, early no\n"))
        print_error("unexpected window_sum output:\n%s", out);
    assert_non_null(strstr(out, "window-sum begin 0 records: state {\"sum\":\"25\",\"records\":\"3\"}, window "));
    assert_non_null(strstr(out, "final yes, early no\n"));
    free(out);
}

static void test_window_options_are_refused_with_one_line_naming_the_problem(void **state)
{
    (void)state;
    run_output r;
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--window", "0");
    event_refused(&r, 2, "--window takes a number of seconds from 1 to 900, not \"0\"");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--window", "901");
    event_refused(&r, 2, "--window takes a number of seconds from 1 to 900, not \"901\"");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--final");
    event_refused(&r, 2, "--final goes with --window");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--state", "{}");
    event_refused(&r, 2, "--state goes with --window");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--window", "60", "--state", "[1]");
    event_refused(&r, 2, "--state: the window state must be a JSON object");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--window", "60", "--state", "{\"a\":");
    event_refused(&r, 2, "--state: invalid JSON at byte 5");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--window", "60", "--shard", "a b");
    event_refused(&r, 2, "--shard \"a b\": a shard id is");
    EVENT(&r, "insert", "--table", "Orders", "--new", "{\"id\": \"o1\"}", "--window", "60", "--count", "0");
    event_refused(&r, 2, "--count 0 goes with --final: only a window's final invoke has no records");
    EVENT(&r, "insert", "--table", "Orders", "--window", "60", "--final", "--count", "-1");
    event_refused(&r, 2, "--count takes a number of records from 1 to 10000 (0 with --final), not \"-1\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_has_the_fields_and_formats_of_a_real_stream_record),
        cmocka_unit_test(test_images_follow_the_view_type_matrix),
        cmocka_unit_test(test_count_repeats_the_record_with_increasing_sequence_numbers),
        cmocka_unit_test(test_size_bytes_matches_what_dynamodb_reported_for_the_same_items),
        cmocka_unit_test(test_every_variant_is_accepted_by_invoke_and_values_come_back_exactly),
        cmocka_unit_test(test_keys_can_be_given_and_may_be_numbers_or_binary),
        cmocka_unit_test(test_an_item_can_come_from_a_file_with_at),
        cmocka_unit_test(test_a_refused_option_is_one_line_that_names_it_and_stdout_stays_empty),
        cmocka_unit_test(test_help_describes_the_command_on_stdout),
        cmocka_unit_test(test_window_event_carries_window_state_and_shard_to_the_plugin),
        cmocka_unit_test(test_final_and_terminated_early_reach_the_plugin_with_an_empty_state_by_default),
        cmocka_unit_test(test_a_final_invoke_with_count_0_has_no_records_and_needs_no_item),
        cmocka_unit_test(test_window_options_are_refused_with_one_line_naming_the_problem),
    };
    return cmocka_run_group_tests(tests, event_setup, event_teardown);
}
