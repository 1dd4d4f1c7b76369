/* test_event.c - what a plugin sees of an accepted event: every DynamoDB type decoded
 * exactly, the record fields, the leniency of FORMAT.md §8, decoder reuse and real corpus
 * events. Events are built here from the contract in event.h, never from the decoder's
 * code; refusals live in test_event_errors.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_fixture.h"
#include "text.h"

#define SEQ40 "1234567890123456789012345678901234567890"

/* One record with eventName NAME and eventSourceARN ARN; DDB and EXTRA are further members
 * of "dynamodb" and of the record, each "" or starting with a comma. */
#define RECORD(name, arn, ddb, extra)                                                        \
    "{\"eventID\":\"e1\",\"eventName\":\"" name "\",\"eventVersion\":\"1.1\","               \
    "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\",\"eventSourceARN\":\"" arn \
    "\",\"dynamodb\":{\"Keys\":{\"pk\":{\"S\":\"k\"}},\"SequenceNumber\":\"" SEQ40 "\"" ddb  \
    "}" extra "}"

/* The event goes into a fresh buffer of exactly len + 1 bytes, so the sanitizer catches a
 * read past the spare byte, and the previous buffer is freed first, so a record that still
 * points into the previous event is caught too. The spare byte holds '}': a decoder that
 * took it for input would see a different event. */
static const event_batch *accept_n(fixture *f, const char *text, size_t len)
{
    if (!fixture_decode(f, text, len, '}'))
        fail_msg("event refused: %s\nevent: %.*s", event_error(f->d), (int)len, text);
    return &f->batch;
}

__attribute__((format(printf, 2, 3))) static const event_batch *accept(fixture *f, const char *fmt,
                                                                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = fixture_vformat(fmt, ap);
    va_end(ap);
    accept_n(f, text, strlen(text));
    free(text);
    return &f->batch;
}

static const event_batch *accept_file(fixture *f, const char *corpus_path)
{
    size_t n;
    char *text = fixture_corpus(corpus_path, &n);
    accept_n(f, text, n);
    free(text);
    return &f->batch;
}

/* The one record of an accepted event. */
static const ddb_record *only(const event_batch *b)
{
    assert_int_equal(b->count, 1);
    assert_non_null(b->records);
    return &b->records[0];
}

/* The NewImage of a one-record INSERT event whose NewImage is IMAGE (a JSON object). */
static const ddb_value *image(fixture *f, const char *image_json)
{
    const ddb_record *r =
        only(accept(f, EVENT(RECORD("INSERT", ORDERS_ARN, ",\"NewImage\":%s", "")), image_json));
    assert_int_equal(ddb_type_of(r->new_image), DDB_M);
    return r->new_image;
}

static void assert_bytes(const void *got, size_t got_len, const void *want, size_t want_len)
{
    assert_int_equal(got_len, want_len);
    if (want_len) assert_memory_equal(got, want, want_len);
}

/* An S or N value holding exactly these bytes, followed by a NUL not counted in len. */
static void assert_text(const ddb_value *v, ddb_type type, const char *want, size_t want_len)
{
    const char *s = NULL;
    size_t n = 0;
    assert_int_equal(ddb_type_of(v), type);
    assert_int_equal(type == DDB_S ? ddb_get_s(v, &s, &n) : ddb_get_n(v, &s, &n), DDB_OK);
    assert_non_null(s);
    assert_bytes(s, n, want, want_len);
    assert_int_equal(s[n], '\0');
}
#define ASSERT_S(v, lit) assert_text((v), DDB_S, (lit), sizeof(lit) - 1)
#define ASSERT_N(v, lit) assert_text((v), DDB_N, (lit), sizeof(lit) - 1)

static void assert_b(const ddb_value *v, const void *want, size_t want_len)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    assert_int_equal(ddb_get_b(v, &p, &n), DDB_OK);
    assert_bytes(p, n, want, want_len);
}
#define ASSERT_B(v, lit) assert_b((v), (lit), sizeof(lit) - 1)

/* A record field: NUL-terminated text of exactly the given bytes. */
static void assert_str(ddb_str s, const char *want)
{
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_string_equal(s.ptr, want);
}

/* ---- S ------------------------------------------------------------------------------- */

static void test_s_unescapes_every_json_escape(void **state)
{
    const ddb_value *img = image(*state, "{\"s\":{\"S\":\"a\\nb\\\"c\\\\d\\/e\\bf\\fg\\rh\\ti\"}}");
    ASSERT_S(ddb_get(img, "s"), "a\nb\"c\\d/e\bf\fg\rh\ti");
}

static void test_s_turns_unicode_escapes_into_utf8(void **state)
{
    const ddb_value *img = image(*state, "{\"e\":{\"S\":\"caf\\u00e9 caf\\u00E9\"},"
                                         "\"euro\":{\"S\":\"\\u20ac\"},"
                                         "\"fox\":{\"S\":\"\\ud83e\\udd8a!\"}}");
    ASSERT_S(ddb_get(img, "e"), "caf\xC3\xA9 caf\xC3\xA9");
    ASSERT_S(ddb_get(img, "euro"), "\xE2\x82\xAC");
    ASSERT_S(ddb_get(img, "fox"), "\xF0\x9F\xA6\x8A!"); /* U+1F98A as 4 bytes, not 6 + 6 */
}

static void test_s_keeps_an_escaped_nul_and_counts_it(void **state)
{
    const ddb_value *img = image(*state, "{\"s\":{\"S\":\"a\\u0000b\"}}");
    ASSERT_S(ddb_get(img, "s"), "a\0b");
}

static void test_s_keeps_raw_utf8_byte_for_byte(void **state)
{
    const ddb_value *img =
        image(*state, "{\"s\":{\"S\":\"h\xC3\xA9llo \xF0\x9F\xA6\x8A \xE6\x97\xA5\xE6\x9C\xAC\"}}");
    ASSERT_S(ddb_get(img, "s"), "h\xC3\xA9llo \xF0\x9F\xA6\x8A \xE6\x97\xA5\xE6\x9C\xAC");
}

