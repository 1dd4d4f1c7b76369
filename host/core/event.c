/* event.c - decodes a DynamoDB Streams Lambda event into ddb_records in one pass, no JSON
 * tree: strings unescaped and base64 decoded in place, values in an arena reused between
 * events. Every byte is validated (RFC 8259, UTF-8), nothing is read past the end, and an
 * error says where: a path such as Records[3].dynamodb.NewImage.price and a byte. */
#include "event.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "attr.h"
#include "text.h"

#define EVENT_MAX_NESTING 32 /* DynamoDB's limit on nested M and L */
#define EVENT_MAX_SKIP_DEPTH TEXT_JSON_MAX_DEPTH /* what the host writes reads back */
#define EVENT_PATH_FRAMES 96
#define EVENT_QUOTE_CAP 64 /* a value quoted in a message: enough to recognise it */

typedef struct event_frame {
    const char *key; /* NULL for an array index */
    size_t len;
    size_t index;
} event_frame;

struct event_decoder {
    arena *arena;
    char *buf, *p, *end;
    jmp_buf fail;
    char error[600];

    ddb_member *members; /* scratch: members of the maps being decoded, innermost last */
    size_t nmembers, cap_members;
    ddb_value *values;   /* scratch: elements of the lists and sets being decoded */
    size_t nvalues, cap_values;
    ddb_record *records;
    size_t nrecords, cap_records;
    event_member *state;  /* the members of a tumbling window's state */
    size_t nstate, cap_state;

    event_frame path[EVENT_PATH_FRAMES];
    size_t depth;
};

/* ---- errors --------------------------------------------------------------------------- */

static void event_path(const event_decoder *d, char *out, size_t cap)
{
    size_t n = 0;
    if (d->depth == 0) {
        snprintf(out, cap, "event");
        return;
    }
    out[0] = '\0';
    for (size_t i = 0; i < d->depth && i < EVENT_PATH_FRAMES && n + 8 < cap; i++) {
        const event_frame *f = &d->path[i];
        if (f->key) {
            n = text_path_key(out, n, cap, f->key, f->len); /* quotes what is not a plain word */
            continue;
        }
        int w = snprintf(out + n, cap - n, "[%zu]", f->index);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
}

__attribute__((noreturn, format(printf, 3, 4))) static void
event_fail(event_decoder *d, const char *at, const char *fmt, ...)
{
    char path[256], what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    event_path(d, path, sizeof path);
    snprintf(d->error, sizeof d->error, "%s: %s (byte %zu)", path, what, (size_t)(at - d->buf));
    longjmp(d->fail, 1);
}

__attribute__((noreturn, format(printf, 3, 4))) static void
event_syntax(event_decoder *d, const char *at, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(d->error, sizeof d->error, "invalid JSON at byte %zu: %s", (size_t)(at - d->buf),
             what);
    longjmp(d->fail, 1);
}

__attribute__((noreturn)) static void event_nomem(event_decoder *d)
{
    snprintf(d->error, sizeof d->error, "out of memory decoding the event");
    longjmp(d->fail, 1);
}

static void event_push_key(event_decoder *d, const char *key, size_t len)
{
    if (d->depth < EVENT_PATH_FRAMES) d->path[d->depth] = (event_frame){key, len, 0};
    d->depth++;
}

static void event_push_index(event_decoder *d, size_t index)
{
    if (d->depth < EVENT_PATH_FRAMES) d->path[d->depth] = (event_frame){NULL, 0, index};
    d->depth++;
}

static void event_pop(event_decoder *d) { d->depth--; }

/* ---- JSON lexing ---------------------------------------------------------------------- */

static inline void event_ws(event_decoder *d)
{
    char *p = d->p, *end = d->end;
    if (p < end && (unsigned char)*p > ' ') return; /* compact JSON: nearly always */
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    d->p = p;
}

/* The byte at the cursor, or 0 at the end (a NUL inside the input is invalid anyway). */
static inline char event_peek(const event_decoder *d) { return d->p < d->end ? *d->p : 0; }

static const char *event_found(const event_decoder *d)
{
    switch (event_peek(d)) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': return "a number";
    default: return NULL;
    }
}

__attribute__((noreturn)) static void event_unexpected(event_decoder *d, const char *expected)
{
    if (d->p >= d->end) event_syntax(d, d->p, "unexpected end of input");
    unsigned char c = (unsigned char)*d->p;
    if (c >= 0x20 && c < 0x7f)
        event_syntax(d, d->p, "expected %s, found '%c'", expected, c);
    event_syntax(d, d->p, "expected %s, found byte 0x%02x", expected, c);
}

static inline void event_expect(event_decoder *d, char c, const char *expected)
{
    if (event_peek(d) != c) event_unexpected(d, expected);
    d->p++;
}

static void event_skip(event_decoder *d);

/* Shape error: a value of the wrong type. It is validated first, so that text which is not
 * JSON at all is called invalid JSON rather than guessed at from its first byte. */
__attribute__((noreturn)) static void event_wrong_type(event_decoder *d, const char *expected)
{
    const char *at = d->p, *found = event_found(d);
    if (!found) event_unexpected(d, "a JSON value");
    event_skip(d);
    event_fail(d, at, "expected %s, found %s", expected, found);
}

