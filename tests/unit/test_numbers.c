/* test_numbers.c - the checked conversions of N values that plugin.h gives plugins, against
 * the C library on thousands of numbers: ddb_n_double is the correctly rounded double
 * (strtod's, bit for bit) for every N DynamoDB can hold, and says DDB_OK exactly when that
 * double is the number itself; ddb_n_int64 and ddb_n_uint64 go to their last value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddb/plugin.h>

/* A deterministic generator, so that a failure can be replayed. */
static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static ddb_value n_value(const char *text)
{
    ddb_value v = {DDB_N, 0, 0, (uint32_t)strlen(text), text};
    return v;
}

/* digits (with a leading sign and a point somewhere) and an exponent, as DynamoDB would
 * accept: at most 38 significant digits, the value within 1E-130 .. 9.99E+125. */
static void random_n(char *out, size_t cap, int ndigits, int exp10)
{
    char digits[64];
    digits[0] = (char)('1' + next_random() % 9);
    for (int i = 1; i < ndigits; i++) digits[i] = (char)('0' + next_random() % 10);
    digits[ndigits] = '\0';
    int point = (int)(next_random() % (uint64_t)(ndigits + 1));
    snprintf(out, cap, "%s%.*s%s%s%sE%d", next_random() % 4 == 0 ? "-" : "", point, digits,
             point < ndigits ? "." : "", digits + point, point == 0 ? "0" : "", exp10);
}

/* Whether the double d is exactly the decimal text: its exact expansion, printed by the C
 * library with every digit, has the same digits and exponent as text's. */
static bool exactly(double d, const char *text)
{
    char printed[1200], a[128], b[1200];
    long ea, eb;
    snprintf(printed, sizeof printed, "%.1000e", d < 0 ? -d : d);
    /* significant digits and exponent of both, without the point and trailing zeros */
    const char *sources[2] = {text, printed};
    char *outs[2] = {a, b};
    long *exps[2] = {&ea, &eb};
    for (int k = 0; k < 2; k++) {
        const char *s = sources[k];
        size_t n = 0;
        long before = 0;
        bool point = false, started = false;
        if (*s == '-') s++;
        for (; *s && *s != 'e' && *s != 'E'; s++) {
            if (*s == '.') { point = true; continue; }
            if (!started && *s == '0') { if (point) before--; continue; }
            started = true;
            if (!point) before++;
            if (n < (k ? sizeof b : sizeof a) - 1) outs[k][n++] = *s;
        }
        while (n > 0 && outs[k][n - 1] == '0') n--;
        outs[k][n] = '\0';
        *exps[k] = (*s ? strtol(s + 1, NULL, 10) : 0) + before;
    }
    return strcmp(a, b) == 0 && (a[0] == '\0' || ea == eb); /* zero has no exponent */
}

static void expect_as_strtod(const char *text)
{
    ddb_value v = n_value(text);
    double got = 0, want = strtod(text, NULL);
    ddb_status st = ddb_n_double(&v, &got);
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("%s: ddb_n_double gave %.17g, strtod %.17g", text, got, want);
    ddb_status exact = exactly(want, text) ? DDB_OK : DDB_ERR_INEXACT;
    if (st != exact)
        fail_msg("%s: ddb_n_double said %s, the double is %s the number", text, ddb_status_str(st),
                 exact == DDB_OK ? "exactly" : "not exactly");
}

static void test_long_numbers_round_to_the_nearest_double_as_strtod_does(void **state)
{
    (void)state;
    char text[96];
    for (int i = 0; i < 20000; i++) {
        int nd = 16 + (int)(next_random() % 23); /* 16 to 38 digits */
        int e = (int)(next_random() % 121) - 60;  /* -60 .. 60 */
        random_n(text, sizeof text, nd, e);
        expect_as_strtod(text);
    }
}

