/* test_event_errors.c - what a user reads when the event decoder refuses an event: one line
 * naming the byte offset or the record, the path and what was expected and found, for
 * every refusal of the contract in event.h; and that no input, however deep or truncated,
 * crashes it. Accepted events are covered in test_event.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_fixture.h"


/* One record with eventName NAME whose "dynamodb" member is DDB; RECORD adds EXTRA (""
 * or starting with a comma) to a valid "dynamodb". */
#define RECORD_WITH_DDB(name, ddb)                                                     \
    "{\"eventID\":\"e1\",\"eventName\":\"" name "\",\"eventVersion\":\"1.1\","         \
    "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\",\"eventSourceARN\":" \
    "\"" ORDERS_ARN "\",\"dynamodb\":" ddb "}"
#define RECORD(name, extra) \
    RECORD_WITH_DDB(name, "{\"Keys\":{\"pk\":{\"S\":\"k\"}},\"SequenceNumber\":\"1\"" extra "}")
#define IMAGE_EVENT EVENT(RECORD("INSERT", ",\"NewImage\":%s"))
#define IMAGE_PATH "Records[0].dynamodb.NewImage."
#define TAGS "expected one type tag (S, N, B, BOOL, NULL, M, L, SS, NS, BS), found "

/* The error for an event that must be refused: always one non-empty line. */
static const char *refuse_n(fixture *f, const char *text, size_t len)
{
    const char *err;
    if (fixture_decode(f, text, len, '}'))
        fail_msg("event accepted (%zu records), want a refusal\nevent: %.*s", f->batch.count,
                 (int)(len < 600 ? len : 600), text);
    err = event_error(f->d);
    assert_non_null(err);
    assert_true(err[0] != '\0');
    if (strchr(err, '\n')) fail_msg("error is not one line: %s", err);
    return err;
}


__attribute__((format(printf, 2, 3))) static const char *refuse(fixture *f, const char *fmt, ...)
{
    va_list ap;
    char *text;
    const char *err;
    va_start(ap, fmt);
    text = fixture_vformat(fmt, ap);
    va_end(ap);
    err = refuse_n(f, text, strlen(text));
    free(text);
    return err;
}

static const char *refuse_file(fixture *f, const char *corpus_path)
{
    size_t n;
    char *text = fixture_corpus(corpus_path, &n);
    const char *err = refuse_n(f, text, n);
    free(text);
    return err;
}

static void assert_starts(const char *err, const char *want)
{
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("error:    %s\nexpected: %s...", err, want);
}

static void assert_contains(const char *err, const char *want)
{
    if (!strstr(err, want)) fail_msg("error:    %s\nexpected to contain: %s", err, want);
}

/* The N of "(byte N)" in a shape error, -1 when there is none. */
static long byte_of(const char *err)
{
    const char *p = strstr(err, "(byte ");
    if (!p || !isdigit((unsigned char)p[6])) return -1;
    return strtol(p + 6, NULL, 10);
}

/* A shape error: "<path>: <problem> (byte N)". */
static void assert_shape(const char *err, const char *want)
{
    size_t n = strlen(want);
    assert_starts(err, want);
    if (strncmp(err + n, " (byte ", 7) != 0 || byte_of(err + n) < 0)
        fail_msg("error:    %s\nexpected: %s (byte N)", err, want);
}

/* "<what> at byte N" followed by ':' or the end: N is exactly the offset given. */
static void assert_at_byte(const char *err, const char *what, size_t offset)
{
    char want[128];
    size_t n = (size_t)snprintf(want, sizeof want, "%s at byte %zu", what, offset);
    if (strncmp(err, want, n) != 0 || (err[n] != ':' && err[n] != '\0'))
        fail_msg("error:    %s\nexpected: %s", err, want);
}

/* The N of "at byte N" in a syntax or encoding error. */
static long at_byte(const char *err)
{
    const char *p = strstr(err, " at byte ");
    return p && isdigit((unsigned char)p[9]) ? strtol(p + 9, NULL, 10) : -1;
}

/* ---- not JSON ------------------------------------------------------------------------ */

static void test_empty_or_blank_input_is_refused_at_its_end(void **state)
{
    assert_at_byte(refuse_n(*state, "", 0), "invalid JSON", 0);
    assert_at_byte(refuse(*state, " \n\t "), "invalid JSON", 4);
    assert_at_byte(refuse(*state, "\xEF\xBB\xBF"), "invalid JSON", 3);
}