/* 0: plain, 1: '"', 2: '\\', 3: control character, 4: non-ASCII */
static const unsigned char event_str_class[256] = {
    [0x00] = 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    ['"'] = 1, ['\\'] = 2,
    [0x80] = 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* At a '"': decodes the string in place and NUL-terminates it. Escapes only ever shrink
 * the text, so the write cursor never passes the read cursor. With decode false the string
 * is only validated and the buffer left as it was (values the host skips, and the raw
 * tumbling-window state that goes back to Lambda verbatim). */

/* How many bytes at r, up to EVENT_BLOCK, are plain (not '"', '\\', control, non-ASCII);
 * 0 when fewer than EVENT_BLOCK bytes remain. With w (unescaping), those bytes are copied
 * down to w first: a whole block straight from the register, which overwrites only bytes
 * already loaded since w < r. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define EVENT_BLOCK 16u
static inline size_t event_plain_run(const char *r, const char *end, char *w)
{
    if (end - r < 16) return 0;
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)r);
    __m128i quote = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
    __m128i slash = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
    /* signed: below 0x20, and every byte from 0x80 up */
    __m128i other = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20));
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), other));
    size_t k = m ? (size_t)__builtin_ctz(m) : 16u;
    if (w) {
        char block[16];
        _mm_storeu_si128((__m128i *)(void *)(k == 16 ? w : block), x);
        if (k < 16) memcpy(w, block, k);
    }
    return k;
}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define EVENT_BLOCK 8u
/* Flags (in the high bit of each byte) the bytes of x that end a plain run: '"', '\\',
 * control characters and non-ASCII. A flag can be spurious only above a real one, so the
 * lowest flag, the one used, is always right (little-endian loads). */
static inline uint64_t event_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x) & high;
}

static inline size_t event_plain_run(const char *r, const char *end, char *w)
{
    if (end - r < 8) return 0;
    uint64_t x;
    memcpy(&x, r, 8);
    uint64_t m = event_special8(x);
    size_t k = m ? (size_t)__builtin_ctzll(m) >> 3 : 8u;
    if (w) memcpy(w, &x, k);
    return k;
}
#else
#define EVENT_BLOCK 1u
static inline size_t event_plain_run(const char *r, const char *end, char *w)
{
    if (r >= end || event_str_class[(unsigned char)*r] != 0) return 0;
    if (w) *w = *r;
    return 1;
}
#endif

/* At a backslash r inside a string: decodes the escape to *w (nowhere with w NULL) and
 * returns where reading goes on. */
static char *event_escape(event_decoder *d, char *r, char **w)
{
    char scratch[4];
    size_t used, written;
    switch (text_unescape(r, d->end, *w ? *w : scratch, &used, &written)) {
    case TEXT_OK: break;
    case TEXT_END: event_syntax(d, d->end, "unexpected end of input in a string");
    case TEXT_BAD_HEX: event_syntax(d, r + used, "invalid \\u escape");
    case TEXT_LONE_SURROGATE:
        event_syntax(d, r, "\\u%.4s is an unpaired surrogate", r + 2);
    case TEXT_BAD_ESCAPE:
        event_syntax(d, r, "invalid escape '\\%c'", r[1] >= 0x20 && r[1] < 0x7f ? r[1] : '?');
    }
    if (*w) *w += written;
    return r + used;
}

/* The hot path: most of an event is string bytes. Plain runs go a block at a time and valid
 * UTF-8 stays in the block loop; only quotes, escapes, control characters and invalid UTF-8
 * leave it. Escapes, which are rare, are decoded out of line (event_escape); the rest stays
 * in this one function so that the cursors stay in registers (measured: bench/README.md). */
static void event_scan_string(event_decoder *d, bool decode, const char **out, size_t *len)
{
    char *r = d->p + 1, *end = d->end, *start = r, *w = NULL;
    for (;;) {
        for (;;) {
            size_t k = event_plain_run(r, end, w), block = EVENT_BLOCK;
            if (k == 0 && (size_t)(end - r) < block) break; /* too near the end: bytewise */
            if (w) w += k;
            r += k;
            if (k == block) continue;
            if ((unsigned char)*r < 0x80) break;
            size_t n = text_utf8_len(r, end);
            if (n == 0) break; /* reported below */
            if (w) {
                memmove(w, r, n);
                w += n;
            }
            r += n;
        }
        while (r < end && event_str_class[(unsigned char)*r] == 0) {
            if (w) *w++ = *r;
            r++;
        }
        if (r >= end) event_syntax(d, end, "unexpected end of input in a string");
        switch (event_str_class[(unsigned char)*r]) {
        case 1: {
            char *stop = w ? w : r;
            if (decode) *stop = '\0';
            *out = start;
            *len = (size_t)(stop - start);
            d->p = r + 1;
            return;
        }
        case 3:
            event_syntax(d, r, "unescaped control character 0x%02x in a string",
                         (unsigned char)*r);
        case 4: {
            size_t n = text_utf8_len(r, end);
            if (n == 0) {
                snprintf(d->error, sizeof d->error, "invalid UTF-8 at byte %zu",
                         (size_t)(r - d->buf));
                longjmp(d->fail, 1);
            }
            if (w) {
                memmove(w, r, n);
                w += n;
            }
            r += n;
            break;
        }
        default: /* backslash: from here on, decoding writes behind the read cursor */
            if (decode && !w) w = r;
            r = event_escape(d, r, &w);
        }
    }
}

static void event_string(event_decoder *d, const char **out, size_t *len)
{
    event_scan_string(d, true, out, len);
}

