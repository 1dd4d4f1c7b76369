/* test_filter.c - Lambda's event filter patterns on a DynamoDB stream record: each operator
 * matching and not, AND over keys, OR over alternatives and patterns, nested objects, a key
 * that must be absent, array values, and the one-line messages of patterns that are wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "filter.h"

/* A record as Lambda delivers it from a stream of NEW_AND_OLD_IMAGES. */
static const char record_text[] =
    "{\"eventID\": \"7de3041dd709b024af6f29e4fa13d34c\", \"eventName\": \"MODIFY\","
    " \"eventVersion\": \"1.1\", \"eventSource\": \"aws:dynamodb\", \"awsRegion\": \"eu-west-1\","
    " \"dynamodb\": {\"ApproximateCreationDateTime\": 1700000000,"
    "  \"Keys\": {\"pk\": {\"S\": \"ord-42\"}},"
    "  \"NewImage\": {\"pk\": {\"S\": \"ord-42\"}, \"status\": {\"S\": \"Shipped\"},"
    "   \"qty\": {\"N\": \"5\"}, \"price\": {\"N\": \"19.99\"}, \"gift\": {\"BOOL\": true},"
    "   \"note\": {\"NULL\": true}, \"tags\": {\"SS\": [\"fragile\", \"blue\"]}},"
    "  \"OldImage\": {\"pk\": {\"S\": \"ord-42\"}, \"status\": {\"S\": \"packed\"},"
    "   \"qty\": {\"N\": \"5\"}},"
    "  \"SequenceNumber\": \"111\", \"SizeBytes\": 26, \"StreamViewType\": \"NEW_AND_OLD_IMAGES\"},"
    " \"eventSourceARN\": \"arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/x\"}";

/* Whether the patterns (JSON text) compile and match the record. */
static bool matches(const char *patterns)
{
    char err[512] = "";
    json_object *p = json_tokener_parse(patterns), *r = json_tokener_parse(record_text);
    assert_non_null(p);
    assert_non_null(r);
    filter *f = filter_compile(p, err, sizeof err);
    if (!f) fail_msg("%s: %s", patterns, err);
    bool m = filter_match(f, r);
    filter_free(f);
    json_object_put(p);
    json_object_put(r);
    return m;
}

/* The compile error of patterns that must be refused. */
static void refused(const char *patterns, const char *expected)
{
    char err[512] = "";
    json_object *p = json_tokener_parse(patterns);
    assert_non_null(p);
    filter *f = filter_compile(p, err, sizeof err);
    if (f) fail_msg("accepted: %s", patterns);
    json_object_put(p);
    assert_string_equal(err, expected);
}

#define NEW(attr, rule) "[{\"dynamodb\": {\"NewImage\": {\"" attr "\": " rule "}}}]"

static void test_exact_string_and_number_strings_of_dynamodb_json(void **state)
{
    (void)state;
    assert_true(matches("[{\"eventName\": [\"MODIFY\"]}]"));
    assert_false(matches("[{\"eventName\": [\"INSERT\"]}]"));
    assert_true(matches(NEW("qty", "{\"N\": [\"5\"]}")));
    assert_false(matches(NEW("qty", "{\"N\": [\"5.0\"]}")));
    assert_false(matches(NEW("qty", "{\"N\": [5]}"))); /* "N" is a string, not a number */
    assert_true(matches("[{\"dynamodb\": {\"SizeBytes\": [26]}}]"));
    assert_false(matches("[{\"dynamodb\": {\"SizeBytes\": [\"26\"]}}]"));
}

static void test_booleans_and_null(void **state)
{
    (void)state;
    assert_true(matches(NEW("gift", "{\"BOOL\": [true]}")));
    assert_false(matches(NEW("gift", "{\"BOOL\": [false]}")));
    assert_true(matches(NEW("note", "{\"NULL\": [true]}")));
    assert_false(matches(NEW("note", "{\"NULL\": [null]}")));
}

