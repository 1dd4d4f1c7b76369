/* filter.c - Lambda's event filter patterns matched against one stream record: each key of a
 * pattern must be in the record and match (AND), nested objects descend, a leaf is an array of
 * alternatives (OR): plain values and the operators prefix, suffix, equals-ignore-case,
 * anything-but, numeric and exists. Owns the check of a pattern's grammar; never reads a
 * manifest or decides what a non-matching record becomes. */
#include "filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct filter {
    json_object *patterns; /* a reference of our own */
};

#define FILTER_AT_CAP 256

/* ---- compiling: checking the grammar --------------------------------------------------- */

typedef struct filter_ctx {
    char *err;
    size_t cap;
    size_t pattern;
} filter_ctx;

static bool filter_fail(const filter_ctx *c, const char *at, const char *why)
{
    snprintf(c->err, c->cap, "pattern %zu: %s: %s", c->pattern, at, why);
    return false;
}

static bool filter_is_number(json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static const char *const filter_numeric_ops[] = {"<", "<=", ">", ">=", "=", NULL};

static int filter_numeric_op(json_object *v)
{
    if (!json_object_is_type(v, json_type_string)) return -1;
    for (int i = 0; filter_numeric_ops[i]; i++)
        if (strcmp(json_object_get_string(v), filter_numeric_ops[i]) == 0) return i;
    return -1;
}

/* {"numeric": [op, n]} or a range [">" or ">=", n, "<" or "<=", n]. */
static bool filter_check_numeric(const filter_ctx *c, const char *at, json_object *v)
{
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n != 2 && n != 4)
        return filter_fail(c, at, "\"numeric\" expects [op, number] or [\">\" or \">=\", number, "
                           "\"<\" or \"<=\", number], with op one of < <= > >= =");
    for (size_t i = 0; i < n; i += 2) {
        int op = filter_numeric_op(json_object_array_get_idx(v, i));
        if (op < 0)
            return filter_fail(c, at, "\"numeric\": unknown comparison (expected \"<\", \"<=\", "
                               "\">\", \">=\" or \"=\")");
        if (n == 4 && (i == 0 ? op != 2 && op != 3 : op != 0 && op != 1))
            return filter_fail(c, at, "\"numeric\": a range is [\">\" or \">=\", number, "
                               "\"<\" or \"<=\", number]");
        if (!filter_is_number(json_object_array_get_idx(v, i + 1)))
            return filter_fail(c, at, "\"numeric\": expected a number after each comparison");
    }
    return true;
}

static bool filter_check_anything_but(const filter_ctx *c, const char *at, json_object *v)
{
    if (json_object_is_type(v, json_type_string) || filter_is_number(v)) return true;
    if (json_object_is_type(v, json_type_object)) {
        json_object *p;
        if (json_object_object_length(v) == 1 && json_object_object_get_ex(v, "prefix", &p) &&
            json_object_is_type(p, json_type_string))
            return true;
        return filter_fail(c, at, "\"anything-but\": the only object it takes is "
                           "{\"prefix\": string}");
    }
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string) && !filter_is_number(e))
            return filter_fail(c, at, "\"anything-but\": expected strings or numbers in its list");
    }
    if (!n)
        return filter_fail(c, at, "\"anything-but\": expected a string, a number, a non-empty "
                           "list of them or {\"prefix\": string}");
    return true;
}

/* One alternative of a leaf that is an object: exactly one known operator, its operand. */
static bool filter_check_operator(const filter_ctx *c, const char *at, json_object *alt)
{
    char q[TEXT_QUOTE_CAP], why[TEXT_QUOTE_CAP + 160];
    if (json_object_object_length(alt) != 1)
        return filter_fail(c, at, "expected an operator object with one key ({\"prefix\": "
                           "\"ord-\"}, {\"numeric\": [\">\", 0]}, ...)");
    json_object_object_foreach(alt, op, v) {
        if (!strcmp(op, "prefix") || !strcmp(op, "suffix") || !strcmp(op, "equals-ignore-case")) {
            if (json_object_is_type(v, json_type_string)) return true;
            snprintf(why, sizeof why, "%s expects a string", text_quote(q, sizeof q, op));
            return filter_fail(c, at, why);
        }
        if (!strcmp(op, "exists")) {
            if (json_object_is_type(v, json_type_boolean)) return true;
            return filter_fail(c, at, "\"exists\" expects true or false");
        }
        if (!strcmp(op, "numeric")) return filter_check_numeric(c, at, v);
        if (!strcmp(op, "anything-but")) return filter_check_anything_but(c, at, v);
        snprintf(why, sizeof why, "unknown operator %s (expected \"prefix\", \"suffix\", "
                 "\"equals-ignore-case\", \"anything-but\", \"numeric\" or \"exists\")",
                 text_quote(q, sizeof q, op));
        return filter_fail(c, at, why);
    }
    return true;
}