static void test_s_may_be_empty(void **state)
{
    const ddb_value *img = image(*state, "{\"s\":{\"S\":\"\"}}");
    ASSERT_S(ddb_get(img, "s"), "");
}

static void test_attribute_names_are_unescaped_before_lookup(void **state)
{
    const ddb_value *img =
        image(*state, "{\"na\\u006de\":{\"S\":\"x\"},\"caf\\u00e9\":{\"S\":\"y\"}}");
    const char *name = NULL;
    size_t len = 0;
    ASSERT_S(ddb_get(img, "name"), "x");
    ASSERT_S(ddb_get(img, "caf\xC3\xA9"), "y");
    assert_non_null(ddb_member_at(img, 1, &name, &len));
    assert_int_equal(len, 5);
    assert_string_equal(name, "caf\xC3\xA9");
}

/* ---- N ------------------------------------------------------------------------------- */

static void test_n_keeps_a_38_digit_number_exactly(void **state)
{
    const ddb_value *img =
        image(*state, "{\"n\":{\"N\":\"12345678901234567890123456789012345678\"}}");
    const ddb_value *n = ddb_get(img, "n");
    int64_t i = 7;
    double d = 0;
    ASSERT_N(n, "12345678901234567890123456789012345678");
    assert_int_equal(ddb_n_int64(n, &i), DDB_ERR_RANGE);
    assert_int_equal(i, 7);
    assert_int_equal(ddb_n_double(n, &d), DDB_ERR_INEXACT);
    assert_true(d > 1.2345678901234e37 && d < 1.2345678901235e37);
}

static void test_n_keeps_exponent_notation_and_converts_it(void **state)
{
    const ddb_value *img = image(*state, "{\"n\":{\"N\":\"-1.5E+10\"}}");
    const ddb_value *n = ddb_get(img, "n");
    int64_t i = 0;
    double d = 0;
    ASSERT_N(n, "-1.5E+10");
    assert_int_equal(ddb_n_int64(n, &i), DDB_OK);
    assert_true(i == -15000000000);
    assert_int_equal(ddb_n_double(n, &d), DDB_OK);
    assert_true(d == -1.5e10);
}

static void test_n_leading_zeros_of_a_fraction_are_not_significant(void **state)
{
    const ddb_value *img =
        image(*state, "{\"n\":{\"N\":\"-0.00012345678901234567890123456789012345678\"}}");
    ASSERT_N(ddb_get(img, "n"), "-0.00012345678901234567890123456789012345678");
}

static void test_n_with_a_fraction_is_inexact_as_int64(void **state)
{
    const ddb_value *img = image(*state, "{\"price\":{\"N\":\"19.99\"},\"qty\":{\"N\":\"3\"}}");
    int64_t i = 0;
    double d = 0;
    assert_int_equal(ddb_n_int64(ddb_get(img, "price"), &i), DDB_ERR_INEXACT);
    assert_int_equal(ddb_n_double(ddb_get(img, "price"), &d), DDB_ERR_INEXACT);
    assert_true(d == 19.99);
    assert_int_equal(ddb_n_int64(ddb_get(img, "qty"), &i), DDB_OK);
    assert_true(i == 3);
}

/* ---- B, BOOL, NULL ------------------------------------------------------------------- */

static void test_b_is_base64_decoded_including_nul_and_ff(void **state)
{
    const ddb_value *img =
        image(*state, "{\"nul_ff\":{\"B\":\"AP8=\"},\"four\":{\"B\":\"AAEqQQ==\"},"
                      "\"hello\":{\"B\":\"SGVsbG8h\"},\"one\":{\"B\":\"/w==\"}}");
    ASSERT_B(ddb_get(img, "nul_ff"), "\x00\xFF");
    ASSERT_B(ddb_get(img, "four"), "\x00\x01\x2A\x41");
    ASSERT_B(ddb_get(img, "hello"), "Hello!");
    ASSERT_B(ddb_get(img, "one"), "\xFF");
}

static void test_b_may_be_empty(void **state)
{
    const ddb_value *img = image(*state, "{\"b\":{\"B\":\"\"}}");
    assert_int_equal(ddb_type_of(ddb_get(img, "b")), DDB_B);
    ASSERT_B(ddb_get(img, "b"), "");
}

static void test_bool_and_null_are_decoded(void **state)
{
    const ddb_value *img = image(*state, "{\"yes\":{\"BOOL\":true},\"no\":{\"BOOL\":false},"
                                         "\"nothing\":{\"NULL\":true}}");
    bool b = false;
    assert_int_equal(ddb_get_bool(ddb_get(img, "yes"), &b), DDB_OK);
    assert_true(b);
    assert_int_equal(ddb_get_bool(ddb_get(img, "no"), &b), DDB_OK);
    assert_false(b);
    assert_true(ddb_is_null(ddb_get(img, "nothing")));
    assert_false(ddb_is_null(ddb_get(img, "no")));
}

/* ---- M, L and sets ------------------------------------------------------------------- */

static void test_map_keeps_event_order_and_finds_members_by_name(void **state)
{
    const ddb_value *img = image(
        *state, "{\"z\":{\"N\":\"1\"},\"a\":{\"S\":\"x\"},"
                "\"address\":{\"M\":{\"city\":{\"S\":\"Paris\"},\"zip\":{\"N\":\"75001\"}}}}");
    const char *name = NULL;
    size_t len = 0;
    assert_int_equal(ddb_count(img), 3);
    assert_non_null(ddb_member_at(img, 0, &name, &len));
    assert_string_equal(name, "z");
    assert_non_null(ddb_member_at(img, 1, &name, &len));
    assert_string_equal(name, "a");
    assert_int_equal(ddb_type_of(ddb_member_at(img, 2, &name, &len)), DDB_M);
    assert_int_equal(len, 7);
    assert_string_equal(name, "address");
    ASSERT_S(ddb_get(ddb_get(img, "address"), "city"), "Paris");
    ASSERT_N(ddb_get(ddb_get(img, "address"), "zip"), "75001");
    assert_null(ddb_get(img, "city"));
    assert_null(ddb_member_at(img, 3, NULL, NULL));
}

