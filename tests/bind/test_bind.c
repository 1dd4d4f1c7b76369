/* test_bind.c - bindings end to end, through the real ddbhost binary: a plain library
 * (bindtest.c, no ddbhost header) bound by manifests and driven by `--invoke` over the
 * events in events/. The library appends one line per call, saying exactly what it received,
 * to $BINDTEST_OUT; each test asserts those lines, the response on stdout and every line on
 * stderr, which is what a user sees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

#define EVENTS DDB_SOURCE_DIR "/tests/bind/events"
#define ORDERS EVENTS "/orders.json" /* Orders: INSERT 0, MODIFY 1, REMOVE 2, rich images */
#define VALUES EVENTS "/values.json" /* Orders: 12 INSERTs, NewImage.v of every kind */
#define CRASH EVENTS "/crash.json"   /* Orders: 3 INSERTs, ids a, crash, b */
#define ECHO DDB_BINARY_DIR "/plugins/echo.so"

#define SEQ0 "400001718064483704202" /* the SequenceNumbers of orders.json */
#define SEQ1 "400001718064484704203"
#define SEQ2 "400001718064485704204"
#define NO_FAILURES "{\"batchItemFailures\":[]}\n"
#define WARN "ddbhost: warning: "
#define LIB "\"libbindtest.so\""

static char tmp[1024];   /* a fresh directory for this run's manifests and call logs */
static char calls[1100]; /* $BINDTEST_OUT: where the library writes what it received */

/* ---- helpers ---------------------------------------------------------------------------- */

/* Writes a manifest into the run's directory and returns its path (valid until the next
 * call). In text, ' stands for " and @LIB@ for the test library's path. */
static const char *manifest(const char *text)
{
    static char path[1100];
    static int n;
    char body[8192];
    size_t k = 0;
    for (const char *t = text; *t && k + 512 < sizeof body; t++) {
        if (strncmp(t, "@LIB@", 5) == 0) {
            k += (size_t)snprintf(body + k, sizeof body - k, "%s", DDB_BINDTEST);
            t += 4;
        } else {
            body[k++] = *t == '\'' ? '"' : *t;
        }
    }
    body[k] = '\0';
    snprintf(path, sizeof path, "%s/m%d.json", tmp, n++);
    assert_true(run_write_file(path, body));
    return path;
}

/* A manifest binding Orders' on_insert to take_TYPE(NewImage.v:TYPE), failures continuing. */
static const char *one_value(const char *type)
{
    char text[512];
    snprintf(text, sizeof text, "{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': "
             "{'call': 'take_%s', 'args': ['NewImage.v:%s'], 'returns': 'int'}}}}, "
             "'on_failure': 'continue'}", type, type);
    return manifest(text);
}

/* Runs ddbhost with these arguments, the library's call log starting empty. */
#define HOST(r, ...) host((r), (const char *const[]){DDB_HOST_BIN, __VA_ARGS__, NULL})

static void host(run_output *r, const char *const argv[])
{
    unlink(calls);
    assert_true(run_program(argv, NULL, r));
}

/* Exactly this exit status, stdout, stderr and calls (what the library received). */
static void expect(run_output *r, int status, const char *out, const char *err, const char *want)
{
    size_t len = 0;
    char *got = run_read_file(calls, &len);
    const char *seen = got ? got : "";
    bool ok = r->status == status && !strcmp(r->out, out) && !strcmp(r->err, err) &&
              !strcmp(seen, want);
    if (!ok)
        print_error("expected exit status %d, got %d\n--- expected stdout ---\n%s--- got stdout "
                    "---\n%s--- expected stderr ---\n%s--- got stderr ---\n%s--- expected calls "
                    "---\n%s--- got calls ---\n%s",
                    status, r->status, out, r->out, err, r->err, want, seen);
    free(got);
    run_output_free(r);
    if (!ok) fail();
}

/* A refusal at load: exit status 1, nothing on stdout, nothing called, and this one line. */
static void expect_refused(const char *m, const char *line)
{
    char err[2048];
    run_output r;
    snprintf(err, sizeof err, "ddbhost: error: manifest \"%s\": %s\n", m, line);
    HOST(&r, "check", m);
    expect(&r, 1, "", err, "");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 1, "", err, "");
}

/* One record of values.json that take_TYPE fails: its index, why (after the argument), and
 * the status the router reports. */
typedef struct value_failure {
    int record;
    const char *why;
    const char *status;
} value_failure;