static bool filter_check_object(const filter_ctx *c, char *at, size_t len, json_object *obj)
{
    if (json_object_object_length(obj) == 0)
        return filter_fail(c, len ? at : "(top)", "expected fields to match, found an empty object");
    json_object_object_foreach(obj, key, v) {
        size_t n = text_path_key(at, len, FILTER_AT_CAP, key, strlen(key));
        if (json_object_is_type(v, json_type_object)) {
            if (!filter_check_object(c, at, n, v)) return false;
        } else if (json_object_is_type(v, json_type_array) && json_object_array_length(v)) {
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *alt = json_object_array_get_idx(v, i);
                snprintf(at + n, FILTER_AT_CAP - n, "[%zu]", i);
                if (json_object_is_type(alt, json_type_object)) {
                    if (!filter_check_operator(c, at, alt)) return false;
                } else if (json_object_is_type(alt, json_type_array)) {
                    return filter_fail(c, at, "expected a value or an operator object, found an "
                                       "array");
                }
            }
        } else {
            return filter_fail(c, at, "expected an object of fields to match or a non-empty "
                               "array of values ({\"S\": [\"shipped\"]})");
        }
        at[len] = '\0';
    }
    return true;
}

filter *filter_compile(json_object *patterns, char *err, size_t cap)
{
    filter_ctx c = {err, cap, 0};
    char at[FILTER_AT_CAP] = "";
    size_t n = json_object_is_type(patterns, json_type_array) ? json_object_array_length(patterns) : 0;
    if (!n) {
        snprintf(err, cap, "expected a non-empty array of filter patterns");
        return NULL;
    }
    for (c.pattern = 0; c.pattern < n; c.pattern++) {
        json_object *p = json_object_array_get_idx(patterns, c.pattern);
        bool ok = json_object_is_type(p, json_type_object)
                      ? filter_check_object(&c, at, 0, p)
                      : filter_fail(&c, "(top)", "expected a pattern object");
        if (!ok) return NULL;
    }
    filter *f = malloc(sizeof *f);
    if (!f) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    f->patterns = json_object_get(patterns);
    return f;
}

void filter_free(filter *f)
{
    if (!f) return;
    json_object_put(f->patterns);
    free(f);
}

/* ---- matching -------------------------------------------------------------------------- */

/* A record value as a number: a JSON number, or a string that is one (DynamoDB's "N").
 * Compared as doubles through strtod, not as exact decimals: two "N" values that differ only
 * past the 17th significant digit compare equal. */
static bool filter_number_of(json_object *v, double *out)
{
    if (filter_is_number(v)) {
        *out = json_object_get_double(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string)) return false;
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (!len || text_number(s, s + len, NULL) != len) return false;
    *out = strtod(s, NULL);
    return true;
}

static bool filter_numeric(json_object *ops, json_object *v)
{
    double x, n;
    if (!filter_number_of(v, &x)) return false;
    for (size_t i = 0; i + 1 < json_object_array_length(ops); i += 2) {
        n = json_object_get_double(json_object_array_get_idx(ops, i + 1));
        bool ok;
        switch (filter_numeric_op(json_object_array_get_idx(ops, i))) {
        case 0: ok = x < n; break;
        case 1: ok = x <= n; break;
        case 2: ok = x > n; break;
        case 3: ok = x >= n; break;
        default: ok = x == n; break;
        }
        if (!ok) return false;
    }
    return true;
}

/* A plain value of a pattern (string, number, null, boolean) equal to the record's value. */
static bool filter_equal(json_object *want, json_object *v)
{
    switch (json_object_get_type(want)) {
    case json_type_string:
        return json_object_is_type(v, json_type_string) &&
               json_object_get_string_len(v) == json_object_get_string_len(want) &&
               memcmp(json_object_get_string(v), json_object_get_string(want),
                      (size_t)json_object_get_string_len(want)) == 0;
    case json_type_int:
    case json_type_double:
        return filter_is_number(v) && json_object_get_double(v) == json_object_get_double(want);
    case json_type_boolean:
        return json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v) == json_object_get_boolean(want);
    case json_type_null:
        return v == NULL;
    default:
        return false;
    }
}