static void test_truncated_event_names_the_byte_where_input_ended(void **state)
{
    assert_string_equal(refuse(*state, "{\"Records\":["),
                        "invalid JSON at byte 12: unexpected end of input");
}

/* Every prefix of a valid event is refused as invalid JSON, never read past its end (the
 * spare byte holds the byte that was cut off) and never crashes. */
static void test_an_event_cut_at_any_byte_is_refused(void **state)
{
    static const char event[] = "{\"Records\":[" RECORD("MODIFY",
        ",\"SizeBytes\":26,\"ApproximateCreationDateTime\":1559320290.838,"
        "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\","
        "\"NewImage\":{\"s\":{\"S\":\"caf\xC3\xA9 \\u00e9\\ud83e\\udd8a\\n\"},"
        "\"n\":{\"N\":\"-1.5E+10\"},"
        "\"b\":{\"B\":\"AP8=\"},\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false},\"z\":{\"NULL\":true},"
        "\"m\":{\"M\":{\"l\":{\"L\":[{\"SS\":[\"a\"]},{\"NS\":[\"1\"]},{\"BS\":[\"\"]}]}}}}")
        "],\"state\":{\"a\":[1,-2.5e3,null]}}";
    size_t cut;
    for (cut = 0; cut < sizeof event - 1; cut++) {
        fixture *f = *state;
        const char *err;
        bool in_utf8 = cut > 0 && ((unsigned char)event[cut] & 0xC0) == 0x80;
        if (fixture_decode(f, event, cut, event[cut]))
            fail_msg("event cut after %zu bytes was accepted", cut);
        err = event_error(f->d);
        if (strncmp(err, "invalid JSON at byte ", 21) != 0 &&
            !(in_utf8 && strncmp(err, "invalid UTF-8 at byte ", 22) == 0))
            fail_msg("event cut after %zu bytes: %s", cut, err);
        if (at_byte(err) < 0 || (size_t)at_byte(err) > cut)
            fail_msg("event cut after %zu bytes: offset beyond the input: %s", cut, err);
    }
}

static void test_unexpected_character_is_named_with_what_was_expected(void **state)
{
    assert_string_equal(refuse(*state, "{\"Records\":[] x}"),
                        "invalid JSON at byte 14: expected ',' or '}', found 'x'");
}

static void test_data_after_the_event_is_refused(void **state)
{
    assert_string_equal(refuse(*state, "{\"Records\":[]} x"),
                        "invalid JSON at byte 15: unexpected data after the event");
    assert_string_equal(refuse(*state, "{\"Records\":[]}{}"),
                        "invalid JSON at byte 14: unexpected data after the event");
    assert_at_byte(refuse_n(*state, "{\"Records\":[]}\0", 15), "invalid JSON", 14);
}

#define T(lit) {(lit), sizeof(lit) - 1}

