/* pgvalue.c - a record's values as statement parameters, exact: N as its own decimal text
 * (PostgreSQL's numeric reads it without rounding), B as raw bytes in binary format, SS, NS
 * and BS as array literals, anything as plain JSON for jsonb (render.c's, the host's own). */
#include "pgvalue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pgvalue_init(pgvalue_params *p, size_t cap)
{
    memset(p, 0, sizeof *p);
    p->cap = cap;
    p->off = calloc(cap, sizeof *p->off);
    p->values = calloc(cap, sizeof *p->values);
    p->lengths = calloc(cap, sizeof *p->lengths);
    p->formats = calloc(cap, sizeof *p->formats);
    return p->off && p->values && p->lengths && p->formats;
}

void pgvalue_reset(pgvalue_params *p)
{
    p->bytes.len = 0;
    p->count = 0;
}

void pgvalue_free(pgvalue_params *p)
{
    render_free(&p->bytes);
    free(p->off);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    memset(p, 0, sizeof *p);
}

void pgvalue_finish(pgvalue_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        size_t end = i + 1 < p->count ? p->off[i + 1] : p->bytes.len;
        p->values[i] = p->lengths[i] < 0 ? NULL : p->bytes.text + p->off[i];
        p->lengths[i] = p->lengths[i] < 0 ? 0 : (int)(end - p->off[i]);
    }
}

/* Starts parameter number p->count in the given format (0 text, 1 binary). */
static bool pgvalue_start(pgvalue_params *p, int format)
{
    if (p->count == p->cap) return false;
    p->formats[p->count] = format;
    p->lengths[p->count] = 0;
    p->off[p->count++] = p->bytes.len;
    return true;
}

/* Ends a text parameter: libpq reads it up to its NUL. */
static bool pgvalue_end_text(pgvalue_params *p) { return render_put(&p->bytes, "", 1); }

bool pgvalue_null(pgvalue_params *p)
{
    if (!pgvalue_start(p, 0)) return false;
    p->lengths[p->count - 1] = -1; /* told apart in pgvalue_finish */
    return true;
}

bool pgvalue_text(pgvalue_params *p, const char *s, size_t len)
{
    return pgvalue_start(p, 0) && render_put(&p->bytes, s, len) && pgvalue_end_text(p);
}

static bool pgvalue_put(pgvalue_params *p, const char *s)
{
    return render_put(&p->bytes, s, strlen(s));
}

bool pgvalue_json(pgvalue_params *p, const ddb_value *v)
{
    if (!v) return pgvalue_null(p);
    return pgvalue_start(p, 0) && render_plain(&p->bytes, v) && pgvalue_end_text(p);
}

static bool pgvalue_bytes(pgvalue_params *p, const void *bytes, size_t len)
{
    return pgvalue_start(p, 1) && render_put(&p->bytes, len ? bytes : "", len);
}

/* One element of an array literal, double-quoted: " and \ escaped with a backslash. */
static bool pgvalue_element(pgvalue_params *p, const char *s, size_t len)
{
    bool ok = pgvalue_put(p, "\"");
    for (size_t i = 0; i < len && ok; i++)
        ok = ((s[i] != '"' && s[i] != '\\') || pgvalue_put(p, "\\")) &&
             render_put(&p->bytes, s + i, 1);
    return ok && pgvalue_put(p, "\"");
}

/* A set as an array literal: {"a","b"} for SS, {1.5,2} for NS, {"\\x0aff"} for BS. */
static bool pgvalue_array(pgvalue_params *p, const ddb_value *set)
{
    static const char hex[] = "0123456789abcdef";
    bool ok = pgvalue_start(p, 0) && pgvalue_put(p, "{");
    for (size_t i = 0; i < ddb_count(set) && ok; i++) {
        const ddb_value *e = ddb_at(set, i);
        const unsigned char *b = e->ptr;
        ok = i == 0 || pgvalue_put(p, ",");
        if (set->type == DDB_SS)
            ok = ok && pgvalue_element(p, e->ptr, e->len);
        else if (set->type == DDB_NS)
            ok = ok && render_put(&p->bytes, e->ptr, e->len);
        else
            ok = ok && pgvalue_put(p, "\"\\\\x");
        for (size_t k = 0; set->type == DDB_BS && k < e->len && ok; k++) {
            char two[2] = {hex[b[k] >> 4], hex[b[k] & 15]};
            ok = render_put(&p->bytes, two, 2);
        }
        if (set->type == DDB_BS) ok = ok && pgvalue_put(p, "\"");
    }
    return ok && pgvalue_put(p, "}") && pgvalue_end_text(p);
}