static void test_list_holds_mixed_types_in_order(void **state)
{
    const ddb_value *img =
        image(*state, "{\"l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"2\"},{\"B\":\"AA==\"},"
                      "{\"BOOL\":true},{\"NULL\":true},{\"M\":{\"k\":{\"S\":\"v\"}}},"
                      "{\"L\":[{\"N\":\"1\"}]},{\"SS\":[\"x\"]}]}}");
    const ddb_value *l = ddb_get(img, "l");
    static const ddb_type want[] = {DDB_S, DDB_N, DDB_B, DDB_BOOL, DDB_NULL, DDB_M, DDB_L, DDB_SS};
    size_t i;
    assert_int_equal(ddb_count(l), 8);
    for (i = 0; i < 8; i++) assert_int_equal(ddb_type_of(ddb_at(l, i)), want[i]);
    ASSERT_S(ddb_at(l, 0), "a");
    ASSERT_N(ddb_at(l, 1), "2");
    ASSERT_B(ddb_at(l, 2), "\x00");
    ASSERT_S(ddb_get(ddb_at(l, 5), "k"), "v");
    ASSERT_N(ddb_at(ddb_at(l, 6), 0), "1");
    ASSERT_S(ddb_at(ddb_at(l, 7), 0), "x");
    assert_null(ddb_at(l, 8));
}

static void test_set_elements_are_values_of_the_set_type(void **state)
{
    const ddb_value *img =
        image(*state, "{\"ss\":{\"SS\":[\"a\",\"caf\\u00e9\"]},"
                      "\"ns\":{\"NS\":[\"1\",\"-2.5\"]},\"bs\":{\"BS\":[\"AP8=\",\"\"]}}");
    const ddb_value *ss = ddb_get(img, "ss"), *ns = ddb_get(img, "ns"), *bs = ddb_get(img, "bs");
    int64_t i = 0;
    assert_int_equal(ddb_type_of(ss), DDB_SS);
    assert_int_equal(ddb_count(ss), 2);
    ASSERT_S(ddb_at(ss, 0), "a");
    ASSERT_S(ddb_at(ss, 1), "caf\xC3\xA9");
    assert_int_equal(ddb_type_of(ns), DDB_NS);
    ASSERT_N(ddb_at(ns, 1), "-2.5");
    assert_int_equal(ddb_n_int64(ddb_at(ns, 0), &i), DDB_OK);
    assert_true(i == 1);
    assert_int_equal(ddb_type_of(bs), DDB_BS);
    ASSERT_B(ddb_at(bs, 0), "\x00\xFF");
    ASSERT_B(ddb_at(bs, 1), "");
}

static void test_empty_map_list_and_set_are_accepted(void **state)
{
    const ddb_value *img = image(*state, "{\"m\":{\"M\":{}},\"l\":{\"L\":[]},\"ss\":{\"SS\":[]}}");
    assert_int_equal(ddb_type_of(ddb_get(img, "m")), DDB_M);
    assert_int_equal(ddb_count(ddb_get(img, "m")), 0);
    assert_int_equal(ddb_type_of(ddb_get(img, "l")), DDB_L);
    assert_int_equal(ddb_count(ddb_get(img, "l")), 0);
    assert_int_equal(ddb_type_of(ddb_get(img, "ss")), DDB_SS);
    assert_int_equal(ddb_count(ddb_get(img, "ss")), 0);
}

static void test_duplicate_set_members_are_all_kept(void **state)
{
    const ddb_value *img =
        image(*state, "{\"bs\":{\"BS\":[\"AA==\",\"AA==\"]},\"ns\":{\"NS\":[\"1\",\"1\"]}}");
    assert_int_equal(ddb_count(ddb_get(img, "bs")), 2);
    assert_int_equal(ddb_count(ddb_get(img, "ns")), 2);
}

static void test_an_empty_image_is_an_empty_map(void **state)
{
    const ddb_value *img = image(*state, "{}");
    assert_int_equal(ddb_count(img), 0);
}

/* ---- record fields ------------------------------------------------------------------- */

static void test_record_fields_are_decoded(void **state)
{
    const ddb_record *r =
        only(accept(*state, EVENT(RECORD("INSERT", ORDERS_ARN,
                                         ",\"SizeBytes\":1234,\"StreamViewType\":\"NEW_IMAGE\","
                                         "\"NewImage\":{\"pk\":{\"S\":\"k\"}}",
                                         ""))));
    assert_int_equal(r->size, sizeof(ddb_record));
    assert_int_equal(r->index, 0);
    assert_int_equal(r->event_name, DDB_INSERT);
    assert_int_equal(r->view_type, DDB_VIEW_NEW_IMAGE);
    assert_false(r->ttl_delete);
    assert_false(r->has_creation_time);
    assert_true(r->size_bytes == 1234);
    assert_str(r->event_id, "e1");
    assert_str(r->event_version, "1.1");
    assert_str(r->region, "eu-west-1");
    assert_str(r->event_source_arn, ORDERS_ARN);
    assert_str(r->table, "Orders");
    assert_str(r->sequence_number, SEQ40); /* 40 digits: text, never an integer */
    ASSERT_S(ddb_get(r->keys, "pk"), "k");
    ASSERT_S(ddb_get(r->new_image, "pk"), "k");
    assert_null(r->old_image);
}

static void test_absent_fields_read_as_absent(void **state)
{
    const ddb_record *r = only(accept(*state, EVENT(RECORD("MODIFY", ORDERS_ARN, "", ""))));
    assert_int_equal(r->event_name, DDB_MODIFY);
    assert_true(r->size_bytes == -1);
    assert_int_equal(r->view_type, DDB_VIEW_UNKNOWN);
    assert_false(r->has_creation_time);
    assert_int_equal(ddb_type_of(r->keys), DDB_M);
    assert_null(r->new_image);
    assert_null(r->old_image);
}