/* RFC 8259 is the grammar, wherever the fault sits: in a key nobody reads, in a value. */
static void test_what_rfc_8259_forbids_is_invalid_json(void **state)
{
    /* each text with its length, for the ones with a NUL inside */
    static const struct { const char *text; size_t len; } texts[] = {
        T("{\"Records\":[],}"),
        T("{\"Records\":[,]}"),
        T("{\"Records\":[" RECORD("INSERT", "") ",]}"),
        T("{'Records':[]}"),
        T("{Records:[]}"),
        T("{\"Records\" []}"),
        T("{\"Records\":[]\0}"),
        T("{\"Records\":[],\"x\":01}"),
        T("{\"Records\":[],\"x\":1.}"),
        T("{\"Records\":[],\"x\":-}"),
        T("{\"Records\":[],\"x\":.5}"),
        T("{\"Records\":[],\"x\":+1}"),
        T("{\"Records\":[],\"x\":1e}"),
        T("{\"Records\":[],\"x\":1e+}"),
        T("{\"Records\":[],\"x\":tru}"),
        T("{\"Records\":[],\"x\":True}"),
        T("{\"Records\":[],\"x\":nul}"),
        T("{\"Records\":[],\"x\":NaN}"),
        T("{\"Records\":[],\"x\":Infinity}"),
        T("{\"Records\":[],\"x\":'a'}"),
        T("{\"Records\":[],\"x\":[1 2]}"),
        T("{\"Records\":[],\"x\":{\"a\" 1}}"),
        T("{\"Records\":[],\"x\":{\"a\":1,}}"),
        T("{\"Records\":[],\"x\":{1:2}}"),
        T("{\"Records\":[],\"x\":1 /* no comments */}"),
        T("{\"Records\":[],\"x\":\"a\x01z\"}"),
        T("{\"Records\":[],\"x\":\"a\tz\"}"),
        T("{\"Records\":[],\"x\":\"a\nz\"}"),
        T("{\"Records\":[],\"x\":\"a\0z\"}"),
        T("{\"Records\":[],\"x\":\"\\x\"}"),
        T("{\"Records\":[],\"x\":\"\\u12\"}"),
        T("{\"Records\":[],\"x\":\"\\uZZZZ\"}"),
        T("{\"Records\":[],\"x\":\"\\ud800\"}"),
        T("{\"Records\":[],\"x\":\"\\udc00\"}"),
        T("{\"Records\":[],\"x\":\"\\ud800\\u0041\"}"),
        T("{\"Records\":[],\"x\":\"\\ud800\\ud800\"}"),
        T("{\"Records\":[],\"x\\ud800\":1}"),
        T(EVENT(RECORD("INSERT", ",\"NewImage\":{\"s\":{\"S\":\"\\ud800\"}}"))),
        T(EVENT(RECORD("INSERT", ",\"NewImage\":{\"s\":{\"S\":\"\\q\"}}"))),
        T(EVENT(RECORD("INSERT", ",\"NewImage\":{\"s\":{\"S\":\"a\x1fz\"}}"))),
        T(EVENT(RECORD("INSERT", ",\"SizeBytes\":012"))),
        T(EVENT(RECORD("INSERT", ",\"ApproximateCreationDateTime\":.5"))),
        T(EVENT(RECORD("INSERT", ",\"ApproximateCreationDateTime\":1480642020."))),
    };
    size_t i;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *err = refuse_n(*state, texts[i].text, texts[i].len);
        if (strncmp(err, "invalid JSON at byte ", 21) != 0)
            fail_msg("%s\nerror: %s\nexpected: invalid JSON at byte N: ...", texts[i].text, err);
        if (at_byte(err) < 0 || (size_t)at_byte(err) >= texts[i].len)
            fail_msg("%s\noffset beyond the input: %s", texts[i].text, err);
    }
}

/* ---- invalid UTF-8 ------------------------------------------------------------------- */

static const char *const bad_utf8[] = {
    "\xC0\x80",         /* overlong NUL */
    "\xC1\xBF",         /* overlong '\x7F' */
    "\xE0\x80\xAF",     /* overlong '/' in three bytes */
    "\xF0\x80\x80\xAF", /* overlong '/' in four bytes */
    "\xED\xA0\x80",     /* U+D800, a surrogate encoded in UTF-8 */
    "\xED\xBF\xBF",     /* U+DFFF */
    "\xF4\x90\x80\x80", /* U+110000, beyond Unicode */
    "\xF5\x80\x80\x80", /* lead byte above F4 */
    "\xFF",
    "\x80",     /* continuation byte with no lead */
    "\xE2\x82", /* truncated sequence, then the closing quote */
    "\xC3z",    /* lead byte, then ASCII */
};

/* Each bad sequence, in each kind of string the event can carry, is refused at its first
 * byte. */
static void test_invalid_utf8_in_any_string_is_refused_at_its_offset(void **state)
{
    static const char *const places[] = {
        /* an S value, an attribute name, a set member */
        IMAGE_EVENT,
        EVENT(RECORD("INSERT", ",\"NewImage\":{\"n%s\":{\"S\":\"x\"}}")),
        EVENT(RECORD("INSERT", ",\"NewImage\":{\"ss\":{\"SS\":[\"a\",\"%s\"]}}")),
        /* a value and a key nobody reads, a record field */
        "{\"Records\":[],\"x\":\"v%s\"}",
        "{\"Records\":[],\"k%s\":1}",
        "{\"Records\":[{\"eventID\":\"e%s\"}]}",
    };
    size_t p, b;
    for (p = 0; p < sizeof places / sizeof places[0]; p++) {
        for (b = 0; b < sizeof bad_utf8 / sizeof bad_utf8[0]; b++) {
            char value[64], *text;
            const char *err;
            size_t offset;
            fixture *f = *state;
            if (p == 0)
                snprintf(value, sizeof value, "{\"s\":{\"S\":\"ab%s\"}}", bad_utf8[b]);
            else
                snprintf(value, sizeof value, "%s", bad_utf8[b]);
            text = malloc(strlen(places[p]) + strlen(value) + 1);
            assert_non_null(text);
            sprintf(text, places[p], value);
            for (offset = 0; (unsigned char)text[offset] < 0x80; offset++) {}
            if (fixture_decode(f, text, strlen(text), '}')) fail_msg("accepted: %s", text);
            err = event_error(f->d);
            if (strncmp(err, "invalid UTF-8 at byte ", 22) != 0 || at_byte(err) != (long)offset)
                fail_msg("%s\nerror:    %s\nexpected: invalid UTF-8 at byte %zu", text, err,
                         offset);
            free(text);
        }
    }
}

