/* fuzz_text.c - libFuzzer target for the JSON-text toolkit (host/core/text.c): any bytes as
 * the text. Checks its promises: text_escape's output, in quotes, is JSON that json-c reads
 * back to the same bytes (each byte that is not UTF-8 as U+FFFD) and it measures what it
 * writes; a quoted value, a one-line message and a key path are one line within their
 * buffer; an escape never decodes longer than it was, and always to UTF-8; a number's length
 * is a number's; a text text_json_object accepts is a JSON object json-c reads, and its
 * refusals are one line. abort() otherwise. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static void fuzz_check(bool ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "fuzz_text: broken promise: %s\n", what);
    abort();
}

static bool fuzz_one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F) return false;
    return true;
}

static bool fuzz_utf8(const char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = text_utf8_len(s + i, s + n))) return false;
    return true;
}

/* data with each byte that is not UTF-8 replaced by U+FFFD, as text_escape promises. */
static size_t fuzz_replaced(const char *s, size_t n, char *out)
{
    size_t w = 0;
    for (size_t i = 0, k; i < n; i += k) {
        k = text_utf8_len(s + i, s + n);
        if (k) memcpy(out + w, s + i, k), w += k;
        else memcpy(out + w, "\xEF\xBF\xBD", 3), w += 3, k = 1;
    }
    return w;
}

static void fuzz_escape(const char *s, size_t n)
{
    char *json = malloc(6 * n + 3), *want = malloc(3 * n + 1);
    if (!json || !want) goto done;
    json[0] = '"';
    size_t k = text_escape(json + 1, 6 * n + 1, s, n);
    fuzz_check(k == text_escape(NULL, 0, s, n), "text_escape measures what it writes");
    fuzz_check(k <= 6 * n && strlen(json + 1) == k, "text_escape writes at most 6 bytes a byte");
    fuzz_check(fuzz_utf8(json, k + 1), "text_escape writes UTF-8");
    strcpy(json + 1 + k, "\"");
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = tok ? json_tokener_parse_ex(tok, json, (int)(k + 3)) : NULL;
    if (tok) {
        fuzz_check(o && json_object_is_type(o, json_type_string), "json-c reads text_escape's output");
        size_t w = fuzz_replaced(s, n, want);
        fuzz_check((size_t)json_object_get_string_len(o) == w &&
                       memcmp(json_object_get_string(o), want, w) == 0,
                   "json-c reads back the same bytes");
        json_object_put(o);
        json_tokener_free(tok);
    }
    /* cut short: whole escapes only, and a prefix of the whole */
    size_t cap = n % 23 + 1;
    char small[24];
    size_t c = text_escape(small, cap, s, n);
    fuzz_check(c < cap && strlen(small) == c && memcmp(small, json + 1, c) == 0,
               "text_escape cut short writes a prefix of its whole output");
done:
    free(json);
    free(want);
}

static void fuzz_quotes(const char *s, size_t n, const char *cstr)
{
    static const size_t caps[] = {8, 9, 17, 64, TEXT_QUOTE_CAP};
    char q[TEXT_QUOTE_CAP];
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        text_quote_n(q, caps[i], s, n);
        size_t len = strlen(q);
        fuzz_check(len < caps[i] && len >= 2 && q[0] == '"' && q[len - 1] == '"',
                   "a quote is in quotes and within its buffer");
        fuzz_check(fuzz_one_line(q), "a quote is one line");
        fuzz_check(fuzz_utf8(q, len), "a quote is UTF-8");
        text_one_line(q, caps[i], cstr);
        fuzz_check(strlen(q) < caps[i] && fuzz_one_line(q) && fuzz_utf8(q, strlen(q)),
                   "text_one_line is one line of UTF-8");
    }
    char path[48] = "a";
    size_t p = text_path_key(path, 1, sizeof path, s, n);
    fuzz_check(p == strlen(path) && p < sizeof path && fuzz_one_line(path), "a key path is one line");
}

static void fuzz_reads(char *s, size_t n)
{
    const char *end = s + n, *stop;
    for (char *r = s; r < end; r++) {
        if (*r == '\\') {
            char out[4];
            size_t used = 0, written = 0;
            text_status st = text_unescape(r, end, out, &used, &written);
            if (st == TEXT_OK)
                fuzz_check(written <= used && used <= (size_t)(end - r) && fuzz_utf8(out, written),
                           "an escape decodes to shorter UTF-8");
            else
                fuzz_check(used <= (size_t)(end - r), "a bad escape is blamed inside the text");
        }
        size_t k = text_number(r, end, &stop);
        if (k) fuzz_check(k <= (size_t)(end - r) && r[k - 1] >= '0' && r[k - 1] <= '9' &&
                              text_number(r, r + k, NULL) == k,
                          "a number ends in a digit and reads the same alone");
        else fuzz_check(stop >= r && stop <= end, "a refused number stops inside the text");
    }
}

static void fuzz_object(const char *s, size_t n)
{
    char why[160];
    if (!text_json_object(s, n, why, sizeof why)) {
        fuzz_check(strlen(why) < sizeof why && fuzz_one_line(why), "a refusal is one line");
        return;
    }
    json_tokener *tok = json_tokener_new_ex(TEXT_JSON_MAX_DEPTH + 1);
    if (!tok) return;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, s, (int)n);
    fuzz_check(o && json_object_is_type(o, json_type_object), "json-c reads an accepted object");
    json_object_put(o);
    json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_escape(s, size);
    fuzz_quotes(s, size, s);
    fuzz_reads(s, size);
    fuzz_object(s, size);
    free(s);
    return 0;
}
