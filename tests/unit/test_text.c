/* test_text.c - the JSON-text toolkit: what counts as UTF-8, how escapes and numbers read,
 * how a value looks quoted in a message (one line, cut at a whole character) and that text
 * escaped for output is JSON that reads back to the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define S(lit) (lit), sizeof(lit) - 1

static size_t utf8(const char *s, size_t n) { return text_utf8_len(s, s + n); }

/* ---- UTF-8 ----------------------------------------------------------------------------- */

static void test_each_utf8_length_is_accepted_up_to_its_boundaries(void **state)
{
    (void)state;
    assert_int_equal(utf8(S("a")), 1);
    assert_int_equal(utf8(S("\x7F")), 1);
    assert_int_equal(utf8(S("\xC2\x80")), 2);         /* U+0080 */
    assert_int_equal(utf8(S("\xDF\xBF")), 2);         /* U+07FF */
    assert_int_equal(utf8(S("\xE0\xA0\x80")), 3);     /* U+0800 */
    assert_int_equal(utf8(S("\xE2\x82\xAC")), 3);     /* the euro sign */
    assert_int_equal(utf8(S("\xED\x9F\xBF")), 3);     /* U+D7FF, below the surrogates */
    assert_int_equal(utf8(S("\xEE\x80\x80")), 3);     /* U+E000, above them */
    assert_int_equal(utf8(S("\xEF\xBF\xBF")), 3);     /* U+FFFF */
    assert_int_equal(utf8(S("\xF0\x90\x80\x80")), 4); /* U+10000 */
    assert_int_equal(utf8(S("\xF0\x9F\x98\x80")), 4); /* an emoji */
    assert_int_equal(utf8(S("\xF4\x8F\xBF\xBF")), 4); /* U+10FFFF */
}