static void test_every_stream_view_type_is_recognised(void **state)
{
    static const struct { const char *text; ddb_view_type view; } views[] = {
        {"KEYS_ONLY", DDB_VIEW_KEYS_ONLY},
        {"NEW_IMAGE", DDB_VIEW_NEW_IMAGE},
        {"OLD_IMAGE", DDB_VIEW_OLD_IMAGE},
        {"NEW_AND_OLD_IMAGES", DDB_VIEW_NEW_AND_OLD_IMAGES},
    };
    size_t i;
    for (i = 0; i < sizeof views / sizeof views[0]; i++) {
        const ddb_record *r = only(
            accept(*state, EVENT(RECORD("INSERT", ORDERS_ARN, ",\"StreamViewType\":\"%s\"", "")),
                   views[i].text));
        assert_int_equal(r->view_type, views[i].view);
    }
}

static void test_records_keep_their_index_and_event_name(void **state)
{
    static const char three[] = EVENT(RECORD("INSERT", ORDERS_ARN, "", "") ","
                                      RECORD("MODIFY", ORDERS_ARN, "", "") ","
                                      RECORD("REMOVE", ORDERS_ARN, "", ""));
    const event_batch *b = accept(*state, "%s", three);
    assert_int_equal(b->count, 3);
    assert_int_equal(b->records[0].event_name, DDB_INSERT);
    assert_int_equal(b->records[1].event_name, DDB_MODIFY);
    assert_int_equal(b->records[2].event_name, DDB_REMOVE);
    assert_int_equal(b->records[0].index, 0);
    assert_int_equal(b->records[1].index, 1);
    assert_int_equal(b->records[2].index, 2);
    assert_false(b->tumbling_window);
}

static void test_creation_time_in_every_form_becomes_milliseconds(void **state)
{
    static const struct { const char *json; int64_t ms; } times[] = {
        {"1480642020", 1480642020000},
        {"1693997155.0", 1693997155000},
        {"1559320290.838", 1559320290838},
        {"1646887668.348366", 1646887668348},
        {"1.635734407123456789E9", 1635734407123},
        {"1.4285376E9", 1428537600000},
        {"1480642020000", 1480642020000},    /* already milliseconds */
        {"1720046486486729", 1720046486486}, /* microseconds */
        {"\"1678831218.0\"", 1678831218000}, /* a string holding a number */
    };
    size_t i;
    for (i = 0; i < sizeof times / sizeof times[0]; i++) {
        const ddb_record *r = only(accept(
            *state, EVENT(RECORD("INSERT", ORDERS_ARN, ",\"ApproximateCreationDateTime\":%s", "")),
            times[i].json));
        if (!r->has_creation_time || r->creation_time_ms != times[i].ms)
            fail_msg("ApproximateCreationDateTime %s: want %lld ms, got %s%lld", times[i].json,
                     (long long)times[i].ms, r->has_creation_time ? "" : "none, ",
                     (long long)r->creation_time_ms);
    }
}

static void test_table_is_taken_from_the_stream_arn_or_left_absent(void **state)
{
    static const struct { const char *arn; const char *table; } arns[] = {
        {"arn:aws:dynamodb:us-west-2:111122223333:table/TestTable/stream/2015-05-11T21:21:33.291",
         "TestTable"},
        {"arn:aws-cn:dynamodb:cn-north-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000",
         "Orders"},
        {"arn:aws-us-gov:dynamodb:us-gov-west-1:123456789012:table/Orders/stream/"
         "2024-01-01T00:00:00.000",
         "Orders"},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/a.b_c-D9/stream/label:with:colons",
         "a.b_c-D9"},
        {"arn:aws:dynamodb:eu-west-1:\xF0\x9F\xA6\x8A:table/"
         "dynamodb-streams-test-experiment-NewOldTable-7U1U2U9UKTB7"
         "/stream/2020-07-16T21:40:16.952",
         "dynamodb-streams-test-experiment-NewOldTable-7U1U2U9UKTB7"},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/abc/stream/x", "abc"},
        {"arn:aws:dynamodb:us-east-1:123456789012:table\\/Escaped\\/stream\\/x", "Escaped"},
        {"stream-ARN", NULL},
        {"", NULL},
        {"arn:{partition}:dynamodb:{region}:account-id:table/ExampleTableWithStream/stream/"
         "2015-06-27T00:48:05.899",
         NULL},
        {"arn:{{{partition}}}:dynamodb:{{{region}}}:{{{account_id}}}:table/{{{table}}}/stream/"
         "2015-06-27T00:48:05.899",
         NULL},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/ab/stream/2024-01-01T00:00:00.000", NULL},
        {"arn:aws:kinesis:eu-west-1:1234567789012:stream/"
         "PowertoolsEventsStack-KinesisStream46752A3E-u0C9B3ZKjgG0",
         NULL},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/Orders", NULL},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/", NULL},
        {"arn:aws:dynamodb:us-east-1:123456789012:table/Ord$ers/stream/x", NULL},
        {"arn:awsx:dynamodb:us-east-1:123456789012:table/Orders/stream/x", NULL},
        {"arn:aws:dynamodbx:us-east-1:123456789012:table/Orders/stream/x", NULL},
    };
    size_t i;
    for (i = 0; i < sizeof arns / sizeof arns[0]; i++) {
        const ddb_record *r =
            only(accept(*state, EVENT(RECORD("INSERT", "%s", "", "")), arns[i].arn));
        if (arns[i].table) {
            if (!r->table.ptr) fail_msg("%s: no table, want %s", arns[i].arn, arns[i].table);
            assert_str(r->table, arns[i].table);
        } else if (r->table.ptr) {
            fail_msg("%s: table \"%.*s\", want none", arns[i].arn, (int)r->table.len, r->table.ptr);
        }
    }
}

static void test_table_name_may_have_255_characters_but_not_256(void **state)
{
    char name[257], arn[400];
    const ddb_record *r;
    memset(name, 'T', 256);
    name[255] = '\0';
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:us-east-1:123456789012:table/%s/stream/x", name);
    r = only(accept(*state, EVENT(RECORD("INSERT", "%s", "", "")), arn));
    assert_str(r->table, name);
    name[255] = 'T';
    name[256] = '\0';
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:us-east-1:123456789012:table/%s/stream/x", name);
    r = only(accept(*state, EVENT(RECORD("INSERT", "%s", "", "")), arn));
    assert_null(r->table.ptr);
}