static void test_numbers_at_the_ends_of_dynamodbs_range_round_as_strtod_does(void **state)
{
    (void)state;
    char text[96];
    for (int i = 0; i < 5000; i++) {
        int nd = 1 + (int)(next_random() % 38);
        int e = i % 2 ? 125 - nd + 1 - (int)(next_random() % 5) : -130 + (int)(next_random() % 5);
        random_n(text, sizeof text, nd, e);
        expect_as_strtod(text);
    }
    expect_as_strtod("9.9999999999999999999999999999999999999E+125");
    expect_as_strtod("1E-130");
    expect_as_strtod("-1E-130");
}

/* Halfway between two doubles: ties go to the even one, and a digit far down decides. */
static void test_halfway_cases_go_to_the_even_double_unless_a_later_digit_says_otherwise(void **state)
{
    (void)state;
    expect_as_strtod("9007199254740993");       /* 2^53 + 1: a tie, to 2^53 */
    expect_as_strtod("9007199254740995");       /* a tie, to 2^53 + 4 */
    expect_as_strtod("9007199254740993.0000000000000000001");
    expect_as_strtod("0.50000000000000016653345369377348106354"); /* 38 digits near a tie */
    expect_as_strtod("2.2250738585072014E-308"); /* beyond DynamoDB, still a double */
    expect_as_strtod("1.7976931348623157E+125");
    expect_as_strtod("123456789012345678901234567890123456.78");
    expect_as_strtod("0.1");
    expect_as_strtod("19.99");
    expect_as_strtod("1E+22");
    expect_as_strtod("1E+23"); /* the first power of ten that is not a double */
}

/* The decimal digits of (2m+1) * 2^(k-1), the point halfway between the double m * 2^k and
 * the next one up, exactly (in base 10^9 limbs: 2^-j is 5^j / 10^j), without trailing zeros;
 * *exp10 is the power of ten of the last digit. Returns how many digits. */
static int halfway_digits(uint64_t m, int k, char *out, size_t cap, int *exp10)
{
    uint32_t limb[48] = {(uint32_t)((2 * m + 1) % 1000000000u), (uint32_t)((2 * m + 1) / 1000000000u)};
    int n = 2;
    uint32_t by = k >= 1 ? 2 : 5;
    for (int step = 0; step < (k >= 1 ? k - 1 : 1 - k); step++) {
        uint64_t carry = 0;
        for (int i = 0; i < n; i++) {
            carry += (uint64_t)limb[i] * by;
            limb[i] = (uint32_t)(carry % 1000000000u);
            carry /= 1000000000u;
        }
        if (carry) limb[n++] = (uint32_t)carry;
    }
    int len = snprintf(out, cap, "%u", limb[n - 1]);
    for (int i = n - 2; i >= 0; i--) len += snprintf(out + len, cap - (size_t)len, "%09u", limb[i]);
    *exp10 = k >= 1 ? 0 : k - 1;
    while (out[len - 1] == '0') out[--len] = '\0', ++*exp10;
    return len;
}

/* Adds one unit of the last place (delta 1) to the 38 digits, or takes one away (delta -1). */
static void add_unit(char digits[38], int *exp10, int delta)
{
    int i = 37;
    for (; i >= 0 && digits[i] == (delta > 0 ? '9' : '0'); i--) digits[i] = delta > 0 ? '0' : '9';
    if (i >= 0) {
        digits[i] = (char)(digits[i] + delta);
    } else { /* 99..9 + 1: 10^38 */
        digits[0] = '1';
        ++*exp10;
    }
}

/* Checks digits[0..nd) * 10^exp10, when DynamoDB could hold it, against strtod. */
static int expect_digits_as_strtod(const char *digits, int nd, int exp10)
{
    char text[96];
    int lead = exp10 + nd - 1; /* the power of ten of the first digit */
    if (lead < -130 || lead > 124) return 0;
    snprintf(text, sizeof text, "%s%c.%.*sE%d", next_random() % 4 ? "" : "-", digits[0], nd - 1,
             digits + 1, lead);
    expect_as_strtod(text);
    return 1;
}

