/* sample.c - `ddbhost event`: a DynamoDB Streams event as Lambda delivers one (stream ARN,
 * sequence numbers, SizeBytes, images by view type) from items given as plain JSON. Owns a
 * strict JSON reader (from text.c's pieces) because N must keep the text written, which
 * json-c does not; nothing reaches stdout until the whole event is built. */
#include "sample.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "attr.h"
#include "log.h"
#include "sys.h"
#include "text.h"

#define SAMPLE_MAX_COUNT 10000 /* Lambda's largest batch */
#define SAMPLE_MAX_WINDOW 900  /* Lambda's largest TumblingWindowInSeconds */
#define SAMPLE_MAX_NESTING 32  /* DynamoDB nests maps and lists up to 32 levels */
#define SAMPLE_MAX_DEPTH 100   /* JSON nesting the reader follows (sets add a level) */
#define SAMPLE_ACCOUNT "123456789012"

/* ---- reading plain JSON -------------------------------------------------------------- */

typedef enum sample_kind { SJ_STRING, SJ_NUMBER, SJ_BOOL, SJ_NULL, SJ_OBJECT, SJ_ARRAY } sample_kind;

typedef struct sample_json sample_json;
struct sample_json {
    sample_kind kind;
    bool boolean;
    const char *text;   /* SJ_STRING: the decoded UTF-8; SJ_NUMBER: the text as written */
    size_t len;
    const char *name;   /* the member name inside an object, decoded UTF-8 */
    size_t name_len;
    size_t count;       /* members or elements */
    sample_json *first; /* the first member or element, in the order written */
    sample_json *next;
};

typedef struct sample_reader {
    const char *start, *p, *end; /* *end is a NUL */
    arena *a;
    const char *what; /* the option the text came from, e.g. "--new" */
    char *err;
    size_t cap;
} sample_reader;

static bool sample_bad(sample_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool sample_bad(sample_reader *r, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, r->cap, "%s: invalid JSON at byte %zu: ", r->what,
                     (size_t)(r->p - r->start));
    if (n < 0 || (size_t)n >= r->cap) return false;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->cap - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

static void *sample_alloc(sample_reader *r, size_t size)
{
    void *p = arena_alloc(r->a, size);
    if (!p) snprintf(r->err, r->cap, "%s: out of memory", r->what);
    return p;
}

static void sample_ws(sample_reader *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r') r->p++;
}

/* A string at r->p (on its opening quote), decoded into the arena. Decoding never makes
 * text longer, so the raw span bounds the buffer. */
static bool sample_string(sample_reader *r, const char **out, size_t *len)
{
    const char *end = ++r->p;
    while (*end && *end != '"') end += *end == '\\' && end[1] ? 2 : 1;
    if (!*end) return sample_bad(r, "a string has no closing quote");
    char *buf = sample_alloc(r, (size_t)(end - r->p) + 1);
    size_t n = 0;
    if (!buf) return false;
    while (r->p < end) {
        unsigned char c = (unsigned char)*r->p;
        size_t k = c == '\\' ? 0 : text_utf8_len(r->p, end), used, written;
        if (c < 0x20) return sample_bad(r, "a control character in a string (write it as an escape, e.g. \\n)");
        if (c != '\\' && !k) return sample_bad(r, "a string is not valid UTF-8");
        if (k) {
            memcpy(buf + n, r->p, k);
            n += k;
            r->p += k;
            continue;
        }
        switch (text_unescape(r->p, end, buf + n, &used, &written)) {
        case TEXT_OK: break;
        case TEXT_BAD_ESCAPE:
            if (r->p[1] >= 0x20 && r->p[1] < 0x7F) return sample_bad(r, "unknown escape \\%c", r->p[1]);
            return sample_bad(r, "a backslash before byte 0x%02x, which has no escape", (unsigned char)r->p[1]);
        case TEXT_END: /* the closing quote ends the text it sees, and no escape ends in it */
        case TEXT_BAD_HEX: return sample_bad(r, "\\u needs four hex digits");
        case TEXT_LONE_SURROGATE: return sample_bad(r, "a \\u escape is half of a surrogate pair");
        }
        n += written;
        r->p += used;
    }
    r->p = end + 1;
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return true;
}

/* RFC 8259's number grammar; the value keeps a pointer to its text. */
static bool sample_number(sample_reader *r, sample_json *v)
{
    const char *s = r->p, *stop;
    size_t n = text_number(s, r->end, &stop);
    if (!n) {
        r->p = stop;
        return sample_bad(r, "expected a digit%s",
                          stop > s && stop[-1] == '.'                     ? " after '.'"
                          : stop > s + 1 && strchr("eE+-", stop[-1]) ? " in the exponent"
                                                                          : "");
    }
    v->kind = SJ_NUMBER;
    v->text = s;
    v->len = n;
    r->p += n;
    return true;
}

static sample_json *sample_value(sample_reader *r, int depth);

/* An object (close '}') or an array (close ']') at r->p. Object members are unique. */
static bool sample_container(sample_reader *r, sample_json *v, char close, int depth)
{
    sample_json **tail = &v->first;
    if (depth >= SAMPLE_MAX_DEPTH) return sample_bad(r, "nested more than %d levels deep", SAMPLE_MAX_DEPTH);
    v->kind = close == '}' ? SJ_OBJECT : SJ_ARRAY;
    r->p++;
    sample_ws(r);
    if (*r->p == close) {
        r->p++;
        return true;
    }
    for (;;) {
        const char *name = NULL;
        size_t name_len = 0;
        sample_ws(r);
        if (close == '}') {
            const char *at = r->p;
            if (*r->p != '"') return sample_bad(r, "expected a member name in double quotes");
            if (!sample_string(r, &name, &name_len)) return false;
            for (const sample_json *m = v->first; m; m = m->next) {
                if (m->name_len == name_len && memcmp(m->name, name, name_len) == 0) {
                    char q[TEXT_QUOTE_CAP];
                    r->p = at;
                    return sample_bad(r, "member %s appears twice", text_quote_n(q, sizeof q, name, name_len));
                }
            }
            sample_ws(r);
            if (*r->p != ':') return sample_bad(r, "expected ':' after a member name");
            r->p++;
        }
        sample_json *item = sample_value(r, depth + 1);
        if (!item) return false;
        item->name = name;
        item->name_len = name_len;
        *tail = item;
        tail = &item->next;
        v->count++;
        sample_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == close) {
            r->p++;
            return true;
        }
        return sample_bad(r, "expected ',' or '%c'", close);
    }
}