static void test_utf8_at_the_edges_of_validity_is_accepted(void **state)
{
    fixture *f = *state;
    static const char text[] =
        EVENT(RECORD("INSERT", ",\"NewImage\":{\"s\":{\"S\":\"\xC2\x80 \xDF\xBF \xE0\xA0\x80 "
                               "\xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF "
                               "\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF\"}}"));
    const char *s = NULL;
    size_t n = 0;
    if (!fixture_decode(f, text, sizeof text - 1, '}')) fail_msg("refused: %s", event_error(f->d));
    assert_int_equal(ddb_get_s(ddb_get(f->batch.records[0].new_image, "s"), &s, &n), DDB_OK);
    assert_int_equal(n, 2 + 1 + 2 + 1 + 3 + 1 + 3 + 1 + 3 + 1 + 3 + 1 + 4 + 1 + 4);
}

/* ---- the envelope -------------------------------------------------------------------- */

static void test_an_event_that_is_not_an_object_is_refused(void **state)
{
    assert_shape(refuse(*state, "[]"), "event: expected a JSON object, found an array");
    assert_shape(refuse(*state, " [{\"Records\":[]}]"),
                 "event: expected a JSON object, found an array");
    assert_shape(refuse(*state, "\"Records\""), "event: expected a JSON object, found a string");
}

static void test_an_object_without_records_is_refused(void **state)
{
    assert_starts(refuse(*state, "{}"), "event: no \"Records\" array");
    assert_starts(refuse(*state, "{\"records\":[]}"), "event: no \"Records\" array");
}

static void test_a_bare_stream_record_is_refused_with_a_hint(void **state)
{
    size_t plain = strlen(refuse(*state, "{}"));
    const char *err =
        refuse_file(*state, "events/aws-lambda-java-libs-dynamo_ddb_stream_record.json");
    assert_starts(err, "event: no \"Records\" array");
    assert_contains(err + strlen("event: no \"Records\" array"), "(");
    assert_true(strlen(err) > plain);
}

static void test_an_on_failure_invocation_record_is_refused_with_a_hint(void **state)
{
    size_t plain = strlen(refuse(*state, "{}"));
    const char *err =
        refuse_file(*state, "related/lambda-devguide-with-ddb-invocation-record.json");
    assert_starts(err, "event: no \"Records\" array");
    assert_contains(err + strlen("event: no \"Records\" array"), "(");
    assert_true(strlen(err) > plain);
}

static void test_a_kinesis_envelope_is_refused_naming_its_event_source(void **state)
{
    assert_shape(
        refuse_file(*state, "events/powertools-typescript-parser-kinesis-dynamodb-stream.json"),
        "Records[0].eventSource: expected \"aws:dynamodb\", found \"aws:kinesis\"");
}

static void test_records_that_is_not_an_array_is_refused(void **state)
{
    assert_shape(refuse(*state, "{\"Records\":{}}"), "Records: expected an array, found an object");
    assert_shape(refuse(*state, "{\"Records\":[\"x\"]}"),
                 "Records[0]: expected an object, found a string");
}

/* ---- records ------------------------------------------------------------------------- */

static void test_a_record_without_event_name_or_dynamodb_is_refused(void **state)
{
    assert_shape(refuse(*state,
                        "{\"Records\":[{\"eventID\":\"e1\",\"eventSource\":\"aws:dynamodb\","
                        "\"dynamodb\":{\"Keys\":{},\"SequenceNumber\":\"1\"}}]}"),
                 "Records[0]: missing \"eventName\"");
    assert_shape(
        refuse(*state, EVENT(RECORD("INSERT", "") ",{\"eventID\":\"e2\",\"eventName\":\"INSERT\","
                                                  "\"eventSource\":\"aws:dynamodb\"}")),
        "Records[1]: missing \"dynamodb\"");
}