/* The hardest numbers to round lie at or next to the point halfway between two doubles.
 * Where that point has at most 38 digits it is tried as it is (a tie: the even double wins)
 * and one unit of the 38th digit either side; elsewhere its first 38 digits and one unit
 * more, which lie just below and just above it. */
static void test_numbers_at_and_next_to_halfway_points_round_as_strtod_does(void **state)
{
    (void)state;
    char digits[512];
    int checked = 0;
    for (int i = 0; i < 6000; i++) {
        uint64_t m = (1ull << 52) | (next_random() >> 12);
        /* ties fit 38 digits for k in about -30..72; DynamoDB's range spans -484..365 */
        int k = i % 2 ? -30 + (int)(next_random() % 103) : -484 + (int)(next_random() % 850);
        int exp10, nd = halfway_digits(m, k, digits, sizeof digits, &exp10);
        if (nd <= 38) {
            checked += expect_digits_as_strtod(digits, nd, exp10);
            for (; nd < 38; nd++) digits[nd] = '0', exp10--;
            add_unit(digits, &exp10, 1);
            checked += expect_digits_as_strtod(digits, 38, exp10);
            add_unit(digits, &exp10, -1);
            add_unit(digits, &exp10, -1);
        } else {
            exp10 += nd - 38;
            checked += expect_digits_as_strtod(digits, 38, exp10);
            add_unit(digits, &exp10, 1);
        }
        checked += expect_digits_as_strtod(digits, 38, exp10);
    }
    print_message("%d numbers at or next to halfway points\n", checked);
    assert_true(checked > 12000);
}

static void test_short_numbers_stay_exact_where_they_are(void **state)
{
    (void)state;
    char text[96];
    for (int i = 0; i < 20000; i++) {
        int nd = 1 + (int)(next_random() % 15);
        int e = (int)(next_random() % 45) - 22;
        random_n(text, sizeof text, nd, e);
        expect_as_strtod(text);
    }
    expect_as_strtod("12");
    expect_as_strtod("0.5");
    expect_as_strtod("-0");
    expect_as_strtod("1e100");
}

static ddb_status as_int64(const char *text, int64_t *out)
{
    ddb_value v = n_value(text);
    return ddb_n_int64(&v, out);
}

static ddb_status as_uint64(const char *text, uint64_t *out)
{
    ddb_value v = n_value(text);
    return ddb_n_uint64(&v, out);
}

static void test_integers_convert_exactly_to_their_last_value_and_no_further(void **state)
{
    (void)state;
    int64_t i = 7;
    uint64_t u = 7;
    assert_int_equal(as_int64("-9223372036854775808", &i), DDB_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(as_int64("9223372036854775807", &i), DDB_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(as_int64("9223372036854775808", &i), DDB_ERR_RANGE);
    assert_int_equal(as_int64("1.5", &i), DDB_ERR_INEXACT);
    assert_int_equal(as_int64("1.50E1", &i), DDB_OK);
    assert_true(i == 15);
    assert_int_equal(as_uint64("18446744073709551615", &u), DDB_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(as_uint64("18446744073709551616", &u), DDB_ERR_RANGE);
    assert_int_equal(as_uint64("1E19", &u), DDB_OK);
    assert_true(u == 10000000000000000000u);
    assert_int_equal(as_uint64("-1", &u), DDB_ERR_RANGE);
    assert_int_equal(as_uint64("-0", &u), DDB_OK);
    assert_true(u == 0);
    assert_int_equal(as_uint64("0.25", &u), DDB_ERR_INEXACT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_numbers_round_to_the_nearest_double_as_strtod_does),
        cmocka_unit_test(test_numbers_at_the_ends_of_dynamodbs_range_round_as_strtod_does),
        cmocka_unit_test(test_halfway_cases_go_to_the_even_double_unless_a_later_digit_says_otherwise),
        cmocka_unit_test(test_numbers_at_and_next_to_halfway_points_round_as_strtod_does),
        cmocka_unit_test(test_short_numbers_stay_exact_where_they_are),
        cmocka_unit_test(test_integers_convert_exactly_to_their_last_value_and_no_further),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