static void test_overlong_forms_surrogates_and_stray_bytes_are_not_utf8(void **state)
{
    (void)state;
    static const struct { const char *s; size_t n; } bad[] = {
        {S("\x80")},             {S("\xBF")},                 /* continuation bytes alone */
        {S("\xC0\x80")},         {S("\xC1\xBF")},             /* overlong 2-byte */
        {S("\xE0\x80\x80")},     {S("\xE0\x9F\xBF")},         /* overlong 3-byte */
        {S("\xF0\x80\x80\x80")}, {S("\xF0\x8F\xBF\xBF")},     /* overlong 4-byte */
        {S("\xED\xA0\x80")},     {S("\xED\xBF\xBF")},         /* surrogates U+D800, U+DFFF */
        {S("\xF4\x90\x80\x80")}, {S("\xF5\x80\x80\x80")},     /* above U+10FFFF */
        {S("\xFE")},             {S("\xFF")},
        {S("\xE2\x28\xA1")},     {S("\xC3\x28")},             /* a continuation missing */
        {S("\xF0\x9F\x98\x41")},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (utf8(bad[i].s, bad[i].n) != 0) fail_msg("bad sequence %zu was accepted", i);
}

static void test_a_sequence_cut_by_the_end_is_not_read_past_it(void **state)
{
    (void)state;
    const char euro[] = "\xE2\x82\xAC", face[] = "\xF0\x9F\x98\x80";
    assert_int_equal(text_utf8_len(euro, euro + 2), 0);
    assert_int_equal(text_utf8_len(face, face + 3), 0);
    assert_int_equal(text_utf8_len(face, face + 1), 0);
    /* a copy that ends where the end says, for the sanitizer to catch a read past it */
    char *cut = malloc(2);
    memcpy(cut, "\xC3\xA9", 2);
    assert_int_equal(text_utf8_len(cut, cut + 1), 0);
    assert_int_equal(text_utf8_len(cut, cut + 2), 2);
    free(cut);
}

static void test_code_points_are_written_as_the_shortest_utf8(void **state)
{
    (void)state;
    static const struct { uint32_t cp; const char *utf8; } cases[] = {
        {0x41, "A"},           {0x7F, "\x7F"},         {0x80, "\xC2\x80"},
        {0x7FF, "\xDF\xBF"},   {0x800, "\xE0\xA0\x80"}, {0xFFFF, "\xEF\xBF\xBF"},
        {0x10000, "\xF0\x90\x80\x80"}, {0x10FFFF, "\xF4\x8F\xBF\xBF"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[4];
        size_t n = text_put_utf8(out, cases[i].cp);
        assert_int_equal(n, strlen(cases[i].utf8));
        assert_memory_equal(out, cases[i].utf8, n);
        assert_int_equal(text_utf8_len(out, out + n), n);
    }
}

/* ---- escapes --------------------------------------------------------------------------- */

/* Decodes the one escape at the start of lit; *used and the status returned, out NUL-ended. */
static text_status unescape(const char *lit, char out[8], size_t *used)
{
    size_t written = 0;
    memset(out, 0, 8);
    text_status st = text_unescape(lit, lit + strlen(lit), out, used, &written);
    if (st == TEXT_OK) assert_int_equal(written, strlen(out));
    return st;
}

static void test_every_json_escape_decodes_to_its_character(void **state)
{
    (void)state;
    static const struct { const char *in, *out; size_t used; } cases[] = {
        {"\\\"", "\"", 2},  {"\\\\", "\\", 2}, {"\\/", "/", 2},   {"\\b", "\b", 2},
        {"\\f", "\f", 2},   {"\\n", "\n", 2},  {"\\r", "\r", 2},  {"\\t", "\t", 2},
        {"\\u0041", "A", 6}, {"\\u00e9", "\xC3\xA9", 6}, {"\\u00E9", "\xC3\xA9", 6},
        {"\\u20ac", "\xE2\x82\xAC", 6}, {"\\uffff", "\xEF\xBF\xBF", 6},
        {"\\ud83d\\ude00", "\xF0\x9F\x98\x80", 12}, {"\\uDBFF\\uDFFF", "\xF4\x8F\xBF\xBF", 12},
        {"\\u0041BC", "A", 6}, /* what follows is not its business */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[8];
        size_t used = 0;
        assert_int_equal(unescape(cases[i].in, out, &used), TEXT_OK);
        assert_string_equal(out, cases[i].out);
        assert_int_equal(used, cases[i].used);
    }
}

static void test_u0000_decodes_to_a_nul_byte(void **state)
{
    (void)state;
    const char in[] = "\\u0000";
    char out[4] = "xx";
    size_t used, written;
    assert_int_equal(text_unescape(in, in + 6, out, &used, &written), TEXT_OK);
    assert_int_equal(written, 1);
    assert_int_equal(out[0], '\0');
}

static void test_a_bad_escape_names_the_byte_at_fault(void **state)
{
    (void)state;
    static const struct { const char *in; text_status st; size_t at; } cases[] = {
        {"\\", TEXT_END, 1},            {"\\x", TEXT_BAD_ESCAPE, 0},
        {"\\U0041", TEXT_BAD_ESCAPE, 0}, {"\\u", TEXT_END, 2},
        {"\\u12", TEXT_END, 4},          {"\\uZZZZ", TEXT_BAD_HEX, 2},
        {"\\u12G4", TEXT_BAD_HEX, 4},    {"\\u-123", TEXT_BAD_HEX, 2},
        /* lone surrogates: the escape's backslash is to blame */
        {"\\udc00", TEXT_LONE_SURROGATE, 0},       {"\\ud800", TEXT_LONE_SURROGATE, 0},
        {"\\ud800x", TEXT_LONE_SURROGATE, 0},      {"\\ud800\\n", TEXT_LONE_SURROGATE, 0},
        {"\\ud800\\u0041", TEXT_LONE_SURROGATE, 0}, {"\\ud800\\ud800", TEXT_LONE_SURROGATE, 0},
        {"\\udbff\\ue000", TEXT_LONE_SURROGATE, 0},
        /* a second half that is not hex, or cut short */
        {"\\ud800\\uZZZZ", TEXT_BAD_HEX, 8}, {"\\ud800\\udc", TEXT_END, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[8];
        size_t used = 99;
        text_status st = unescape(cases[i].in, out, &used);
        if (st != cases[i].st || used != cases[i].at)
            fail_msg("%s: status %d at %zu, want %d at %zu", cases[i].in, st, used, cases[i].st,
                     cases[i].at);
        assert_int_equal(out[0], 0); /* nothing written */
    }
}

static void test_escapes_decode_in_place(void **state)
{
    (void)state;
    char buf[] = "\\ud83d\\ude00\\u00e9\\n";
    char *r = buf, *w = buf, *end = buf + strlen(buf);
    while (r < end) {
        size_t used, written;
        assert_int_equal(text_unescape(r, end, w, &used, &written), TEXT_OK);
        assert_true(written <= used);
        r += used;
        w += written;
    }
    assert_memory_equal(buf, "\xF0\x9F\x98\x80\xC3\xA9\n", (size_t)(w - buf));
}

/* ---- numbers --------------------------------------------------------------------------- */

static size_t number(const char *s, const char **stop)
{
    *stop = NULL;
    return text_number(s, s + strlen(s), stop);
}

static void test_json_numbers_are_measured_whole(void **state)
{
    (void)state;
    static const char *const ok[] = {"0", "-0", "7", "12", "-12", "1.5", "0.25", "-0.0",
                                     "1e10", "1E10", "1e+2", "1E-2", "-1.5e-3", "123456789012345678901234567890"};
    const char *stop;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) assert_int_equal(number(ok[i], &stop), strlen(ok[i]));
    assert_int_equal(number("12,", &stop), 2);
    assert_int_equal(number("1.5}", &stop), 3);
    assert_int_equal(number("01", &stop), 1); /* the number is "0"; the reader refuses the rest */
    assert_int_equal(number("-0.5e3x", &stop), 6);
}

static void test_what_is_not_a_json_number_says_where_a_digit_was_expected(void **state)
{
    (void)state;
    static const struct { const char *s; size_t at; } bad[] = {
        {"", 0}, {"-", 1}, {"+1", 0}, {".5", 0}, {"-.5", 1}, {"1.", 2}, {"1.e3", 2},
        {"1e", 2}, {"1e+", 3}, {"1E-x", 3}, {"a", 0}, {"-a", 1}, {"Infinity", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *stop;
        if (number(bad[i].s, &stop) != 0) fail_msg("\"%s\" was taken as a number", bad[i].s);
        assert_ptr_equal(stop, bad[i].s + bad[i].at);
    }
    const char minus[] = "-";
    assert_int_equal(text_number(minus, minus + 1, NULL), 0); /* stop is optional */
}

/* ---- quoting for messages -------------------------------------------------------------- */

static const char *quote(const char *s, size_t n)
{
    static char out[TEXT_QUOTE_CAP];
    return text_quote_n(out, sizeof out, s, n);
}

static void test_a_quoted_value_is_in_double_quotes_with_json_escapes(void **state)
{
    (void)state;
    char q[TEXT_QUOTE_CAP];
    assert_string_equal(text_quote(q, sizeof q, "Orders"), "\"Orders\"");
    assert_string_equal(text_quote(q, sizeof q, ""), "\"\"");
    assert_string_equal(text_quote(q, sizeof q, NULL), "(null)");
    assert_string_equal(quote(S("a\"b\\c")), "\"a\\\"b\\\\c\"");
    assert_string_equal(quote(S("caf\xC3\xA9 \xE2\x82\xAC")), "\"caf\xC3\xA9 \xE2\x82\xAC\"");
}

static void test_a_quoted_value_stays_on_one_line_whatever_it_holds(void **state)
{
    (void)state;
    assert_string_equal(quote(S("a\nb\tc\rd")), "\"a\\nb\\tc\\rd\"");
    assert_string_equal(quote(S("\b\f")), "\"\\b\\f\"");
    assert_string_equal(quote(S("\x01\x1f\x7f")), "\"\\u0001\\u001f\\u007f\"");
    assert_string_equal(quote(S("a\0b")), "\"a\\u0000b\"");
    assert_string_equal(quote(S("\xC2\x85 \xC2\x9B")), "\"\\u0085 \\u009b\""); /* C1 controls */
    assert_string_equal(quote(S("\xC2\xA0")), "\"\xC2\xA0\"");                 /* not one */
}

static void test_bytes_that_are_not_utf8_are_shown_as_hex(void **state)
{
    (void)state;
    assert_string_equal(quote(S("a\xFF" "b")), "\"a\\xffb\"");
    assert_string_equal(quote(S("\xED\xA0\x80")), "\"\\xed\\xa0\\x80\"");
    assert_string_equal(quote(S("\xC3")), "\"\\xc3\"");
}

/* A cut quote ends in ...", fills its buffer no further than cap and holds whole characters. */
static void assert_cut(const char *q, size_t cap)
{
    size_t n = strlen(q);
    assert_true(n < cap);
    assert_true(n >= 5 && strcmp(q + n - 4, "...\"") == 0);
    assert_int_equal(q[0], '"');
    for (const char *p = q + 1; p < q + n - 4;) {
        size_t k = text_utf8_len(p, q + n - 4);
        if (!k) fail_msg("a character was split by the cut: %s", q);
        p += k;
    }
    if (q[n - 5] == '\\' && (n < 6 || q[n - 6] != '\\')) fail_msg("an escape was split: %s", q);
}

static void test_a_long_value_is_cut_with_an_ellipsis_between_characters(void **state)
{
    (void)state;
    char big[1000], q[TEXT_QUOTE_CAP];
    memset(big, 'k', sizeof big);
    text_quote_n(q, sizeof q, big, sizeof big);
    assert_cut(q, sizeof q);
    assert_int_equal(strlen(q), sizeof q - 1); /* all of the buffer: 314 bytes, "...", quotes */
    /* two, three and four byte characters and escapes, at every cap */
    static const char *const units[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\n", "\x01", "\xFF"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t n = 0;
        while (n + 4 < sizeof big) {
            memcpy(big + n, units[u], strlen(units[u]));
            n += strlen(units[u]);
        }
        for (size_t cap = 8; cap < 40; cap++) {
            text_quote_n(q, cap, big, n);
            assert_cut(q, cap);
        }
    }
}

static void test_a_value_that_fits_exactly_is_not_cut(void **state)
{
    (void)state;
    char q[16];
    assert_string_equal(text_quote(q, sizeof q, "abcdefghijklm"), "\"abcdefghijklm\""); /* 15 + NUL */
    assert_string_equal(text_quote(q, sizeof q, "abcdefghijklmn"), "\"abcdefghij...\"");
    assert_string_equal(text_quote(q, 8, "abc"), "\"abc\"");
    assert_string_equal(text_quote(q, 8, "abcdef"), "\"ab...\"");
}

static void test_one_line_escapes_control_characters_only(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(text_one_line(out, sizeof out, "say \"hi\" \\ bye"), "say \"hi\" \\ bye");
    assert_string_equal(text_one_line(out, sizeof out, "a\nb\x01\xFF"), "a\\nb\\u0001\\xff");
    assert_string_equal(text_one_line(out, 6, "abc\ndef"), "abc\\n");
    assert_string_equal(text_one_line(out, 5, "abc\ndef"), "abc");
}

static void test_a_key_path_quotes_what_is_not_a_plain_word(void **state)
{
    (void)state;
    char path[64] = "";
    size_t n = text_path_key(path, 0, sizeof path, S("tables"));
    n = text_path_key(path, n, sizeof path, S("Orders-2_*"));
    assert_string_equal(path, "tables.Orders-2_*");
    n = text_path_key(path, n, sizeof path, S("a.b c"));
    assert_string_equal(path, "tables.Orders-2_*[\"a.b c\"]");
    assert_int_equal(n, strlen(path));
    n = text_path_key(path, n, sizeof path, S(""));
    assert_string_equal(path + n - 4, "[\"\"]");
    char first[32] = "";
    assert_int_equal(text_path_key(first, 0, sizeof first, S("x\ny")), strlen("[\"x\\ny\"]"));
    assert_string_equal(first, "[\"x\\ny\"]");
    char small[8] = "";
    n = text_path_key(small, 0, sizeof small, S("abcdefghij"));
    assert_int_equal(n, 7);
    assert_string_equal(small, "abcdefg");
    assert_int_equal(text_path_key(small, n, sizeof small, S("k")), 7);
}

/* ---- escaping for output --------------------------------------------------------------- */

static const char *escape(const char *s, size_t n)
{
    static char out[512];
    size_t k = text_escape(out, sizeof out, s, n);
    assert_int_equal(k, text_escape(NULL, 0, s, n));
    assert_int_equal(k, strlen(out));
    return out;
}

static void test_escaped_text_is_written_as_json_stringify_writes_it(void **state)
{
    (void)state;
    assert_string_equal(escape(S("plain / text")), "plain / text");
    assert_string_equal(escape(S("a\"b\\c")), "a\\\"b\\\\c");
    assert_string_equal(escape(S("\b\f\n\r\t")), "\\b\\f\\n\\r\\t");
    assert_string_equal(escape(S("\x01\x1f")), "\\u0001\\u001f");
    assert_string_equal(escape(S("a\0b")), "a\\u0000b");
    assert_string_equal(escape(S("\x7f \xC2\x85 caf\xC3\xA9 \xF0\x9F\x98\x80")),
                        "\x7f \xC2\x85 caf\xC3\xA9 \xF0\x9F\x98\x80");
    assert_string_equal(escape(NULL, 0), "");
}

static void test_bytes_that_are_not_utf8_are_escaped_as_the_replacement_character(void **state)
{
    (void)state;
    assert_string_equal(escape(S("a\xFF" "b")), "a\\ufffdb");
    assert_string_equal(escape(S("\xED\xA0\x80")), "\\ufffd\\ufffd\\ufffd");
    assert_string_equal(escape(S("\xE2\x82")), "\\ufffd\\ufffd");
}

static void test_escaping_into_a_small_buffer_writes_whole_escapes_only(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(text_escape(out, 9, S("ab\ncd\"e")), 8);
    assert_string_equal(out, "ab\\ncd\\\"");
    assert_int_equal(text_escape(out, 8, S("ab\ncd\"e")), 6);
    assert_string_equal(out, "ab\\ncd");
    assert_int_equal(text_escape(out, 6, S("abcd\x01")), 4);
    assert_string_equal(out, "abcd");
    assert_int_equal(text_escape(out, 4, S("\xF0\x9F\x98\x80")), 0);
    assert_string_equal(out, "");
}

static void test_escaped_text_reads_back_as_the_same_bytes(void **state)
{
    (void)state;
    char in[300];
    size_t n = 0;
    for (int c = 1; c < 0x80; c++) in[n++] = (char)c;
    memcpy(in + n, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF\xF4\x8F\xBF\xBF", 16);
    n += 16;
    char json[2048] = "\"";
    size_t k = 1 + text_escape(json + 1, sizeof json - 2, in, n);
    strcpy(json + k, "\"");
    json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    assert_int_equal(json_object_get_string_len(o), n);
    assert_memory_equal(json_object_get_string(o), in, n);
    json_object_put(o);
}

/* ---- whole JSON texts ------------------------------------------------------------------ */

/* Why text_json_object refuses s, or "" when it accepts it. */
static const char *object_refusal(const char *s, size_t len)
{
    static char why[256];
    why[0] = '\0';
    if (text_json_object(s, len, why, sizeof why)) return "";
    assert_true(why[0] != '\0');
    return why;
}

static void test_a_json_object_is_accepted_with_white_space_around_it(void **state)
{
    (void)state;
    assert_string_equal(object_refusal(S("{}")), "");
    assert_string_equal(object_refusal(S(" \n{ \"sum\" : \"12\" ,\"n\":[1,-2.5e3,true,false,null,"
                                         "{\"deep\":[[]]}],\"caf\\u00e9\":\"\xC3\xA9\\ud83e\\udd8a\"}\t\r\n")),
                        "");
}

static void test_a_json_value_that_is_not_an_object_is_named(void **state)
{
    (void)state;
    assert_string_equal(object_refusal(S("[1]")), "expected a JSON object, found an array");
    assert_string_equal(object_refusal(S("\"x\"")), "expected a JSON object, found a string");
    assert_string_equal(object_refusal(S(" 12")), "expected a JSON object, found a number");
    assert_string_equal(object_refusal(S("null")), "expected a JSON object, found null");
    assert_string_equal(object_refusal(S("true")), "expected a JSON object, found a boolean");
}

static void test_text_that_is_not_json_says_where_and_why(void **state)
{
    (void)state;
    assert_string_equal(object_refusal(S("")), "invalid JSON at byte 0: the text is empty");
    assert_string_equal(object_refusal(NULL, 0), "invalid JSON at byte 0: the text is empty");
    assert_string_equal(object_refusal(S("{\"a\":1,}")),
                        "invalid JSON at byte 7: expected a string key, found '}'");
    assert_string_equal(object_refusal(S("{\"a\" 1}")),
                        "invalid JSON at byte 5: expected ':', found '1'");
    assert_string_equal(object_refusal(S("{\"a\":1 x")),
                        "invalid JSON at byte 7: expected ',' or '}', found 'x'");
    assert_string_equal(object_refusal(S("{\"a\":[1}")),
                        "invalid JSON at byte 7: expected ',' or ']', found '}'");
    assert_string_equal(object_refusal(S("{\"a\":")), "invalid JSON at byte 5: unexpected end of input");
    assert_string_equal(object_refusal(S("{\"a\":01}")),
                        "invalid JSON at byte 6: expected ',' or '}', found '1'");
    assert_string_equal(object_refusal(S("{\"a\":-}")),
                        "invalid JSON at byte 6: expected a digit, found '}'");
    assert_string_equal(object_refusal(S("{\"a\":NaN}")),
                        "invalid JSON at byte 5: expected a JSON value, found 'N'");
    assert_string_equal(object_refusal(S("{\"a\":tru}")),
                        "invalid JSON at byte 5: expected a JSON value, found 't'");
    assert_string_equal(object_refusal(S("{'a':1}")),
                        "invalid JSON at byte 1: expected a string key, found '''");
    assert_string_equal(object_refusal(S("{} {}")),
                        "invalid JSON at byte 3: unexpected data after the value");
    assert_string_equal(object_refusal(S("{\"a\":1}\0")),
                        "invalid JSON at byte 7: unexpected data after the value");
}

static void test_strings_in_a_json_object_are_checked_as_the_decoder_checks_them(void **state)
{
    (void)state;
    assert_string_equal(object_refusal(S("{\"a\":\"x\ny\"}")),
                        "invalid JSON at byte 7: unescaped control character 0x0a in a string");
    assert_string_equal(object_refusal(S("{\"a\":\"\\q\"}")),
                        "invalid JSON at byte 6: invalid escape '\\q'");
    assert_string_equal(object_refusal(S("{\"a\":\"\\u12x4\"}")),
                        "invalid JSON at byte 10: invalid \\u escape");
    assert_string_equal(object_refusal(S("{\"a\":\"\\udc00\"}")),
                        "invalid JSON at byte 6: \\udc00 is an unpaired surrogate");
    assert_string_equal(object_refusal(S("{\"a\":\"\xC3\"}")), "invalid UTF-8 at byte 6");
    assert_string_equal(object_refusal(S("{\"a\xFF\":1}")), "invalid UTF-8 at byte 3");
    assert_string_equal(object_refusal(S("{\"a\":\"x")),
                        "invalid JSON at byte 7: unexpected end of input in a string");
    assert_string_equal(object_refusal(S("{\"a\":\"\\")),
                        "invalid JSON at byte 7: unexpected end of input in a string");
}

/* {"a":[[...]]} nested `levels` deep in all (the object counts), in a heap buffer. */
static char *nested_object(size_t levels, size_t *len)
{
    char *s = malloc(2 * levels + 8);
    assert_non_null(s);
    size_t n = (size_t)sprintf(s, "{\"a\":");
    memset(s + n, '[', levels - 1);
    n += levels - 1;
    memset(s + n, ']', levels - 1);
    n += levels - 1;
    s[n++] = '}';
    *len = n;
    return s;
}

static void test_nesting_is_limited_as_the_decoder_limits_it(void **state)
{
    (void)state;
    size_t len;
    char *s = nested_object(TEXT_JSON_MAX_DEPTH, &len), want[96];
    assert_string_equal(object_refusal(s, len), "");
    free(s);
    s = nested_object(TEXT_JSON_MAX_DEPTH + 1, &len);
    snprintf(want, sizeof want, "invalid JSON at byte %d: nested deeper than %d levels",
             4 + TEXT_JSON_MAX_DEPTH, TEXT_JSON_MAX_DEPTH);
    assert_string_equal(object_refusal(s, len), want);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_utf8_length_is_accepted_up_to_its_boundaries),
        cmocka_unit_test(test_overlong_forms_surrogates_and_stray_bytes_are_not_utf8),
        cmocka_unit_test(test_a_sequence_cut_by_the_end_is_not_read_past_it),
        cmocka_unit_test(test_code_points_are_written_as_the_shortest_utf8),
        cmocka_unit_test(test_every_json_escape_decodes_to_its_character),
        cmocka_unit_test(test_u0000_decodes_to_a_nul_byte),
        cmocka_unit_test(test_a_bad_escape_names_the_byte_at_fault),
        cmocka_unit_test(test_escapes_decode_in_place),
        cmocka_unit_test(test_json_numbers_are_measured_whole),
        cmocka_unit_test(test_what_is_not_a_json_number_says_where_a_digit_was_expected),
        cmocka_unit_test(test_a_quoted_value_is_in_double_quotes_with_json_escapes),
        cmocka_unit_test(test_a_quoted_value_stays_on_one_line_whatever_it_holds),
        cmocka_unit_test(test_bytes_that_are_not_utf8_are_shown_as_hex),
        cmocka_unit_test(test_a_long_value_is_cut_with_an_ellipsis_between_characters),
        cmocka_unit_test(test_a_value_that_fits_exactly_is_not_cut),
        cmocka_unit_test(test_one_line_escapes_control_characters_only),
        cmocka_unit_test(test_a_key_path_quotes_what_is_not_a_plain_word),
        cmocka_unit_test(test_escaped_text_is_written_as_json_stringify_writes_it),
        cmocka_unit_test(test_bytes_that_are_not_utf8_are_escaped_as_the_replacement_character),
        cmocka_unit_test(test_escaping_into_a_small_buffer_writes_whole_escapes_only),
        cmocka_unit_test(test_escaped_text_reads_back_as_the_same_bytes),
        cmocka_unit_test(test_a_json_object_is_accepted_with_white_space_around_it),
        cmocka_unit_test(test_a_json_value_that_is_not_an_object_is_named),
        cmocka_unit_test(test_text_that_is_not_json_says_where_and_why),
        cmocka_unit_test(test_strings_in_a_json_object_are_checked_as_the_decoder_checks_them),
        cmocka_unit_test(test_nesting_is_limited_as_the_decoder_limits_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