/* A JSON number at the cursor; returns its text (not terminated). */
static void event_number(event_decoder *d, const char **out, size_t *len)
{
    const char *stop;
    size_t n = text_number(d->p, d->end, &stop);
    if (n == 0) {
        d->p += stop - d->p;
        event_unexpected(d, "a digit");
    }
    *out = d->p;
    *len = n;
    d->p += n;
}

static void event_literal(event_decoder *d, const char *word, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        event_unexpected(d, "a JSON value");
    d->p += n;
}

/* true, false; anything else is a shape error naming what was expected. */
static bool event_bool(event_decoder *d)
{
    if (event_peek(d) == 't') { event_literal(d, "true", 4); return true; }
    if (event_peek(d) == 'f') { event_literal(d, "false", 5); return false; }
    event_wrong_type(d, "a boolean");
}

/* Skips any JSON value, validating it, without recursion and without touching it. */
static void event_skip(event_decoder *d)
{
    char stack[EVENT_MAX_SKIP_DEPTH];
    size_t depth = 0;
    const char *s;
    size_t n;
    for (;;) {
        event_ws(d);
        switch (event_peek(d)) {
        case '{':
        case '[':
            if (depth == EVENT_MAX_SKIP_DEPTH)
                event_syntax(d, d->p, "nested deeper than %d levels", EVENT_MAX_SKIP_DEPTH);
            stack[depth++] = *d->p++;
            event_ws(d);
            if (event_peek(d) == (stack[depth - 1] == '{' ? '}' : ']')) {
                d->p++;
                depth--;
                break;
            }
            if (stack[depth - 1] == '{') {
                if (event_peek(d) != '"') event_unexpected(d, "a string key");
                event_scan_string(d, false, &s, &n);
                event_ws(d);
                event_expect(d, ':', "':'");
            }
            continue; /* now at the first value */
        case '"': event_scan_string(d, false, &s, &n); break;
        case 't': event_literal(d, "true", 4); break;
        case 'f': event_literal(d, "false", 5); break;
        case 'n': event_literal(d, "null", 4); break;
        default: event_number(d, &s, &n); break;
        }
        /* After a value: close containers or move to the next member. */
        for (;;) {
            if (depth == 0) return;
            event_ws(d);
            char open = stack[depth - 1];
            if (event_peek(d) == ',') {
                d->p++;
                if (open == '{') {
                    event_ws(d);
                    if (event_peek(d) != '"') event_unexpected(d, "a string key");
                    event_scan_string(d, false, &s, &n);
                    event_ws(d);
                    event_expect(d, ':', "':'");
                }
                break;
            }
            if (event_peek(d) != (open == '{' ? '}' : ']'))
                event_unexpected(d, open == '{' ? "',' or '}'" : "',' or ']'");
            d->p++;
            depth--;
        }
    }
}

/* At `open` ('{' or '['): steps in, and over `close` too when the container is empty
 * (false). what names the container for a shape error. */
static inline bool event_open(event_decoder *d, char open, char close, const char *what)
{
    event_ws(d);
    if (event_peek(d) != open) event_wrong_type(d, what);
    d->p++;
    event_ws(d);
    if (event_peek(d) == close) {
        d->p++;
        return false;
    }
    return true;
}

/* After a member or element: over ',' (true, at the next one) or over `close` (false). */
static inline bool event_next(event_decoder *d, char close, const char *expected)
{
    event_ws(d);
    if (event_peek(d) == ',') {
        d->p++;
        event_ws(d);
        return true;
    }
    event_expect(d, close, expected);
    return false;
}

/* Object iteration: event_obj_first at '{' (false when empty), event_obj_key reads
 * `"key":`, event_obj_next after a member (false at '}'); arrays likewise. */
static bool event_obj_first(event_decoder *d) { return event_open(d, '{', '}', "an object"); }
static bool event_obj_next(event_decoder *d) { return event_next(d, '}', "',' or '}'"); }
static bool event_arr_first(event_decoder *d) { return event_open(d, '[', ']', "an array"); }
static bool event_arr_next(event_decoder *d) { return event_next(d, ']', "',' or ']'"); }

static void event_obj_key(event_decoder *d, const char **key, size_t *len)
{
    if (event_peek(d) != '"') event_unexpected(d, "a string key");
    event_string(d, key, len);
    event_ws(d);
    event_expect(d, ':', "':'");
    event_ws(d);
}

/* A member's key, also pushed on the path that errors name. */
static void event_member_key(event_decoder *d, const char **key, size_t *len)
{
    event_obj_key(d, key, len);
    event_push_key(d, *key, *len);
}

static bool event_key_is(const char *key, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(key, lit, n) == 0;
}

static void event_string_value(event_decoder *d, ddb_str *out)
{
    if (event_peek(d) != '"') event_wrong_type(d, "a string");
    event_string(d, &out->ptr, &out->len);
}

/* ---- attribute values ----------------------------------------------------------------- */

static void *event_grow(event_decoder *d, void *items, size_t *cap, size_t size)
{
    size_t ncap = *cap ? *cap * 2 : 256;
    void *p = realloc(items, ncap * size);
    if (!p) event_nomem(d);
    *cap = ncap;
    return p;
}

static void event_push_value(event_decoder *d, const ddb_value *v)
{
    if (d->nvalues == d->cap_values)
        d->values = event_grow(d, d->values, &d->cap_values, sizeof *d->values);
    d->values[d->nvalues++] = *v;
}