static void test_null_matches_a_null_value_only(void **state)
{
    (void)state;
    char err[256];
    json_object *p = json_tokener_parse("[{\"a\": [null]}]");
    filter *f = filter_compile(p, err, sizeof err);
    assert_non_null(f);
    json_object *with_null = json_tokener_parse("{\"a\": null}");
    json_object *with_text = json_tokener_parse("{\"a\": \"null\"}");
    json_object *without = json_tokener_parse("{\"b\": null}");
    assert_true(filter_match(f, with_null));
    assert_false(filter_match(f, with_text));
    assert_false(filter_match(f, without));
    json_object_put(with_null);
    json_object_put(with_text);
    json_object_put(without);
    filter_free(f);
    json_object_put(p);
}

static void test_prefix_and_suffix(void **state)
{
    (void)state;
    assert_true(matches("[{\"dynamodb\": {\"Keys\": {\"pk\": {\"S\": [{\"prefix\": \"ord-\"}]}}}}]"));
    assert_false(matches("[{\"dynamodb\": {\"Keys\": {\"pk\": {\"S\": [{\"prefix\": \"usr-\"}]}}}}]"));
    assert_false(matches("[{\"dynamodb\": {\"Keys\": {\"pk\": {\"S\": [{\"prefix\": \"ord-420\"}]}}}}]"));
    assert_true(matches("[{\"eventSourceARN\": [{\"suffix\": \"/stream/x\"}]}]"));
    assert_false(matches("[{\"eventSourceARN\": [{\"suffix\": \"/stream/y\"}]}]"));
    assert_false(matches("[{\"dynamodb\": {\"SizeBytes\": [{\"prefix\": \"2\"}]}}]"));
}

static void test_equals_ignore_case(void **state)
{
    (void)state;
    assert_true(matches(NEW("status", "{\"S\": [{\"equals-ignore-case\": \"SHIPPED\"}]}")));
    assert_false(matches(NEW("status", "{\"S\": [{\"equals-ignore-case\": \"SHIPPE\"}]}")));
    assert_false(matches(NEW("status", "{\"S\": [\"shipped\"]}")));
}

static void test_anything_but(void **state)
{
    (void)state;
    assert_true(matches("[{\"eventName\": [{\"anything-but\": [\"INSERT\", \"REMOVE\"]}]}]"));
    assert_false(matches("[{\"eventName\": [{\"anything-but\": [\"INSERT\", \"MODIFY\"]}]}]"));
    assert_false(matches("[{\"eventName\": [{\"anything-but\": [\"MODIFY\", \"INSERT\"]}]}]"));
    assert_false(matches("[{\"eventName\": [{\"anything-but\": \"MODIFY\"}]}]"));
    assert_true(matches("[{\"eventName\": [{\"anything-but\": {\"prefix\": \"INS\"}}]}]"));
    assert_false(matches("[{\"eventName\": [{\"anything-but\": {\"prefix\": \"MOD\"}}]}]"));
    assert_true(matches("[{\"dynamodb\": {\"SizeBytes\": [{\"anything-but\": [25, 27]}]}}]"));
    assert_false(matches("[{\"dynamodb\": {\"SizeBytes\": [{\"anything-but\": 26}]}}]"));
}

static void test_numeric_compares_the_value_of_an_n_string(void **state)
{
    (void)state;
    assert_true(matches(NEW("qty", "{\"N\": [{\"numeric\": [\">\", 4]}]}")));
    assert_false(matches(NEW("qty", "{\"N\": [{\"numeric\": [\">\", 5]}]}")));
    assert_true(matches(NEW("qty", "{\"N\": [{\"numeric\": [\">=\", 5]}]}")));
    assert_true(matches(NEW("qty", "{\"N\": [{\"numeric\": [\"<=\", 5]}]}")));
    assert_false(matches(NEW("qty", "{\"N\": [{\"numeric\": [\"<\", 5]}]}")));
    assert_true(matches(NEW("qty", "{\"N\": [{\"numeric\": [\"=\", 5.0]}]}")));
    assert_true(matches(NEW("price", "{\"N\": [{\"numeric\": [\">\", 10, \"<=\", 20]}]}")));
    assert_false(matches(NEW("price", "{\"N\": [{\"numeric\": [\">\", 10, \"<\", 19.99]}]}")));
    assert_false(matches(NEW("status", "{\"S\": [{\"numeric\": [\">\", 0]}]}")));
    /* a string that is not a number is no number, not 0 */
    assert_false(matches(NEW("status", "{\"S\": [{\"numeric\": [\"<\", 1]}]}")));
}

