/* text.c - the JSON-text toolkit: UTF-8, string escapes, the number grammar, and strings
 * written back out, quoted for messages or escaped exactly for JSON output.
 * Owns no state and never allocates; it knows nothing of events, manifests or plugins. */
#include "text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char text_hex[] = "0123456789abcdef";

/* ---- UTF-8 ----------------------------------------------------------------------------- */

size_t text_put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- reading JSON text ----------------------------------------------------------------- */

/* The four hex digits at s; on failure *bad is the offset of the first that is not one. */
static text_status text_hex4(const char *s, const char *end, uint32_t *out, size_t *bad)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (s + i >= end) {
            *bad = i;
            return TEXT_END;
        }
        char c = s[i];
        uint32_t h = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
                     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
                                            : 16u;
        if (h == 16) {
            *bad = i;
            return TEXT_BAD_HEX;
        }
        v = v << 4 | h;
    }
    *out = v;
    return TEXT_OK;
}

/* \uXXXX at s, with its low surrogate when it is a high one. */
static text_status text_unescape_u(const char *s, const char *end, uint32_t *cp, size_t *used)
{
    uint32_t lo;
    size_t bad;
    text_status st = text_hex4(s + 2, end, cp, &bad);
    if (st != TEXT_OK) {
        *used = 2 + bad;
        return st;
    }
    *used = 0;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return TEXT_LONE_SURROGATE;
    if (*cp < 0xD800 || *cp > 0xDBFF) {
        *used = 6;
        return TEXT_OK;
    }
    if (end - s < 8 || s[6] != '\\' || s[7] != 'u') return TEXT_LONE_SURROGATE;
    if ((st = text_hex4(s + 8, end, &lo, &bad)) != TEXT_OK) {
        *used = 8 + bad;
        return st;
    }
    if (lo < 0xDC00 || lo > 0xDFFF) return TEXT_LONE_SURROGATE;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    *used = 12;
    return TEXT_OK;
}

text_status text_unescape(const char *s, const char *end, char *out, size_t *used,
                          size_t *written)
{
    char c;
    if (end - s < 2) {
        *used = (size_t)(end - s);
        return TEXT_END;
    }
    switch (s[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
        uint32_t cp;
        text_status st = text_unescape_u(s, end, &cp, used);
        if (st == TEXT_OK) *written = text_put_utf8(out, cp);
        return st;
    }
    default:
        *used = 0;
        return TEXT_BAD_ESCAPE;
    }
    *out = c;
    *used = 2;
    *written = 1;
    return TEXT_OK;
}

static bool text_digit(const char *p, const char *end) { return p < end && *p >= '0' && *p <= '9'; }

size_t text_number(const char *s, const char *end, const char **stop)
{
    const char *p = s;
    if (p < end && *p == '-') p++;
    if (!text_digit(p, end)) goto bad;
    if (*p++ != '0')
        while (text_digit(p, end)) p++;
    if (p < end && *p == '.') {
        if (!text_digit(++p, end)) goto bad;
        while (text_digit(p, end)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!text_digit(p, end)) goto bad;
        while (text_digit(p, end)) p++;
    }
    return (size_t)(p - s);
bad:
    if (stop) *stop = p;
    return 0;
}

/* ---- whole JSON texts ------------------------------------------------------------------ */

typedef struct text_scan {
    const char *s, *p, *end;
    char *why;
    size_t cap;
} text_scan;

__attribute__((format(printf, 3, 4))) static bool text_fail(text_scan *t, const char *at,
                                                            const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(t->why, t->cap, "invalid JSON at byte %zu: %s", (size_t)(at - t->s), what);
    return false;
}

static bool text_unexpected(text_scan *t, const char *expected)
{
    if (t->p >= t->end) return text_fail(t, t->p, "unexpected end of input");
    unsigned char c = (unsigned char)*t->p;
    if (c >= 0x20 && c < 0x7f) return text_fail(t, t->p, "expected %s, found '%c'", expected, c);
    return text_fail(t, t->p, "expected %s, found byte 0x%02x", expected, c);
}

static void text_ws(text_scan *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\n' || *t->p == '\r' || *t->p == '\t'))
        t->p++;
}