static void event_push_member(event_decoder *d, const ddb_member *m)
{
    if (d->nmembers == d->cap_members)
        d->members = event_grow(d, d->members, &d->cap_members, sizeof *d->members);
    d->members[d->nmembers++] = *m;
}

/* Copies a finished container's children from the scratch stack into the arena. */
static const void *event_commit(event_decoder *d, const void *items, size_t count, size_t size)
{
    void *p = arena_alloc(d->arena, count * size);
    if (!p) event_nomem(d);
    memcpy(p, items, count * size);
    return p;
}

static void event_value(event_decoder *d, ddb_value *out, int nesting);

static void event_map(event_decoder *d, ddb_value *out, int nesting)
{
    size_t base = d->nmembers;
    if (event_obj_first(d)) {
        do {
            ddb_member m = {0};
            const char *name;
            size_t len;
            event_member_key(d, &name, &len);
            event_value(d, &m.value, nesting);
            event_pop(d);
            m.name = name;
            m.name_len = (uint32_t)len;
            event_push_member(d, &m);
        } while (event_obj_next(d));
    }
    size_t count = d->nmembers - base;
    out->type = DDB_M;
    out->len = (uint32_t)count;
    out->ptr = count ? event_commit(d, d->members + base, count, sizeof(ddb_member)) : NULL;
    d->nmembers = base;
}

static void event_scalar(event_decoder *d, ddb_type type, ddb_value *out)
{
    const char *s;
    size_t len;
    if (event_peek(d) != '"') event_wrong_type(d, "a string");
    const char *at = d->p;
    event_string(d, &s, &len);
    if (type == DDB_N) {
        attr_number_check c = attr_check_number(s, len);
        char q[EVENT_QUOTE_CAP];
        if (c == ATTR_NUMBER_SYNTAX)
            event_fail(d, at, "%s is not a number", text_quote_n(q, sizeof q, s, len));
        if (c == ATTR_NUMBER_PRECISION)
            event_fail(d, at, "%s has more than 38 significant digits",
                       text_quote_n(q, sizeof q, s, len));
    } else if (type == DDB_B) {
        if (!attr_base64_decode((char *)s, len, &len)) event_fail(d, at, "invalid base64");
    }
    out->type = (uint8_t)type;
    out->len = (uint32_t)len;
    out->ptr = s;
}

/* L, SS, NS, BS: elements go through the value stack. */
static void event_array(event_decoder *d, ddb_type type, ddb_value *out, int nesting)
{
    size_t base = d->nvalues;
    if (event_arr_first(d)) {
        size_t i = 0;
        do {
            ddb_value v = {0};
            event_push_index(d, i++);
            if (type == DDB_L) event_value(d, &v, nesting);
            else event_scalar(d, type == DDB_SS ? DDB_S : type == DDB_NS ? DDB_N : DDB_B, &v);
            event_pop(d);
            event_push_value(d, &v);
        } while (event_arr_next(d));
    }
    size_t count = d->nvalues - base;
    out->type = (uint8_t)type;
    out->len = (uint32_t)count;
    out->ptr = count ? event_commit(d, d->values + base, count, sizeof(ddb_value)) : NULL;
    d->nvalues = base;
}

static ddb_type event_tag(const char *k, size_t n)
{
    switch (n) {
    case 1:
        switch (k[0]) {
        case 'S': return DDB_S;
        case 'N': return DDB_N;
        case 'B': return DDB_B;
        case 'M': return DDB_M;
        case 'L': return DDB_L;
        }
        return DDB_NONE;
    case 2:
        if (k[1] != 'S') return DDB_NONE;
        return k[0] == 'S' ? DDB_SS : k[0] == 'N' ? DDB_NS : k[0] == 'B' ? DDB_BS : DDB_NONE;
    case 4:
        return memcmp(k, "BOOL", 4) == 0 ? DDB_BOOL : memcmp(k, "NULL", 4) == 0 ? DDB_NULL : DDB_NONE;
    }
    return DDB_NONE;
}

#define EVENT_TAGS "(S, N, B, BOOL, NULL, M, L, SS, NS, BS)"

/* The type tag's key, `"S":` and the like, read without the general string scan since
 * every value has one; anything unusual takes the general path. */
static ddb_type event_tag_key(event_decoder *d, const char **tag, size_t *len)
{
    const char *p = d->p;
    if (d->end - p >= 5 && p[0] == '"' && (p[2] == '"' || p[3] == '"')) {
        size_t n = p[2] == '"' ? 1 : 2;
        if (p[n + 2] == ':' || p[n + 2] == ' ') {
            ddb_type type = event_tag(p + 1, n);
            if (type != DDB_NONE) {
                *tag = p + 1;
                *len = n;
                d->p += n + 2;
                event_ws(d);
                event_expect(d, ':', "':'");
                event_ws(d);
                return type;
            }
        }
    }
    event_obj_key(d, tag, len);
    return event_tag(*tag, *len);
}