static bool filter_ascii_ieq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn) return false;
    for (size_t i = 0; i < an; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return false;
    }
    return true;
}

/* Whether the record string v has w at its start (at_end false) or its end. */
static bool filter_affix(json_object *v, json_object *w, bool at_end)
{
    if (!json_object_is_type(v, json_type_string)) return false;
    size_t vn = (size_t)json_object_get_string_len(v), wn = (size_t)json_object_get_string_len(w);
    if (wn > vn) return false;
    return memcmp(json_object_get_string(v) + (at_end ? vn - wn : 0), json_object_get_string(w),
                  wn) == 0;
}

/* anything-but: a string or number value that is none of those listed (or, for {"prefix"},
 * a string that does not start with it). null, booleans and objects never match. */
static bool filter_anything_but(json_object *operand, json_object *v)
{
    if (!json_object_is_type(v, json_type_string) && !filter_is_number(v)) return false;
    json_object *p;
    if (json_object_object_get_ex(operand, "prefix", &p)) return !filter_affix(v, p, false);
    if (!json_object_is_type(operand, json_type_array)) return !filter_equal(operand, v);
    for (size_t i = 0; i < json_object_array_length(operand); i++)
        if (filter_equal(json_object_array_get_idx(operand, i), v)) return false;
    return true;
}

/* One alternative against one present value that is not an array. */
static bool filter_alternative(json_object *alt, json_object *v)
{
    if (json_object_is_type(v, json_type_object)) return false; /* rules match leaves only */
    if (!json_object_is_type(alt, json_type_object)) return filter_equal(alt, v);
    json_object_object_foreach(alt, op, x) {
        if (!strcmp(op, "prefix")) return filter_affix(v, x, false);
        if (!strcmp(op, "suffix")) return filter_affix(v, x, true);
        if (!strcmp(op, "equals-ignore-case"))
            return json_object_is_type(v, json_type_string) &&
                   filter_ascii_ieq(json_object_get_string(v),
                                    (size_t)json_object_get_string_len(v),
                                    json_object_get_string(x), (size_t)json_object_get_string_len(x));
        if (!strcmp(op, "exists")) return json_object_get_boolean(x);
        if (!strcmp(op, "numeric")) return filter_numeric(x, v);
        if (!strcmp(op, "anything-but")) return filter_anything_but(x, v);
    }
    return false;
}

static bool filter_leaf(json_object *alts, bool present, json_object *v)
{
    size_t n = json_object_array_length(alts);
    for (size_t i = 0; i < n; i++) {
        json_object *alt = json_object_array_get_idx(alts, i), *e;
        if (!present) {
            if (json_object_object_get_ex(alt, "exists", &e) && !json_object_get_boolean(e))
                return true;
            continue;
        }
        if (!json_object_is_type(v, json_type_array)) {
            if (filter_alternative(alt, v)) return true;
            continue;
        }
        for (size_t k = 0; k < json_object_array_length(v); k++)
            if (filter_alternative(alt, json_object_array_get_idx(v, k))) return true;
    }
    return false;
}

static bool filter_object(json_object *pattern, json_object *record)
{
    if (json_object_is_type(record, json_type_array)) {
        for (size_t k = 0; k < json_object_array_length(record); k++)
            if (filter_object(pattern, json_object_array_get_idx(record, k))) return true;
        return false;
    }
    json_object_object_foreach(pattern, key, want) {
        json_object *v = NULL;
        bool present = json_object_is_type(record, json_type_object) &&
                       json_object_object_get_ex(record, key, &v);
        if (json_object_is_type(want, json_type_object)) {
            if (!present || !filter_object(want, v)) return false;
        } else if (!filter_leaf(want, present, v)) {
            return false;
        }
    }
    return true;
}

bool filter_match(const filter *f, json_object *record)
{
    for (size_t i = 0; i < json_object_array_length(f->patterns); i++)
        if (filter_object(json_object_array_get_idx(f->patterns, i), record)) return true;
    return false;
}