static void test_an_unknown_event_name_in_the_third_record_names_that_record(void **state)
{
    static const char text[] =
        EVENT(RECORD("INSERT", "") "," RECORD("MODIFY", "") "," RECORD("DELETE", ""));
    const char *err = refuse(*state, "%s", text);
    long at = byte_of(err);
    long member = (long)(strstr(text, "\"eventName\":\"DELETE\"") - text);
    assert_shape(
        err,
        "Records[2].eventName: expected \"INSERT\", \"MODIFY\" or \"REMOVE\", found \"DELETE\"");
    if (at < member || at >= member + (long)strlen("\"eventName\":\"DELETE\""))
        fail_msg("%s\nexpected the byte to point into \"eventName\":\"DELETE\" at %ld", err,
                 member);
}

static void test_an_attribute_error_in_the_third_record_names_that_record(void **state)
{
    static const char text[] = EVENT(RECORD("INSERT", "") "," RECORD("INSERT", "") ","
                                     RECORD("INSERT", ",\"NewImage\":{\"price\":{\"N\":\"12a\"}}"));
    assert_shape(refuse(*state, "%s", text),
                 "Records[2].dynamodb.NewImage.price.N: \"12a\" is not a number");
}

static void test_wrong_json_types_are_refused_with_the_type_found(void **state)
{
    static const struct { const char *text, *error; } cases[] = {
        {EVENT(RECORD("INSERT", ",\"SizeBytes\":\"10\"")),
         "Records[0].dynamodb.SizeBytes: expected a number, found a string"},
        {EVENT(RECORD_WITH_DDB("INSERT", "{\"Keys\":[],\"SequenceNumber\":\"1\"}")),
         "Records[0].dynamodb.Keys: expected an object, found an array"},
        {EVENT(RECORD_WITH_DDB("INSERT", "{\"Keys\":{},\"SequenceNumber\":111}")),
         "Records[0].dynamodb.SequenceNumber: expected a string, found a number"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":[]")),
         "Records[0].dynamodb.NewImage: expected an object, found an array"},
        {EVENT(RECORD_WITH_DDB("INSERT", "\"x\"")),
         "Records[0].dynamodb: expected an object, found a string"},
        {"{\"Records\":[{\"eventID\":\"e1\",\"eventName\":1}]}",
         "Records[0].eventName: expected a string, found a number"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"name\":\"x\"}")),
         IMAGE_PATH "name: expected an object, found a string"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"name\":{\"S\":1}}")),
         IMAGE_PATH "name.S: expected a string, found a number"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"n\":{\"N\":12}}")),
         IMAGE_PATH "n.N: expected a string, found a number"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"m\":{\"M\":[]}}")),
         IMAGE_PATH "m.M: expected an object, found an array"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"l\":{\"L\":{}}}")),
         IMAGE_PATH "l.L: expected an array, found an object"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"l\":{\"L\":[\"x\"]}}")),
         IMAGE_PATH "l.L[0]: expected an object, found a string"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"ss\":{\"SS\":\"a\"}}")),
         IMAGE_PATH "ss.SS: expected an array, found a string"},
        {EVENT(RECORD("INSERT", ",\"NewImage\":{\"ss\":{\"SS\":[\"a\",1]}}")),
         IMAGE_PATH "ss.SS[1]: expected a string, found a number"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_shape(refuse(*state, "%s", cases[i].text), cases[i].error);
}

static void test_wrong_types_for_bool_and_creation_time_name_the_member(void **state)
{
    assert_starts(refuse(*state, IMAGE_EVENT, "{\"flag\":{\"BOOL\":\"true\"}}"),
                  IMAGE_PATH "flag.BOOL: expected ");
    assert_starts(refuse(*state, IMAGE_EVENT, "{\"b\":{\"B\":true}}"),
                  IMAGE_PATH "b.B: expected a string, found ");
    assert_starts(refuse(*state, EVENT(RECORD("INSERT", ",\"ApproximateCreationDateTime\":true"))),
                  "Records[0].dynamodb.ApproximateCreationDateTime: expected a number");
    assert_starts(
        refuse(*state, EVENT(RECORD("INSERT", ",\"ApproximateCreationDateTime\":\"yesterday\""))),
        "Records[0].dynamodb.ApproximateCreationDateTime: ");
}