/* An AttributeValue: an object with exactly one type tag. */
static void event_value(event_decoder *d, ddb_value *out, int nesting)
{
    const char *at = d->p;
    if (!event_obj_first(d)) event_fail(d, at, "expected one type tag " EVENT_TAGS ", found none");
    const char *tag;
    size_t len;
    char q[EVENT_QUOTE_CAP];
    ddb_type type = event_tag_key(d, &tag, &len);
    if (type == DDB_NONE)
        event_fail(d, at, "expected one type tag " EVENT_TAGS ", found %s",
                   text_quote_n(q, sizeof q, tag, len));
    event_push_key(d, tag, len);
    memset(out, 0, sizeof *out);
    switch (type) {
    case DDB_S:
    case DDB_N:
    case DDB_B: event_scalar(d, type, out); break;
    case DDB_BOOL:
        out->type = DDB_BOOL;
        out->boolean = event_bool(d);
        break;
    case DDB_NULL:
        if (!event_bool(d)) event_fail(d, d->p - 5, "expected true, found false");
        out->type = DDB_NULL;
        break;
    case DDB_M:
    case DDB_L:
        if (nesting == EVENT_MAX_NESTING)
            event_fail(d, d->p, "nested deeper than %d levels", EVENT_MAX_NESTING);
        if (type == DDB_M) event_map(d, out, nesting + 1);
        else event_array(d, DDB_L, out, nesting + 1);
        break;
    default: event_array(d, type, out, nesting); break;
    }
    event_pop(d);
    if (event_obj_next(d)) {
        size_t tags = 2;
        while (event_obj_key(d, &tag, &len), event_skip(d), event_obj_next(d)) tags++;
        event_fail(d, at, "expected one type tag " EVENT_TAGS ", found %zu tags", tags);
    }
}

/* Keys, NewImage, OldImage: a map of attribute name to AttributeValue. */
static const ddb_value *event_image(event_decoder *d)
{
    ddb_value v;
    event_map(d, &v, 0);
    ddb_value *p = arena_alloc(d->arena, sizeof *p);
    if (!p) event_nomem(d);
    *p = v;
    return p;
}

/* ---- record fields -------------------------------------------------------------------- */

/* ApproximateCreationDateTime in ms: any JSON number (or a string holding one) of
 * seconds, or of ms above 1e11, or of microseconds above 1e14 (FORMAT.md §3, §8.3). */
static bool event_creation_ms(const char *s, size_t len, int64_t *out)
{
    const char *end = s + len;
    bool neg = false;
    uint64_t mant = 0;
    int digits = 0;
    long exp10 = 0;
    if (s < end && (*s == '-' || *s == '+')) neg = *s++ == '-';
    bool any = false, frac = false;
    for (; s < end && ((*s >= '0' && *s <= '9') || (*s == '.' && !frac)); s++) {
        if (*s == '.') { frac = true; continue; }
        any = true;
        if (digits == 0 && *s == '0') { if (frac) exp10--; continue; }
        if (digits < 18) {
            mant = mant * 10 + (uint64_t)(*s - '0');
            digits++;
            if (frac) exp10--;
        } else if (!frac) {
            exp10++;
        }
    }
    if (!any) return false;
    if (s < end && (*s == 'e' || *s == 'E')) {
        bool xneg = false;
        long x = 0;
        s++;
        if (s < end && (*s == '-' || *s == '+')) xneg = *s++ == '-';
        if (s == end) return false;
        for (; s < end && *s >= '0' && *s <= '9'; s++)
            if (x < 1000) x = x * 10 + (*s - '0');
        exp10 += xneg ? -x : x;
    }
    if (s != end) return false;
    long int_digits = mant ? digits + exp10 : 0; /* digits before the decimal point */
    long shift = int_digits > 14 ? -3 : int_digits > 11 ? 0 : 3;
    long e = exp10 + shift;
    if (e > 18 || int_digits + shift > 18) return false;
    for (; e > 0; e--) mant *= 10;
    for (; e < 0 && mant; e++) mant /= 10;
    *out = neg ? -(int64_t)mant : (int64_t)mant;
    return true;
}

static void event_creation_time(event_decoder *d, ddb_record *rec)
{
    const char *s, *at = d->p;
    size_t len;
    char c = event_peek(d);
    if (c == '"') event_string(d, &s, &len);
    else if (c == '-' || (c >= '0' && c <= '9')) event_number(d, &s, &len);
    else if (c == 'n') { event_literal(d, "null", 4); return; }
    else event_wrong_type(d, "a number");
    char q[EVENT_QUOTE_CAP];
    if (!event_creation_ms(s, len, &rec->creation_time_ms))
        event_fail(d, at, "%s is not a time in seconds or milliseconds",
                   text_quote_n(q, sizeof q, s, len));
    rec->has_creation_time = true;
}

static void event_size_bytes(event_decoder *d, ddb_record *rec)
{
    const char *s, *at = d->p;
    size_t len;
    char c = event_peek(d);
    if (c != '-' && (c < '0' || c > '9')) event_wrong_type(d, "a number");
    event_number(d, &s, &len);
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            event_fail(d, at, "expected a non-negative integer, found %.*s",
                       (int)(len < 40 ? len : 40), s);
        v = v * 10 + (s[i] - '0');
    }
    rec->size_bytes = v;
}

static ddb_view_type event_view_type(event_decoder *d)
{
    static const char *const names[] = {"", "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE",
                                        "NEW_AND_OLD_IMAGES"};
    ddb_str s;
    const char *at = d->p;
    char q[EVENT_QUOTE_CAP];
    event_string_value(d, &s);
    for (int i = 1; i < 5; i++)
        if (event_key_is(s.ptr, s.len, names[i])) return (ddb_view_type)i;
    event_fail(d, at,
               "expected \"KEYS_ONLY\", \"NEW_IMAGE\", \"OLD_IMAGE\" or "
               "\"NEW_AND_OLD_IMAGES\", found %s",
               text_quote_n(q, sizeof q, s.ptr, s.len));
}

