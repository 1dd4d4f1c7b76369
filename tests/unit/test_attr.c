/* test_attr.c - N syntax and precision checks, base64 decoding in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "attr.h"

static attr_number_check check(const char *s) { return attr_check_number(s, strlen(s)); }

static void test_numbers_dynamodb_sends_are_accepted(void **state)
{
    (void)state;
    const char *ok[] = {"0", "-0", "12", "-12", "+5", "0.5", "123.450", "1E2", "1e-130",
                        "-1.5E+10", "9.9999999999999999999999999999999999999E+125",
                        "12345678901234567890123456789012345678", "5.", ".5"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(check(ok[i]), ATTR_NUMBER_OK);
}

static void test_text_that_is_not_a_number_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "-", "abc", "12a", "1e", "1e+", "1.2.3", ".", "0x10", " 1", "1 ",
                         "NaN", "Infinity", "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(check(bad[i]), ATTR_NUMBER_SYNTAX);
}

static void test_more_than_38_significant_digits_is_refused(void **state)
{
    (void)state;
    assert_int_equal(check("123456789012345678901234567890123456789"), ATTR_NUMBER_PRECISION);
    /* Leading and trailing zeros are not significant. */
    assert_int_equal(check("000012345678901234567890123456789012345678000"), ATTR_NUMBER_OK);
    assert_int_equal(check("0.0000012345678901234567890123456789012345678"), ATTR_NUMBER_OK);
    assert_int_equal(check("1.00000000000000000000000000000000000001"), ATTR_NUMBER_PRECISION);
}

static void test_base64_decodes_in_place(void **state)
{
    (void)state;
    char s[] = "AAEqQQ==";
    size_t n = 0;
    assert_true(attr_base64_decode(s, strlen(s), &n));
    assert_int_equal(n, 4);
    assert_memory_equal(s, "\x00\x01\x2a\x41", 4);

    char full[] = "/w8A";
    assert_true(attr_base64_decode(full, 4, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(full, "\xff\x0f\x00", 3);

    char empty[] = "";
    assert_true(attr_base64_decode(empty, 0, &n));
    assert_int_equal(n, 0);
}

static void test_invalid_base64_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"A", "AB", "ABC", "A===", "=AAA", "AA=A", "AA==AAAA", "AAA!", "AA AA",
                         "QQ==\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[16];
        size_t n;
        strcpy(buf, bad[i]);
        assert_false(attr_base64_decode(buf, strlen(buf), &n));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_dynamodb_sends_are_accepted),
        cmocka_unit_test(test_text_that_is_not_a_number_is_refused),
        cmocka_unit_test(test_more_than_38_significant_digits_is_refused),
        cmocka_unit_test(test_base64_decodes_in_place),
        cmocka_unit_test(test_invalid_base64_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