/* ---- attribute values ---------------------------------------------------------------- */

static void test_an_attribute_value_needs_exactly_one_known_type_tag(void **state)
{
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"price\":{}}"), IMAGE_PATH "price: " TAGS "none");
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"price\":{\"X\":\"1\"}}"),
                 IMAGE_PATH "price: " TAGS "\"X\"");
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"price\":{\"s\":\"1\"}}"),
                 IMAGE_PATH "price: " TAGS "\"s\"");
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"price\":{\"S\":\"a\",\"N\":\"1\"}}"),
                 IMAGE_PATH "price: " TAGS "2 tags");
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"price\":{\"N\":\"1\",\"N\":\"2\",\"S\":\"\"}}"),
                 IMAGE_PATH "price: " TAGS "3 tags");
    assert_shape(refuse(*state, EVENT(RECORD_WITH_DDB(
                                    "INSERT", "{\"Keys\":{\"pk\":{}},\"SequenceNumber\":\"1\"}"))),
                 "Records[0].dynamodb.Keys.pk: " TAGS "none");
}

static void test_the_error_path_follows_maps_and_lists(void **state)
{
    assert_shape(refuse(*state, IMAGE_EVENT,
                        "{\"address\":{\"M\":{\"street\":{\"S\":\"x\"},\"city\":{\"N\":\"x\"}}}}"),
                 IMAGE_PATH "address.M.city.N: \"x\" is not a number");
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"tags\":{\"L\":[{\"S\":\"a\"},{\"S\":\"b\"},{}]}}"),
                 IMAGE_PATH "tags.L[2]: " TAGS "none");
    assert_shape(
        refuse(*state,
               EVENT(RECORD("MODIFY",
                            ",\"OldImage\":{\"a\":{\"L\":[{\"M\":{\"b\":{\"NULL\":false}}}]}}"))),
        "Records[0].dynamodb.OldImage.a.L[0].M.b.NULL: expected true, found false");
}

static void test_n_that_is_not_a_number_is_refused(void **state)
{
    static const char *const texts[] = {"12a",      "",   "abc",  "1.2.3", "NaN",
                                        "Infinity", "1e", "0x10", "1 2",   "--1"};
    size_t i;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, IMAGE_PATH "price.N: \"%s\" is not a number", texts[i]);
        assert_shape(refuse(*state,
                            EVENT(RECORD("INSERT", ",\"NewImage\":{\"price\":{\"N\":\"%s\"}}")),
                            texts[i]),
                     want);
    }
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"nums\":{\"NS\":[\"1\",\"x\"]}}"),
                 IMAGE_PATH "nums.NS[1]: \"x\" is not a number");
}

static void test_n_with_more_than_38_significant_digits_is_refused(void **state)
{
    const char *err = refuse(*state, IMAGE_EVENT,
                             "{\"price\":{\"N\":\"123456789012345678901234567890123456789\"}}");
    assert_starts(err, IMAGE_PATH "price.N: ");
    assert_contains(err, "more than 38 significant digits");
    err = refuse(*state, IMAGE_EVENT,
                 "{\"nums\":{\"NS\":[\"-0.123456789012345678901234567890123456789\"]}}");
    assert_starts(err, IMAGE_PATH "nums.NS[0]: ");
    assert_contains(err, "more than 38 significant digits");
}

static void test_b_that_is_not_padded_standard_base64_is_refused(void **state)
{
    static const char *const texts[] = {"abc",  "YWI",  "ab!=", "YW Jj", "YWJj\\n", "=AAA",
                                        "AA=A", "A===", "YQ",   "-_8=",  "YWJj="};
    size_t i;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
        assert_shape(refuse(*state,
                            EVENT(RECORD("INSERT", ",\"NewImage\":{\"blob\":{\"B\":\"%s\"}}")),
                            texts[i]),
                     IMAGE_PATH "blob.B: invalid base64");
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"blobs\":{\"BS\":[\"AA==\",\"A\"]}}"),
                 IMAGE_PATH "blobs.BS[1]: invalid base64");
}

static void test_null_must_be_true(void **state)
{
    assert_shape(refuse(*state, IMAGE_EVENT, "{\"flag\":{\"NULL\":false}}"),
                 IMAGE_PATH "flag.NULL: expected true, found false");
}