static bool sample_literal(sample_reader *r, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(r->p, word, n) != 0) return sample_bad(r, "unexpected character '%c'", *r->p);
    r->p += n;
    return true;
}

static sample_json *sample_value(sample_reader *r, int depth)
{
    sample_json *v;
    sample_ws(r);
    if (!*r->p) {
        sample_bad(r, "unexpected end of input");
        return NULL;
    }
    if (!(v = sample_alloc(r, sizeof *v))) return NULL;
    memset(v, 0, sizeof *v);
    bool ok;
    switch (*r->p) {
    case '{': ok = sample_container(r, v, '}', depth); break;
    case '[': ok = sample_container(r, v, ']', depth); break;
    case '"': v->kind = SJ_STRING; ok = sample_string(r, &v->text, &v->len); break;
    case 't': v->kind = SJ_BOOL; v->boolean = true; ok = sample_literal(r, "true"); break;
    case 'f': v->kind = SJ_BOOL; ok = sample_literal(r, "false"); break;
    case 'n': v->kind = SJ_NULL; ok = sample_literal(r, "null"); break;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) ok = sample_number(r, v);
        else if ((unsigned char)*r->p >= 0x20 && (unsigned char)*r->p < 0x7F)
            ok = sample_bad(r, "unexpected character '%c'", *r->p);
        else ok = sample_bad(r, "unexpected byte 0x%02x", (unsigned char)*r->p);
    }
    return ok ? v : NULL;
}

/* The whole text as one JSON value (a leading UTF-8 byte order mark is allowed). */
static sample_json *sample_parse(arena *a, const char *what, const char *text, char *err, size_t cap)
{
    sample_reader r = {text, text, text + strlen(text), a, what, err, cap};
    if (strncmp(r.p, "\xEF\xBB\xBF", 3) == 0) r.p += 3;
    sample_json *v = sample_value(&r, 0);
    if (!v) return NULL;
    sample_ws(&r);
    if (*r.p) {
        sample_bad(&r, "more text after the value");
        return NULL;
    }
    return v;
}

/* ---- marshalling to DynamoDB JSON ------------------------------------------------------ */

/* Writes values to f and says where an error is: the option, then the attribute path. */
typedef struct sample_writer {
    FILE *f;
    const char *what;
    char path[200];
    size_t path_len;
    char *err;
    size_t cap;
} sample_writer;