static void test_exists_true_and_false(void **state)
{
    (void)state;
    assert_true(matches(NEW("gift", "{\"BOOL\": [{\"exists\": true}]}")));
    assert_false(matches(NEW("coupon", "{\"S\": [{\"exists\": true}]}")));
    assert_false(matches("[{\"dynamodb\": {\"NewImage\": {\"coupon\": [{\"exists\": true}]}}}]"));
    assert_true(matches("[{\"dynamodb\": {\"NewImage\": {\"coupon\": [{\"exists\": false}]}}}]"));
    assert_false(matches("[{\"dynamodb\": {\"NewImage\": {\"gift\": [{\"exists\": false}]}}}]"));
    /* an attribute the old image lacks, a field the new one has */
    assert_true(matches("[{\"dynamodb\": {\"OldImage\": {\"gift\": [{\"exists\": false}]},"
                        " \"NewImage\": {\"gift\": {\"BOOL\": [true]}}}}]"));
}

static void test_an_array_value_matches_when_any_element_does(void **state)
{
    (void)state;
    assert_true(matches(NEW("tags", "{\"SS\": [\"blue\"]}")));
    assert_true(matches(NEW("tags", "{\"SS\": [{\"prefix\": \"frag\"}]}")));
    assert_false(matches(NEW("tags", "{\"SS\": [\"red\"]}")));
}

static void test_keys_are_and_alternatives_and_patterns_are_or(void **state)
{
    (void)state;
    assert_true(matches("[{\"eventName\": [\"MODIFY\"], \"awsRegion\": [\"eu-west-1\"]}]"));
    assert_false(matches("[{\"eventName\": [\"MODIFY\"], \"awsRegion\": [\"us-east-1\"]}]"));
    assert_true(matches("[{\"eventName\": [\"INSERT\", \"MODIFY\"]}]"));
    assert_true(matches("[{\"eventName\": [\"INSERT\"]}, {\"eventName\": [\"MODIFY\"]}]"));
    assert_false(matches("[{\"eventName\": [\"INSERT\"]}, {\"eventName\": [\"REMOVE\"]}]"));
    /* nested: every level must match */
    assert_true(matches("[{\"dynamodb\": {\"NewImage\": {\"status\": {\"S\": [\"Shipped\"]}},"
                        " \"OldImage\": {\"status\": {\"S\": [\"packed\"]}}}}]"));
    assert_false(matches("[{\"dynamodb\": {\"NewImage\": {\"status\": {\"S\": [\"Shipped\"]}},"
                         " \"OldImage\": {\"status\": {\"S\": [\"Shipped\"]}}}}]"));
    /* a pattern key absent from the record, or a rule on an object, matches nothing */
    assert_false(matches("[{\"dynamodb\": {\"NewImage\": {\"missing\": {\"S\": [\"x\"]}}}}]"));
    assert_false(matches("[{\"dynamodb\": {\"NewImage\": {\"status\": [{\"exists\": true}]}}}]"));
}

