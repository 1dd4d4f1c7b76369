/* echo.c - the echo plugin: prints every record it receives as one line of JSON, rebuilt
 * from plugin.h's typed accessors (never copied from event text), so a user sees exactly
 * what the host decoded. Owns its output stream and a reusable line buffer; keeps nothing
 * of a record after the callback returns. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddb/plugin.h>

DDB_PLUGIN("echo", "1.0.0");

/* Far above DynamoDB's 32 levels, so it never refuses a real item; it only stops a cyclic or
 * runaway value tree from exhausting the stack. */
#define ECHO_MAX_DEPTH 64

typedef struct echo {
    FILE *out;
    bool owns_out; /* opened from config "path": closed in on_fini */
    char *buf;     /* the line being built, reused from one record to the next */
    size_t len, cap;
} echo;

/* ---- the line buffer ----------------------------------------------------------------- */

static ddb_status echo_put(echo *e, const void *p, size_t n)
{
    if (n > e->cap - e->len) {
        size_t cap = e->cap ? e->cap : 256;
        char *buf;
        while (n > cap - e->len) {
            if (cap > SIZE_MAX / 2) return DDB_ERR_NOMEM;
            cap *= 2;
        }
        buf = realloc(e->buf, cap);
        if (!buf) return DDB_ERR_NOMEM;
        e->buf = buf;
        e->cap = cap;
    }
    if (n) memcpy(e->buf + e->len, p, n);
    e->len += n;
    return DDB_OK;
}

static ddb_status echo_lit(echo *e, const char *s) { return echo_put(e, s, strlen(s)); }

/* A JSON string: raw UTF-8, escaping only what RFC 8259 requires. len is authoritative, so
 * an embedded NUL is written as \u0000. */
static ddb_status echo_string(echo *e, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    ddb_status st;
    if (len && !s) return DDB_ERR_FAILED;
    if ((st = echo_put(e, "\"", 1))) return st;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t n = 2;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if ((st = echo_put(e, s + run, i - run))) return st;
        run = i + 1;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            n = 6;
        }
        if ((st = echo_put(e, esc, n))) return st;
    }
    if ((st = echo_put(e, s + run, len - run))) return st;
    return echo_put(e, "\"", 1);
}

/* Standard base64 alphabet with padding, as DynamoDB JSON carries B. */
static ddb_status echo_base64(echo *e, const uint8_t *p, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    ddb_status st;
    if (len && !p) return DDB_ERR_FAILED;
    if ((st = echo_put(e, "\"", 1))) return st;
    for (i = 0; i < len; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        char q[4];
        if (i + 1 < len) w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len) w |= p[i + 2];
        q[0] = abc[w >> 18 & 63];
        q[1] = abc[w >> 12 & 63];
        q[2] = i + 1 < len ? abc[w >> 6 & 63] : '=';
        q[3] = i + 2 < len ? abc[w & 63] : '=';
        if ((st = echo_put(e, q, 4))) return st;
    }
    return echo_put(e, "\"", 1);
}

/* ---- values as DynamoDB JSON --------------------------------------------------------- */

/* The bare scalar of an S, N or B (what a set holds): a JSON string. */
static ddb_status echo_scalar(echo *e, const ddb_value *v, ddb_type want)
{
    const char *text;
    const uint8_t *bytes;
    size_t len;
    if (want == DDB_B) {
        if (ddb_get_b(v, &bytes, &len)) return DDB_ERR_FAILED;
        return echo_base64(e, bytes, len);
    }
    if ((want == DDB_S ? ddb_get_s(v, &text, &len) : ddb_get_n(v, &text, &len)))
        return DDB_ERR_FAILED;
    return echo_string(e, text, len);
}

static ddb_status echo_value(echo *e, const ddb_value *v, int depth);

/* A map's members as a JSON object, in event order: Keys, images and M values alike. */
static ddb_status echo_map(echo *e, const ddb_value *m, int depth)
{
    size_t i, n = ddb_count(m);
    ddb_status st;
    if (ddb_type_of(m) != DDB_M || (n && !m->ptr)) return DDB_ERR_FAILED;
    if ((st = echo_put(e, "{", 1))) return st;
    for (i = 0; i < n; i++) {
        const char *name;
        size_t name_len;
        const ddb_value *v = ddb_member_at(m, i, &name, &name_len);
        if (!v) return DDB_ERR_FAILED;
        if (i && (st = echo_put(e, ",", 1))) return st;
        if ((st = echo_string(e, name, name_len))) return st;
        if ((st = echo_put(e, ":", 1))) return st;
        if ((st = echo_value(e, v, depth + 1))) return st;
    }
    return echo_put(e, "}", 1);
}

/* The elements of an L (as values) or of a set (as bare scalars of type elem). */
static ddb_status echo_array(echo *e, const ddb_value *a, ddb_type elem, int depth)
{
    size_t i, n = ddb_count(a);
    ddb_status st;
    if (n && !a->ptr) return DDB_ERR_FAILED;
    if ((st = echo_put(e, "[", 1))) return st;
    for (i = 0; i < n; i++) {
        const ddb_value *v = ddb_at(a, i);
        if (!v) return DDB_ERR_FAILED;
        if (i && (st = echo_put(e, ",", 1))) return st;
        st = elem == DDB_NONE ? echo_value(e, v, depth + 1) : echo_scalar(e, v, elem);
        if (st) return st;
    }
    return echo_put(e, "]", 1);
}