static bool sample_refuse(sample_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool sample_refuse(sample_writer *w, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(w->err, w->cap, "%s: %s%s", w->what, w->path, w->path_len ? ": " : "");
    if (n < 0 || (size_t)n >= w->cap) return false;
    va_start(ap, fmt);
    vsnprintf(w->err + n, w->cap - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* Appends ".name" or "[i]" to the path; returns the length to restore. */
static size_t sample_push(sample_writer *w, const sample_json *member, size_t index)
{
    size_t saved = w->path_len, room = sizeof w->path - saved;
    if (member) {
        w->path_len = text_path_key(w->path, saved, sizeof w->path, member->name, member->name_len);
        return saved;
    }
    int n = snprintf(w->path + saved, room, "[%zu]", index);
    w->path_len = n < 0 ? saved : (size_t)n < room ? saved + (size_t)n : sizeof w->path - 1;
    return saved;
}

static void sample_pop(sample_writer *w, size_t saved)
{
    w->path_len = saved;
    w->path[saved] = '\0';
}

static const char *sample_kind_name(const sample_json *v)
{
    static const char *const names[] = {"a string", "a number", "a boolean", "null", "an object", "an array"};
    return names[v->kind];
}

/* A JSON string, escaped as the echo plugin writes them, in pieces of whole characters. */
static void sample_put_string(FILE *f, const char *s, size_t len)
{
    char body[6 * 64 + 1];
    fputc('"', f);
    for (size_t i = 0, k; i < len; i += k) {
        k = len - i < 64 ? len - i : 64;
        while (i + k < len && k > 1 && ((unsigned char)s[i + k] & 0xC0) == 0x80) k--;
        fwrite(body, 1, text_escape(body, sizeof body, s + i, k), f);
    }
    fputc('"', f);
}

/* The significant digits of a number's text and the power of ten of the first of them:
 * 12.5 has 3 and 1, 0.05 has 1 and -2, zero has 0 and 0. */
static void sample_number_shape(const char *s, size_t len, int *digits, long *lead)
{
    const char *end = s + len;
    long i = 0, point = -1, first = -1, last = -1, exp = 0;
    bool exp_neg = false;
    if (s < end && (*s == '-' || *s == '+')) s++;
    for (; s < end && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            point = i;
            continue;
        }
        if (*s != '0') {
            if (first < 0) first = i;
            last = i;
        }
        i++;
    }
    if (point < 0) point = i;
    if (s < end && ++s < end && (*s == '-' || *s == '+')) exp_neg = *s++ == '-';
    for (; s < end; s++)
        if (exp < 100000) exp = exp * 10 + (*s - '0');
    *digits = first < 0 ? 0 : (int)(last - first + 1);
    *lead = first < 0 ? 0 : point - 1 - first + (exp_neg ? -exp : exp);
}

/* A number DynamoDB accepts: at most 38 significant digits, magnitude from 1E-130 to
 * under 1E+126. Its size is about one byte per two significant digits, plus one. */
static bool sample_check_number(sample_writer *w, const char *s, size_t len, long long *size)
{
    int digits;
    long lead;
    if (attr_check_number(s, len) == ATTR_NUMBER_PRECISION)
        return sample_refuse(w, "%.*s has more than the 38 significant digits DynamoDB keeps",
                             (int)(len < 60 ? len : 60), s);
    sample_number_shape(s, len, &digits, &lead);
    if (digits && (lead < -130 || lead > 125))
        return sample_refuse(w, "%.*s is outside DynamoDB's number range (1E-130 to 9.99...E+125)",
                             (int)(len < 60 ? len : 60), s);
    *size = ((digits > 0 ? digits : 1) + 1) / 2 + 1;
    return true;
}

/* Decodes base64 text to learn its size; false when it is not base64. */
static bool sample_base64_size(const char *s, size_t len, long long *size)
{
    char *copy = malloc(len + 1);
    size_t n = 0;
    bool ok = copy && (memcpy(copy, s, len), attr_base64_decode(copy, len, &n));
    free(copy);
    *size = (long long)n;
    return ok;
}

/* "SS", "NS", "BS" or "B" for an object {"$SS": ...} that asks for that type, else NULL. */
static const char *sample_tag(const sample_json *v)
{
    static const char *const tags[] = {"SS", "NS", "BS", "B"};
    if (v->kind != SJ_OBJECT || v->count != 1 || v->first->name_len < 2 || v->first->name[0] != '$')
        return NULL;
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (strcmp(v->first->name + 1, tags[i]) == 0) return tags[i];
    return NULL;
}

static bool sample_marshal(sample_writer *w, const sample_json *v, int nesting, long long *size);

/* {"$B": "base64"} and the sets {"$SS": [...]}, {"$NS": [...]}, {"$BS": [...]}. */
static bool sample_typed(sample_writer *w, const char *tag, const sample_json *v, long long *size)
{
    long long s = 0;
    size_t i = 0, saved;
    if (strcmp(tag, "B") == 0) {
        if (v->kind != SJ_STRING || !sample_base64_size(v->text, v->len, size))
            return sample_refuse(w, "{\"$B\": ...} takes a base64 string (standard alphabet, padded)");
        fputs("{\"B\": ", w->f);
        sample_put_string(w->f, v->text, v->len);
        fputc('}', w->f);
        return true;
    }
    if (v->kind != SJ_ARRAY || v->count == 0)
        return sample_refuse(w, "{\"$%s\": ...} takes a non-empty array: DynamoDB has no empty sets", tag);
    fprintf(w->f, "{\"%s\": [", tag);
    *size = 0;
    for (const sample_json *e = v->first; e; e = e->next, i++) {
        saved = sample_push(w, NULL, i);
        bool ok;
        switch (tag[0]) {
        case 'S':
            ok = e->kind == SJ_STRING;
            s = (long long)e->len;
            break;
        case 'N': /* a number, or a string that holds one, as DynamoDB JSON writes them */
            ok = e->kind == SJ_NUMBER ||
                 (e->kind == SJ_STRING && attr_check_number(e->text, e->len) != ATTR_NUMBER_SYNTAX);
            break;
        default:
            ok = e->kind == SJ_STRING && sample_base64_size(e->text, e->len, &s);
        }
        if (!ok)
            return sample_refuse(w, "a %s element must be %s", tag,
                                 tag[0] == 'S' ? "a string" : tag[0] == 'N' ? "a number" : "a base64 string");
        if (tag[0] == 'N' && !sample_check_number(w, e->text, e->len, &s)) return false;
        for (const sample_json *d = v->first; d != e; d = d->next)
            if (d->len == e->len && memcmp(d->text, e->text, e->len) == 0)
                return sample_refuse(w, "appears twice in the set: DynamoDB sets hold distinct values");
        sample_pop(w, saved);
        if (i) fputs(", ", w->f);
        sample_put_string(w->f, e->text, e->len);
        *size += s;
    }
    fputs("]}", w->f);
    return true;
}

/* Writes v as one DynamoDB JSON AttributeValue on one line; *size is DynamoDB's size of the
 * value (the attribute's name not included). */
static bool sample_marshal(sample_writer *w, const sample_json *v, int nesting, long long *size)
{
    const char *tag = sample_tag(v);
    long long s, sum = 0;
    size_t i = 0, saved;
    switch (v->kind) {
    case SJ_STRING:
        fputs("{\"S\": ", w->f);
        sample_put_string(w->f, v->text, v->len);
        fputc('}', w->f);
        *size = (long long)v->len;
        return true;
    case SJ_NUMBER:
        if (!sample_check_number(w, v->text, v->len, size)) return false;
        fprintf(w->f, "{\"N\": \"%.*s\"}", (int)v->len, v->text);
        return true;
    case SJ_BOOL:
        fprintf(w->f, "{\"BOOL\": %s}", v->boolean ? "true" : "false");
        *size = 1;
        return true;
    case SJ_NULL:
        fputs("{\"NULL\": true}", w->f);
        *size = 1;
        return true;
    case SJ_OBJECT:
    case SJ_ARRAY:
        break;
    }
    if (tag) return sample_typed(w, tag, v->first, size);
    if (nesting >= SAMPLE_MAX_NESTING)
        return sample_refuse(w, "maps and lists nest more than DynamoDB's %d levels", SAMPLE_MAX_NESTING);
    fputs(v->kind == SJ_OBJECT ? "{\"M\": {" : "{\"L\": [", w->f);
    for (const sample_json *e = v->first; e; e = e->next, i++) {
        saved = sample_push(w, v->kind == SJ_OBJECT ? e : NULL, i);
        if (v->kind == SJ_OBJECT && e->name_len == 0) return sample_refuse(w, "an attribute name cannot be empty");
        if (i) fputs(", ", w->f);
        if (v->kind == SJ_OBJECT) {
            sample_put_string(w->f, e->name, e->name_len);
            fputs(": ", w->f);
        }
        if (!sample_marshal(w, e, nesting + 1, &s)) return false;
        sample_pop(w, saved);
        sum += 1 + (long long)e->name_len + s; /* one byte of overhead per element */
    }
    fputs(v->kind == SJ_OBJECT ? "}}" : "]}", w->f);
    *size = 3 + sum;
    return true;
}

/* An item: a JSON object of attributes, written as a DynamoDB JSON map with one attribute a
 * line, its members indented by indent + 2. Its size is the sum of its attributes' names
 * and values, as DynamoDB counts an item. Returns the text (owned: free()) or NULL. */
static char *sample_item(const sample_json *item, const char *what, int indent, long long *size,
                         char *err, size_t cap)
{
    sample_writer w = {NULL, what, "", 0, err, cap};
    char *text = NULL;
    size_t len = 0, i = 0;
    long long s;
    bool ok = true;
    if (item->kind != SJ_OBJECT || sample_tag(item)) {
        snprintf(err, cap, "%s: expected a JSON object of attributes, e.g. {\"id\": \"o-1\", \"total\": 12.5}, not %s",
                 what, sample_kind_name(item));
        return NULL;
    }
    if (!(w.f = open_memstream(&text, &len))) {
        snprintf(err, cap, "%s: out of memory", what);
        return NULL;
    }
    *size = 0;
    fputc('{', w.f);
    for (const sample_json *e = item->first; ok && e; e = e->next, i++) {
        size_t saved = sample_push(&w, e, 0);
        s = 0;
        if (e->name_len == 0) ok = sample_refuse(&w, "an attribute name cannot be empty");
        fprintf(w.f, "%s\n%*s", i ? "," : "", indent + 2, "");
        sample_put_string(w.f, e->name, e->name_len);
        fputs(": ", w.f);
        ok = ok && sample_marshal(&w, e, 0, &s);
        sample_pop(&w, saved);
        *size += (long long)e->name_len + s;
    }
    if (i) fprintf(w.f, "\n%*s", indent, "");
    fputc('}', w.f);
    if (fclose(w.f) != 0 && ok) {
        snprintf(err, cap, "%s: out of memory", what);
        ok = false;
    }
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- the event ------------------------------------------------------------------------- */

/* The key item: --keys as given (one or two scalar attributes), else the first attribute of
 * --new, else of --old, as an item of its own. */
static sample_json *sample_keys(arena *a, sample_json *keys, sample_json *new_item, sample_json *old_item,
                                char *err, size_t cap)
{
    const char *what = keys ? "--keys" : new_item ? "--new" : "--old";
    sample_json *from = keys ? keys : new_item ? new_item : old_item;
    if (keys && (keys->kind != SJ_OBJECT || sample_tag(keys))) {
        snprintf(err, cap, "--keys: expected a JSON object of key attributes, e.g. {\"id\": \"o-1\"}, not %s",
                 sample_kind_name(keys));
        return NULL;
    }
    if (from->kind != SJ_OBJECT || from->count == 0) {
        if (keys) snprintf(err, cap, "--keys: no attribute: give the partition key, e.g. {\"id\": \"o-1\"}");
        else snprintf(err, cap, "%s has no attribute to take the key from: give --keys, e.g. --keys '{\"id\": \"o-1\"}'", what);
        return NULL;
    }
    if (keys && keys->count > 2) {
        snprintf(err, cap, "--keys: a table has one or two key attributes (partition key, then sort key), not %zu",
                 keys->count);
        return NULL;
    }
    for (const sample_json *k = from->first; k && (keys || k == from->first); k = k->next) {
        const char *tag = sample_tag(k);
        bool scalar = k->kind == SJ_STRING || k->kind == SJ_NUMBER || (tag && strcmp(tag, "B") == 0);
        if (!scalar || (k->kind == SJ_STRING && k->len == 0)) {
            char why[96];
            if (scalar) snprintf(why, sizeof why, "it is an empty string");
            else snprintf(why, sizeof why, "it is %s, and a key is a string, a number or {\"$B\": base64}",
                          tag ? "a set" : sample_kind_name(k));
            char q[TEXT_QUOTE_CAP];
            text_quote_n(q, sizeof q, k->name, k->name_len);
            if (keys) snprintf(err, cap, "--keys: %s cannot be a key: %s", q, why);
            else snprintf(err, cap, "--keys not given, and the first attribute of %s, %s, cannot be the key: "
                          "%s (give --keys, e.g. --keys '{\"id\": \"o-1\"}')", what, q, why);
            return NULL;
        }
    }
    if (keys) return keys;
    sample_json *item = arena_alloc(a, sizeof *item), *member = arena_alloc(a, sizeof *member);
    if (!item || !member) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    *member = *from->first;
    member->next = NULL;
    memset(item, 0, sizeof *item);
    item->kind = SJ_OBJECT;
    item->count = 1;
    item->first = member;
    return item;
}

static const char *sample_view_name(ddb_view_type v)
{
    return v == DDB_VIEW_KEYS_ONLY ? "KEYS_ONLY" : v == DDB_VIEW_NEW_IMAGE ? "NEW_IMAGE"
         : v == DDB_VIEW_OLD_IMAGE ? "OLD_IMAGE" : "NEW_AND_OLD_IMAGES";
}

/* splitmix64: event ids need to look unique, not to be secret. */
static uint64_t sample_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* A table name or a shard id: min to max characters among a-z, A-Z, 0-9, '_', '.' and '-'. */
static bool sample_valid_name(const char *t, size_t min, size_t max)
{
    size_t n = strlen(t);
    return n >= min && n <= max && strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static bool sample_valid_region(const char *r)
{
    size_t n = strlen(r);
    return n >= 1 && n <= 32 && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The pieces every record of the event shares. */
typedef struct sample_parts {
    const char *name, *region, *table, *view;
    char label[32];   /* the stream label: an ISO 8601 time, the stream's creation */
    long long now;    /* ApproximateCreationDateTime, in seconds */
    uint64_t sequence; /* of the first record; the others follow it */
    char *keys, *new_image, *old_image; /* marshalled; images NULL when the view drops them */
    long long size;   /* SizeBytes */
    uint64_t rng;
} sample_parts;

static void sample_record(FILE *f, sample_parts *p, long i)
{
    uint64_t id_hi = sample_random(&p->rng), id_lo = sample_random(&p->rng);
    fprintf(f,
            "    {\n"
            "      \"eventID\": \"%016" PRIx64 "%016" PRIx64 "\",\n"
            "      \"eventName\": \"%s\",\n"
            "      \"eventVersion\": \"1.1\",\n"
            "      \"eventSource\": \"aws:dynamodb\",\n"
            "      \"awsRegion\": \"%s\",\n"
            "      \"dynamodb\": {\n"
            "        \"ApproximateCreationDateTime\": %lld,\n"
            "        \"Keys\": %s,\n",
            id_hi, id_lo, p->name, p->region, p->now, p->keys);
    if (p->new_image) fprintf(f, "        \"NewImage\": %s,\n", p->new_image);
    if (p->old_image) fprintf(f, "        \"OldImage\": %s,\n", p->old_image);
    /* 21 digits, as real sequence numbers have: a leading 4, then 20 of a counter. */
    fprintf(f,
            "        \"SequenceNumber\": \"4%020" PRIu64 "\",\n"
            "        \"SizeBytes\": %lld,\n"
            "        \"StreamViewType\": \"%s\"\n"
            "      },\n"
            "      \"eventSourceARN\": \"arn:aws:dynamodb:%s:" SAMPLE_ACCOUNT ":table/%s/stream/%s\"\n"
            "    }",
            p->sequence + (uint64_t)i, p->size, p->view, p->region, p->table, p->label);
}

/* The keys of a tumbling-window event after Records: the window that holds the records'
 * time, the state as given (already read as an object) and the flags. */
static void sample_window(FILE *f, const sample_spec *spec, const sample_parts *p)
{
    time_t start = (time_t)(p->now - p->now % spec->window), end = start + (time_t)spec->window;
    char from[32], to[32];
    struct tm tm;
    gmtime_r(&start, &tm);
    strftime(from, sizeof from, "%Y-%m-%dT%H:%M:%SZ", &tm);
    gmtime_r(&end, &tm);
    strftime(to, sizeof to, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* A shard id as DynamoDB Streams writes one: the stream's creation in ms, then 8 hex digits. */
    const char *state = !spec->state                                  ? "{}"
                        : strncmp(spec->state, "\xEF\xBB\xBF", 3) == 0 ? spec->state + 3 /* no BOM inside */
                                                                        : spec->state;
    char shard[80];
    if (spec->shard)
        snprintf(shard, sizeof shard, "%s", spec->shard);
    else
        snprintf(shard, sizeof shard, "shardId-%020lld-%08" PRIx64, (p->now - p->now % 86400) * 1000,
                 (uint64_t)(p->rng >> 32) & 0xFFFFFFFFu);
    fprintf(f,
            ",\n"
            "  \"window\": {\"start\": \"%s\", \"end\": \"%s\"},\n"
            "  \"state\": %s,\n"
            "  \"shardId\": \"%s\",\n"
            "  \"eventSourceARN\": \"arn:aws:dynamodb:%s:" SAMPLE_ACCOUNT ":table/%s/stream/%s\",\n"
            "  \"isFinalInvokeForWindow\": %s,\n"
            "  \"isWindowTerminatedEarly\": %s",
            from, to, state, shard, p->region, p->table, p->label,
            spec->final_invoke ? "true" : "false", spec->terminated_early ? "true" : "false");
}

/* Checks what the spec asks for before any JSON is read. */
static bool sample_check_spec(const sample_spec *spec, char *err, size_t cap)
{
    ddb_event_name n = spec->event_name;
    char q[TEXT_QUOTE_CAP];
    if (n != DDB_INSERT && n != DDB_MODIFY && n != DDB_REMOVE)
        snprintf(err, cap, "the event name must be insert, modify or remove");
    else if (!spec->table)
        snprintf(err, cap, "--table is required: the table the event comes from");
    else if (!sample_valid_name(spec->table, 3, 255))
        snprintf(err, cap, "--table %s: a table name is 3 to 255 characters among a-z, A-Z, 0-9, '_', '-' and '.'",
                 text_quote(q, sizeof q, spec->table));
    else if (spec->region && !sample_valid_region(spec->region))
        snprintf(err, cap, "--region %s: a region is lower-case letters, digits and '-', e.g. eu-west-1",
                 text_quote(q, sizeof q, spec->region));
    else if (spec->count < 0 || spec->count > SAMPLE_MAX_COUNT)
        snprintf(err, cap, "--count takes a number of records from 1 to %d (0 with --final), not %ld",
                 SAMPLE_MAX_COUNT, spec->count);
    else if (n == DDB_INSERT && spec->old_item)
        snprintf(err, cap, "--old does not go with insert: an INSERT has no old image (give the item with --new)");
    else if (n == DDB_REMOVE && spec->new_item)
        snprintf(err, cap, "--new does not go with remove: a REMOVE has no new image (give the item with --old)");
    else if (spec->window < 0 || spec->window > SAMPLE_MAX_WINDOW)
        snprintf(err, cap, "--window takes a number of seconds from 1 to %d, not %ld", SAMPLE_MAX_WINDOW, spec->window);
    else if (!spec->window && (spec->state || spec->shard || spec->final_invoke || spec->terminated_early))
        snprintf(err, cap, "%s goes with --window: it describes a tumbling window",
                 spec->state ? "--state" : spec->shard ? "--shard" : spec->final_invoke ? "--final" : "--terminated-early");
    else if (spec->count == 0 && !spec->final_invoke)
        snprintf(err, cap, "--count 0 goes with --final: only a window's final invoke has no records");
    else if (spec->shard && !sample_valid_name(spec->shard, 1, 65))
        snprintf(err, cap, "--shard %s: a shard id is 1 to 65 characters among a-z, A-Z, 0-9, '_', '-' and '.'",
                 text_quote(q, sizeof q, spec->shard));
    else if (spec->count > 0 && !spec->keys && !spec->new_item && !spec->old_item)
        snprintf(err, cap, "%s needs the item: give %s (or at least --keys)",
                 n == DDB_INSERT ? "insert" : n == DDB_MODIFY ? "modify" : "remove",
                 n == DDB_INSERT ? "--new" : n == DDB_MODIFY ? "--new and --old" : "--old");
    else
        return true;
    return false;
}

static char *sample_build(arena *a, const sample_spec *spec, sample_parts *p, size_t *len, char *err, size_t cap)
{
    sample_json *keys = NULL, *new_item = NULL, *old_item = NULL, *key_item;
    long long size;
    ddb_view_type view = spec->view ? spec->view : DDB_VIEW_NEW_AND_OLD_IMAGES;
    bool want_new = spec->event_name != DDB_REMOVE && (view == DDB_VIEW_NEW_IMAGE || view == DDB_VIEW_NEW_AND_OLD_IMAGES);
    bool want_old = spec->event_name != DDB_INSERT && (view == DDB_VIEW_OLD_IMAGE || view == DDB_VIEW_NEW_AND_OLD_IMAGES);
    char *scratch;

    if ((spec->keys && !(keys = sample_parse(a, "--keys", spec->keys, err, cap))) ||
        (spec->new_item && !(new_item = sample_parse(a, "--new", spec->new_item, err, cap))) ||
        (spec->old_item && !(old_item = sample_parse(a, "--old", spec->old_item, err, cap))))
        return NULL;
    if (spec->state) {
        sample_json *state = sample_parse(a, "--state", spec->state, err, cap);
        if (!state) return NULL;
        if (state->kind != SJ_OBJECT) {
            snprintf(err, cap, "--state: the window state must be a JSON object, e.g. {\"sum\": \"10\"}");
            return NULL;
        }
    }
    /* Every item given is checked, even one that the view leaves out. */
    if (new_item) {
        if (!(scratch = sample_item(new_item, "--new", 8, &size, err, cap))) return NULL;
        free(scratch);
    }
    if (old_item) {
        if (!(scratch = sample_item(old_item, "--old", 8, &size, err, cap))) return NULL;
        free(scratch);
    }
    /* A final invoke (--count 0) has no record: no key, no image. */
    if (spec->count > 0) {
        if (!(key_item = sample_keys(a, keys, new_item, old_item, err, cap))) return NULL;
        if (!(p->keys = sample_item(key_item, "--keys", 8, &p->size, err, cap))) return NULL;
        /* An image the view wants but no option gave is the item as its keys alone. */
        if (want_new) {
            if (!(p->new_image = sample_item(new_item ? new_item : key_item, "--new", 8, &size, err, cap))) return NULL;
            p->size += size;
        }
        if (want_old) {
            if (!(p->old_image = sample_item(old_item ? old_item : key_item, "--old", 8, &size, err, cap))) return NULL;
            p->size += size;
        }
        p->view = sample_view_name(view);
    }

    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    fputs("{\n  \"Records\": [\n", f);
    for (long i = 0; i < spec->count; i++) {
        if (i) fputs(",\n", f);
        sample_record(f, p, i);
    }
    fputs(spec->count ? "\n  ]" : "  ]", f);
    if (spec->window) sample_window(f, spec, p);
    fputs("\n}\n", f);
    if (fclose(f) != 0) {
        free(text);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    return text;
}

char *sample_event(const sample_spec *spec, size_t *len, char *err, size_t cap)
{
    sample_parts p = {0};
    struct timespec ts;
    struct tm day;
    if (!sample_check_spec(spec, err, cap)) return NULL;
    clock_gettime(CLOCK_REALTIME, &ts);
    p.name = ddb_event_name_str(spec->event_name);
    p.region = spec->region ? spec->region : "us-east-1";
    p.table = spec->table;
    p.now = (long long)ts.tv_sec;
    /* Microseconds since the epoch: later events get higher sequence numbers. */
    p.sequence = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    p.rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ p.sequence;
    /* One stream per table and day: the label is the start of today (UTC). */
    gmtime_r(&ts.tv_sec, &day);
    strftime(p.label, sizeof p.label, "%Y-%m-%dT00:00:00.000", &day);

    arena *a = arena_new();
    char *text = a ? sample_build(a, spec, &p, len, err, cap) : NULL;
    if (!a) snprintf(err, cap, "out of memory");
    arena_free(a);
    free(p.keys);
    free(p.new_image);
    free(p.old_image);
    return text;
}

/* ---- the command ------------------------------------------------------------------------ */

static const char sample_usage[] =
    "Usage: ddbhost event insert|modify|remove --table TABLE [options] > EVENT.json\n"
    "\n"
    "Writes a DynamoDB Streams event for 'ddbhost --invoke' to stdout, as Lambda would\n"
    "deliver it: stream ARN, sequence numbers, SizeBytes, timestamps and the images that the\n"
    "view type keeps. Items are plain JSON: strings become S, numbers N (their text kept\n"
    "exactly), true and false BOOL, null NULL, objects M and arrays L. Write {\"$SS\": [...]},\n"
    "{\"$NS\": [...]} or {\"$BS\": [...]} for a set and {\"$B\": \"BASE64\"} for binary.\n"
    "\n"
    "Options:\n"
    "  --table TABLE   the table the records come from (required)\n"
    "  --new JSON      the item after the change (insert, modify)\n"
    "  --old JSON      the item before the change (modify, remove)\n"
    "  --keys JSON     the key attributes (default: the first attribute of --new, else --old)\n"
    "  --view TYPE     KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES (the default)\n"
    "  --count N       N records (1 to 10000) with increasing sequence numbers; 0 with --final\n"
    "  --region R      the AWS region (default us-east-1)\n"
    "  --window SECONDS  a tumbling-window event: the window (1 to 900 s) holding the records\n"
    "  --state JSON    the window's state, a JSON object (default {}; needs --window)\n"
    "  --final         isFinalInvokeForWindow true (needs --window)\n"
    "  --terminated-early  isWindowTerminatedEarly true (needs --window)\n"
    "  --shard ID      the shardId of a window event (default a made-up one)\n"
    "JSON may be @FILE to read it from a file.\n"
    "\n"
    "Example:\n"
    "  ddbhost event insert --table Orders --new '{\"orderId\": \"o-1\", \"total\": 12.50}'\n";


/* JSON from an option: the text itself, or the contents of FILE for @FILE (into *owned). */
static const char *sample_json_arg(const char *option, const char *arg, char **owned, int *status)
{
    char q[TEXT_QUOTE_CAP];
    size_t len;
    if (arg[0] != '@') return arg;
    char *buf = sys_read_file(arg + 1, &len);
    if (!buf) {
        log_error("%s: cannot read %s: %s", option, text_quote(q, sizeof q, arg + 1), strerror(errno));
        *status = 1;
        return NULL;
    }
    if (strlen(buf) != len) {
        free(buf);
        log_error("%s: %s contains a NUL byte: it is not JSON text", option, text_quote(q, sizeof q, arg + 1));
        *status = 1;
        return NULL;
    }
    *owned = buf;
    return buf;
}

enum { SAMPLE_OPT_TABLE = 256, SAMPLE_OPT_KEYS, SAMPLE_OPT_NEW, SAMPLE_OPT_OLD, SAMPLE_OPT_VIEW,
       SAMPLE_OPT_COUNT, SAMPLE_OPT_REGION, SAMPLE_OPT_WINDOW, SAMPLE_OPT_STATE, SAMPLE_OPT_SHARD,
       SAMPLE_OPT_FINAL, SAMPLE_OPT_EARLY, SAMPLE_OPTS = SAMPLE_OPT_EARLY - SAMPLE_OPT_TABLE + 1 };
#define SAMPLE_GIVEN(opt) given[SAMPLE_OPT_##opt - SAMPLE_OPT_TABLE]

/* The options into given[] (each at most once) and the event's name into *name; returns -1, or
 * the exit status when the command ends here (--help, a usage error). */
static int sample_options(int argc, char **argv, const char *given[SAMPLE_OPTS], const char **name)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},           {"table", required_argument, NULL, SAMPLE_OPT_TABLE},
        {"keys", required_argument, NULL, SAMPLE_OPT_KEYS}, {"new", required_argument, NULL, SAMPLE_OPT_NEW},
        {"old", required_argument, NULL, SAMPLE_OPT_OLD},   {"view", required_argument, NULL, SAMPLE_OPT_VIEW},
        {"count", required_argument, NULL, SAMPLE_OPT_COUNT}, {"region", required_argument, NULL, SAMPLE_OPT_REGION},
        {"window", required_argument, NULL, SAMPLE_OPT_WINDOW}, {"state", required_argument, NULL, SAMPLE_OPT_STATE},
        {"shard", required_argument, NULL, SAMPLE_OPT_SHARD},   {"final", no_argument, NULL, SAMPLE_OPT_FINAL},
        {"terminated-early", no_argument, NULL, SAMPLE_OPT_EARLY},
        {NULL, 0, NULL, 0},
    };
    char q[TEXT_QUOTE_CAP];
    int c;
    optind = 0; /* glibc: start a fresh scan of this argv */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (c == 'h') {
            fputs(sample_usage, stdout);
            return 0;
        }
        if (c == ':') return log_usage_error("option %s needs an argument", argv[optind - 1]);
        if (c < SAMPLE_OPT_TABLE)
            return log_usage_error("unknown option %s for ddbhost event", text_quote(q, sizeof q, argv[optind - 1]));
        if (given[c - SAMPLE_OPT_TABLE])
            return log_usage_error("option --%s is given twice", options[c - SAMPLE_OPT_TABLE + 1].name);
        given[c - SAMPLE_OPT_TABLE] = optarg ? optarg : ""; /* a flag is given as "" */
    }
    if (optind >= argc)
        return log_usage_error("%s", "usage: ddbhost event insert|modify|remove --table TABLE [--keys JSON] "
                                        "[--new JSON] [--old JSON] [--view TYPE] [--count N] [--region R]");
    if (optind + 1 < argc)
        return log_usage_error("unexpected argument %s (an item goes after --new or --old)",
                               text_quote(q, sizeof q, argv[optind + 1]));
    *name = argv[optind];
    return -1;
}

/* The spec the options ask for, items not read yet; returns -1, or the exit status of a usage
 * error. */
static int sample_spec_of(const char *name, const char *given[SAMPLE_OPTS], sample_spec *spec)
{
    static const char *const views[] = {"", "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"};
    char q[TEXT_QUOTE_CAP];
    spec->event_name = strcasecmp(name, "insert") == 0   ? DDB_INSERT
                       : strcasecmp(name, "modify") == 0 ? DDB_MODIFY
                       : strcasecmp(name, "remove") == 0 ? DDB_REMOVE : 0;
    if (!spec->event_name)
        return log_usage_error("unknown event %s (expected insert, modify or remove)", text_quote(q, sizeof q, name));
    spec->table = SAMPLE_GIVEN(TABLE);
    spec->region = SAMPLE_GIVEN(REGION);
    if (SAMPLE_GIVEN(VIEW)) {
        for (int v = DDB_VIEW_KEYS_ONLY; v <= DDB_VIEW_NEW_AND_OLD_IMAGES; v++)
            if (strcasecmp(SAMPLE_GIVEN(VIEW), views[v]) == 0) spec->view = (ddb_view_type)v;
        if (!spec->view)
            return log_usage_error("--view %s: expected KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES",
                                   text_quote(q, sizeof q, SAMPLE_GIVEN(VIEW)));
    }
    if (SAMPLE_GIVEN(COUNT)) {
        const char *arg = SAMPLE_GIVEN(COUNT);
        char *end;
        errno = 0;
        spec->count = strtol(arg, &end, 10);
        if (errno || end == arg || *end || spec->count < 0 || spec->count > SAMPLE_MAX_COUNT)
            return log_usage_error("--count takes a number of records from 1 to 10000 (0 with --final), not %s",
                                   text_quote(q, sizeof q, arg));
    }
    if (SAMPLE_GIVEN(WINDOW)) {
        const char *arg = SAMPLE_GIVEN(WINDOW);
        char *end;
        errno = 0;
        spec->window = strtol(arg, &end, 10);
        if (errno || end == arg || *end || spec->window < 1 || spec->window > SAMPLE_MAX_WINDOW)
            return log_usage_error("--window takes a number of seconds from 1 to %d, not %s", SAMPLE_MAX_WINDOW,
                                   text_quote(q, sizeof q, arg));
    }
    spec->shard = SAMPLE_GIVEN(SHARD);
    spec->final_invoke = SAMPLE_GIVEN(FINAL) != NULL;
    spec->terminated_early = SAMPLE_GIVEN(EARLY) != NULL;
    return -1;
}

int sample_main(int argc, char **argv)
{
    const char *given[SAMPLE_OPTS] = {0}, *name = NULL;
    sample_spec spec = {.count = 1};
    int status = sample_options(argc, argv, given, &name);
    if (status < 0) status = sample_spec_of(name, given, &spec);
    if (status >= 0) return status;

    char *owned[4] = {NULL, NULL, NULL, NULL}, err[1024];
    const char **slots[4] = {&spec.keys, &spec.new_item, &spec.old_item, &spec.state};
    static const char *const names[4] = {"--keys", "--new", "--old", "--state"};
    static const int opts[4] = {SAMPLE_OPT_KEYS, SAMPLE_OPT_NEW, SAMPLE_OPT_OLD, SAMPLE_OPT_STATE};
    status = 0;
    for (int i = 0; i < 4 && status == 0; i++)
        if (given[opts[i] - SAMPLE_OPT_TABLE])
            *slots[i] = sample_json_arg(names[i], given[opts[i] - SAMPLE_OPT_TABLE], &owned[i], &status);
    size_t len = 0;
    char *text = status ? NULL : sample_event(&spec, &len, err, sizeof err);
    if (!status && !text) status = log_usage_error("%s", err);
    if (text && (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)) {
        log_error("cannot write the event to standard output: %s", strerror(errno));
        status = 1;
    }
    free(text);
    for (int i = 0; i < 4; i++) free(owned[i]);
    return status;
}