/* ---- nesting ------------------------------------------------------------------------- */

/* An attribute value of `levels` M and L, alternately, around {"S":"deep"} (heap). */
static char *nested(size_t levels)
{
    char *s = malloc(levels * 12 + 32), *p = s;
    size_t i;
    assert_non_null(s);
    for (i = 0; i < levels; i++) p += sprintf(p, i % 2 ? "{\"M\":{\"k\":" : "{\"L\":[");
    p += sprintf(p, "{\"S\":\"deep\"}");
    for (i = levels; i-- > 0;) p += sprintf(p, i % 2 ? "}}" : "]}");
    return s;
}

static void test_values_nested_32_levels_deep_are_accepted(void **state)
{
    fixture *f = *state;
    char *value = nested(32), *text = malloc(strlen(value) + 1024);
    const ddb_value *v;
    const char *s = NULL;
    size_t i, n = 0;
    assert_non_null(text);
    sprintf(text, EVENT(RECORD("INSERT", ",\"NewImage\":{\"deep\":%s}")), value);
    if (!fixture_decode(f, text, strlen(text), '}')) fail_msg("refused: %s", event_error(f->d));
    v = ddb_get(f->batch.records[0].new_image, "deep");
    for (i = 0; i < 32; i++) v = i % 2 ? ddb_get(v, "k") : ddb_at(v, 0);
    assert_int_equal(ddb_get_s(v, &s, &n), DDB_OK);
    assert_int_equal(n, 4);
    free(value);
    free(text);
}

static void test_values_nested_33_levels_deep_are_refused(void **state)
{
    char *value = nested(33);
    const char *err = refuse(*state, EVENT(RECORD("INSERT", ",\"NewImage\":{\"deep\":%s}")), value);
    free(value);
    assert_starts(err, IMAGE_PATH "deep");
    assert_contains(err, ": nested deeper than 32 levels");
}

static void test_100000_levels_of_lists_are_refused_without_overflowing_the_stack(void **state)
{
    char *value = nested(100000);
    const char *err = refuse(*state, EVENT(RECORD("INSERT", ",\"NewImage\":{\"deep\":%s}")), value);
    free(value);
    assert_starts(err, IMAGE_PATH "deep");
    assert_contains(err, ": nested deeper than 32 levels");
}

static void test_100000_open_brackets_are_refused_anywhere_without_a_crash(void **state)
{
    static const char *const places[] = {"%s", "{\"Records\":%s", "{\"Records\":[],\"x\":%s",
                                         "{\"Records\":[],\"x\":%s]", IMAGE_EVENT};
    size_t n = 100000, i;
    char *brackets = malloc(n + 1);
    assert_non_null(brackets);
    memset(brackets, '[', n);
    brackets[n] = '\0';
    for (i = 0; i < sizeof places / sizeof places[0]; i++) refuse(*state, places[i], brackets);
    free(brackets);
}

/* Valid JSON nested 100000 deep under a key the decoder skips: whether it is skipped or
 * refused, the decoder must return. */
static void test_deep_json_in_an_ignored_key_never_overflows_the_stack(void **state)
{
    fixture *f = *state;
    size_t n = 100000;
    char *text = malloc(2 * n + 64);
    assert_non_null(text);
    memcpy(text, "{\"Records\":[],\"x\":", 18);
    memset(text + 18, '[', n);
    memset(text + 18 + n, ']', n);
    strcpy(text + 18 + 2 * n, "}");
    if (!fixture_decode(f, text, strlen(text), '}'))
        assert_true(event_error(f->d)[0] != '\0');
    else
        assert_int_equal(f->batch.count, 0);
    free(text);
}

/* ---- after a refusal ----------------------------------------------------------------- */

static void test_a_refused_event_does_not_spoil_the_next_one(void **state)
{
    fixture *f = *state;
    static const char good[] = EVENT(RECORD("REMOVE", ",\"OldImage\":{\"a\":{\"S\":\"b\"}}"));
    refuse(f,
           EVENT(RECORD("INSERT", "") "," RECORD("INSERT", ",\"NewImage\":{\"a\":{\"N\":\"x\"}}")));
    if (!fixture_decode(f, good, sizeof good - 1, '}')) fail_msg("refused: %s", event_error(f->d));
    assert_int_equal(f->batch.count, 1);
    assert_int_equal(f->batch.records[0].event_name, DDB_REMOVE);
    assert_int_equal(ddb_count(f->batch.records[0].old_image), 1);
    assert_null(f->batch.records[0].new_image);
}