static void event_streamrecord(event_decoder *d, ddb_record *rec)
{
    if (!event_obj_first(d)) return;
    do {
        const char *k;
        size_t n;
        event_member_key(d, &k, &n);
        if (event_key_is(k, n, "Keys")) rec->keys = event_image(d);
        else if (event_key_is(k, n, "NewImage")) rec->new_image = event_image(d);
        else if (event_key_is(k, n, "OldImage")) rec->old_image = event_image(d);
        else if (event_key_is(k, n, "SequenceNumber")) event_string_value(d, &rec->sequence_number);
        else if (event_key_is(k, n, "SizeBytes")) event_size_bytes(d, rec);
        else if (event_key_is(k, n, "StreamViewType")) rec->view_type = event_view_type(d);
        else if (event_key_is(k, n, "ApproximateCreationDateTime")) event_creation_time(d, rec);
        else event_skip(d);
        event_pop(d);
    } while (event_obj_next(d));
}

/* userIdentity: a TTL delete is {"type":"Service","principalId":"dynamodb.amazonaws.com"}. */
static bool event_ttl_identity(event_decoder *d)
{
    if (event_peek(d) == 'n') {
        event_literal(d, "null", 4);
        return false;
    }
    bool service = false, dynamodb = false;
    if (!event_obj_first(d)) return false;
    do {
        const char *k;
        size_t n;
        event_obj_key(d, &k, &n);
        bool is_type = event_key_is(k, n, "type");
        bool is_principal = event_key_is(k, n, "principalId");
        if ((is_type || is_principal) && event_peek(d) == '"') {
            ddb_str s;
            event_string_value(d, &s);
            if (is_type) service = event_key_is(s.ptr, s.len, "Service");
            else dynamodb = event_key_is(s.ptr, s.len, "dynamodb.amazonaws.com");
        } else {
            event_skip(d);
        }
    } while (event_obj_next(d));
    return service && dynamodb;
}

/* Table name from a stream ARN (FORMAT.md §6):
 * arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL; absent when not one. */
static ddb_str event_table_from_arn(ddb_str arn)
{
    ddb_str none = {NULL, 0};
    if (!arn.ptr || arn.len < 4 || memcmp(arn.ptr, "arn:", 4) != 0) return none;
    const char *s = arn.ptr, *end = arn.ptr + arn.len, *field[6];
    field[0] = s;
    int nf = 1;
    for (const char *p = s; p < end && nf < 6; p++)
        if (*p == ':') field[nf++] = p + 1;
    if (nf < 6) return none;
    size_t plen = (size_t)(field[2] - field[1] - 1);
    if (!(plen == 3 || (plen > 4 && memcmp(field[1], "aws-", 4) == 0)) ||
        memcmp(field[1], "aws", 3) != 0)
        return none;
    if (field[3] - field[2] - 1 != 8 || memcmp(field[2], "dynamodb", 8) != 0) return none;
    const char *res = field[5];
    if (end - res < 6 || memcmp(res, "table/", 6) != 0) return none;
    const char *name = res + 6, *slash = memchr(name, '/', (size_t)(end - name));
    if (!slash) return none;
    size_t nlen = (size_t)(slash - name);
    if (nlen < 3 || nlen > 255) return none;
    for (size_t i = 0; i < nlen; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return none;
    }
    if (end - slash < 9 || memcmp(slash, "/stream/", 8) != 0) return none;
    return (ddb_str){name, nlen};
}

/* The table of a stream ARN, NUL-terminated: the name is a slice of the ARN, so a copy. */
static ddb_str event_table(event_decoder *d, ddb_str arn)
{
    ddb_str table = event_table_from_arn(arn);
    if (!table.ptr) return table;
    char *copy = arena_alloc(d->arena, table.len + 1);
    if (!copy) event_nomem(d);
    memcpy(copy, table.ptr, table.len);
    copy[table.len] = '\0';
    return (ddb_str){copy, table.len};
}

static ddb_record *event_new_record(event_decoder *d)
{
    if (d->nrecords == d->cap_records)
        d->records = event_grow(d, d->records, &d->cap_records, sizeof *d->records);
    ddb_record *rec = &d->records[d->nrecords];
    memset(rec, 0, sizeof *rec);
    rec->size = sizeof *rec;
    rec->index = (uint32_t)d->nrecords;
    rec->size_bytes = -1;
    d->nrecords++;
    return rec;
}

/* What a record's own members say beyond the fields they fill in, for the checks after. */
typedef struct event_record_seen {
    ddb_str name, source;
    const char *name_at, *source_at;
    bool streamrecord, ttl_identity;
} event_record_seen;