static ddb_status echo_value(echo *e, const ddb_value *v, int depth)
{
    ddb_type t = ddb_type_of(v);
    bool b;
    ddb_status st;
    if (depth > ECHO_MAX_DEPTH) return DDB_ERR_FAILED;
    switch (t) {
    case DDB_S: case DDB_N: case DDB_B:
        if ((st = echo_lit(e, t == DDB_S ? "{\"S\":" : t == DDB_N ? "{\"N\":" : "{\"B\":")))
            return st;
        st = echo_scalar(e, v, t);
        break;
    case DDB_BOOL:
        if (ddb_get_bool(v, &b)) return DDB_ERR_FAILED;
        return echo_lit(e, b ? "{\"BOOL\":true}" : "{\"BOOL\":false}");
    case DDB_NULL:
        return echo_lit(e, "{\"NULL\":true}");
    case DDB_M:
        if ((st = echo_lit(e, "{\"M\":"))) return st;
        st = echo_map(e, v, depth);
        break;
    case DDB_L: case DDB_SS: case DDB_NS: case DDB_BS:
        if ((st = echo_lit(e, t == DDB_L ? "{\"L\":" : t == DDB_SS ? "{\"SS\":"
                                      : t == DDB_NS ? "{\"NS\":" : "{\"BS\":")))
            return st;
        st = echo_array(e, v, t == DDB_L ? DDB_NONE : t == DDB_SS ? DDB_S
                              : t == DDB_NS ? DDB_N : DDB_B, depth);
        break;
    default: /* DDB_NONE or a type this ABI does not define: nothing sane to print */
        return DDB_ERR_FAILED;
    }
    return st ? st : echo_put(e, "}", 1);
}

/* ---- records ------------------------------------------------------------------------- */

static ddb_status echo_field_str(echo *e, const char *key, ddb_str s)
{
    ddb_status st;
    if ((st = echo_lit(e, key))) return st;
    return s.ptr ? echo_string(e, s.ptr, s.len) : echo_lit(e, "null");
}

static ddb_status echo_field_image(echo *e, const char *key, const ddb_value *img)
{
    ddb_status st;
    if (!img) return DDB_OK;
    if ((st = echo_lit(e, key))) return st;
    return echo_map(e, img, 0);
}

static ddb_status echo_line(echo *e, const ddb_record *rec)
{
    const char *name = ddb_event_name_str(rec->event_name);
    ddb_status st;
    if (!*name) return DDB_ERR_FAILED;
    if ((st = echo_lit(e, "{\"eventName\":\""))
        || (st = echo_lit(e, name))
        || (st = echo_put(e, "\"", 1))
        || (st = echo_field_str(e, ",\"eventID\":", rec->event_id))
        || (st = echo_field_str(e, ",\"table\":", rec->table))
        || (st = echo_field_str(e, ",\"SequenceNumber\":", rec->sequence_number))
        || (st = echo_field_image(e, ",\"Keys\":", rec->keys))
        || (st = echo_field_image(e, ",\"NewImage\":", rec->new_image))
        || (st = echo_field_image(e, ",\"OldImage\":", rec->old_image)))
        return st;
    return echo_put(e, "}\n", 2);
}

/* Builds the whole line first so that a record either prints completely or not at all. */
static ddb_status echo_record(const ddb_record *rec, void *state)
{
    echo *e = state;
    ddb_status st;
    if (!rec || !e) return DDB_ERR_INVALID;
    /* Never read past the record the host actually built. */
    if (rec->size < offsetof(ddb_record, old_image) + sizeof rec->old_image)
        return DDB_ERR_INVALID;
    e->len = 0;
    if ((st = echo_line(e, rec))) return st;
    if (fwrite(e->buf, 1, e->len, e->out) != e->len || fflush(e->out) != 0)
        return DDB_ERR_FAILED;
    return DDB_OK;
}

ddb_status on_insert(const ddb_record *rec, void *state) { return echo_record(rec, state); }
ddb_status on_modify(const ddb_record *rec, void *state) { return echo_record(rec, state); }
ddb_status on_remove(const ddb_record *rec, void *state) { return echo_record(rec, state); }

/* ---- lifecycle ----------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static ddb_status echo_fail(const ddb_init *init, ddb_status st, const char *fmt, ...)
{
    va_list ap;
    if (init->error && init->error_cap) {
        va_start(ap, fmt);
        vsnprintf(init->error, init->error_cap, fmt, ap);
        va_end(ap);
    }
    return st;
}

ddb_status on_init(const ddb_init *init, void **state)
{
    const ddb_host_api *host;
    const char *path = NULL;
    int64_t ignored;
    echo *e;
    if (!init || !state) return DDB_ERR_INVALID;
    host = init->host;
    if (host && host->config_string) {
        path = host->config_string(init->config, "path");
        /* Present but not a string: say so rather than quietly printing to stdout. */
        if (!path && host->config_int64
            && host->config_int64(init->config, "path", &ignored) != DDB_ERR_NOT_FOUND)
            return echo_fail(init, DDB_ERR_FAILED,
                             "config \"path\" must be a string: the file to append records to");
    }
    e = calloc(1, sizeof *e);
    if (!e) return echo_fail(init, DDB_ERR_NOMEM, "out of memory");
    e->out = stdout;
    if (path) {
        e->out = fopen(path, "a");
        if (!e->out) {
            int err = errno;
            free(e);
            return echo_fail(init, DDB_ERR_FAILED, "cannot open \"%s\": %s", path, strerror(err));
        }
        e->owns_out = true;
    }
    *state = e;
    return DDB_OK;
}

void on_fini(void *state)
{
    echo *e = state;
    if (!e) return;
    if (e->owns_out) fclose(e->out);
    free(e->buf);
    free(e);
}
