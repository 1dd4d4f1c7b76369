/* test_attr.c - N syntax and precision checks, base64 decoding in place; the decoder's N
 * grammar is the one plugin.h's conversions read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <ddb/plugin.h>

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

/* The decoder checks each N with attr_check_number; plugin.h, which cannot call the host,
 * reads the same text again in its conversions. Both must see the same grammar: every text
 * the decoder lets through converts, and every text it refuses, plugin.h refuses too. */
static void test_the_decoder_and_plugin_h_agree_on_what_a_number_is(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789+-.eE";
    uint64_t rng = 0x2545F4914F6CDD1Du;
    char text[16];
    int numbers = 0;
    for (int i = 0; i < 200000; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t len = 1 + rng % 8;
        for (size_t k = 0; k < len; k++) text[k] = alphabet[(rng >> (8 + 4 * k)) % 15];
        text[len] = '\0';
        ddb_value v = {DDB_N, 0, 0, (uint32_t)len, text};
        double d;
        bool refused = ddb_n_double(&v, &d) == DDB_ERR_INVALID;
        if (refused != (check(text) == ATTR_NUMBER_SYNTAX))
            fail_msg("\"%s\": the decoder says %s a number, ddb_n_double %s it", text,
                     refused ? "it is" : "it is not", refused ? "refuses" : "converts");
        numbers += !refused;
    }
    assert_true(numbers > 1000);
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
        cmocka_unit_test(test_the_decoder_and_plugin_h_agree_on_what_a_number_is),
        cmocka_unit_test(test_base64_decodes_in_place),
        cmocka_unit_test(test_invalid_base64_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