static void event_record_fields(event_decoder *d, ddb_record *rec, event_record_seen *seen)
{
    if (!event_obj_first(d)) return;
    do {
        const char *k;
        size_t n;
        event_member_key(d, &k, &n);
        if (event_key_is(k, n, "eventName")) {
            seen->name_at = d->p;
            event_string_value(d, &seen->name);
        } else if (event_key_is(k, n, "eventSource")) {
            seen->source_at = d->p;
            event_string_value(d, &seen->source);
        } else if (event_key_is(k, n, "eventID")) {
            event_string_value(d, &rec->event_id);
        } else if (event_key_is(k, n, "eventVersion")) {
            event_string_value(d, &rec->event_version);
        } else if (event_key_is(k, n, "awsRegion")) {
            event_string_value(d, &rec->region);
        } else if (event_key_is(k, n, "eventSourceARN")) {
            event_string_value(d, &rec->event_source_arn);
        } else if (event_key_is(k, n, "userIdentity")) {
            seen->ttl_identity = event_ttl_identity(d);
        } else if (event_key_is(k, n, "dynamodb")) {
            event_streamrecord(d, rec);
            seen->streamrecord = true;
        } else {
            event_skip(d);
        }
        event_pop(d);
    } while (event_obj_next(d));
}

static void event_record(event_decoder *d)
{
    const char *at = d->p;
    ddb_record *rec = event_new_record(d);
    event_record_seen seen = {0};
    char q[EVENT_QUOTE_CAP];
    event_record_fields(d, rec, &seen);
    if (!seen.source.ptr) event_fail(d, at, "missing \"eventSource\"");
    if (!event_key_is(seen.source.ptr, seen.source.len, "aws:dynamodb")) {
        event_push_key(d, "eventSource", 11);
        event_fail(d, seen.source_at, "expected \"aws:dynamodb\", found %s",
                   text_quote_n(q, sizeof q, seen.source.ptr, seen.source.len));
    }
    if (!seen.name.ptr) event_fail(d, at, "missing \"eventName\"");
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++)
        if (event_key_is(seen.name.ptr, seen.name.len, ddb_event_name_str((ddb_event_name)e)))
            rec->event_name = (ddb_event_name)e;
    if (!rec->event_name) {
        event_push_key(d, "eventName", 9);
        event_fail(d, seen.name_at, "expected \"INSERT\", \"MODIFY\" or \"REMOVE\", found %s",
                   text_quote_n(q, sizeof q, seen.name.ptr, seen.name.len));
    }
    if (!seen.streamrecord) event_fail(d, at, "missing \"dynamodb\"");
    rec->ttl_delete = seen.ttl_identity && rec->event_name == DDB_REMOVE;
    rec->table = event_table(d, rec->event_source_arn);
}

static void event_records(event_decoder *d)
{
    if (!event_arr_first(d)) return;
    size_t i = 0;
    do {
        event_push_index(d, i++);
        event_record(d);
        event_pop(d);
    } while (event_arr_next(d));
}

/* ---- tumbling windows ----------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t event_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* n digits at s as a number, or -1 when they are not all digits. */
static int event_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* A window bound in ms since the epoch: an ISO 8601 time as RFC 3339 writes it,
 * YYYY-MM-DDThh:mm:ss, a fraction of a second optional, then Z or an offset ±hh:mm (none is
 * UTC), e.g. "2020-07-30T17:05:00Z". */