/* ---- tumbling windows ------------------------------------------------------------------ */

static void test_a_window_bound_that_is_not_an_iso_time_is_named_with_an_example(void **state)
{
    static const char *const bad[] = {
        "2020-07-30 17:00:00Z", "2020-13-30T17:00:00Z", "2021-02-29T00:00:00Z",
        "2020-07-30T24:00:00Z", "2020-07-30T17:00:00.Z", "2020-07-30T17:00:00+2:00",
        "2020-07-30T17:00", "1596128400", "2020-07-30T17:00:00Zjunk", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[160];
        snprintf(want, sizeof want, "window.end: \"%s\" is not an ISO 8601 time such as "
                 "\"2020-07-30T17:00:00Z\" (byte 30)", bad[i]);
        assert_string_equal(refuse(*state, "{\"Records\":[],\"window\":{\"end\":\"%s\"}}", bad[i]),
                            want);
    }
}

static void test_window_keys_of_the_wrong_type_are_refused_with_their_path(void **state)
{
    assert_string_equal(refuse(*state, "{\"Records\":[],\"window\":[]}"),
                        "window: expected an object, found an array (byte 23)");
    assert_string_equal(refuse(*state, "{\"Records\":[],\"window\":{\"start\":17}}"),
                        "window.start: expected a string, found a number (byte 32)");
    assert_string_equal(refuse(*state, "{\"Records\":[],\"shardId\":1}"),
                        "shardId: expected a string, found a number (byte 24)");
    assert_string_equal(refuse(*state, "{\"Records\":[],\"isFinalInvokeForWindow\":\"true\"}"),
                        "isFinalInvokeForWindow: expected a boolean, found a string (byte 39)");
    assert_string_equal(refuse(*state, "{\"Records\":[],\"state\":{\"a\":1,}}"),
                        "invalid JSON at byte 29: expected a string key, found '}'");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_empty_or_blank_input_is_refused_at_its_end),
        TEST(test_truncated_event_names_the_byte_where_input_ended),
        TEST(test_an_event_cut_at_any_byte_is_refused),
        TEST(test_unexpected_character_is_named_with_what_was_expected),
        TEST(test_data_after_the_event_is_refused),
        TEST(test_what_rfc_8259_forbids_is_invalid_json),
        TEST(test_invalid_utf8_in_any_string_is_refused_at_its_offset),
        TEST(test_utf8_at_the_edges_of_validity_is_accepted),
        TEST(test_an_event_that_is_not_an_object_is_refused),
        TEST(test_an_object_without_records_is_refused),
        TEST(test_a_bare_stream_record_is_refused_with_a_hint),
        TEST(test_an_on_failure_invocation_record_is_refused_with_a_hint),
        TEST(test_a_kinesis_envelope_is_refused_naming_its_event_source),
        TEST(test_records_that_is_not_an_array_is_refused),
        TEST(test_a_record_without_event_name_or_dynamodb_is_refused),
        TEST(test_an_unknown_event_name_in_the_third_record_names_that_record),
        TEST(test_an_attribute_error_in_the_third_record_names_that_record),
        TEST(test_wrong_json_types_are_refused_with_the_type_found),
        TEST(test_wrong_types_for_bool_and_creation_time_name_the_member),
        TEST(test_an_attribute_value_needs_exactly_one_known_type_tag),
        TEST(test_the_error_path_follows_maps_and_lists),
        TEST(test_n_that_is_not_a_number_is_refused),
        TEST(test_n_with_more_than_38_significant_digits_is_refused),
        TEST(test_b_that_is_not_padded_standard_base64_is_refused),
        TEST(test_null_must_be_true),
        TEST(test_values_nested_32_levels_deep_are_accepted),
        TEST(test_values_nested_33_levels_deep_are_refused),
        TEST(test_100000_levels_of_lists_are_refused_without_overflowing_the_stack),
        TEST(test_100000_open_brackets_are_refused_anywhere_without_a_crash),
        TEST(test_deep_json_in_an_ignored_key_never_overflows_the_stack),
        TEST(test_a_refused_event_does_not_spoil_the_next_one),
        TEST(test_a_window_bound_that_is_not_an_iso_time_is_named_with_an_example),
        TEST(test_window_keys_of_the_wrong_type_are_refused_with_their_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