/* values.json through take_TYPE(NewImage.v:TYPE): these calls, these records failed. */
static void expect_values(const char *type, const char *want_calls, const value_failure *f,
                          size_t n)
{
    char out[1024] = "{\"batchItemFailures\":[", err[8192] = "";
    size_t o = strlen(out), e = 0;
    run_output r;
    for (size_t i = 0; i < n; i++) {
        int seq = 2000 + f[i].record;
        o += (size_t)snprintf(out + o, sizeof out - o, "%s{\"itemIdentifier\":\"%d\"}",
                              i ? "," : "", seq);
        e += (size_t)snprintf(err + e, sizeof err - e,
                              WARN "record %d (table Orders, SequenceNumber %d): take_%s in " LIB
                              " not called: args[0] \"NewImage.v:%s\": %s\n" WARN "record %d "
                              "(table Orders, SequenceNumber %d) failed in plugin " LIB ": %s\n",
                              f[i].record, seq, type, type, f[i].why, f[i].record, seq,
                              f[i].status);
    }
    snprintf(out + o, sizeof out - o, "]}\n");
    snprintf(err + e, sizeof err - e,
             "ddbhost: 12 records: 12 delivered, %zu failed, 0 skipped\n", n);
    HOST(&r, "--manifest", one_value(type), "--invoke", VALUES);
    expect(&r, 0, out, err, want_calls);
}

#define MISSING(hint) "NewImage.v is missing (hint: a trailing \"?\" passes " hint " instead)"
#define IS_NULL(hint) "NewImage.v is NULL (hint: a trailing \"?\" passes " hint " instead)"
#define NOT_FOUND "not found"
#define WRONG_TYPE "wrong attribute type"
#define RANGE "number out of range"
#define INEXACT "number not exactly representable"

static int setup(void **state)
{
    (void)state;
    if (!run_make_tmpdir(tmp, sizeof tmp, "ddbhost-bind")) return -1;
    snprintf(calls, sizeof calls, "%s/calls.txt", tmp);
    return setenv("BINDTEST_OUT", calls, 1);
}

static int teardown(void **state)
{
    (void)state;
    return run_remove_tree(tmp);
}

/* ---- what a binding passes ---------------------------------------------------------------- */

static void test_check_lists_each_binding_with_its_function_and_types(void **state)
{
    run_output r;
    (void)state;
    const char *m = manifest(
        "{'tables': {'Orders': [{'plugin': '" ECHO "'}, {'library': '@LIB@', 'bind': "
        "{'on_insert': {'call': 'billing_record', 'args': ['NewImage.customer:string', "
        "'NewImage.total:int64'], 'returns': 'int'}, 'on_remove': {'call': 'take_facts', 'args': "
        "['table:string', 'eventName:string', 'SequenceNumber:bytes', 'eventID:string?', "
        "'record'], 'returns': 'bool'}}}]}}");
    HOST(&r, "check", m);
    expect(&r, 0,
           "Orders: echo 1.0.0 (" ECHO ") on INSERT, MODIFY, REMOVE\n"
           "Orders: bind libbindtest.so on INSERT -> billing_record(string, int64) returns int\n"
           "Orders: bind libbindtest.so on REMOVE -> take_facts(string, string, bytes, string?, "
           "record) returns bool\n"
           "ok: 1 route, 2 handlers\n",
           "", "");
}

static void test_every_argument_type_reaches_the_function_exactly(void **state)
{
    run_output r;
    (void)state;
    /* Ten C arguments (bytes is two), so some go on the stack, a double among them. */
    const char *m = manifest(
        "{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': {'call': "
        "'take_everything', 'args': ['NewImage.customer:string', 'NewImage.blob:bytes', "
        "'NewImage.small:int32', 'NewImage.total:int64', 'NewImage.serial:uint64', "
        "'NewImage.price:double', 'NewImage.paid:bool', 'NewImage.sizes:json', "
        "'NewImage.price:string'], 'returns': 'int'}}}}}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 0, NO_FAILURES, "ddbhost: 3 records: 1 delivered, 0 failed, 2 skipped\n",
           /* 19.99 has no exact double: the nearest one is what the function gets. */
           "take_everything(\"Zo\xc3\xab \"Z\" O'Neil\", 00 01 02 ff, 4, -2147483648, 1999, "
           "18446744073709551615, 19.989999999999998, true, [1,2.5], \"19.99\")\n");
}

static void test_nested_paths_list_indexes_and_quoted_names_find_their_attribute(void **state)
{
    run_output r;
    (void)state;
    const char *m = manifest(
        "{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': {'call': "
        "'take_strings', 'args': ['NewImage.address.city:string', 'NewImage.items[2].sku:string', "
        "'NewImage.address[\\'zip.code\\']:string', 'NewImage.tags[1]:string'], "
        "'returns': 'int'}}}}}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 0, NO_FAILURES, "ddbhost: 3 records: 1 delivered, 0 failed, 2 skipped\n",
           "take_strings(\"Lyon\", \"C-3\", \"69001\", \"express\")\n");
}