#define SERVICE_TTL "\"type\":\"Service\",\"principalId\":\"dynamodb.amazonaws.com\""

static void test_ttl_delete_only_for_a_remove_by_the_dynamodb_service(void **state)
{
    static const struct { const char *name, *identity; bool ttl; } cases[] = {
        {"REMOVE", ",\"userIdentity\":{" SERVICE_TTL "}", true},
        {"REMOVE",
         ",\"userIdentity\":{\"principalId\":\"dynamodb.amazonaws.com\",\"type\":\"Service\"}",
         true},
        {"REMOVE", "", false},
        {"REMOVE", ",\"userIdentity\":null", false},
        {"INSERT", ",\"userIdentity\":{" SERVICE_TTL "}", false},
        {"MODIFY", ",\"userIdentity\":{" SERVICE_TTL "}", false},
        {"REMOVE",
         ",\"userIdentity\":{\"type\":\"Service\",\"principalId\":\"lambda.amazonaws.com\"}",
         false},
        {"REMOVE",
         ",\"userIdentity\":{\"type\":\"User\",\"principalId\":\"dynamodb.amazonaws.com\"}", false},
        {"REMOVE", ",\"userIdentity\":{\"type\":\"Service\"}", false},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ddb_record *r = only(accept(*state, EVENT(RECORD("%s", ORDERS_ARN, "", "%s")),
                                          cases[i].name, cases[i].identity));
        if (r->ttl_delete != cases[i].ttl)
            fail_msg("%s with userIdentity '%s': ttl_delete %d, want %d", cases[i].name,
                     cases[i].identity, r->ttl_delete, cases[i].ttl);
    }
}

/* FORMAT.md §3: which images each view type carries, on the twelve real captures. */
static void test_images_are_present_as_the_view_type_says(void **state)
{
    static const struct { const char *file; ddb_view_type view; bool new_image, old; } caps[] = {
        {"keys-only-insert", DDB_VIEW_KEYS_ONLY, false, false},
        {"keys-only-modify", DDB_VIEW_KEYS_ONLY, false, false},
        {"keys-only-remove", DDB_VIEW_KEYS_ONLY, false, false},
        {"new-image-insert", DDB_VIEW_NEW_IMAGE, true, false},
        {"new-image-modify", DDB_VIEW_NEW_IMAGE, true, false},
        {"new-image-remove", DDB_VIEW_NEW_IMAGE, false, false},
        {"old-image-insert", DDB_VIEW_OLD_IMAGE, false, false},
        {"old-image-modify", DDB_VIEW_OLD_IMAGE, false, true},
        {"old-image-remove", DDB_VIEW_OLD_IMAGE, false, true},
        {"new-and-old-images-insert", DDB_VIEW_NEW_AND_OLD_IMAGES, true, false},
        {"new-and-old-images-modify", DDB_VIEW_NEW_AND_OLD_IMAGES, true, true},
        {"new-and-old-images-remove", DDB_VIEW_NEW_AND_OLD_IMAGES, false, true},
    };
    size_t i;
    for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        char path[256];
        const ddb_record *r;
        snprintf(path, sizeof path, "events/ankcorn-dynamodb-streams-test-%s.json", caps[i].file);
        r = only(accept_file(*state, path));
        assert_int_equal(r->view_type, caps[i].view);
        ASSERT_S(ddb_get(r->keys, "pk"), "a");
        assert_int_equal(r->new_image != NULL, caps[i].new_image);
        assert_int_equal(r->old_image != NULL, caps[i].old);
    }
}

static void test_modify_with_both_images_shows_before_and_after(void **state)
{
    const ddb_record *r = only(
        accept_file(*state, "events/ankcorn-dynamodb-streams-test-new-and-old-images-modify.json"));
    assert_int_equal(r->event_name, DDB_MODIFY);
    ASSERT_S(ddb_get(r->old_image, "data"), "test");
    ASSERT_S(ddb_get(r->new_image, "data"), "hello");
    assert_str(r->table, "dynamodb-streams-test-experiment-NewOldTable-7U1U2U9UKTB7");
    assert_str(r->sequence_number, "200000000027074221525");
    assert_true(r->size_bytes == 35);
    assert_true(r->creation_time_ms == 1594936238000);
}

/* ---- leniency (FORMAT.md §8) --------------------------------------------------------- */

static void test_bom_and_whitespace_around_the_event_are_accepted(void **state)
{
    const event_batch *b =
        accept(*state, "\xEF\xBB\xBF \r\n\t" EVENT(RECORD("INSERT", ORDERS_ARN, "", "")) " \n");
    assert_int_equal(b->count, 1);
}

static void test_unknown_keys_are_ignored_at_every_level(void **state)
{
    /* every kind of JSON value, escapes and nesting included, under names nobody knows */
#define ANY                                                                                  \
    "{\"s\":\"x\\\"}\\u00e9\",\"n\":-1.5e-3,\"t\":true,\"f\":false,\"z\":null,"             \
    "\"a\":[[],{},[{\"S\":1}]]}"
    static const char text[] =
        "{\"future\":" ANY ",\"Records\":["
        RECORD("REMOVE", ORDERS_ARN, ",\"Extra\":" ANY ",\"StreamViewType\":\"KEYS_ONLY\"",
               ",\"extra\":" ANY ",\"userIdentity\":{\"more\":" ANY "," SERVICE_TTL "}")
        "],\"later\":" ANY "}";
#undef ANY
    const ddb_record *r = only(accept(*state, "%s", text));
    assert_int_equal(r->event_name, DDB_REMOVE);
    assert_int_equal(r->view_type, DDB_VIEW_KEYS_ONLY);
    assert_true(r->ttl_delete);
    assert_str(r->sequence_number, SEQ40);
}