static bool event_iso_ms(const char *s, size_t len, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return false;
    int y = event_digits(s, 4), mo = event_digits(s + 5, 2), d = event_digits(s + 8, 2),
        h = event_digits(s + 11, 2), mi = event_digits(s + 14, 2), sec = event_digits(s + 17, 2);
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return false;
    size_t i = 19;
    int ms = 0, scale = 100;
    if (i < len && s[i] == '.') {
        if (++i == len || s[i] < '0' || s[i] > '9') return false;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10) ms += (s[i] - '0') * scale;
    }
    int64_t offset = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int oh = len - i >= 6 && s[i + 3] == ':' ? event_digits(s + i + 1, 2) : -1,
            om = oh >= 0 ? event_digits(s + i + 4, 2) : -1;
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
        offset = (s[i] == '-' ? -1 : 1) * (int64_t)(oh * 60 + om) * 60000;
        i += 6;
    }
    if (i != len) return false;
    *out = ((event_days(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms - offset;
    return true;
}

/* A string or null (left {NULL, 0}). */
static void event_nullable_string(event_decoder *d, ddb_str *out)
{
    if (event_peek(d) == 'n') event_literal(d, "null", 4);
    else event_string_value(d, out);
}

/* A boolean or null (false). */
static bool event_nullable_bool(event_decoder *d)
{
    if (event_peek(d) != 'n') return event_bool(d);
    event_literal(d, "null", 4);
    return false;
}

/* "window": {"start": TIME, "end": TIME}, or null. */
static void event_window_bounds(event_decoder *d, event_window *w)
{
    if (event_peek(d) == 'n') {
        event_literal(d, "null", 4);
        return;
    }
    if (!event_obj_first(d)) return;
    do {
        const char *k;
        size_t n;
        event_member_key(d, &k, &n);
        bool start = event_key_is(k, n, "start");
        if (start || event_key_is(k, n, "end")) {
            const char *at = d->p;
            ddb_str *text = start ? &w->start : &w->end;
            char q[EVENT_QUOTE_CAP];
            event_nullable_string(d, text);
            if (text->ptr && !event_iso_ms(text->ptr, text->len, start ? &w->start_ms : &w->end_ms))
                event_fail(d, at, "%s is not an ISO 8601 time such as \"2020-07-30T17:00:00Z\"",
                           text_quote_n(q, sizeof q, text->ptr, text->len));
        } else {
            event_skip(d);
        }
        event_pop(d);
    } while (event_obj_next(d));
}

/* The members of the state object at [start, start + len), which is already validated: in a
 * copy in the arena, where their names are decoded, so that the state itself stays as it came
 * for a response that hands it back. */
static void event_state_members(event_decoder *d, const char *start, size_t len, event_window *w)
{
    char *copy = arena_alloc(d->arena, len + 1), *p = d->p, *end = d->end;
    if (!copy) event_nomem(d);
    memcpy(copy, start, len);
    copy[len] = '\0';
    d->p = copy;
    d->end = copy + len;
    d->nstate = 0;
    if (event_obj_first(d)) {
        do {
            event_member m;
            event_obj_key(d, &m.name.ptr, &m.name.len);
            m.json.ptr = d->p;
            event_skip(d);
            m.json.len = (size_t)(d->p - m.json.ptr);
            if (d->nstate == d->cap_state)
                d->state = event_grow(d, d->state, &d->cap_state, sizeof *d->state);
            d->state[d->nstate++] = m;
        } while (event_obj_next(d));
    }
    d->p = p;
    d->end = end;
    w->state_object = true;
    w->members = d->state;
    w->nmembers = d->nstate;
}

/* One of the top-level keys of a tumbling window; false when key is none of them. */
static bool event_window_key(event_decoder *d, const char *k, size_t n, event_batch *out)
{
    static const char *const keys[] = {"window", "state", "shardId", "isFinalInvokeForWindow",
                                       "isWindowTerminatedEarly"};
    event_window *w = &out->window;
    size_t i = 0;
    while (i < sizeof keys / sizeof keys[0] && !event_key_is(k, n, keys[i])) i++;
    if (i == sizeof keys / sizeof keys[0]) return false;
    out->tumbling_window = true;
    event_push_key(d, keys[i], n);
    switch (i) {
    case 0: event_window_bounds(d, w); break;
    case 1: {
        const char *start = d->p;
        event_skip(d);
        w->state = (ddb_str){start, (size_t)(d->p - start)};
        if (*start == '{') event_state_members(d, start, w->state.len, w);
        break;
    }
    case 2: event_nullable_string(d, &w->shard_id); break;
    case 3: w->final_invoke = event_nullable_bool(d); break;
    default: w->terminated_early = event_nullable_bool(d); break;
    }
    event_pop(d);
    return true;
}

/* ---- the event ------------------------------------------------------------------------ */

/* The top level: {"Records":[...]} plus, for tumbling windows, window/state/... keys. */
static void event_top(event_decoder *d, event_batch *out)
{
    bool records = false, looks_like_record = false, looks_like_invocation = false;
    ddb_str arn = {NULL, 0};
    event_ws(d);
    if (d->p >= d->end) event_syntax(d, d->p, "the event is empty");
    if (event_peek(d) != '{') event_wrong_type(d, "a JSON object");
    if (event_obj_first(d)) {
        do {
            const char *k;
            size_t n;
            event_obj_key(d, &k, &n);
            if (event_key_is(k, n, "Records")) {
                if (records) event_fail(d, k, "\"Records\" appears twice");
                event_push_key(d, "Records", 7);
                event_records(d);
                event_pop(d);
                records = true;
                continue;
            }
            if (event_window_key(d, k, n, out)) continue;
            if (event_key_is(k, n, "eventSourceARN") && event_peek(d) == '"') {
                event_string(d, &arn.ptr, &arn.len);
                continue;
            }
            if (event_key_is(k, n, "dynamodb") || event_key_is(k, n, "eventName"))
                looks_like_record = true;
            if (event_key_is(k, n, "requestContext") || event_key_is(k, n, "DDBStreamBatchInfo"))
                looks_like_invocation = true;
            event_skip(d);
        } while (event_obj_next(d));
    }
    event_ws(d);
    if (d->p < d->end) event_syntax(d, d->p, "unexpected data after the event");
    out->window.table = event_table(d, arn);
    if (!records)
        event_fail(d, d->buf, "no \"Records\" array%s",
                   looks_like_invocation
                       ? " (this is an on-failure invocation record, not a stream event)"
                   : looks_like_record
                       ? " (this is a single stream record: wrap it as {\"Records\":[...]})"
                       : "");
}

/* ---- public --------------------------------------------------------------------------- */

event_decoder *event_decoder_new(void)
{
    event_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->arena = arena_new();
    if (!d->arena) {
        free(d);
        return NULL;
    }
    return d;
}

void event_decoder_free(event_decoder *d)
{
    if (!d) return;
    arena_free(d->arena);
    free(d->members);
    free(d->values);
    free(d->records);
    free(d->state);
    free(d);
}

bool event_decode(event_decoder *d, char *buf, size_t len, event_batch *out)
{
    arena_reset(d->arena);
    d->buf = buf;
    d->p = buf;
    d->end = buf + len;
    d->nmembers = d->nvalues = d->nrecords = 0;
    d->depth = 0;
    d->error[0] = '\0';
    memset(out, 0, sizeof *out);
    if (setjmp(d->fail)) return false;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) d->p += 3;
    event_top(d, out);
    out->records = d->records;
    out->count = d->nrecords;
    return true;
}

const char *event_error(const event_decoder *d) { return d->error; }

size_t event_decoder_reserved(const event_decoder *d)
{
    return arena_reserved(d->arena) + d->cap_members * sizeof(ddb_member) +
           d->cap_values * sizeof(ddb_value) + d->cap_records * sizeof(ddb_record) +
           d->cap_state * sizeof(event_member);
}
