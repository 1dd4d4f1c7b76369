/* render.c - attribute values as exact JSON text, plain or DynamoDB's, into a growable
 * buffer. Strings go through text_escape, so the output is valid JSON whatever the bytes. */
#include "render.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Room for more bytes and the NUL after them. */
static bool render_reserve(render_buf *b, size_t more)
{
    if (b->cap - b->len > more) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= more) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    }
    char *t = realloc(b->text, cap);
    if (!t) return false;
    b->text = t;
    b->cap = cap;
    return true;
}

bool render_put(render_buf *b, const char *s, size_t n)
{
    if (!render_reserve(b, n)) return false;
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
    return true;
}

bool render_string(render_buf *b, const char *s, size_t n)
{
    if (n > (SIZE_MAX - 3) / 6 || !render_reserve(b, n * 6 + 2)) return false;
    b->text[b->len++] = '"';
    b->len += text_escape(b->text + b->len, n * 6 + 1, s, n);
    b->text[b->len++] = '"';
    b->text[b->len] = '\0';
    return true;
}

bool render_base64(render_buf *b, const uint8_t *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > SIZE_MAX / 2 || !render_reserve(b, (n + 2) / 3 * 4 + 2)) return false;
    char *o = b->text + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = abc[w >> 18];
        *o++ = abc[w >> 12 & 63];
        *o++ = i + 1 < n ? abc[w >> 6 & 63] : '=';
        *o++ = i + 2 < n ? abc[w & 63] : '=';
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->text);
    return true;
}

bool render_number(render_buf *b, const char *s, size_t n)
{
    if (!render_reserve(b, n + 1)) return false;
    char *o = b->text + b->len;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        if (s[i] == '-') *o++ = '-';
        i++;
    }
    while (i + 1 < n && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9') i++;
    if (i == n || s[i] < '0' || s[i] > '9') *o++ = '0';
    while (i < n && s[i] >= '0' && s[i] <= '9') *o++ = s[i++];
    if (i < n && s[i] == '.') {
        i++;
        if (i < n && s[i] >= '0' && s[i] <= '9') *o++ = '.';
        while (i < n && s[i] >= '0' && s[i] <= '9') *o++ = s[i++];
    }
    while (i < n) *o++ = s[i++]; /* the exponent, which JSON spells as DynamoDB does */
    *o = '\0';
    b->len = (size_t)(o - b->text);
    return true;
}

/* The members of a map, each value written by put. */
static bool render_members(render_buf *b, const ddb_value *m, bool (*put)(render_buf *, const ddb_value *))
{
    if (!render_put(b, "{", 1)) return false;
    for (size_t i = 0; i < ddb_count(m); i++) {
        const char *name = "";
        size_t len = 0;
        const ddb_value *v = ddb_member_at(m, i, &name, &len);
        if ((i && !render_put(b, ",", 1)) || !render_string(b, name, len) ||
            !render_put(b, ":", 1) || !put(b, v))
            return false;
    }
    return render_put(b, "}", 1);
}

static bool render_elements(render_buf *b, const ddb_value *l, bool (*put)(render_buf *, const ddb_value *))
{
    if (!render_put(b, "[", 1)) return false;
    for (size_t i = 0; i < ddb_count(l); i++)
        if ((i && !render_put(b, ",", 1)) || !put(b, ddb_at(l, i))) return false;
    return render_put(b, "]", 1);
}

bool render_plain(render_buf *b, const ddb_value *v)
{
    switch (ddb_type_of(v)) {
    case DDB_S: return render_string(b, v->ptr, v->len);
    case DDB_N: return render_number(b, v->ptr, v->len);
    case DDB_B: return render_base64(b, v->ptr, v->len);
    case DDB_BOOL: return v->boolean ? render_put(b, "true", 4) : render_put(b, "false", 5);
    case DDB_M: return render_members(b, v, render_plain);
    case DDB_L:
    case DDB_SS:
    case DDB_NS:
    case DDB_BS: return render_elements(b, v, render_plain);
    default: return render_put(b, "null", 4);
    }
}

/* An element of SS, NS or BS: DynamoDB JSON writes numbers of a set as strings too. */
static bool render_set_element(render_buf *b, const ddb_value *v)
{
    if (ddb_type_of(v) == DDB_B) return render_base64(b, v->ptr, v->len);
    return v ? render_string(b, v->ptr, v->len) : render_put(b, "null", 4);
}

bool render_dynamodb(render_buf *b, const ddb_value *v)
{
    /* {"TYPE": for each ddb_type, written for every value: no printf on the way */
    static const char heads[][9] = {"", "{\"S\":", "{\"N\":", "{\"B\":", "{\"BOOL\":", "{\"NULL\":",
                                    "{\"M\":", "{\"L\":", "{\"SS\":", "{\"NS\":", "{\"BS\":"};
    ddb_type t = ddb_type_of(v);
    char head[12];
    size_t n = (unsigned)t < sizeof heads / sizeof *heads
                   ? strlen(strcpy(head, heads[t]))
                   : (size_t)snprintf(head, sizeof head, "{\"%s\":", ddb_type_name(t));
    if (t == DDB_NONE || !render_put(b, head, n)) return t == DDB_NONE && render_put(b, "null", 4);
    bool ok;
    switch (t) {
    case DDB_S: ok = render_string(b, v->ptr, v->len); break;
    case DDB_N: ok = render_string(b, v->ptr, v->len); break;
    case DDB_B: ok = render_base64(b, v->ptr, v->len); break;
    case DDB_BOOL: ok = v->boolean ? render_put(b, "true", 4) : render_put(b, "false", 5); break;
    case DDB_NULL: ok = render_put(b, "true", 4); break;
    case DDB_M: ok = render_members(b, v, render_dynamodb); break;
    case DDB_L: ok = render_elements(b, v, render_dynamodb); break;
    default: ok = render_elements(b, v, render_set_element); break;
    }
    return ok && render_put(b, "}", 1);
}

bool render_item(render_buf *b, const ddb_value *map) { return render_members(b, map, render_dynamodb); }

void render_free(render_buf *b)
{
    free(b->text);
    *b = (render_buf){0};
}