static void test_keys_may_come_in_any_order(void **state)
{
    const ddb_record *r = only(
        accept(*state, "{\"x\":{},\"Records\":[{\"dynamodb\":{\"StreamViewType\":\"NEW_IMAGE\","
                       "\"NewImage\":{\"a\":{\"N\":\"1\"}},"
                       "\"SizeBytes\":7,\"SequenceNumber\":\"9\",\"Keys\":{\"a\":{\"N\":\"1\"}},"
                       "\"ApproximateCreationDateTime\":1},"
                       "\"eventSourceARN\":\"" ORDERS_ARN
                       "\",\"awsRegion\":\"us-east-1\",\"eventSource\":\"aws:dynamodb\","
                       "\"eventVersion\":\"1.0\",\"eventID\":\"x\",\"eventName\":\"MODIFY\"}]}"));
    assert_int_equal(r->event_name, DDB_MODIFY);
    assert_int_equal(r->view_type, DDB_VIEW_NEW_IMAGE);
    assert_true(r->size_bytes == 7);
    assert_true(r->creation_time_ms == 1000);
    assert_str(r->sequence_number, "9");
    assert_str(r->region, "us-east-1");
    assert_str(r->event_id, "x");
    assert_str(r->event_version, "1.0");
    assert_str(r->table, "Orders");
    ASSERT_N(ddb_get(r->new_image, "a"), "1");
}

static void test_tumbling_window_event_is_accepted_and_flagged(void **state)
{
    const event_batch *b =
        accept_file(*state, "events/lambda-devguide-with-ddb-timewindow-event.json");
    assert_int_equal(b->count, 3);
    assert_true(b->tumbling_window);
    assert_int_equal(b->records[2].event_name, DDB_REMOVE);
    b = accept(*state, "%s",
               "{\"Records\":[" RECORD("INSERT", ORDERS_ARN, "", "") "],"
               "\"window\":{\"start\":\"2020-07-30T17:00:00Z\",\"end\":\"2020-07-30T17:05:00Z\"},"
               "\"state\":{\"1\":{\"deep\":[1,[2]]}},\"shardId\":\"shard123456789\","
               "\"eventSourceARN\":\"" ORDERS_ARN "\",\"isFinalInvokeForWindow\":false,"
               "\"isWindowTerminatedEarly\":false}");
    assert_int_equal(b->count, 1);
    assert_true(b->tumbling_window);
}

/* ---- tumbling windows ------------------------------------------------------------------ */

/* A member's raw JSON text as a C string (it is not terminated in the event). */
static const char *member_json(const event_member *m)
{
    static char text[256];
    assert_true(m->json.len < sizeof text);
    memcpy(text, m->json.ptr, m->json.len);
    text[m->json.len] = '\0';
    return text;
}

static void test_a_window_event_says_its_bounds_shard_flags_and_table(void **state)
{
    const event_batch *b =
        accept(*state, "%s",
               "{\"Records\":[" RECORD("INSERT", ORDERS_ARN, "", "") "],"
               "\"window\":{\"start\":\"2020-07-30T17:00:00Z\",\"end\":\"2020-07-30T17:05:00Z\"},"
               "\"state\":{},\"shardId\":\"shard\\u0031\",\"eventSourceARN\":\"" ORDERS_ARN "\","
               "\"isFinalInvokeForWindow\":true,\"isWindowTerminatedEarly\":false}");
    const event_window *w = &b->window;
    assert_true(b->tumbling_window);
    assert_str(w->start, "2020-07-30T17:00:00Z");
    assert_str(w->end, "2020-07-30T17:05:00Z");
    assert_true(w->start_ms == INT64_C(1596128400000));
    assert_true(w->end_ms == INT64_C(1596128700000));
    assert_str(w->shard_id, "shard1");
    assert_str(w->table, "Orders");
    assert_true(w->final_invoke);
    assert_false(w->terminated_early);
    assert_true(w->state_object);
    assert_int_equal(w->nmembers, 0);
}

static void test_window_bounds_read_fractions_offsets_and_leap_days(void **state)
{
    static const struct { const char *text; int64_t ms; } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2020-07-30T17:00:00.5Z", INT64_C(1596128400500)},
        {"2020-07-30T17:00:00.123456z", INT64_C(1596128400123)},
        {"2020-07-30T19:00:00+02:00", INT64_C(1596128400000)},
        {"2020-07-30T16:30:00-00:30", INT64_C(1596128400000)},
        {"2020-07-30t17:00:00", INT64_C(1596128400000)},
        {"2024-02-29T00:00:00Z", INT64_C(1709164800000)},
        {"2000-03-01T00:00:00Z", INT64_C(951868800000)},
        {"1969-12-31T23:59:59Z", -1000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const event_batch *b = accept(*state, "{\"Records\":[],\"window\":{\"start\":\"%s\"}}",
                                      cases[i].text);
        if (b->window.start_ms != cases[i].ms)
            fail_msg("%s: %lld ms, want %lld", cases[i].text, (long long)b->window.start_ms,
                     (long long)cases[i].ms);
        assert_null(b->window.end.ptr);
        assert_true(b->window.end_ms == 0);
    }
}

static void test_window_state_members_are_named_and_kept_as_written(void **state)
{
    const event_batch *b = accept(*state, "%s",
                                  "{\"state\" : { \"sum\" : \"12\", \"caf\\u00e9\":{\"deep\": [1,[2]]},"
                                  "\"n\":-2.5e3 } ,\"Records\":[]}");
    const event_window *w = &b->window;
    assert_true(b->tumbling_window);
    assert_true(w->state_object);
    assert_int_equal(w->nmembers, 3);
    assert_str(w->members[0].name, "sum");
    assert_string_equal(member_json(&w->members[0]), "\"12\"");
    assert_str(w->members[1].name, "caf\xC3\xA9");
    assert_string_equal(member_json(&w->members[1]), "{\"deep\": [1,[2]]}");
    assert_str(w->members[2].name, "n");
    assert_string_equal(member_json(&w->members[2]), "-2.5e3");
    /* the state itself, as it came, escapes and white space included */
    assert_int_equal(w->state.len, strlen("{ \"sum\" : \"12\", \"caf\\u00e9\":{\"deep\": [1,[2]]},"
                                          "\"n\":-2.5e3 }"));
    assert_memory_equal(w->state.ptr, "{ \"sum\" : \"12\", \"caf\\u00e9\"", 26);
    assert_null(w->start.ptr);
    assert_null(w->table.ptr);
}

