/* test_response.c - the partial batch response Lambda reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_failures_is_an_empty_list),
        cmocka_unit_test(test_failures_are_named_by_sequence_number_in_order),
        cmocka_unit_test(test_odd_identifiers_stay_valid_json),
        cmocka_unit_test(test_a_tumbling_window_gets_its_state_back_on_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