static void test_mistakes_are_refused_with_the_pattern_and_key_path(void **state)
{
    (void)state;
    refused("[]", "expected a non-empty array of filter patterns");
    refused("{\"eventName\": [\"INSERT\"]}", "expected a non-empty array of filter patterns");
    refused("[{\"eventName\": [\"INSERT\"]}, 3]", "pattern 1: (top): expected a pattern object");
    refused("[{\"eventName\": [\"INSERT\"]}, {\"dynamodb\": {\"NewImage\": {\"qty\": {\"N\": "
            "[\"1\", {\"gt\": 3}]}}}}]",
            "pattern 1: dynamodb.NewImage.qty.N[1]: unknown operator \"gt\" (expected \"prefix\", "
            "\"suffix\", \"equals-ignore-case\", \"anything-but\", \"numeric\" or \"exists\")");
    refused("[{\"eventName\": \"INSERT\"}]",
            "pattern 0: eventName: expected an object of fields to match or a non-empty array of "
            "values ({\"S\": [\"shipped\"]})");
    refused("[{\"eventName\": []}]",
            "pattern 0: eventName: expected an object of fields to match or a non-empty array of "
            "values ({\"S\": [\"shipped\"]})");
    refused("[{\"dynamodb\": {}}]",
            "pattern 0: dynamodb: expected fields to match, found an empty object");
    refused("[{\"eventName\": [[\"INSERT\"]]}]",
            "pattern 0: eventName[0]: expected a value or an operator object, found an array");
    refused("[{\"eventName\": [{\"prefix\": 1}]}]",
            "pattern 0: eventName[0]: \"prefix\" expects a string");
    refused("[{\"eventName\": [{\"suffix\": \"A\", \"prefix\": \"B\"}]}]",
            "pattern 0: eventName[0]: expected an operator object with one key ({\"prefix\": "
            "\"ord-\"}, {\"numeric\": [\">\", 0]}, ...)");
    refused("[{\"eventName\": [{\"exists\": \"yes\"}]}]",
            "pattern 0: eventName[0]: \"exists\" expects true or false");
    refused("[{\"a\": [{\"numeric\": [\">\", \"5\"]}]}]",
            "pattern 0: a[0]: \"numeric\": expected a number after each comparison");
    refused("[{\"a\": [{\"numeric\": [\"!=\", 5]}]}]",
            "pattern 0: a[0]: \"numeric\": unknown comparison (expected \"<\", \"<=\", \">\", "
            "\">=\" or \"=\")");
    refused("[{\"a\": [{\"numeric\": [\"<\", 5, \">\", 1]}]}]",
            "pattern 0: a[0]: \"numeric\": a range is [\">\" or \">=\", number, \"<\" or \"<=\", "
            "number]");
    refused("[{\"a\": [{\"numeric\": [\">\"]}]}]",
            "pattern 0: a[0]: \"numeric\" expects [op, number] or [\">\" or \">=\", number, "
            "\"<\" or \"<=\", number], with op one of < <= > >= =");
    refused("[{\"a\": [{\"anything-but\": [true]}]}]",
            "pattern 0: a[0]: \"anything-but\": expected strings or numbers in its list");
    refused("[{\"a\": [{\"anything-but\": {\"suffix\": \"x\"}}]}]",
            "pattern 0: a[0]: \"anything-but\": the only object it takes is {\"prefix\": string}");
    refused("[{\"a\": [{\"anything-but\": []}]}]",
            "pattern 0: a[0]: \"anything-but\": expected a string, a number, a non-empty list of "
            "them or {\"prefix\": string}");
    refused("[{\"odd key\": [{\"x\": 1}]}]",
            "pattern 0: [\"odd key\"][0]: unknown operator \"x\" (expected \"prefix\", \"suffix\", "
            "\"equals-ignore-case\", \"anything-but\", \"numeric\" or \"exists\")");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_string_and_number_strings_of_dynamodb_json),
        cmocka_unit_test(test_booleans_and_null),
        cmocka_unit_test(test_null_matches_a_null_value_only),
        cmocka_unit_test(test_prefix_and_suffix),
        cmocka_unit_test(test_equals_ignore_case),
        cmocka_unit_test(test_anything_but),
        cmocka_unit_test(test_numeric_compares_the_value_of_an_n_string),
        cmocka_unit_test(test_exists_true_and_false),
        cmocka_unit_test(test_an_array_value_matches_when_any_element_does),
        cmocka_unit_test(test_keys_are_and_alternatives_and_patterns_are_or),
        cmocka_unit_test(test_mistakes_are_refused_with_the_pattern_and_key_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