static void test_a_state_that_is_not_an_object_has_no_members_and_null_keys_are_absent(void **state)
{
    const event_batch *b = accept(*state, "%s",
                                  "{\"Records\":[],\"state\":[1,2],\"window\":null,\"shardId\":null,"
                                  "\"isFinalInvokeForWindow\":null,\"eventSourceARN\":7}");
    const event_window *w = &b->window;
    assert_true(b->tumbling_window);
    assert_false(w->state_object);
    assert_int_equal(w->nmembers, 0);
    assert_int_equal(w->state.len, 5);
    assert_null(w->shard_id.ptr);
    assert_false(w->final_invoke);
    assert_null(w->table.ptr);
}

/* The next event starts with no window: nothing of the last one's is left. */
static void test_a_plain_event_after_a_window_event_has_no_window(void **state)
{
    accept_file(*state, "events/aws-lambda-go-dynamodb-time-window-event.json");
    const event_batch *b = accept(*state, "{\"Records\":[]}");
    assert_false(b->tumbling_window);
    assert_null(b->window.state.ptr);
    assert_null(b->window.members);
    assert_int_equal(b->window.nmembers, 0);
}

/* What the host writes back as a state is what the decoder reads when Lambda sends it again. */
static void test_a_state_text_json_object_accepts_is_a_state_the_decoder_reads(void **state)
{
    static const char *const texts[] = {
        "{}", "{\"a\":1}", "{\"a\":[1,{\"b\":null}],\"c\":\"\\ud83e\\udd8a\"}", "{\"a\":1,}",
        "{\"a\":\"\\udc00\"}", "{\"a\":\"\xC3\"}", "{\"a\":01}", "{\"a\":\"x\ty\"}", "{\"a\" 1}",
        "{\"a\":1}}", "{\"a\":-}", "{\"a\":1e5,\"b\":-0.0}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char why[256], event[512];
        snprintf(event, sizeof event, "{\"Records\":[],\"state\":%s}", texts[i]);
        bool text_ok = text_json_object(texts[i], strlen(texts[i]), why, sizeof why);
        bool decoded = fixture_decode(*state, event, strlen(event), '}');
        if (text_ok != decoded)
            fail_msg("%s: text_json_object says %d, the decoder %d", texts[i], text_ok, decoded);
    }
}

static void test_empty_records_is_an_event_with_no_records(void **state)
{
    const event_batch *b = accept(*state, "{\"Records\":[]}");
    assert_int_equal(b->count, 0);
    assert_false(b->tumbling_window);
}

/* ---- reuse --------------------------------------------------------------------------- */

/* An event of n INSERT records, each NewImage with four attributes (heap: free it). */
static char *big_event(size_t n)
{
    size_t cap = 64 + n * 1024, len, i;
    char *s = malloc(cap);
    assert_non_null(s);
    len = (size_t)sprintf(s, "{\"Records\":[");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s" RECORD("INSERT", ORDERS_ARN,
            ",\"NewImage\":{\"seq\":{\"N\":\"%zu\"},\"note\":{\"S\":\"record \\u00e9 %zu\"},"
            "\"tags\":{\"SS\":[\"a\",\"b\",\"c\"]},\"blob\":{\"B\":\"AAECAwQFBgc=\"}}", ""),
            i ? "," : "", i, i);
    snprintf(s + len, cap - len, "]}");
    return s;
}

static void test_a_small_event_after_a_big_one_shows_only_its_own_records(void **state)
{
    char *big = big_event(500);
    const event_batch *b = accept(*state, "%s", big);
    const ddb_record *r;
    int64_t seq = 0;
    free(big);
    assert_int_equal(b->count, 500);
    assert_int_equal(ddb_n_int64(ddb_get(b->records[499].new_image, "seq"), &seq), DDB_OK);
    assert_true(seq == 499);
    ASSERT_S(ddb_get(b->records[7].new_image, "note"), "record \xC3\xA9 7");

    r = only(accept(*state, EVENT(RECORD("MODIFY", "stream-ARN",
                                         ",\"NewImage\":{\"only\":{\"S\":\"b\"}}", ""))));
    assert_int_equal(r->event_name, DDB_MODIFY);
    assert_int_equal(r->index, 0);
    assert_null(r->table.ptr);
    assert_int_equal(ddb_count(r->new_image), 1);
    ASSERT_S(ddb_get(r->new_image, "only"), "b");
    assert_null(ddb_get(r->new_image, "seq"));
    assert_null(r->old_image);
    assert_false(r->has_creation_time);
}

static void test_decoding_the_same_event_again_reserves_no_more_memory(void **state)
{
    fixture *f = *state;
    char *big = big_event(300);
    size_t first, second, third;
    accept(f, "%s", big);
    first = event_decoder_reserved(f->d);
    accept(f, "%s", big);
    second = event_decoder_reserved(f->d);
    accept(f, EVENT(RECORD("INSERT", ORDERS_ARN, "", "")));
    accept(f, "%s", big);
    third = event_decoder_reserved(f->d);
    free(big);
    if (second > first || third > first)
        fail_msg("reserved grew: %zu bytes after the first decode, %zu after the second, %zu after "
                 "the third",
                 first, second, third);
}

/* ---- real events --------------------------------------------------------------------- */

