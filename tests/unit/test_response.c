/* test_response.c - the partial batch response Lambda reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "response.h"

static void test_no_failures_is_an_empty_list(void **state)
{
    (void)state;
    size_t len;
    char *s = response_json(NULL, 0, NULL, &len);
    assert_string_equal(s, "{\"batchItemFailures\":[]}");
    assert_int_equal(len, strlen(s));
    free(s);
}

static void test_failures_are_named_by_sequence_number_in_order(void **state)
{
    (void)state;
    ddb_str ids[] = {{"400000000008367680596", 21}, {"1405400000000002063282832", 25}};
    char *s = response_json(ids, 2, NULL, NULL);
    assert_string_equal(s, "{\"batchItemFailures\":[{\"itemIdentifier\":\"400000000008367680596\"},"
                           "{\"itemIdentifier\":\"1405400000000002063282832\"}]}");
    free(s);
}

static void test_odd_identifiers_stay_valid_json(void **state)
{
    (void)state;
    ddb_str ids[] = {{"a\"b\\c\n", 6}, {NULL, 0}};
    char *s = response_json(ids, 2, NULL, NULL);
    assert_string_equal(s, "{\"batchItemFailures\":[{\"itemIdentifier\":\"a\\\"b\\\\c\\n\"},"
                           "{\"itemIdentifier\":\"\"}]}");
    free(s);
}

static void test_a_tumbling_window_gets_its_state_back_on_one_line(void **state)
{
    (void)state;
    const char raw[] = "{\n  \"1\": \"state 1\",\n  \"q\": \"a \\\" b\"\n}";
    ddb_str ws = {raw, sizeof raw - 1}, none = {NULL, 0};
    ddb_str ids[] = {{"7", 1}};
    char *s = response_json(ids, 1, &ws, NULL);
    assert_string_equal(s, "{\"state\":{\"1\":\"state 1\",\"q\":\"a \\\" b\"},"
                           "\"batchItemFailures\":[{\"itemIdentifier\":\"7\"}]}");
    free(s);
    s = response_json(NULL, 0, &none, NULL);
    assert_string_equal(s, "{\"state\":{},\"batchItemFailures\":[]}");
    free(s);
}

#define MEMBER(name, json) {{(name), sizeof(name) - 1}, {(json), sizeof(json) - 1}}

static void test_a_state_object_is_written_on_one_line_with_its_names_escaped(void **state)
{
    (void)state;
    response_member members[] = {
        MEMBER("window-sum", "{ \"sum\" : \"12.5\",\n  \"records\": \"3\" }"),
        MEMBER("a\"b\n", "[1, \"x y\"]"),
        MEMBER("caf\xC3\xA9", "-2.5e3"),
    };
    size_t len;
    char *s = response_object(members, 3, &len);
    assert_string_equal(s, "{\"window-sum\":{\"sum\":\"12.5\",\"records\":\"3\"},"
                           "\"a\\\"b\\n\":[1,\"x y\"],\"caf\xC3\xA9\":-2.5e3}");
    assert_int_equal(len, strlen(s));
    free(s);
    s = response_object(NULL, 0, &len);
    assert_string_equal(s, "{}");
    assert_int_equal(len, 2);
    free(s);
}

/* Whatever names and values hold, the response reads back as JSON with the same state. */
static void test_a_response_with_a_written_state_reads_back_as_json(void **state)
{
    (void)state;
    response_member members[] = {
        MEMBER("\x01\x7f\xff", "\"\\u0000\\\" \\n\""),
        MEMBER("", "{\"k\" :[ {} , [] ,null,true,false]}"),
    };
    char *obj = response_object(members, 2, NULL);
    ddb_str ws = {obj, strlen(obj)}, ids[] = {{"1\"", 2}};
    char *s = response_json(ids, 1, &ws, NULL);
    json_object *o = json_tokener_parse(s), *st, *v;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "state", &st));
    assert_int_equal(json_object_object_length(st), 2);
    assert_true(json_object_object_get_ex(st, "\x01\x7f\xef\xbf\xbd", &v));
    assert_int_equal(json_object_get_string_len(v), 4);
    assert_memory_equal(json_object_get_string(v), "\0\" \n", 4);
    assert_true(json_object_object_get_ex(st, "", &v));
    assert_int_equal(json_object_array_length(json_object_object_get(v, "k")), 5);
    json_object_put(o);
    free(s);
    free(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_failures_is_an_empty_list),
        cmocka_unit_test(test_failures_are_named_by_sequence_number_in_order),
        cmocka_unit_test(test_odd_identifiers_stay_valid_json),
        cmocka_unit_test(test_a_tumbling_window_gets_its_state_back_on_one_line),
        cmocka_unit_test(test_a_state_object_is_written_on_one_line_with_its_names_escaped),
        cmocka_unit_test(test_a_response_with_a_written_state_reads_back_as_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