/* Whether a string of v (an S, or an element of an SS) holds a NUL character, which
 * PostgreSQL's text cannot. */
static bool pgvalue_has_nul(const ddb_value *v)
{
    if (v->type == DDB_S) return memchr(v->ptr, 0, v->len) != NULL;
    for (size_t i = 0; v->type == DDB_SS && i < v->len; i++)
        if (pgvalue_has_nul(ddb_at(v, i))) return true;
    return false;
}

ddb_status pgvalue_column(pgvalue_params *p, const pgconfig_column *col, const ddb_value *v,
                          char *why, size_t cap)
{
    static const ddb_type takes[] = {
        [PGCONFIG_TEXT] = DDB_S,         [PGCONFIG_NUMERIC] = DDB_N,
        [PGCONFIG_BIGINT] = DDB_N,       [PGCONFIG_BOOLEAN] = DDB_BOOL,
        [PGCONFIG_BYTEA] = DDB_B,        [PGCONFIG_JSONB] = DDB_NONE,
        [PGCONFIG_TEXT_ARRAY] = DDB_SS,  [PGCONFIG_NUMERIC_ARRAY] = DDB_NS,
        [PGCONFIG_BYTEA_ARRAY] = DDB_BS,
    };
    char digits[24];
    int64_t n;
    bool ok;
    if (!v || v->type == DDB_NULL) return pgvalue_null(p) ? DDB_OK : DDB_ERR_NOMEM;
    if (col->kind != PGCONFIG_JSONB && v->type != takes[col->kind]) {
        snprintf(why, cap, "attribute \"%s\" is %s; column \"%s\" (%s) takes %s", col->name,
                 ddb_type_name(v->type), col->name, col->type, pgconfig_kind_takes(col->kind));
        return DDB_ERR_TYPE;
    }
    if (pgvalue_has_nul(v)) {
        snprintf(why, cap,
                 "attribute \"%s\" holds a NUL character, which PostgreSQL's text cannot store",
                 col->name);
        return DDB_ERR_TYPE;
    }
    switch (col->kind) {
    case PGCONFIG_BIGINT:
        if (ddb_n_int64(v, &n) != DDB_OK) {
            snprintf(why, cap,
                     "attribute \"%s\" is %.60s; column \"%s\" (bigint) takes an integer "
                     "from -2^63 to 2^63-1",
                     col->name, (const char *)v->ptr, col->name);
            return DDB_ERR_RANGE;
        }
        snprintf(digits, sizeof digits, "%" PRId64, n);
        ok = pgvalue_text(p, digits, strlen(digits));
        break;
    case PGCONFIG_BOOLEAN:
        ok = pgvalue_text(p, v->boolean ? "true" : "false", v->boolean ? 4 : 5);
        break;
    case PGCONFIG_BYTEA: ok = pgvalue_bytes(p, v->ptr, v->len); break;
    case PGCONFIG_JSONB: ok = pgvalue_json(p, v); break;
    case PGCONFIG_TEXT_ARRAY:
    case PGCONFIG_NUMERIC_ARRAY:
    case PGCONFIG_BYTEA_ARRAY: ok = pgvalue_array(p, v); break;
    default: ok = pgvalue_text(p, v->ptr, v->len); break; /* S, and N as its exact text */
    }
    return ok ? DDB_OK : DDB_ERR_NOMEM;
}