/* At a '"': over the string, checked as the event decoder checks one. */
static bool text_scan_string(text_scan *t)
{
    const char *p = t->p + 1, *end = t->end;
    for (;;) {
        if (p >= end) return text_fail(t, end, "unexpected end of input in a string");
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c < 0x20) return text_fail(t, p, "unescaped control character 0x%02x in a string", c);
        if (c == '\\') {
            char scratch[4];
            size_t used, written;
            switch (text_unescape(p, end, scratch, &used, &written)) {
            case TEXT_OK: p += used; continue;
            case TEXT_END: return text_fail(t, end, "unexpected end of input in a string");
            case TEXT_BAD_HEX: return text_fail(t, p + used, "invalid \\u escape");
            case TEXT_LONE_SURROGATE:
                return text_fail(t, p, "\\u%.4s is an unpaired surrogate", p + 2);
            case TEXT_BAD_ESCAPE:
                return text_fail(t, p, "invalid escape '\\%c'",
                                 p[1] >= 0x20 && p[1] < 0x7f ? p[1] : '?');
            }
        }
        size_t n = c < 0x80 ? 1 : text_utf8_len(p, end);
        if (n == 0) {
            snprintf(t->why, t->cap, "invalid UTF-8 at byte %zu", (size_t)(p - t->s));
            return false;
        }
        p += n;
    }
    t->p = p + 1;
    return true;
}

static bool text_literal(text_scan *t, const char *word, size_t n)
{
    if ((size_t)(t->end - t->p) < n || memcmp(t->p, word, n) != 0)
        return text_unexpected(t, "a JSON value");
    t->p += n;
    return true;
}

/* `"key":` at the cursor, white space around it. */
static bool text_scan_key(text_scan *t)
{
    text_ws(t);
    if (t->p >= t->end || *t->p != '"') return text_unexpected(t, "a string key");
    if (!text_scan_string(t)) return false;
    text_ws(t);
    if (t->p >= t->end || *t->p != ':') return text_unexpected(t, "':'");
    t->p++;
    return true;
}

/* Over one JSON value (white space before it too), without recursion. */
static bool text_scan_value(text_scan *t)
{
    char stack[TEXT_JSON_MAX_DEPTH];
    size_t depth = 0, n;
    const char *stop;
    for (;;) {
        text_ws(t);
        char c = t->p < t->end ? *t->p : 0;
        bool ok = true;
        switch (c) {
        case '{':
        case '[':
            if (depth == TEXT_JSON_MAX_DEPTH)
                return text_fail(t, t->p, "nested deeper than %d levels", TEXT_JSON_MAX_DEPTH);
            stack[depth++] = c;
            t->p++;
            text_ws(t);
            if (t->p < t->end && *t->p == (c == '{' ? '}' : ']')) {
                t->p++;
                depth--;
                break;
            }
            if (c == '{' && !text_scan_key(t)) return false;
            continue; /* now at the first value */
        case '"': ok = text_scan_string(t); break;
        case 't': ok = text_literal(t, "true", 4); break;
        case 'f': ok = text_literal(t, "false", 5); break;
        case 'n': ok = text_literal(t, "null", 4); break;
        default:
            if (!(n = text_number(t->p, t->end, &stop))) {
                if (c != '-' && !(c >= '0' && c <= '9')) return text_unexpected(t, "a JSON value");
                t->p = stop;
                return text_unexpected(t, "a digit");
            }
            t->p += n;
        }
        if (!ok) return false;
        /* After a value: close containers or move to the next member. */
        for (;;) {
            if (depth == 0) return true;
            text_ws(t);
            char open = stack[depth - 1];
            if (t->p < t->end && *t->p == ',') {
                t->p++;
                if (open == '{' && !text_scan_key(t)) return false;
                break;
            }
            if (t->p >= t->end || *t->p != (open == '{' ? '}' : ']'))
                return text_unexpected(t, open == '{' ? "',' or '}'" : "',' or ']'");
            t->p++;
            depth--;
        }
    }
}

bool text_json_object(const char *s, size_t len, char *why, size_t cap)
{
    text_scan t = {s, s, s ? s + len : s, why, cap};
    text_ws(&t);
    if (t.p >= t.end) return text_fail(&t, t.p, "the text is empty");
    char first = *t.p;
    if (!text_scan_value(&t)) return false;
    text_ws(&t);
    if (t.p < t.end) return text_fail(&t, t.p, "unexpected data after the value");
    if (first == '{') return true;
    snprintf(why, cap, "expected a JSON object, found %s",
             first == '[' ? "an array" : first == '"' ? "a string"
             : first == 't' || first == 'f' ? "a boolean" : first == 'n' ? "null" : "a number");
    return false;
}

/* ---- writing --------------------------------------------------------------------------- */

/* The next character of [s, end) as it is written out (at most 6 bytes at unit; its length
 * returned, the input bytes it stands for in *take): for a message, or for JSON output. */