static void test_json_arguments_are_plain_json_keeping_each_numbers_text(void **state)
{
    run_output r;
    (void)state;
    const char *m = manifest(
        "{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': {'call': 'take_jsons', "
        "'args': ['image:NewImage', 'NewImage.items[2]:json', 'Keys:json'], 'returns': 'int'}}}}}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    /* Members in event order; B and BS as base64; sets as arrays; 007.50 respelled 7.50. */
    expect(&r, 0, NO_FAILURES, "ddbhost: 3 records: 1 delivered, 0 failed, 2 skipped\n",
           "take_jsons({\"orderId\":\"o-1\",\"customer\":\"Zo\xc3\xab \\\"Z\\\" O'Neil\","
           "\"total\":1999,\"price\":19.99,\"small\":-2147483648,\"serial\":18446744073709551615,"
           "\"ratio\":-1.5E-3,\"blob\":\"AAEC/w==\",\"paid\":true,\"note\":null,\"address\":"
           "{\"city\":\"Lyon\",\"zip.code\":\"69001\",\"geo\":{\"lat\":45.76}},\"items\":"
           "[{\"sku\":\"A-1\",\"n\":1},{\"sku\":\"B-2\",\"n\":2},{\"sku\":\"C-3\",\"n\":7.50}],"
           "\"tags\":[\"gift\",\"express\"],\"sizes\":[1,2.5],\"bins\":[\"AQ==\"],"
           "\"line\\nbreak\":\"tab\\there\"}, {\"sku\":\"C-3\",\"n\":7.50}, {\"orderId\":\"o-1\"})\n");
}

static void test_record_facts_and_the_record_itself_are_passed(void **state)
{
    run_output r;
    (void)state;
    const char *binding = "{'call': 'take_facts', 'args': ['table:string', 'eventName:string', "
                          "'SequenceNumber:string', 'eventID:string', 'record'], 'returns': "
                          "'int'}";
    char text[1024];
    snprintf(text, sizeof text, "{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': "
             "%s, 'on_modify': %s, 'on_remove': %s}}}}", binding, binding, binding);
    HOST(&r, "--manifest", manifest(text), "--invoke", ORDERS);
    expect(&r, 0, NO_FAILURES, "ddbhost: 3 records: 3 delivered, 0 failed, 0 skipped\n",
           "take_facts(\"Orders\", \"INSERT\", \"" SEQ0 "\", \"b1000\", record 0)\n"
           "take_facts(\"Orders\", \"MODIFY\", \"" SEQ1 "\", \"b1001\", record 1)\n"
           "take_facts(\"Orders\", \"REMOVE\", \"" SEQ2 "\", \"b1002\", record 2)\n");
}

static void test_optional_arguments_pass_null_or_zero_when_missing_or_null(void **state)
{
    run_output r;
    (void)state;
    /* note is NULL, nothing is absent, and an INSERT has no OldImage. */
    const char *m = manifest(
        "{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': {'call': "
        "'take_everything', 'args': ['NewImage.note:string?', 'NewImage.nothing:bytes?', "
        "'OldImage.total:int32?', 'NewImage.nothing.deeper:int64?', 'NewImage.items[9]:uint64?', "
        "'NewImage.note:double?', 'OldImage.paid:bool?', 'image:OldImage?', "
        "'NewImage.customer:string?'], 'returns': 'int'}}}}}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 0, NO_FAILURES, "ddbhost: 3 records: 1 delivered, 0 failed, 2 skipped\n",
           "take_everything(NULL, NULL, 0, 0, 0, 0, 0, false, NULL, \"Zo\xc3\xab \"Z\" O'Neil\")\n");
}

static void test_each_event_calls_its_own_function(void **state)
{
    run_output r;
    (void)state;
    const char *m = manifest(
        "{'tables': {'Orders': {'library': '@LIB@', 'bind': {"
        "'on_remove': {'call': 'on_remove_fn', 'args': ['Keys.orderId:string'], 'returns': 'int'}, "
        "'on_insert': {'call': 'on_insert_fn', 'args': ['NewImage.orderId:string'], 'returns': "
        "'int'}, 'on_modify': {'call': 'on_modify_fn', 'args': ['Keys.orderId:string', "
        "'OldImage.status:string', 'NewImage.status:string'], 'returns': 'int'}}}}}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 0, NO_FAILURES, "ddbhost: 3 records: 3 delivered, 0 failed, 0 skipped\n",
           "on_insert_fn(o-1)\non_modify_fn(o-1, NEW -> PAID)\non_remove_fn(o-1)\n");
}

static void test_a_binding_and_a_plugin_share_a_table_in_manifest_order(void **state)
{
    run_output r;
    (void)state;
    const char *m = manifest(
        "{'tables': {'Orders': [{'library': '@LIB@', 'events': ['INSERT'], 'bind': "
        "{'on_insert': {'call': 'billing_record', 'args': ['NewImage.customer:string', "
        "'NewImage.total:int64'], 'returns': 'int'}}}, {'plugin': '" ECHO "', 'events': "
        "['REMOVE']}]}}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 0,
           "{\"eventName\":\"REMOVE\",\"eventID\":\"b1002\",\"table\":\"Orders\","
           "\"SequenceNumber\":\"" SEQ2 "\",\"Keys\":{\"orderId\":{\"S\":\"o-1\"}},\"OldImage\":"
           "{\"orderId\":{\"S\":\"o-1\"},\"status\":{\"S\":\"PAID\"},\"total\":{\"N\":\"2500\"}}}\n"
           NO_FAILURES,
           "ddbhost: 3 records: 2 delivered, 0 failed, 1 skipped\n",
           "billing_record(Zo\xc3\xab \"Z\" O'Neil, 1999)\n");
}

/* ---- what success is ---------------------------------------------------------------------- */

static void test_the_return_type_says_which_values_fail_the_record(void **state)
{
    run_output r;
    (void)state;
    /* int: 0 is success (the MODIFY returns 2500); bool: true is success; void: always. */
    const char *m = manifest(
        "{'tables': {'Orders': {'library': '@LIB@', 'bind': {"
        "'on_insert': {'call': 'returns_flag', 'args': ['NewImage.paid:bool'], 'returns': 'bool'}, "
        "'on_modify': {'call': 'returns_code', 'args': ['NewImage.total:int64'], 'returns': 'int'}, "
        "'on_remove': {'call': 'returns_nothing', 'args': ['Keys.orderId:string'], 'returns': "
        "'void'}}}}, 'on_failure': 'continue'}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 0, "{\"batchItemFailures\":[{\"itemIdentifier\":\"" SEQ1 "\"}]}\n",
           WARN "record 1 (table Orders, SequenceNumber " SEQ1 "): returns_code in " LIB
           " returned 2500 (0 is success)\n"
           WARN "record 1 (table Orders, SequenceNumber " SEQ1 ") failed in plugin " LIB
           ": handler failed\n"
           "ddbhost: 3 records: 3 delivered, 1 failed, 0 skipped\n",
           "returns_flag(true)\nreturns_code(2500)\nreturns_nothing(o-1)\n");

    m = manifest("{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': {'call': "
                 "'returns_flag', 'args': ['NewImage.note:bool?'], 'returns': 'bool'}}}}}");
    HOST(&r, "--manifest", m, "--invoke", ORDERS);
    expect(&r, 0, "{\"batchItemFailures\":[{\"itemIdentifier\":\"" SEQ0 "\"}]}\n",
           WARN "record 0 (table Orders, SequenceNumber " SEQ0 "): returns_flag in " LIB
           " returned false (true is success)\n"
           WARN "record 0 (table Orders, SequenceNumber " SEQ0 ") failed in plugin " LIB
           ": handler failed\n"
           "ddbhost: 3 records: 1 delivered, 1 failed, 0 skipped, 2 not attempted after a "
           "failure\n",
           "returns_flag(false)\n");
}

/* ---- each type against every kind of value (values.json) ---------------------------------- */

static void test_a_string_takes_s_or_the_text_of_n_and_refuses_nul_bytes(void **state)
{
    (void)state;
    static const value_failure f[] = {
        {3, MISSING("NULL"), NOT_FOUND},
        {4, IS_NULL("NULL"), WRONG_TYPE},
        {9, "NewImage.v contains a NUL byte, which a C string cannot carry (hint: pass it as "
            "bytes)", "invalid argument"},
        {10, "NewImage.v is BOOL, and string takes S or N", WRONG_TYPE},
        {11, "NewImage.v is B, and string takes S or N", WRONG_TYPE},
    };
    expect_values("string",
                  "take_string(\"12.5\")\ntake_string(\"99999999999999999999\")\n"
                  "take_string(\"12\")\ntake_string(\"42\")\ntake_string(\"1E+400\")\n"
                  "take_string(\"-1\")\ntake_string(\"2147483648\")\n",
                  f, sizeof f / sizeof f[0]);
}

static void test_bytes_take_the_decoded_b_or_the_utf8_of_s(void **state)
{
    (void)state;
    static const value_failure f[] = {
        {0, "NewImage.v is N, and bytes takes B or S", WRONG_TYPE},
        {1, "NewImage.v is N, and bytes takes B or S", WRONG_TYPE},
        {3, MISSING("NULL"), NOT_FOUND},
        {4, IS_NULL("NULL"), WRONG_TYPE},
        {5, "NewImage.v is N, and bytes takes B or S", WRONG_TYPE},
        {6, "NewImage.v is N, and bytes takes B or S", WRONG_TYPE},
        {7, "NewImage.v is N, and bytes takes B or S", WRONG_TYPE},
        {8, "NewImage.v is N, and bytes takes B or S", WRONG_TYPE},
        {10, "NewImage.v is BOOL, and bytes takes B or S", WRONG_TYPE},
    };
    expect_values("bytes", "take_bytes(31 32, 2)\ntake_bytes(61 00 62, 3)\n"
                           "take_bytes(de ad be ef, 4)\n",
                  f, sizeof f / sizeof f[0]);
}

static void test_an_int32_refuses_fractions_and_numbers_beyond_32_bits(void **state)
{
    (void)state;
    static const value_failure f[] = {
        {0, "NewImage.v is 12.5, not a whole number as int32 needs", INEXACT},
        {1, "NewImage.v is 99999999999999999999, out of range for int32", RANGE},
        {2, "NewImage.v is S, and int32 takes N", WRONG_TYPE},
        {3, MISSING("0"), NOT_FOUND},
        {4, IS_NULL("0"), WRONG_TYPE},
        {6, "NewImage.v is 1E+400, out of range for int32", RANGE},
        {8, "NewImage.v is 2147483648, out of range for int32", RANGE},
        {9, "NewImage.v is S, and int32 takes N", WRONG_TYPE},
        {10, "NewImage.v is BOOL, and int32 takes N", WRONG_TYPE},
        {11, "NewImage.v is B, and int32 takes N", WRONG_TYPE},
    };
    expect_values("int32", "take_int32(42)\ntake_int32(-1)\n", f, sizeof f / sizeof f[0]);
}

static void test_an_int64_refuses_fractions_and_numbers_beyond_64_bits(void **state)
{
    (void)state;
    static const value_failure f[] = {
        {0, "NewImage.v is 12.5, not a whole number as int64 needs", INEXACT},
        {1, "NewImage.v is 99999999999999999999, out of range for int64", RANGE},
        {2, "NewImage.v is S, and int64 takes N", WRONG_TYPE},
        {3, MISSING("0"), NOT_FOUND},
        {4, IS_NULL("0"), WRONG_TYPE},
        {6, "NewImage.v is 1E+400, out of range for int64", RANGE},
        {9, "NewImage.v is S, and int64 takes N", WRONG_TYPE},
        {10, "NewImage.v is BOOL, and int64 takes N", WRONG_TYPE},
        {11, "NewImage.v is B, and int64 takes N", WRONG_TYPE},
    };
    expect_values("int64", "take_int64(42)\ntake_int64(-1)\ntake_int64(2147483648)\n", f,
                  sizeof f / sizeof f[0]);
}

static void test_a_uint64_refuses_negative_numbers(void **state)
{
    (void)state;
    static const value_failure f[] = {
        {0, "NewImage.v is 12.5, not a whole number as uint64 needs", INEXACT},
        {1, "NewImage.v is 99999999999999999999, out of range for uint64", RANGE},
        {2, "NewImage.v is S, and uint64 takes N", WRONG_TYPE},
        {3, MISSING("0"), NOT_FOUND},
        {4, IS_NULL("0"), WRONG_TYPE},
        {6, "NewImage.v is 1E+400, out of range for uint64", RANGE},
        {7, "NewImage.v is -1, out of range for uint64", RANGE},
        {9, "NewImage.v is S, and uint64 takes N", WRONG_TYPE},
        {10, "NewImage.v is BOOL, and uint64 takes N", WRONG_TYPE},
        {11, "NewImage.v is B, and uint64 takes N", WRONG_TYPE},
    };
    expect_values("uint64", "take_uint64(42)\ntake_uint64(2147483648)\n", f, sizeof f / sizeof f[0]);
}

static void test_a_double_takes_the_nearest_value_and_refuses_only_what_is_out_of_range(void **state)
{
    (void)state;
    static const value_failure f[] = {
        {2, "NewImage.v is S, and double takes N", WRONG_TYPE},
        {3, MISSING("0"), NOT_FOUND},
        {4, IS_NULL("0"), WRONG_TYPE},
        {6, "NewImage.v is 1E+400, out of range for double", RANGE},
        {9, "NewImage.v is S, and double takes N", WRONG_TYPE},
        {10, "NewImage.v is BOOL, and double takes N", WRONG_TYPE},
        {11, "NewImage.v is B, and double takes N", WRONG_TYPE},
    };
    expect_values("double",
                  "take_double(12.5)\ntake_double(1e+20)\ntake_double(42)\ntake_double(-1)\n"
                  "take_double(2147483648)\n",
                  f, sizeof f / sizeof f[0]);
}

static void test_a_bool_takes_only_bool(void **state)
{
    (void)state;
    static const value_failure f[] = {
        {0, "NewImage.v is N, and bool takes BOOL", WRONG_TYPE},
        {1, "NewImage.v is N, and bool takes BOOL", WRONG_TYPE},
        {2, "NewImage.v is S, and bool takes BOOL", WRONG_TYPE},
        {3, MISSING("false"), NOT_FOUND},
        {4, IS_NULL("false"), WRONG_TYPE},
        {5, "NewImage.v is N, and bool takes BOOL", WRONG_TYPE},
        {6, "NewImage.v is N, and bool takes BOOL", WRONG_TYPE},
        {7, "NewImage.v is N, and bool takes BOOL", WRONG_TYPE},
        {8, "NewImage.v is N, and bool takes BOOL", WRONG_TYPE},
        {9, "NewImage.v is S, and bool takes BOOL", WRONG_TYPE},
        {11, "NewImage.v is B, and bool takes BOOL", WRONG_TYPE},
    };
    expect_values("bool", "take_bool(true)\n", f, sizeof f / sizeof f[0]);
}

static void test_json_takes_any_value_null_included(void **state)
{
    (void)state;
    static const value_failure f[] = {{3, MISSING("NULL"), NOT_FOUND}};
    expect_values("json",
                  "take_json(12.5)\ntake_json(99999999999999999999)\ntake_json(\"12\")\n"
                  "take_json(null)\ntake_json(42)\ntake_json(1E+400)\ntake_json(-1)\n"
                  "take_json(2147483648)\ntake_json(\"a\\u0000b\")\ntake_json(true)\n"
                  "take_json(\"3q2+7w==\")\n",
                  f, sizeof f / sizeof f[0]);
}

/* ---- paths that lead nowhere -------------------------------------------------------------- */

/* take_string(arg) on the INSERT of orders.json fails record 0 with this reason. */
static void expect_path_failure(const char *arg, const char *why, const char *status)
{
    char text[512], err[2048];
    run_output r;
    snprintf(text, sizeof text, "{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': "
             "{'call': 'take_string', 'args': ['%s'], 'returns': 'int'}}}}}", arg);
    snprintf(err, sizeof err,
             WARN "record 0 (table Orders, SequenceNumber " SEQ0 "): take_string in " LIB " not "
             "called: args[0] \"%s\": %s\n" WARN "record 0 (table Orders, SequenceNumber " SEQ0
             ") failed in plugin " LIB ": %s\nddbhost: 3 records: 1 delivered, 1 failed, 0 "
             "skipped, 2 not attempted after a failure\n", arg, why, status);
    HOST(&r, "--manifest", manifest(text), "--invoke", ORDERS);
    expect(&r, 0, "{\"batchItemFailures\":[{\"itemIdentifier\":\"" SEQ0 "\"}]}\n", err, "");
}

static void test_a_path_that_leads_nowhere_fails_the_record_naming_where_it_stopped(void **state)
{
    (void)state;
    expect_path_failure("NewImage.address.zip:string",
                        "NewImage.address.zip is missing (hint: a trailing \"?\" passes NULL "
                        "instead)", NOT_FOUND);
    expect_path_failure("NewImage.items[3].sku:string",
                        "NewImage.items[3] is missing (the list has 3 elements) (hint: a "
                        "trailing \"?\" passes NULL instead)", NOT_FOUND);
    expect_path_failure("NewImage.note.text:string",
                        "NewImage.note is NULL (hint: a trailing \"?\" passes NULL instead)",
                        NOT_FOUND);
    expect_path_failure("OldImage.customer:string",
                        "the record has no OldImage (hint: a trailing \"?\" passes NULL "
                        "instead)", NOT_FOUND);
    /* A value of the wrong type on the way fails even an optional argument. */
    expect_path_failure("NewImage.customer.name:string?", "NewImage.customer is S, not a map",
                        WRONG_TYPE);
    expect_path_failure("NewImage.items.sku:string", "NewImage.items is L, not a map", WRONG_TYPE);
    expect_path_failure("NewImage.address[0]:string", "NewImage.address is M, not a list or set",
                        WRONG_TYPE);
}

/* ---- what is refused at load -------------------------------------------------------------- */

static void test_a_function_the_library_does_not_export_stops_the_host(void **state)
{
    (void)state;
    expect_refused(manifest("{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': "
                            "{'call': 'billing_recrod', 'args': [], 'returns': 'int'}}}}}"),
                   "tables.Orders.bind.on_insert.call: \"billing_recrod\" is not exported by "
                   LIB " (hint: nm -D --defined-only " DDB_BINDTEST " lists what it exports; a "
                   "C++ function needs extern \"C\")");
    expect_refused(manifest("{'tables': {'Orders': [{'plugin': '" ECHO "'}, {'library': '@LIB@', "
                            "'bind': {'on_modify': {'call': 'not_a_function', 'args': [], "
                            "'returns': 'int'}}}]}}"),
                   "tables.Orders[1].bind.on_modify.call: \"not_a_function\" in " LIB " is data, "
                   "not a function");
}

static void test_a_library_that_does_not_load_stops_the_host(void **state)
{
    (void)state;
    expect_refused(manifest("{'tables': {'Orders': {'library': 'libbindtest-missing.so.1', "
                            "'bind': {'on_insert': {'call': 'f', 'args': [], 'returns': "
                            "'int'}}}}}"),
                   "tables.Orders.library: cannot load \"libbindtest-missing.so.1\": cannot open "
                   "shared object file: No such file or directory (hint: a bare file name that "
                   "is not next to the manifest is searched for in the system's library path; "
                   "give a path to load a file of your own)");
    char path[1200], want[2048];
    snprintf(path, sizeof path, "%s/notalib.so", tmp);
    /* Longer than an ELF header, so that dlopen reads one and finds it wrong. */
    assert_true(run_write_file(path, "This is a text file, not a shared library: dlopen reads "
                                     "an ELF header from it and refuses what it finds.\n"));
    snprintf(want, sizeof want, "tables.Orders.library: cannot load \"%s\": invalid ELF header",
             path);
    expect_refused(manifest("{'tables': {'Orders': {'library': './notalib.so', 'bind': "
                            "{'on_insert': {'call': 'f', 'args': [], 'returns': 'int'}}}}}"),
                   want);
}

/* A copy of the test library at dst, with mode. */
static void copy_library(const char *dst, mode_t mode)
{
    size_t len;
    char *bytes = run_read_file(DDB_BINDTEST, &len);
    assert_non_null(bytes);
    FILE *f = fopen(dst, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    assert_int_equal(chmod(dst, mode), 0);
}

static void test_a_library_that_others_could_replace_is_refused_before_it_runs(void **state)
{
    char copy[1200], want[4096];
    (void)state;
    /* dlopen runs a library's constructors, so the loader's rule for plugins holds here too. */
    snprintf(copy, sizeof copy, "%s/libshared.so", tmp);
    copy_library(copy, 0664);
    snprintf(want, sizeof want, "tables.Orders.library: \"%s\" is writable by group or others "
             "(mode 0664): loading it would run code that anyone could have replaced (hint: "
             "chmod go-w %s)", copy, copy);
    expect_refused(manifest("{'tables': {'Orders': {'library': 'libshared.so', 'bind': "
                            "{'on_insert': {'call': 'take_string', 'args': ['table:string'], "
                            "'returns': 'int'}}}}}"),
                   want);
}

/* A bound library reached through a link is judged as a plugin is: by the file it points to
 * and that file's directory. */
static void test_a_library_linked_from_a_directory_others_can_write_to_is_refused(void **state)
{
    char sub[1200], real[1300], link[1200], resolved[PATH_MAX], want[4 * PATH_MAX];
    (void)state;
    snprintf(sub, sizeof sub, "%s/shared", tmp);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    snprintf(real, sizeof real, "%s/libreal.so", sub);
    copy_library(real, 0755);
    snprintf(link, sizeof link, "%s/liblinked.so", tmp);
    assert_int_equal(symlink(real, link), 0);
    assert_non_null(realpath(sub, resolved));
    snprintf(want, sizeof want, "tables.Orders.library: \"%s\" links to \"%s/libreal.so\", which "
             "is in a directory writable by group or others (\"%s\", mode 0777): loading it would "
             "run code that anyone could have replaced (hint: chmod go-w %s)", link, resolved,
             resolved, resolved);
    expect_refused(manifest("{'tables': {'Orders': {'library': 'liblinked.so', 'bind': "
                            "{'on_insert': {'call': 'take_string', 'args': ['table:string'], "
                            "'returns': 'int'}}}}}"),
                   want);
}

static void test_a_bad_signature_stops_the_host_before_any_record(void **state)
{
    (void)state;
    const char *m = manifest("{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': "
                             "{'call': 'billing_record', 'args': ['NewImage.customer:string', "
                             "'NewImage.total:int65'], 'returns': 'int'}}}}}");
    expect_refused(m, "tables.Orders.bind.on_insert.args[1]: unknown type \"int65\" (expected "
                      "string, bytes, int32, int64, uint64, double, bool, json, with an optional "
                      "trailing ?)");
    m = manifest("{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': {'call': "
                 "'billing_record', 'args': ['NewImage.customer:string'], 'returns': 'long'}}}}}");
    expect_refused(m, "tables.Orders.bind.on_insert.returns: expected \"int\", \"bool\" or "
                      "\"void\", found \"long\"");
    m = manifest("{'tables': {'Orders': {'library': '@LIB@', 'bind': {'on_insert': {'call': "
                 "'billing_record', 'args': ['NewImage.items[one]:string'], 'returns': 'int'}}}}}");
    expect_refused(m, "tables.Orders.bind.on_insert.args[0]: \"NewImage.items[one]:string\": "
                      "expected a list index or a quoted name after \"[\" (at character 16)");
}

/* ---- isolation ---------------------------------------------------------------------------- */

static void test_a_library_that_crashes_under_process_isolation_fails_only_its_record(void **state)
{
    run_output r;
    (void)state;
    const char *m = manifest(
        "{'tables': {'Orders': {'library': '@LIB@', 'isolation': 'process', 'bind': {'on_insert': "
        "{'call': 'crash_on', 'args': ['NewImage.id:string'], 'returns': 'int'}}}}, "
        "'on_failure': 'continue'}");
    /* The crash is the library's, not a bug for the sanitizers to report: let it kill. */
    const char *old = getenv("ASAN_OPTIONS");
    char *saved = old ? strdup(old) : NULL, options[1024];
    snprintf(options, sizeof options, "%s%shandle_segv=0", old ? old : "", old ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
    HOST(&r, "--manifest", m, "--invoke", CRASH);
    if (saved) setenv("ASAN_OPTIONS", saved, 1);
    else unsetenv("ASAN_OPTIONS");
    free(saved);
    expect(&r, 0, "{\"batchItemFailures\":[{\"itemIdentifier\":\"3001\"}]}\n",
           WARN "record 1 (table Orders, SequenceNumber 3001) failed in plugin " LIB ": killed "
           "by signal 11 (Segmentation fault)\n"
           "ddbhost: 3 records: 3 delivered, 1 failed, 0 skipped\n",
           "crash_on(a)\ncrash_on(b)\n");
}

/* ---- the example of docs/BINDINGS.md ------------------------------------------------------ */

static void test_the_documented_example_runs_as_the_docs_show(void **state)
{
    run_output r;
    (void)state;
    HOST(&r, "check", DDB_BINARY_DIR "/examples/bindings/manifest.json");
    expect(&r, 0,
           "Orders: bind libbilling.so on INSERT -> billing_record(string, int64) returns int\n"
           "Orders: bind libbilling.so on REMOVE -> billing_refund(string, json) returns bool\n"
           "ok: 1 route, 1 handler\n",
           "", "");
    HOST(&r, "--manifest", DDB_BINARY_DIR "/examples/bindings/manifest.json", "--invoke",
         DDB_SOURCE_DIR "/examples/bindings/orders.json");
    expect(&r, 0,
           "billing: charge alice 19.99\n"
           "billing: refund o-1 {\"orderId\":\"o-1\",\"customer\":\"alice\",\"total\":2499,"
           "\"items\":[\"book\",\"pen\"]}\n" NO_FAILURES,
           "ddbhost: 3 records: 2 delivered, 0 failed, 1 skipped\n", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_lists_each_binding_with_its_function_and_types),
        cmocka_unit_test(test_every_argument_type_reaches_the_function_exactly),
        cmocka_unit_test(test_nested_paths_list_indexes_and_quoted_names_find_their_attribute),
        cmocka_unit_test(test_json_arguments_are_plain_json_keeping_each_numbers_text),
        cmocka_unit_test(test_record_facts_and_the_record_itself_are_passed),
        cmocka_unit_test(test_optional_arguments_pass_null_or_zero_when_missing_or_null),
        cmocka_unit_test(test_each_event_calls_its_own_function),
        cmocka_unit_test(test_a_binding_and_a_plugin_share_a_table_in_manifest_order),
        cmocka_unit_test(test_the_return_type_says_which_values_fail_the_record),
        cmocka_unit_test(test_a_string_takes_s_or_the_text_of_n_and_refuses_nul_bytes),
        cmocka_unit_test(test_bytes_take_the_decoded_b_or_the_utf8_of_s),
        cmocka_unit_test(test_an_int32_refuses_fractions_and_numbers_beyond_32_bits),
        cmocka_unit_test(test_an_int64_refuses_fractions_and_numbers_beyond_64_bits),
        cmocka_unit_test(test_a_uint64_refuses_negative_numbers),
        cmocka_unit_test(test_a_double_takes_the_nearest_value_and_refuses_only_what_is_out_of_range),
        cmocka_unit_test(test_a_bool_takes_only_bool),
        cmocka_unit_test(test_json_takes_any_value_null_included),
        cmocka_unit_test(test_a_path_that_leads_nowhere_fails_the_record_naming_where_it_stopped),
        cmocka_unit_test(test_a_function_the_library_does_not_export_stops_the_host),
        cmocka_unit_test(test_a_library_that_does_not_load_stops_the_host),
        cmocka_unit_test(test_a_library_that_others_could_replace_is_refused_before_it_runs),
        cmocka_unit_test(test_a_library_linked_from_a_directory_others_can_write_to_is_refused),
        cmocka_unit_test(test_a_bad_signature_stops_the_host_before_any_record),
        cmocka_unit_test(test_a_library_that_crashes_under_process_isolation_fails_only_its_record),
        cmocka_unit_test(test_the_documented_example_runs_as_the_docs_show),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