static void test_a_realistic_batch_decodes_with_its_values(void **state)
{
    const event_batch *b = accept_file(*state, "events/powertools-java-dynamo_event_big.json");
    const ddb_record *r0, *r2;
    int64_t id = 0;
    assert_int_equal(b->count, 12);
    r0 = &b->records[0];
    r2 = &b->records[2];
    assert_int_equal(r0->event_name, DDB_INSERT);
    assert_false(r0->ttl_delete); /* a Service identity on an INSERT is not a TTL delete */
    assert_str(r0->event_id, "c4ca4238a0b923820dcc509a6f75849b");
    assert_str(r0->sequence_number, "4421584500000000017450439001");
    assert_str(r0->table, "ExampleTableWithStream");
    assert_str(r0->region, "eu-central-1");
    assert_true(r0->creation_time_ms == 1428537600000);
    assert_true(r0->size_bytes == 26);
    ASSERT_S(ddb_get(r0->new_image, "Message"), "New item!");
    assert_int_equal(ddb_n_int64(ddb_get(r0->keys, "Id"), &id), DDB_OK);
    assert_true(id == 101);
    assert_int_equal(r2->event_name, DDB_REMOVE);
    assert_int_equal(r2->index, 2);
    assert_true(r2->size_bytes == 38);
    assert_null(r2->new_image);
    ASSERT_S(ddb_get(r2->old_image, "Message"), "This item has changed");
    assert_str(b->records[11].sequence_number, "4421584500000000017450439093");
}

static void test_a_library_fixture_with_every_type_decodes(void **state)
{
    const event_batch *b = accept_file(*state, "events/aws-lambda-go-dynamodb-event.json");
    const ddb_value *img;
    bool yes = false;
    assert_int_equal(b->count, 2);
    assert_false(b->records[0].ttl_delete);
    img = b->records[1].new_image;
    ASSERT_B(ddb_get(img, "asdf1"), "\x00\x01\x2A\x41");
    ASSERT_B(ddb_get(img, "b2"), "\xB5\xEB\x2D"); /* "test" is valid base64 */
    assert_int_equal(ddb_count(ddb_get(img, "asdf2")), 3);
    assert_int_equal(ddb_get_bool(ddb_get(img, "Boolean"), &yes), DDB_OK);
    assert_true(yes);
    ASSERT_N(ddb_at(ddb_get(img, "List"), 2), "3.14159");
    ASSERT_S(ddb_get(ddb_get(img, "Map"), "Name"), "Joe");
    ASSERT_N(ddb_at(ddb_get(img, "NumberSet"), 1), "567.8");
    assert_true(ddb_is_null(ddb_get(img, "Null")));
    ASSERT_S(ddb_at(ddb_get(img, "StringSet"), 1), "Zebra");
}

static void test_a_fixture_with_a_bom_milliseconds_and_a_ttl_delete_decodes(void **state)
{
    const event_batch *b =
        accept_file(*state, "events/aws-lambda-dotnet-dynamodb-with-ms-event.json");
    assert_int_equal(b->count, 2);
    assert_true(b->records[0].creation_time_ms == 1480642020000);
    assert_true(b->records[1].creation_time_ms == 1480642020000);
    assert_int_equal(b->records[1].event_name, DDB_REMOVE);
    assert_int_equal(b->records[1].view_type, DDB_VIEW_OLD_IMAGE);
    assert_true(b->records[1].ttl_delete);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_s_unescapes_every_json_escape),
        TEST(test_s_turns_unicode_escapes_into_utf8),
        TEST(test_s_keeps_an_escaped_nul_and_counts_it),
        TEST(test_s_keeps_raw_utf8_byte_for_byte),
        TEST(test_s_may_be_empty),
        TEST(test_attribute_names_are_unescaped_before_lookup),
        TEST(test_n_keeps_a_38_digit_number_exactly),
        TEST(test_n_keeps_exponent_notation_and_converts_it),
        TEST(test_n_leading_zeros_of_a_fraction_are_not_significant),
        TEST(test_n_with_a_fraction_is_inexact_as_int64),
        TEST(test_b_is_base64_decoded_including_nul_and_ff),
        TEST(test_b_may_be_empty),
        TEST(test_bool_and_null_are_decoded),
        TEST(test_map_keeps_event_order_and_finds_members_by_name),
        TEST(test_list_holds_mixed_types_in_order),
        TEST(test_set_elements_are_values_of_the_set_type),
        TEST(test_empty_map_list_and_set_are_accepted),
        TEST(test_duplicate_set_members_are_all_kept),
        TEST(test_an_empty_image_is_an_empty_map),
        TEST(test_record_fields_are_decoded),
        TEST(test_absent_fields_read_as_absent),
        TEST(test_every_stream_view_type_is_recognised),
        TEST(test_records_keep_their_index_and_event_name),
        TEST(test_creation_time_in_every_form_becomes_milliseconds),
        TEST(test_table_is_taken_from_the_stream_arn_or_left_absent),
        TEST(test_table_name_may_have_255_characters_but_not_256),
        TEST(test_ttl_delete_only_for_a_remove_by_the_dynamodb_service),
        TEST(test_images_are_present_as_the_view_type_says),
        TEST(test_modify_with_both_images_shows_before_and_after),
        TEST(test_bom_and_whitespace_around_the_event_are_accepted),
        TEST(test_unknown_keys_are_ignored_at_every_level),
        TEST(test_keys_may_come_in_any_order),
        TEST(test_tumbling_window_event_is_accepted_and_flagged),
        TEST(test_a_window_event_says_its_bounds_shard_flags_and_table),
        TEST(test_window_bounds_read_fractions_offsets_and_leap_days),
        TEST(test_window_state_members_are_named_and_kept_as_written),
        TEST(test_a_state_that_is_not_an_object_has_no_members_and_null_keys_are_absent),
        TEST(test_a_plain_event_after_a_window_event_has_no_window),
        TEST(test_a_state_text_json_object_accepts_is_a_state_the_decoder_reads),
        TEST(test_empty_records_is_an_event_with_no_records),
        TEST(test_a_small_event_after_a_big_one_shows_only_its_own_records),
        TEST(test_decoding_the_same_event_again_reserves_no_more_memory),
        TEST(test_a_realistic_batch_decodes_with_its_values),
        TEST(test_a_library_fixture_with_every_type_decodes),
        TEST(test_a_fixture_with_a_bom_milliseconds_and_a_ttl_delete_decodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