static size_t text_unit(const char *s, const char *end, bool message, char unit[6],
                        size_t *take)
{
    unsigned char c = (unsigned char)*s;
    char named = c == '"' ? '"' : c == '\\' ? '\\' : c == '\b' ? 'b' : c == '\f' ? 'f'
               : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
    size_t n;
    *take = 1;
    if (named) {
        unit[0] = '\\';
        unit[1] = named;
        return 2;
    }
    if (c < 0x20 || (message && c == 0x7F)) {
        memcpy(unit, "\\u00", 4);
        unit[4] = text_hex[c >> 4];
        unit[5] = text_hex[c & 15];
        return 6;
    }
    if (c < 0x80) {
        unit[0] = (char)c;
        return 1;
    }
    if ((n = text_utf8_len(s, end)) == 0) {
        if (!message) {
            memcpy(unit, "\\ufffd", 6);
            return 6;
        }
        memcpy(unit, "\\x", 2);
        unit[2] = text_hex[c >> 4];
        unit[3] = text_hex[c & 15];
        return 4;
    }
    *take = n;
    if (message && c == 0xC2 && (unsigned char)s[1] < 0xA0) { /* a C1 control character */
        memcpy(unit, "\\u00", 4);
        unit[4] = text_hex[(unsigned char)s[1] >> 4];
        unit[5] = text_hex[s[1] & 15];
        return 6;
    }
    memcpy(unit, s, n);
    return n;
}

const char *text_quote_n(char *out, size_t cap, const char *s, size_t len)
{
    const char *p = s, *end = len ? s + len : s;
    char unit[6];
    size_t take, k, whole = 0, room = cap - 3; /* the quotes and the NUL */
    while (p < end && whole <= room) {
        whole += text_unit(p, end, true, unit, &take);
        p += take;
    }
    if (whole > room) room -= 3; /* "..." */
    size_t n = 0;
    out[n++] = '"';
    for (p = s; p < end; p += take) {
        k = text_unit(p, end, true, unit, &take);
        if (n - 1 + k > room) break;
        memcpy(out + n, unit, k);
        n += k;
    }
    if (p < end) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n++] = '"';
    out[n] = '\0';
    return out;
}

const char *text_quote(char *out, size_t cap, const char *s)
{
    if (!s) {
        snprintf(out, cap, "(null)");
        return out;
    }
    return text_quote_n(out, cap, s, strlen(s));
}

const char *text_one_line(char *out, size_t cap, const char *s)
{
    const char *end = s + strlen(s);
    char unit[6];
    size_t n = 0, take, k;
    for (; *s; s += take) {
        if (*s == '"' || *s == '\\') k = 1, take = 1, unit[0] = *s;
        else k = text_unit(s, end, true, unit, &take);
        if (n + k >= cap) break;
        memcpy(out + n, unit, k);
        n += k;
    }
    if (cap) out[n] = '\0';
    return out;
}

size_t text_path_key(char *out, size_t n, size_t cap, const char *key, size_t len)
{
    char q[TEXT_QUOTE_CAP];
    bool plain = len > 0;
    for (size_t i = 0; i < len && plain; i++) {
        char c = key[i];
        plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '*';
    }
    if (n + 1 >= cap) return n;
    int w = plain ? snprintf(out + n, cap - n, "%s%.*s", n ? "." : "", (int)len, key)
                  : snprintf(out + n, cap - n, "[%s]", text_quote_n(q, sizeof q, key, len));
    if (w < 0) return n;
    return (size_t)w < cap - n ? n + (size_t)w : cap - 1;
}

size_t text_escape(char *out, size_t cap, const char *s, size_t len)
{
    const char *p = s, *end = len ? s + len : s; /* s may be NULL when len is 0 */
    size_t n = 0;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        char unit[6];
        size_t take = 1, k = 1;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { /* a run of what stays as it is */
            const char *run = p;
            while (p < end && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80 && *p != '"' &&
                   *p != '\\')
                p++;
            k = (size_t)(p - run);
            if (out && n + k >= cap) {
                k = cap > n + 1 ? cap - n - 1 : 0;
                memcpy(out + n, run, k);
                n += k;
                break;
            }
            if (out) memcpy(out + n, run, k);
            n += k;
            continue;
        }
        k = text_unit(p, end, false, unit, &take);
        if (out) {
            if (n + k >= cap) break;
            memcpy(out + n, unit, k);
        }
        n += k;
        p += take;
    }
    if (out && cap) out[n] = '\0';
    return n;
}

uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    return h;
}
