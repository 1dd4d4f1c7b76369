/* manifest.c - the manifest: JSON text in, validated routes and handlers out.
 * Owns every manifest error message (one line naming the file and the key path) and the
 * resolution of plugin paths against the manifest's directory. It checks that plugin files
 * exist but never opens them: loading them is loader.c's job. */
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ddb/plugin.h>

#include "filter.h"
#include "log.h"
#include "sys.h"
#include "text.h"

#define MANIFEST_MAX_BYTES (16u << 20) /* far beyond any real manifest; json-c takes an int */
#define MANIFEST_MAX_DEPTH 32          /* json-c's default; also bounds manifest_scan's recursion */
#define MANIFEST_AT_CAP 640            /* a key path such as tables.Orders[1].events[0] */

typedef struct manifest_ctx {
    const char *path; /* the manifest as the caller named it: messages, relative plugin paths */
    char *err;
    size_t cap;
    bool isolated;    /* the manifest's "isolation", which handlers inherit */
} manifest_ctx;

/* ---- messages ------------------------------------------------------------------------- */

/* Writes `manifest "PATH": AT: MESSAGE` into the caller's buffer and returns false. */
static bool manifest_fail(const manifest_ctx *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool manifest_fail(const manifest_ctx *c, const char *at, const char *fmt, ...)
{
    char q[TEXT_QUOTE_CAP], msg[1024];
    va_list ap;
    if (!c->err || c->cap == 0) return false;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bool has_at = at && *at;
    snprintf(c->err, c->cap, "manifest %s: %s%s%s", text_quote(q, sizeof q, c->path), has_at ? at : "",
             has_at ? ": " : "", msg);
    return false;
}

void manifest_error(char *err, size_t cap, const char *path, const char *at, const char *fmt, ...)
{
    manifest_ctx c = {path ? path : "-", err, cap, false};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    manifest_fail(&c, at, "%s", msg);
}

/* The 1-based line and column of byte offset `at` of text, the column counted in characters
 * so that it matches what an editor shows. */
static void manifest_line_col(const char *text, size_t at, unsigned long *line,
                              unsigned long *col)
{
    *line = *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

/* A syntax error at byte offset `at` of text. */
static bool manifest_syntax(const manifest_ctx *c, const char *text, size_t at, const char *why)
{
    unsigned long line, col;
    manifest_line_col(text, at, &line, &col);
    return manifest_fail(c, NULL, "invalid JSON at line %lu, column %lu: %s", line, col, why);
}

static const char *manifest_kind(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double:
    case json_type_int: return "a number";
    case json_type_string: return "a string";
    case json_type_array: return json_object_array_length(v) ? "an array" : "an empty array";
    case json_type_object: return json_object_object_length(v) ? "an object" : "an empty object";
    }
    return "an unknown value";
}

/* The key path of a member (index < 0) or an element: `parent.key`, `parent["odd key"]`
 * for keys that are not plain words, or `parent[index]`. */
static const char *manifest_at(char out[MANIFEST_AT_CAP], const char *parent, const char *key,
                               long index)
{
    /* A path longer than the buffer is cut, which is fine in a message. */
    int n = snprintf(out, MANIFEST_AT_CAP, "%.*s", MANIFEST_AT_CAP - 24, parent);
    if (key) text_path_key(out, (size_t)n, MANIFEST_AT_CAP, key, strlen(key));
    else snprintf(out + n, MANIFEST_AT_CAP - (size_t)n, "[%ld]", index);
    return out;
}

/* ---- keys and plain values ------------------------------------------------------------ */

/* Refuses the first member of obj whose key is not in keys (NULL-terminated); expected
 * names them as the message shows them. */
static bool manifest_known_keys(const manifest_ctx *c, const char *at, json_object *obj,
                                const char *const keys[], const char *expected)
{
    char q[TEXT_QUOTE_CAP];
    for (struct json_object_iterator it = json_object_iter_begin(obj),
                                     end = json_object_iter_end(obj);
         !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);
        size_t k = 0;
        while (keys[k] && strcmp(keys[k], key) != 0) k++;
        if (!keys[k])
            return manifest_fail(c, at, "unknown key %s (expected %s)", text_quote(q, sizeof q, key),
                                 expected);
    }
    return true;
}

/* The integer member key of obj, in [min, max]; *out keeps its default when it is absent. */
static bool manifest_int(const manifest_ctx *c, const char *parent, json_object *obj,
                         const char *key, int64_t min, int64_t max, int64_t *out)
{
    char at[MANIFEST_AT_CAP];
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v)) return true;
    bool integer = json_object_is_type(v, json_type_int);
    int64_t n = integer ? json_object_get_int64(v) : 0;
    if (integer && n >= min && n <= max) {
        *out = n;
        return true;
    }
    /* json-c clamps what int64 cannot hold, so such a number cannot be shown as written. */
    bool clamped = integer && (n == INT64_MAX || n == INT64_MIN);
    bool number = integer || json_object_is_type(v, json_type_double);
    return manifest_fail(c, manifest_at(at, parent, key, -1),
                         "expected an integer from %" PRId64 " to %" PRId64 ", found %s", min,
                         max, clamped  ? "a number far out of range"
                              : number ? json_object_to_json_string(v)
                                       : manifest_kind(v));
}

static bool manifest_bool(const manifest_ctx *c, const char *parent, json_object *obj,
                          const char *key, bool *out)
{
    char at[MANIFEST_AT_CAP];
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v)) return true;
    if (!json_object_is_type(v, json_type_boolean))
        return manifest_fail(c, manifest_at(at, parent, key, -1),
                             "expected true or false, found %s", manifest_kind(v));
    *out = json_object_get_boolean(v);
    return true;
}

/* The string member key of obj as its index in names (NULL-terminated); expected names them
 * as the message shows them. *out keeps its default when the member is absent. */
static bool manifest_choice(const manifest_ctx *c, const char *parent, json_object *obj,
                            const char *key, const char *const names[], const char *expected,
                            int *out)
{
    char at[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v)) return true;
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    bool other_case = false;
    for (int i = 0; s && names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
        other_case |= strcasecmp(s, names[i]) == 0;
    }
    return manifest_fail(c, manifest_at(at, parent, key, -1), "expected %s, found %s%s", expected,
                         s ? text_quote(q, sizeof q, s) : manifest_kind(v),
                         other_case ? " (the case matters)" : "");
}

/* ---- JSON text ------------------------------------------------------------------------ */

/* Parses text (BOM-free, NUL-terminated, len bytes) strictly. *root may be NULL for "null". */
static bool manifest_json(const manifest_ctx *c, const char *text, size_t len, json_object **root)
{
    json_tokener *tok = json_tokener_new_ex(MANIFEST_MAX_DEPTH);
    if (!tok) return manifest_fail(c, NULL, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* Passing the terminating NUL tells json-c the input ends there. */
    *root = json_tokener_parse_ex(tok, text, (int)len + 1);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_success && !*root) {
        /* json-c (0.16) reports an allocation that failed as a parse that gave nothing. */
        const char *t = text + strspn(text, " \t\r\n");
        if (strncmp(t, "null", 4) != 0 || t[4 + strspn(t + 4, " \t\r\n")] != '\0')
            return manifest_fail(c, NULL, "out of memory");
    }
    if (jerr == json_tokener_success) return true;
    return manifest_syntax(c, text, end < len ? end : len, json_tokener_error_desc(jerr));
}

/* json-c keeps only the last of two equal keys, silently. The scan walks the text that json-c
 * accepted and reports the first key that appears twice in one object, wherever it is. */
typedef struct manifest_scan {
    const manifest_ctx *c;
    const char *text; /* NUL-terminated, already valid JSON */
    const char *p;
} manifest_scan;

static void manifest_scan_ws(manifest_scan *s)
{
    while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r') s->p++;
}

static void manifest_scan_string(manifest_scan *s)
{
    char quote = *s->p++;
    while (*s->p && *s->p != quote) s->p += *s->p == '\\' && s->p[1] ? 2 : 1;
    if (*s->p) s->p++;
}

/* The key spanning [start, s->p) as json-c stores it (a C string, cut at a \u0000), or NULL
 * without memory. The text is valid JSON: every escape decodes. */
static char *manifest_scan_key(manifest_scan *s, const char *start)
{
    const char *r = start + 1, *end = s->p > r ? s->p - 1 : r;
    char *key = malloc((size_t)(end - r) + 1), *w = key;
    while (key && r < end) {
        size_t used = 1, written = 1;
        if (*r != '\\') *w = *r;
        else if (text_unescape(r, end, w, &used, &written) != TEXT_OK) break;
        r += used;
        w += written;
    }
    if (key) *w = '\0';
    return key;
}

static bool manifest_scan_value(manifest_scan *s, const char *at);

static bool manifest_scan_duplicate(manifest_scan *s, const char *at, const char *key,
                                    size_t first, size_t again)
{
    unsigned long l1, c1, l2, c2;
    manifest_line_col(s->text, first, &l1, &c1);
    manifest_line_col(s->text, again, &l2, &c2);
    char q[TEXT_QUOTE_CAP];
    return manifest_fail(s->c, at, "duplicate key %s at line %lu, column %lu (first at line %lu, "
                         "column %lu): each key may appear only once",
                         text_quote(q, sizeof q, key), l2, c2, l1, c1);
}

static bool manifest_scan_object(manifest_scan *s, const char *at)
{
    json_object *seen = json_object_new_object(); /* key -> offset of its first appearance */
    bool ok = seen != NULL || manifest_fail(s->c, NULL, "out of memory");
    s->p++;
    manifest_scan_ws(s);
    while (ok && *s->p && *s->p != '}') {
        const char *start = s->p;
        if (*start != '"') {
            ok = manifest_syntax(s->c, s->text, (size_t)(start - s->text),
                                 "object keys must be in double quotes");
            break;
        }
        manifest_scan_string(s);
        char *key = manifest_scan_key(s, start);
        json_object *first, *offset = NULL;
        if (!key) {
            ok = manifest_fail(s->c, NULL, "out of memory");
        } else if (json_object_object_get_ex(seen, key, &first)) {
            ok = manifest_scan_duplicate(s, at, key, (size_t)json_object_get_int64(first),
                                         (size_t)(start - s->text));
        } else if (!(offset = json_object_new_int64(start - s->text)) ||
                   json_object_object_add(seen, key, offset) != 0) {
            json_object_put(offset); /* json-c takes it only when the add succeeds */
            ok = manifest_fail(s->c, NULL, "out of memory");
        } else {
            char child[MANIFEST_AT_CAP];
            manifest_scan_ws(s);
            if (*s->p == ':') s->p++;
            ok = manifest_scan_value(s, manifest_at(child, at, key, -1));
            manifest_scan_ws(s);
            if (*s->p == ',') s->p++;
            manifest_scan_ws(s);
        }
        free(key);
    }
    if (*s->p == '}') s->p++;
    json_object_put(seen);
    return ok;
}

static bool manifest_scan_value(manifest_scan *s, const char *at)
{
    char child[MANIFEST_AT_CAP];
    bool ok = true;
    manifest_scan_ws(s);
    switch (*s->p) {
    case '{': return manifest_scan_object(s, at);
    case '"': manifest_scan_string(s); return true;
    case '[':
        s->p++;
        manifest_scan_ws(s);
        for (long i = 0; ok && *s->p && *s->p != ']'; i++) {
            ok = manifest_scan_value(s, manifest_at(child, at, NULL, i));
            manifest_scan_ws(s);
            if (*s->p == ',') s->p++;
            manifest_scan_ws(s);
        }
        if (*s->p == ']') s->p++;
        return ok;
    default: /* number, true, false, null */
        while (*s->p && !strchr(",]} \t\r\n", *s->p)) s->p++;
        return true;
    }
}

static bool manifest_unique_keys(const manifest_ctx *c, const char *text)
{
    manifest_scan s = {c, text, text};
    return manifest_scan_value(&s, "");
}

/* ---- validation ----------------------------------------------------------------------- */

static char *manifest_concat(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    char *s = malloc(alen + blen + 1);
    if (!s) return NULL;
    memcpy(s, a, alen);
    memcpy(s + alen, b, blen + 1);
    return s;
}

/* A plugin path relative to the manifest's directory. The result always contains a '/', so
 * that dlopen takes it as a path rather than searching the library path. */
static char *manifest_resolve(const char *manifest_path, const char *plugin)
{
    const char *slash = strrchr(manifest_path, '/');
    if (plugin[0] == '/') return strdup(plugin);
    if (!slash) return strchr(plugin, '/') ? strdup(plugin) : manifest_concat("./", 2, plugin);
    while (strncmp(plugin, "./", 2) == 0) plugin += 2;
    return manifest_concat(manifest_path, (size_t)(slash - manifest_path) + 1, plugin);
}

static bool manifest_plugin(const manifest_ctx *c, const char *handler_at, json_object *v,
                            char **out)
{
    char at[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    manifest_at(at, handler_at, "plugin", -1);
    if (!json_object_is_type(v, json_type_string))
        return manifest_fail(c, at, "expected a string (the path of the handler's .so file), "
                             "found %s", manifest_kind(v));
    const char *given = json_object_get_string(v);
    if (!*given) return manifest_fail(c, at, "expected the path of the handler's .so file, "
                                      "found an empty string");
    if (strlen(given) != (size_t)json_object_get_string_len(v))
        return manifest_fail(c, at, "the path %s contains a NUL character",
                             text_quote(q, sizeof q, given));
    char *path = manifest_resolve(c->path, given);
    if (!path) return manifest_fail(c, NULL, "out of memory");
    struct stat st;
    bool ok = false;
    int e = stat(path, &st) != 0 ? errno : 0;
    if (e == ENOENT)
        manifest_fail(c, at, "no such file %s%s", text_quote(q, sizeof q, path),
                      given[0] == '/' ? ""
                      : " (hint: a relative plugin path starts from the manifest's directory)");
    else if (e)
        manifest_fail(c, at, "cannot access %s: %s", text_quote(q, sizeof q, path), strerror(e));
    else if (!S_ISREG(st.st_mode))
        manifest_fail(c, at, "%s is not a regular file", text_quote(q, sizeof q, path));
    else
        ok = true;
    if (ok) *out = path;
    else free(path);
    return ok;
}

static bool manifest_events(const manifest_ctx *c, const char *handler_at, json_object *v,
                            unsigned *out)
{
    char at[MANIFEST_AT_CAP], elem_at[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    manifest_at(at, handler_at, "events", -1);
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
        return manifest_fail(c, at, "expected a non-empty array of \"INSERT\", \"MODIFY\" or "
                             "\"REMOVE\", found %s", manifest_kind(v));
    unsigned mask = 0;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        const char *name =
            json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
        unsigned bit = 0;
        bool upper_would_do = false;
        for (int k = DDB_INSERT; name && k <= DDB_REMOVE; k++) {
            if (strcmp(name, ddb_event_name_str((ddb_event_name)k)) == 0) bit = 1u << k;
            upper_would_do |= strcasecmp(name, ddb_event_name_str((ddb_event_name)k)) == 0;
        }
        manifest_at(elem_at, at, NULL, (long)i);
        if (!bit)
            return manifest_fail(c, elem_at,
                                 "expected \"INSERT\", \"MODIFY\" or \"REMOVE\", found %s%s",
                                 name ? text_quote(q, sizeof q, name) : manifest_kind(e),
                                 upper_would_do ? " (event names are upper case)" : "");
        if (mask & bit)
            return manifest_fail(c, elem_at, "%s is listed twice", text_quote(q, sizeof q, name));
        mask |= bit;
    }
    *out = mask;
    return true;
}

/* ---- bindings ------------------------------------------------------------------------- */

#define MANIFEST_ARG_TYPES                                                                   \
    "string, bytes, int32, int64, uint64, double, bool, json, with an optional trailing ?"
/* Indexed by manifest_arg_source. */
static const char *const manifest_sources[] = {"Keys",      "NewImage",       "OldImage",
                                               "table",     "eventName",      "SequenceNumber",
                                               "eventID",   "record",         NULL};
#define MANIFEST_SOURCES                                                                     \
    "Keys, NewImage, OldImage, table, eventName, SequenceNumber, eventID, record or "       \
    "image:NewImage"
/* Indexed by ddb_event_name. */
static const char *const manifest_bind_events[] = {NULL, "on_insert", "on_modify", "on_remove"};

const char *manifest_arg_type_name(manifest_arg_type t)
{
    static const char *const names[] = {"string", "bytes", "int32", "int64",  "uint64",
                                        "double", "bool",  "json",  "record"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* The type named by the n bytes at s; false when there is none. */
static bool manifest_arg_type_of(const char *s, size_t n, manifest_arg_type *out)
{
    for (int t = MANIFEST_ARG_STRING; t <= MANIFEST_ARG_JSON; t++) {
        const char *name = manifest_arg_type_name((manifest_arg_type)t);
        if (strlen(name) == n && strncmp(s, name, n) == 0) {
            *out = (manifest_arg_type)t;
            return true;
        }
    }
    return false;
}

/* A byte that may appear in an unquoted attribute name: anything printable but the path's
 * own punctuation. Other names are quoted: NewImage['a.b']. */
static bool manifest_name_byte(unsigned char ch)
{
    return ch >= 0x20 && ch != 0x7F && !strchr(".[]:?'\"\\", ch);
}

/* The attribute path of a after its map's name, from *p to the ':' before the type: `.name`,
 * `['quoted name']` (or double quotes; a backslash escapes the next byte) and `[index]`. */
static bool manifest_arg_steps(const manifest_ctx *c, const char *at, manifest_arg *a,
                               const char **p)
{
    char q[TEXT_QUOTE_CAP];
    const char *s = *p, *text = a->text;
    size_t most = 0;
    for (const char *k = s; *k; k++) most += *k == '.' || *k == '[';
    if (!most) return true;
    if (!(a->steps = calloc(most, sizeof *a->steps))) return manifest_fail(c, NULL, "out of memory");
    while (*s == '.' || *s == '[') {
        manifest_step *st = &a->steps[a->nsteps];
        const char *name = NULL, *why = NULL, *bad = NULL;
        size_t len = 0;
        if (*s == '.') {
            name = ++s;
            while (manifest_name_byte((unsigned char)*s)) s++;
            len = (size_t)(s - name);
            if (!len) why = "expected an attribute name after \".\" (quote other names: "
                            "NewImage['a.b'])";
        } else if (s[1] == '\'' || s[1] == '"') {
            char quote = s[1];
            name = s += 2;
            while (*s && *s != quote) s += *s == '\\' && s[1] ? 2 : 1;
            len = (size_t)(s - name);
            if (*s != quote) why = "a quoted name without its closing quote";
            else if (*++s != ']') why = "expected \"]\" after the quoted name";
            else s++;
        } else {
            uint64_t index = 0;
            const char *digits = ++s;
            while (*s >= '0' && *s <= '9' && index <= UINT32_MAX)
                index = index * 10 + (uint64_t)(*s++ - '0');
            if (s == digits) why = "expected a list index or a quoted name after \"[\"";
            else if (index > UINT32_MAX) why = "list index out of range (at most 4294967295)", bad = digits;
            else if (*s != ']') why = "expected \"]\" after the list index";
            else st->index = (uint32_t)index, s++;
        }
        if (why)
            return manifest_fail(c, at, "%s: %s (at character %zu)", text_quote(q, sizeof q, text), why,
                                 (size_t)((bad ? bad : s) - text) + 1);
        a->nsteps++;
        if (!name) continue;
        if (!(st->name = malloc(len + 1))) return manifest_fail(c, NULL, "out of memory");
        /* A quoted name loses its escapes; an unquoted one has none. */
        size_t n = 0;
        for (size_t k = 0; k < len; k++) st->name[n++] = name[k] == '\\' ? name[++k] : name[k];
        st->name[n] = '\0';
        st->name_len = n;
    }
    *p = s;
    return true;
}

/* Checks that the type fits the source: record facts are text, a whole map is JSON. */
static bool manifest_arg_fits(const manifest_ctx *c, const char *at, const manifest_arg *a)
{
    const char *source = manifest_sources[a->source], *type = manifest_arg_type_name(a->type);
    if (a->source >= MANIFEST_SRC_TABLE && a->type != MANIFEST_ARG_STRING &&
        a->type != MANIFEST_ARG_BYTES)
        return manifest_fail(c, at, "%s is text: it is passed as string or bytes, not %s",
                             source, type);
    if (a->source <= MANIFEST_SRC_OLD_IMAGE && !a->nsteps && a->type != MANIFEST_ARG_JSON)
        return manifest_fail(c, at, "%s is a whole map: it is passed as json (image:%s), not "
                             "%s (hint: name an attribute, e.g. %s.id:%s)", source, source,
                             type, source, type);
    return true;
}

/* The source at the start of a->text ("image:" and a map, or a source's name) into a->source;
 * *p moves past it. */
static bool manifest_arg_source_of(const manifest_ctx *c, const char *at, manifest_arg *a,
                                   const char **p)
{
    char q[TEXT_QUOTE_CAP], q2[TEXT_QUOTE_CAP], word[TEXT_QUOTE_CAP];
    bool image = strncmp(*p, "image:", 6) == 0, other_case = false;
    if (image) *p += 6;
    size_t n = strcspn(*p, ".[:?");
    int source = -1;
    for (int i = 0; manifest_sources[i]; i++) {
        bool same_length = strlen(manifest_sources[i]) == n;
        if (same_length && strncmp(*p, manifest_sources[i], n) == 0) source = i;
        other_case |= same_length && strncasecmp(*p, manifest_sources[i], n) == 0;
    }
    snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word - 1 ? n : sizeof word - 1), *p);
    if (image && (source < 0 || source > MANIFEST_SRC_OLD_IMAGE))
        return manifest_fail(c, at, "%s: expected Keys, NewImage or OldImage after \"image:\", "
                             "found %s", text_quote(q, sizeof q, a->text),
                             text_quote(q2, sizeof q2, word));
    if (source < 0)
        return manifest_fail(c, at, "%s: unknown source %s (expected " MANIFEST_SOURCES ")%s",
                             text_quote(q, sizeof q, a->text), text_quote(q2, sizeof q2, word),
                             other_case ? " (the case matters)" : "");
    a->source = (manifest_arg_source)source;
    if (image) a->type = MANIFEST_ARG_JSON;
    *p += n;
    return true;
}

/* ":TYPE" at *p into a->type; *p moves past it. */
static bool manifest_arg_type_at(const manifest_ctx *c, const char *at, manifest_arg *a,
                                 const char **p)
{
    char q[TEXT_QUOTE_CAP], word[TEXT_QUOTE_CAP];
    if (**p != ':')
        return manifest_fail(c, at, "%s: expected \":TYPE\" after %.*s (TYPE is one of "
                             MANIFEST_ARG_TYPES ")", text_quote(q, sizeof q, a->text),
                             (int)a->path_len, a->text);
    size_t n = strspn(++*p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (manifest_arg_type_of(*p, n, &a->type)) {
        *p += n;
        return true;
    }
    snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word - 1 ? n : sizeof word - 1), *p);
    bool other_case = false;
    for (int t = MANIFEST_ARG_STRING; t <= MANIFEST_ARG_JSON; t++)
        other_case |= strcasecmp(word, manifest_arg_type_name((manifest_arg_type)t)) == 0;
    return manifest_fail(c, at, "unknown type %s (expected " MANIFEST_ARG_TYPES ")%s",
                         text_quote(q, sizeof q, word), other_case ? " (the case matters)" : "");
}

/* One argument as written, e.g. "NewImage.items[2].sku:string?" (docs/BINDINGS.md). a is
 * zeroed by the caller; manifest_free releases whatever was built. */
static bool manifest_arg_build(const manifest_ctx *c, const char *at, json_object *v,
                               manifest_arg *a)
{
    char q[TEXT_QUOTE_CAP], q2[TEXT_QUOTE_CAP];
    if (!json_object_is_type(v, json_type_string))
        return manifest_fail(c, at, "expected an argument such as \"NewImage.total:int64\", "
                             "found %s", manifest_kind(v));
    const char *s = json_object_get_string(v);
    if (strlen(s) != (size_t)json_object_get_string_len(v))
        return manifest_fail(c, at, "%s contains a NUL character", text_quote(q, sizeof q, s));
    if (!*s)
        return manifest_fail(c, at, "expected an argument such as \"NewImage.total:int64\", "
                             "found an empty string");
    if (!(a->text = strdup(s))) return manifest_fail(c, NULL, "out of memory");
    const char *p = a->text;
    if (!manifest_arg_source_of(c, at, a, &p)) return false;
    bool image = a->type == MANIFEST_ARG_JSON; /* only "image:" sets a type this early */
    if (a->source == MANIFEST_SRC_RECORD) {
        a->type = MANIFEST_ARG_RECORD;
        a->path_len = (size_t)(p - a->text);
        if (*p)
            return manifest_fail(c, at, "%s: record is passed as the const ddb_record * itself "
                                 "and takes no path, type or \"?\" (write \"record\")",
                                 text_quote(q, sizeof q, s));
        return true;
    }
    if (!image && a->source <= MANIFEST_SRC_OLD_IMAGE && !manifest_arg_steps(c, at, a, &p))
        return false;
    a->path_len = (size_t)(p - a->text);
    if (!image && !manifest_arg_type_at(c, at, a, &p)) return false;
    a->optional = *p == '?';
    if (a->optional) p++;
    if (*p)
        return manifest_fail(c, at, "%s: unexpected %s after the type", text_quote(q, sizeof q, s),
                             text_quote(q2, sizeof q2, p));
    return manifest_arg_fits(c, at, a);
}

/* A C identifier: what dlsym can find and what "ddbhost check" shows as a call. */
static bool manifest_identifier(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return false;
    size_t n = strlen(s);
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/* One binding: {"call": "f", "args": [...], "returns": "int"}; every key is required. */
static bool manifest_binding_build(const manifest_ctx *c, const char *at, json_object *v,
                                   manifest_binding *b)
{
    static const char *const keys[] = {"call", "args", "returns", NULL};
    static const char *const returns[] = {"int", "bool", "void", NULL};
    char key_at[MANIFEST_AT_CAP], arg_at[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    json_object *call, *args;
    if (!json_object_is_type(v, json_type_object))
        return manifest_fail(c, at, "expected a binding object ({\"call\": \"function\", \"args\": "
                             "[...], \"returns\": \"int\"}), found %s", manifest_kind(v));
    if (!manifest_known_keys(c, at, v, keys, "\"call\", \"args\" or \"returns\"")) return false;
    if (!json_object_object_get_ex(v, "call", &call))
        return manifest_fail(c, at, "missing key \"call\" (the name of the library function to "
                             "call)");
    const char *name = json_object_is_type(call, json_type_string) ? json_object_get_string(call)
                                                                    : NULL;
    if (!name || !manifest_identifier(name) ||
        strlen(name) != (size_t)json_object_get_string_len(call))
        return manifest_fail(c, manifest_at(key_at, at, "call", -1), "expected the name of an "
                             "exported C function, found %s",
                             name ? text_quote(q, sizeof q, name) : manifest_kind(call));
    if (!json_object_object_get_ex(v, "args", &args))
        return manifest_fail(c, at, "missing key \"args\" (the function's arguments, in order, "
                             "e.g. [\"NewImage.id:string\"]; [] for none)");
    manifest_at(key_at, at, "args", -1);
    if (!json_object_is_type(args, json_type_array))
        return manifest_fail(c, key_at, "expected an array of arguments (e.g. "
                             "[\"NewImage.id:string\"]; [] for none), found %s",
                             manifest_kind(args));
    size_t n = json_object_array_length(args);
    if (n > MANIFEST_MAX_BIND_ARGS)
        return manifest_fail(c, key_at, "%zu arguments, at most %d", n, MANIFEST_MAX_BIND_ARGS);
    if (!json_object_object_get_ex(v, "returns", NULL))
        return manifest_fail(c, at, "missing key \"returns\" (\"int\": 0 is success, \"bool\": "
                             "true is success, or \"void\")");
    int ret = 0;
    if (!manifest_choice(c, at, v, "returns", returns, "\"int\", \"bool\" or \"void\"", &ret))
        return false;
    b->returns = (manifest_returns)ret;
    if (!(b->call = strdup(name)) || (n && !(b->args = calloc(n, sizeof *b->args))))
        return manifest_fail(c, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        b->nargs++;
        if (!manifest_arg_build(c, manifest_at(arg_at, key_at, NULL, (long)i),
                                json_object_array_get_idx(args, i), &b->args[i]))
            return false;
    }
    return true;
}

/* A bound library's path: like a plugin's when it has a '/', else the file of that name in
 * the manifest's directory when there is one, else the bare name for dlopen to search the
 * system's library path with (libm.so.6). Only a path with a '/' must exist now. */
static bool manifest_library(const manifest_ctx *c, const char *handler_at, json_object *v,
                             char **out)
{
    char at[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    struct stat st;
    manifest_at(at, handler_at, "library", -1);
    const char *given = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                  : NULL;
    if (!given || !*given)
        return manifest_fail(c, at, "expected the path or file name of a shared library, found "
                             "%s", given ? "an empty string" : manifest_kind(v));
    if (strlen(given) != (size_t)json_object_get_string_len(v))
        return manifest_fail(c, at, "the path %s contains a NUL character",
                             text_quote(q, sizeof q, given));
    char *path = manifest_resolve(c->path, given);
    if (!path) return manifest_fail(c, NULL, "out of memory");
    int e = stat(path, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : EISDIR;
    if (e && !strchr(given, '/')) {
        free(path);
        if (!(path = strdup(given))) return manifest_fail(c, NULL, "out of memory");
        e = 0;
    }
    if (e == ENOENT)
        manifest_fail(c, at, "no such file %s%s", text_quote(q, sizeof q, path),
                      given[0] == '/' ? ""
                      : " (hint: a relative library path starts from the manifest's directory)");
    else if (e == EISDIR)
        manifest_fail(c, at, "%s is not a regular file", text_quote(q, sizeof q, path));
    else if (e)
        manifest_fail(c, at, "cannot access %s: %s", text_quote(q, sizeof q, path), strerror(e));
    if (e) {
        free(path);
        return false;
    }
    *out = path;
    return true;
}

/* The rest of a bound library's handler: "library" and "bind". A binding for an event that
 * "events" filters out would never be called, which is surely a mistake: refused. */
static bool manifest_bound_build(const manifest_ctx *c, const char *at, json_object *v,
                                 manifest_handler *h)
{
    static const char *const keys[] = {"on_insert", "on_modify", "on_remove", NULL};
    char bind_at[MANIFEST_AT_CAP], one_at[MANIFEST_AT_CAP];
    json_object *library, *bind, *b;
    if (!json_object_object_get_ex(v, "library", &library))
        return manifest_fail(c, at, "missing key \"library\" (the shared library whose functions "
                             "\"bind\" calls)");
    if (!json_object_object_get_ex(v, "bind", &bind))
        return manifest_fail(c, at, "missing key \"bind\" (the library function each event "
                             "calls: {\"on_insert\": {\"call\": ...}})");
    manifest_at(bind_at, at, "bind", -1);
    if (!json_object_is_type(bind, json_type_object) || !json_object_object_length(bind))
        return manifest_fail(c, bind_at, "expected an object binding \"on_insert\", "
                             "\"on_modify\" or \"on_remove\" to a function ({\"on_insert\": "
                             "{\"call\": ...}}), found %s", manifest_kind(bind));
    if (!manifest_known_keys(c, bind_at, bind, keys,
                             "\"on_insert\", \"on_modify\" or \"on_remove\""))
        return false;
    if (!manifest_library(c, at, library, &h->library)) return false;
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++) {
        if (!json_object_object_get_ex(bind, manifest_bind_events[e], &b)) continue;
        const char *name = ddb_event_name_str((ddb_event_name)e);
        manifest_at(one_at, bind_at, manifest_bind_events[e], -1);
        if (!(h->events & (1u << e)))
            return manifest_fail(c, one_at, "%s is not among the handler's \"events\", so this "
                                 "binding would never be called (hint: add \"%s\" to \"events\" "
                                 "or remove the binding)", name, name);
        if (!manifest_binding_build(c, one_at, b, &h->bind[e])) return false;
    }
    if (!(h->at = strdup(at))) return manifest_fail(c, NULL, "out of memory");
    return true;
}

static void manifest_binding_free(manifest_binding *b)
{
    for (size_t i = 0; i < b->nargs; i++) {
        for (size_t k = 0; k < b->args[i].nsteps; k++) free(b->args[i].steps[k].name);
        free(b->args[i].steps);
        free(b->args[i].text);
    }
    free(b->args);
    free(b->call);
}

static bool manifest_handler_build(const manifest_ctx *c, const char *at, json_object *v,
                                   manifest_handler *h)
{
    json_object *plugin, *events, *config;
    static const char *const keys[] = {"plugin", "config", "events", "isolation", NULL};
    static const char *const bound_keys[] = {"library", "bind", "events", "isolation", NULL};
    static const char *const isolation[] = {"none", "process", NULL};
    if (!json_object_is_type(v, json_type_object))
        return manifest_fail(c, at, "expected a handler object ({\"plugin\": ...}), found %s",
                             manifest_kind(v));
    bool bound = json_object_object_get_ex(v, "library", NULL) ||
                 json_object_object_get_ex(v, "bind", NULL);
    if (bound && json_object_object_get_ex(v, "plugin", NULL))
        return manifest_fail(c, at, "\"plugin\" beside \"%s\": a handler is either a plugin or "
                             "a bound library (\"library\" and \"bind\", see docs/BINDINGS.md)",
                             json_object_object_get_ex(v, "library", NULL) ? "library" : "bind");
    if (bound && json_object_object_get_ex(v, "config", NULL))
        return manifest_fail(c, at, "a bound library takes no \"config\": its functions get "
                             "what \"bind\" passes them");
    if (bound ? !manifest_known_keys(c, at, v, bound_keys,
                                     "\"library\", \"bind\", \"events\" or \"isolation\"")
              : !manifest_known_keys(c, at, v, keys,
                                     "\"plugin\", \"config\", \"events\" or \"isolation\""))
        return false;
    int isolated = c->isolated;
    if (!manifest_choice(c, at, v, "isolation", isolation, "\"none\" or \"process\"", &isolated))
        return false;
    h->isolated = isolated == 1;
    h->events = MANIFEST_ALL_EVENTS;
    if (bound) {
        if (json_object_object_get_ex(v, "events", &events) &&
            !manifest_events(c, at, events, &h->events))
            return false;
        return manifest_bound_build(c, at, v, h);
    }
    if (!json_object_object_get_ex(v, "plugin", &plugin))
        return manifest_fail(c, at, "missing key \"plugin\" (the path of the handler's .so file)");
    if (!manifest_plugin(c, at, plugin, &h->plugin)) return false;
    if (json_object_object_get_ex(v, "events", &events) &&
        !manifest_events(c, at, events, &h->events))
        return false;
    if (json_object_object_get_ex(v, "config", &config)) h->config = json_object_get(config);
    return true;
}

static bool manifest_table_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (strcmp(name, "*") == 0) return true;
    if (len < 3 || len > 255) return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static const manifest_stream manifest_stream_defaults = {
    .batch_size = 100,
    .max_batching_window_s = 0,
    .bisect_on_error = true,
    .max_retries = -1,
    .starting_position = MANIFEST_TRIM_HORIZON,
    .parallelization_factor = 1,
    .max_record_age_s = -1,
    .tumbling_window_s = 0,
};

static void manifest_defaults(manifest *m)
{
    m->on_failure = MANIFEST_STOP;
    m->deadline_margin_ms = 1000;
    m->metrics = false;
    m->isolated = false;
    m->record_timeout_ms = 30000;
    m->function = (manifest_function){.memory_mb = 256, .timeout_s = 60,
                                      .architecture = MANIFEST_X86_64, .log_retention_days = 30,
                                      .log_level = DDB_LOG_INFO};
}

/* ---- AWS names: ARNs and filter patterns --------------------------------------------- */

/* The six fields of an ARN, split at the colons outside ${...} (a CloudFormation pseudo
 * parameter such as ${AWS::Partition}); the last keeps any further colons. False when the
 * text has fewer than six fields or does not start with "arn:". */
static bool manifest_arn_fields(const char *arn, ddb_str f[6])
{
    size_t k = 0, depth = 0;
    const char *start = arn;
    for (const char *p = arn; *p; p++) {
        if (p[0] == '$' && p[1] == '{') depth++;
        else if (*p == '}' && depth) depth--;
        else if (*p == ':' && depth == 0 && k < 5) {
            f[k++] = (ddb_str){start, (size_t)(p - start)};
            start = p + 1;
        }
    }
    if (k != 5) return false;
    f[5] = (ddb_str){start, strlen(start)};
    return f[0].len == 3 && memcmp(f[0].ptr, "arn", 3) == 0 && f[1].len > 0;
}

static bool manifest_field_is(ddb_str f, const char *s)
{
    return f.len == strlen(s) && memcmp(f.ptr, s, f.len) == 0;
}

/* A field holds only the given bytes, or pseudo parameters. */
static bool manifest_field_of(ddb_str f, const char *allowed)
{
    for (size_t i = 0; i < f.len; i++) {
        if (f.ptr[i] == '$' && i + 1 < f.len && f.ptr[i + 1] == '{') {
            while (i < f.len && f.ptr[i] != '}') i++;
            if (i == f.len) return false;
        } else if (!strchr(allowed, f.ptr[i])) {
            return false;
        }
    }
    return f.len > 0;
}

#define MANIFEST_NAME_BYTES "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
#define MANIFEST_REGION_BYTES "abcdefghijklmnopqrstuvwxyz0123456789-"

/* "on_failure": where Lambda records a batch it discards. DynamoDB event source mappings take
 * an SQS queue, an SNS topic or an S3 bucket (AWS::Lambda::EventSourceMapping OnFailure);
 * `ddbhost poll` also takes file://PATH, which the template refuses. */
static bool manifest_destination_build(const manifest_ctx *c, const char *parent, json_object *obj,
                                       manifest_stream *s)
{
    static const char *const services[] = {"sqs", "sns", "s3"};
    char at[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    json_object *v;
    if (!json_object_object_get_ex(obj, "on_failure", &v)) return true;
    manifest_at(at, parent, "on_failure", -1);
    const char *arn = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    size_t len = arn ? strlen(arn) : 0;
    if (arn && strncmp(arn, "file://", 7) == 0) { /* `ddbhost poll`'s local destination */
        if (len == 7)
            return manifest_fail(c, at, "file:// names no file (expected file://PATH)");
        if (!(s->on_failure = strdup(arn))) return manifest_fail(c, NULL, "out of memory");
        s->on_failure_kind = MANIFEST_DEST_FILE;
        return true;
    }
    ddb_str f[6];
    if (!arn || len < 12 || len > 1024 || !manifest_arn_fields(arn, f))
        return manifest_fail(c, at, "expected the ARN of an SQS queue, SNS topic or S3 bucket "
                             "(arn:aws:sqs:REGION:ACCOUNT:QUEUE, arn:aws:sns:REGION:ACCOUNT:TOPIC or "
                             "arn:aws:s3:::BUCKET), found %s",
                             arn ? text_quote(q, sizeof q, arn) : manifest_kind(v));
    int kind = 0;
    while (kind < 3 && !manifest_field_is(f[2], services[kind])) kind++;
    if (kind == 3)
        return manifest_fail(c, at, "Lambda records the batches it discards from a DynamoDB stream "
                             "only in an SQS queue, an SNS topic or an S3 bucket, and %s is the "
                             "ARN of a %.*s resource", text_quote(q, sizeof q, arn),
                             (int)f[2].len, f[2].ptr);
    bool ok = kind == MANIFEST_DEST_S3
                  ? f[3].len == 0 && f[4].len == 0 && manifest_field_of(f[5], MANIFEST_NAME_BYTES)
                  : manifest_field_of(f[3], MANIFEST_REGION_BYTES) &&
                        manifest_field_of(f[4], "0123456789") &&
                        manifest_field_of(f[5], MANIFEST_NAME_BYTES);
    if (!ok)
        return manifest_fail(c, at, "%s is not the ARN of %s (expected %s)",
                             text_quote(q, sizeof q, arn),
                             kind == MANIFEST_DEST_S3 ? "an S3 bucket" : kind == MANIFEST_DEST_SQS
                                                                             ? "an SQS queue"
                                                                             : "an SNS topic",
                             kind == MANIFEST_DEST_S3 ? "arn:aws:s3:::BUCKET: the bucket itself, "
                                                        "with no key prefix"
                             : kind == MANIFEST_DEST_SQS ? "arn:aws:sqs:REGION:ACCOUNT:QUEUE"
                                                         : "arn:aws:sns:REGION:ACCOUNT:TOPIC");
    if (!(s->on_failure = strdup(arn))) return manifest_fail(c, NULL, "out of memory");
    s->on_failure_kind = (manifest_destination)kind;
    return true;
}

/* One filter pattern's members below the top: each an object to descend or the array of
 * values to match, as Lambda's filter rule syntax has them. */
static bool manifest_pattern_values(const manifest_ctx *c, const char *at, json_object *obj)
{
    char sub[MANIFEST_AT_CAP];
    json_object_object_foreach(obj, key, v) {
        manifest_at(sub, at, key, -1);
        if (json_object_is_type(v, json_type_object)) {
            if (json_object_object_length(v) == 0)
                return manifest_fail(c, sub, "expected an object of fields to match or an array "
                                     "of values, found an empty object");
            if (!manifest_pattern_values(c, sub, v)) return false;
        } else if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0) {
            return manifest_fail(c, sub, "expected an array of values to match (a filter rule "
                                 "lists what it accepts: {\"S\": [\"shipped\"]}), found %s",
                                 manifest_kind(v));
        }
    }
    return true;
}

/* "filters": Lambda FilterCriteria patterns, checked for the mistakes Lambda would take
 * silently (a pattern that matches nothing) or refuse at deploy time. */
static bool manifest_filters_build(const manifest_ctx *c, const char *parent, json_object *obj,
                                   manifest_stream *s)
{
    static const char *const fields[] = {"eventName", "eventID", "eventVersion", "eventSource",
                                         "awsRegion", "eventSourceARN", "dynamodb",
                                         "userIdentity", NULL};
    char at[MANIFEST_AT_CAP], elem[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    json_object *v;
    if (!json_object_object_get_ex(obj, "filters", &v)) return true;
    manifest_at(at, parent, "filters", -1);
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n < 1 || n > 10)
        return manifest_fail(c, at, "expected an array of 1 to 10 filter patterns (Lambda allows 5 "
                             "per event source mapping, 10 with a quota increase), found %s",
                             n ? "more than 10" : manifest_kind(v));
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(v, i);
        manifest_at(elem, at, NULL, (long)i);
        if (!json_object_is_type(p, json_type_object) || json_object_object_length(p) == 0)
            return manifest_fail(c, elem, "expected a filter pattern object "
                                 "({\"dynamodb\": {\"NewImage\": {\"status\": {\"S\": "
                                 "[\"shipped\"]}}}}), found %s",
                                 json_object_is_type(p, json_type_object) ? "an empty object"
                                                                          : manifest_kind(p));
        json_object_object_foreach(p, key, member) {
            (void)member;
            size_t k = 0;
            while (fields[k] && strcmp(fields[k], key) != 0) k++;
            if (!fields[k])
                return manifest_fail(c, elem, "%s is not a field of a stream record, so the pattern "
                                     "would match nothing (hint: keys, images and the sequence "
                                     "number are under \"dynamodb\": {\"dynamodb\": "
                                     "{\"NewImage\": ...}})", text_quote(q, sizeof q, key));
        }
        if (!manifest_pattern_values(c, elem, p)) return false;
        size_t len = strlen(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
        if (len > 4096)
            return manifest_fail(c, elem, "the pattern is %zu characters as JSON, and Lambda takes "
                                 "at most 4096", len);
    }
    /* The operators and their operands, by the matcher poll uses: one grammar, one check. */
    char err[512];
    filter *f = filter_compile(v, err, sizeof err);
    if (!f) return manifest_fail(c, at, "%s", err);
    filter_free(f);
    s->filters = json_object_get(v);
    return true;
}

/* A route's "stream": the knobs of its table's Lambda event source mapping. */
static bool manifest_stream_build(const manifest_ctx *c, const char *at, json_object *v,
                                  manifest_stream *s)
{
    static const char *const keys[] = {"batch_size", "max_batching_window_s", "bisect_on_error",
                                       "max_retries", "starting_position",
                                       "parallelization_factor", "max_record_age_s",
                                       "tumbling_window_s", "on_failure", "filters", NULL};
    static const char *const positions[] = {"TRIM_HORIZON", "LATEST", NULL};
    char sub[MANIFEST_AT_CAP];
    if (!json_object_is_type(v, json_type_object))
        return manifest_fail(c, at, "expected an object of event source settings "
                             "({\"batch_size\": ...}), found %s", manifest_kind(v));
    int position = (int)s->starting_position;
    bool ok = manifest_known_keys(c, at, v, keys, "\"batch_size\", \"max_batching_window_s\", "
                                  "\"bisect_on_error\", \"max_retries\", \"max_record_age_s\", "
                                  "\"on_failure\", \"starting_position\", "
                                  "\"parallelization_factor\", \"tumbling_window_s\" or "
                                  "\"filters\"") &&
              manifest_int(c, at, v, "batch_size", 1, 10000, &s->batch_size) &&
              manifest_int(c, at, v, "max_batching_window_s", 0, 300, &s->max_batching_window_s) &&
              manifest_bool(c, at, v, "bisect_on_error", &s->bisect_on_error) &&
              manifest_int(c, at, v, "max_retries", -1, 10000, &s->max_retries) &&
              manifest_int(c, at, v, "max_record_age_s", -1, 604800, &s->max_record_age_s) &&
              manifest_choice(c, at, v, "starting_position", positions,
                              "\"TRIM_HORIZON\" or \"LATEST\"", &position) &&
              manifest_int(c, at, v, "parallelization_factor", 1, 10, &s->parallelization_factor) &&
              manifest_int(c, at, v, "tumbling_window_s", 0, 900, &s->tumbling_window_s) &&
              manifest_destination_build(c, at, v, s) && manifest_filters_build(c, at, v, s);
    s->starting_position = (manifest_starting_position)position;
    if (ok && s->max_record_age_s >= 0 && s->max_record_age_s < 60)
        return manifest_fail(c, manifest_at(sub, at, "max_record_age_s", -1),
                             "expected -1 (no limit) or an integer from 60 to 604800, found %" PRId64,
                             s->max_record_age_s);
    return ok;
}

/* A route's value in its long form, {"handlers": ..., "stream": {...}}: checks the form and the
 * stream settings and points *handlers (and handlers_at) at the handlers. */
static bool manifest_route_object(const manifest_ctx *c, const char *table, const char *at,
                                  json_object *v, json_object **handlers,
                                  char handlers_at[MANIFEST_AT_CAP], manifest_stream *s)
{
    static const char *const keys[] = {"handlers", "stream", NULL};
    char stream_at[MANIFEST_AT_CAP];
    json_object *stream;
    if (json_object_object_get_ex(v, "plugin", NULL))
        return manifest_fail(c, at, "\"plugin\" beside \"handlers\" or \"stream\": a route with "
                             "stream settings lists its handlers under \"handlers\" "
                             "({\"handlers\": {\"plugin\": ...}, \"stream\": {...}})");
    if (!manifest_known_keys(c, at, v, keys, "\"handlers\" or \"stream\"")) return false;
    if (!json_object_object_get_ex(v, "handlers", handlers))
        return manifest_fail(c, at, "missing key \"handlers\" (the handler object, or the array "
                             "of them, that serves this table)");
    manifest_at(handlers_at, at, "handlers", -1);
    if (!json_object_object_get_ex(v, "stream", &stream)) return true;
    manifest_at(stream_at, at, "stream", -1);
    if (strcmp(table, "*") == 0)
        return manifest_fail(c, stream_at, "a \"*\" route is not an event source and takes no "
                             "stream settings (hint: give each table a route of its own)");
    return manifest_stream_build(c, stream_at, stream, s);
}

/* Fills r, which the caller has zeroed and counts already, so that manifest_free releases
 * whatever was built before a failure. A route is a handler object, an array of them, or
 * {"handlers": <either>, "stream": {...}}. */
static bool manifest_route_build(const manifest_ctx *c, const char *table, json_object *v,
                                 manifest_route *r)
{
    char at[MANIFEST_AT_CAP], handlers_at[MANIFEST_AT_CAP], elem_at[MANIFEST_AT_CAP];
    char q[TEXT_QUOTE_CAP];
    if (!manifest_table_name_ok(table))
        return manifest_fail(c, "tables", "invalid table name %s (expected \"*\" or a DynamoDB "
                             "table name: 3 to 255 characters among a-z A-Z 0-9 _ - .)",
                             text_quote(q, sizeof q, table));
    manifest_at(at, "tables", table, -1);
    r->stream = manifest_stream_defaults;
    const char *list_at = at;
    if (json_object_is_type(v, json_type_object) &&
        (json_object_object_get_ex(v, "handlers", NULL) ||
         json_object_object_get_ex(v, "stream", NULL))) {
        if (!manifest_route_object(c, table, at, v, &v, handlers_at, &r->stream)) return false;
        list_at = handlers_at;
    }
    bool list = json_object_is_type(v, json_type_array);
    if (!list && !json_object_is_type(v, json_type_object))
        return manifest_fail(c, list_at, "expected a handler object or an array of them, found %s",
                             manifest_kind(v));
    size_t n = list ? json_object_array_length(v) : 1;
    if (n == 0)
        return manifest_fail(c, list_at, "expected at least one handler, found an empty array");
    r->table = strdup(table);
    r->handlers = calloc(n, sizeof *r->handlers);
    if (!r->table || !r->handlers) return manifest_fail(c, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        r->count++;
        if (!manifest_handler_build(c, list ? manifest_at(elem_at, list_at, NULL, (long)i) : list_at,
                                    list ? json_object_array_get_idx(v, i) : v, &r->handlers[i]))
            return false;
    }
    return true;
}

/* One string or a non-empty array of strings, each accepted by ok; what names the expected
 * form in the message. */
static bool manifest_strings(const manifest_ctx *c, const char *at, json_object *v,
                             bool (*ok)(const char *), const char *what)
{
    char elem[MANIFEST_AT_CAP], q[TEXT_QUOTE_CAP];
    if (json_object_is_type(v, json_type_string)) {
        if (ok(json_object_get_string(v))) return true;
        return manifest_fail(c, at, "expected %s, found %s", what,
                             text_quote(q, sizeof q, json_object_get_string(v)));
    }
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n == 0)
        return manifest_fail(c, at, "expected %s or a non-empty array of them, found %s", what,
                             json_object_is_type(v, json_type_array) ? "an empty array"
                                                                      : manifest_kind(v));
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        const char *t = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
        if (!t || !ok(t))
            return manifest_fail(c, manifest_at(elem, at, NULL, (long)i), "expected %s, found %s",
                                 what, t ? text_quote(q, sizeof q, t) : manifest_kind(e));
    }
    return true;
}

/* An IAM action: "*" or service:Name, the name possibly with wildcards. */
static bool manifest_action_ok(const char *a)
{
    const char *colon = strchr(a, ':');
    if (strcmp(a, "*") == 0) return true;
    if (!colon || colon == a) return false;
    size_t service = (size_t)(colon - a);
    return strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789-") == service && colon[1] &&
           strspn(colon + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*?") ==
               strlen(colon + 1);
}

static bool manifest_resource_ok(const char *r)
{
    ddb_str f[6];
    return strcmp(r, "*") == 0 || manifest_arn_fields(r, f);
}

static bool manifest_managed_ok(const char *arn)
{
    ddb_str f[6];
    return manifest_arn_fields(arn, f) && manifest_field_is(f[2], "iam") && f[3].len == 0 &&
           f[4].len > 0 && f[5].len > 7 && memcmp(f[5].ptr, "policy/", 7) == 0;
}

/* One statement of "function.policy", as IAM takes it in a role's identity policy. */
static bool manifest_statement(const manifest_ctx *c, const char *at, json_object *st)
{
    static const char *const keys[] = {"Sid", "Effect", "Action", "NotAction", "Resource",
                                       "NotResource", "Condition", NULL};
    static const char *const effects[] = {"Allow", "Deny", NULL};
    char sub[MANIFEST_AT_CAP];
    json_object *v;
    int effect = 0;
    if (!json_object_is_type(st, json_type_object))
        return manifest_fail(c, at, "expected an IAM policy statement ({\"Effect\": \"Allow\", "
                             "\"Action\": [...], \"Resource\": [...]}), found %s",
                             manifest_kind(st));
    if (json_object_object_get_ex(st, "Principal", NULL) ||
        json_object_object_get_ex(st, "NotPrincipal", NULL))
        return manifest_fail(c, at, "a statement of the function's role takes no \"Principal\": "
                             "the role is the principal");
    if (!manifest_known_keys(c, at, st, keys, "\"Sid\", \"Effect\", \"Action\", "
                             "\"NotAction\", \"Resource\", \"NotResource\" or \"Condition\""))
        return false;
    if (!json_object_object_get_ex(st, "Effect", NULL))
        return manifest_fail(c, at, "missing key \"Effect\" (\"Allow\" or \"Deny\")");
    if (!manifest_choice(c, at, st, "Effect", effects, "\"Allow\" or \"Deny\"", &effect))
        return false;
    static const char *const pairs[2][2] = {{"Action", "NotAction"}, {"Resource", "NotResource"}};
    for (int k = 0; k < 2; k++) {
        bool a = json_object_object_get_ex(st, pairs[k][0], NULL);
        bool b = json_object_object_get_ex(st, pairs[k][1], NULL);
        if (a == b)
            return manifest_fail(c, at, a ? "\"%s\" and \"%s\" together (expected one of them)"
                                          : "missing key \"%s\" (or \"%s\")",
                                 pairs[k][0], pairs[k][1]);
        const char *key = pairs[k][a ? 0 : 1];
        json_object_object_get_ex(st, key, &v);
        if (!manifest_strings(c, manifest_at(sub, at, key, -1), v,
                              k == 0 ? manifest_action_ok : manifest_resource_ok,
                              k == 0 ? "an IAM action (\"s3:PutObject\", \"s3:Get*\" or \"*\")"
                                     : "an ARN (\"arn:aws:s3:::bucket/*\") or \"*\""))
            return false;
    }
    if (json_object_object_get_ex(st, "Sid", &v) &&
        (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
         strspn(json_object_get_string(v), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789") != (size_t)json_object_get_string_len(v)))
        return manifest_fail(c, manifest_at(sub, at, "Sid", -1), "expected letters and digits only "
                             "(IAM's rule for a statement id), found %s", manifest_kind(v));
    if (json_object_object_get_ex(st, "Condition", &v) && !json_object_is_type(v, json_type_object))
        return manifest_fail(c, manifest_at(sub, at, "Condition", -1), "expected an object of "
                             "condition operators, found %s", manifest_kind(v));
    return true;
}

/* "function.policy" and "function.managed_policies": what the plugins need beyond reading
 * the streams, merged into the generated role. */
static bool manifest_role_build(const manifest_ctx *c, json_object *fn, manifest_function *f)
{
    char at[MANIFEST_AT_CAP];
    json_object *v;
    if (json_object_object_get_ex(fn, "policy", &v)) {
        size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
        if (n == 0)
            return manifest_fail(c, "function.policy", "expected a non-empty array of IAM policy "
                                 "statements, found %s",
                                 json_object_is_type(v, json_type_array) ? "an empty array"
                                                                          : manifest_kind(v));
        for (size_t i = 0; i < n; i++)
            if (!manifest_statement(c, manifest_at(at, "function.policy", NULL, (long)i),
                                    json_object_array_get_idx(v, i)))
                return false;
        f->policy = json_object_get(v);
    }
    if (json_object_object_get_ex(fn, "managed_policies", &v)) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 20)
            return manifest_fail(c, "function.managed_policies", "expected an array of at most 20 "
                                 "managed policy ARNs, found %s",
                                 json_object_is_type(v, json_type_array) ? "more than 20"
                                                                          : manifest_kind(v));
        if (json_object_array_length(v) > 0 &&
            !manifest_strings(c, "function.managed_policies", v, manifest_managed_ok,
                              "a managed policy ARN (arn:aws:iam::aws:policy/NAME or "
                              "arn:aws:iam::ACCOUNT:policy/NAME)"))
            return false;
        f->managed_policies = json_object_get(v);
    }
    return true;
}

/* "function.log_retention_days": one of the values CloudWatch Logs accepts. */
static bool manifest_retention(const manifest_ctx *c, json_object *fn, manifest_function *f)
{
    static const int64_t days[] = {1,   3,   5,   7,   14,  30,   60,   90,   120,  150,  180,
                                   365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};
    int64_t n = f->log_retention_days;
    if (!manifest_int(c, "function", fn, "log_retention_days", 1, 3653, &n)) return false;
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++)
        if (days[i] == n) {
            f->log_retention_days = n;
            return true;
        }
    return manifest_fail(c, "function.log_retention_days", "CloudWatch Logs keeps logs 1, 3, 5, 7, "
                         "14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, "
                         "2557, 2922, 3288 or 3653 days, not %" PRId64, n);
}

/* The top-level "function": what `ddbhost template` declares about the Lambda function. */
static bool manifest_function_build(const manifest_ctx *c, json_object *v, manifest_function *f)
{
    static const char *const keys[] = {"name", "memory_mb", "timeout_s", "architecture",
                                       "log_retention_days", "log_level", "policy",
                                       "managed_policies", NULL};
    static const char *const architectures[] = {"x86_64", "arm64", NULL};
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    char q[TEXT_QUOTE_CAP];
    json_object *name;
    if (!json_object_is_type(v, json_type_object))
        return manifest_fail(c, "function", "expected an object describing the Lambda function "
                             "({\"memory_mb\": ...}), found %s", manifest_kind(v));
    if (!manifest_known_keys(c, "function", v, keys,
                             "\"name\", \"memory_mb\", \"timeout_s\", \"architecture\", "
                             "\"log_retention_days\", \"log_level\", \"policy\" or "
                             "\"managed_policies\""))
        return false;
    if (json_object_object_get_ex(v, "name", &name)) {
        const char *s = json_object_is_type(name, json_type_string) ? json_object_get_string(name)
                                                                     : NULL;
        size_t len = s ? (size_t)json_object_get_string_len(name) : 0;
        if (!s || len < 1 || len > 64 ||
            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)
            return manifest_fail(c, "function.name", "expected a Lambda function name (1 to 64 "
                                 "characters among a-z A-Z 0-9 _ -), found %s",
                                 s ? text_quote(q, sizeof q, s) : manifest_kind(name));
        if (!(f->name = strdup(s))) return manifest_fail(c, NULL, "out of memory");
    }
    int architecture = (int)f->architecture, level = (int)f->log_level;
    bool ok = manifest_int(c, "function", v, "memory_mb", 128, 10240, &f->memory_mb) &&
              manifest_int(c, "function", v, "timeout_s", 1, 900, &f->timeout_s) &&
              manifest_choice(c, "function", v, "architecture", architectures,
                              "\"x86_64\" or \"arm64\"", &architecture) &&
              manifest_choice(c, "function", v, "log_level", levels,
                              "\"error\", \"warn\", \"info\" or \"debug\"", &level) &&
              manifest_retention(c, v, f) && manifest_role_build(c, v, f);
    f->architecture = (manifest_architecture)architecture;
    f->log_level = (ddb_log_level)level;
    return ok;
}

static bool manifest_build(const manifest_ctx *c, json_object *root, manifest *m)
{
    static const char *const keys[] = {"tables", "on_failure", "deadline_margin_ms", "metrics",
                                       "function", "isolation", "record_timeout_ms", NULL};
    static const char *const on_failure[] = {"stop", "continue", NULL};
    static const char *const isolation[] = {"none", "process", NULL};
    json_object *tables = NULL, *function = NULL;
    if (!json_object_is_type(root, json_type_object))
        return manifest_fail(c, NULL, "expected an object at the top level, found %s",
                             manifest_kind(root));
    int mode = (int)m->on_failure, isolated = m->isolated;
    bool ok = manifest_known_keys(c, NULL, root, keys, "\"tables\", \"on_failure\", "
                                  "\"deadline_margin_ms\", \"metrics\", \"function\", "
                                  "\"isolation\" or \"record_timeout_ms\"") &&
              manifest_choice(c, "", root, "isolation", isolation, "\"none\" or \"process\"",
                              &isolated) &&
              manifest_int(c, "", root, "record_timeout_ms", 1, 900000, &m->record_timeout_ms) &&
              manifest_choice(c, "", root, "on_failure", on_failure,
                              "\"stop\" or \"continue\"", &mode) &&
              manifest_int(c, "", root, "deadline_margin_ms", 0, 900000,
                           &m->deadline_margin_ms) &&
              manifest_bool(c, "", root, "metrics", &m->metrics) &&
              (!json_object_object_get_ex(root, "function", &function) ||
               manifest_function_build(c, function, &m->function));
    m->on_failure = (manifest_on_failure)mode;
    m->isolated = isolated == 1;
    if (!ok) return false;
    manifest_ctx hc = *c; /* handlers inherit the manifest's isolation */
    hc.isolated = m->isolated;
    c = &hc;
    if (!json_object_object_get_ex(root, "tables", &tables))
        return manifest_fail(c, NULL, "missing key \"tables\" (it maps table names to handlers)");
    if (!json_object_is_type(tables, json_type_object))
        return manifest_fail(c, "tables", "expected an object mapping table names to handlers, "
                             "found %s", manifest_kind(tables));
    size_t n = (size_t)json_object_object_length(tables);
    if (n == 0)
        return manifest_fail(c, "tables", "expected at least one table, found an empty object");
    m->routes = calloc(n, sizeof *m->routes);
    if (!m->routes) return manifest_fail(c, NULL, "out of memory");
    for (struct json_object_iterator it = json_object_iter_begin(tables),
                                     end = json_object_iter_end(tables);
         !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        manifest_route *r = &m->routes[m->count++];
        if (!manifest_route_build(c, json_object_iter_peek_name(&it),
                                  json_object_iter_peek_value(&it), r))
            return false;
    }
    return true;
}

/* ---- entry points --------------------------------------------------------------------- */

bool manifest_parse(const char *text, size_t len, const char *path, manifest *out, char *err,
                    size_t cap)
{
    manifest_ctx c = {path ? path : "-", err, cap, false};
    if (!text) text = "", len = 0;
    if (len > MANIFEST_MAX_BYTES)
        return manifest_fail(&c, NULL, "too large (%zu bytes; the limit is %u MiB)", len,
                             MANIFEST_MAX_BYTES >> 20);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* editors on Windows add a BOM */
        text += 3;
        len -= 3;
    }
    const char *nul = memchr(text, '\0', len);
    if (nul) return manifest_syntax(&c, text, (size_t)(nul - text), "unexpected NUL byte");
    char *buf = strndup(text, len); /* json-c needs the terminating NUL */
    if (!buf) return manifest_fail(&c, NULL, "out of memory");

    manifest m = {0};
    manifest_defaults(&m);
    json_object *root = NULL;
    bool ok = manifest_json(&c, buf, len, &root) && manifest_unique_keys(&c, buf) &&
              manifest_build(&c, root, &m);
    if (ok && !(m.path = strdup(c.path))) ok = manifest_fail(&c, NULL, "out of memory");
    json_object_put(root); /* configs we kept hold their own reference */
    free(buf);
    if (!ok) {
        manifest_free(&m);
        return false;
    }
    *out = m;
    return true;
}

bool manifest_load(const char *path, manifest *out, char *err, size_t cap)
{
    char q[TEXT_QUOTE_CAP], *text = NULL;
    size_t len = 0;
    struct stat st;
    /* A regular file too large is refused unread; "./-" is a file, "-" would be stdin. */
    int e = stat(path, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (!e && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > MANIFEST_MAX_BYTES) {
        manifest_error(err, cap, path, NULL, "too large (%jd bytes; the limit is %u MiB)",
                       (intmax_t)st.st_size, MANIFEST_MAX_BYTES >> 20);
        return false;
    }
    if (!e && !(text = sys_read_file(strcmp(path, "-") == 0 ? "./-" : path, &len))) e = errno;
    if (e) {
        if (err && cap)
            snprintf(err, cap, "cannot read manifest %s: %s", text_quote(q, sizeof q, path), strerror(e));
        return false;
    }
    bool ok = manifest_parse(text, len, path, out, err, cap);
    free(text);
    return ok;
}

bool manifest_single(const char *plugin, manifest *out, char *err, size_t cap)
{
    char q[TEXT_QUOTE_CAP];
    struct stat st;
    int e = stat(plugin, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (e || !S_ISREG(st.st_mode)) {
        if (err && cap)
            snprintf(err, cap, "cannot open plugin %s: %s", text_quote(q, sizeof q, plugin),
                     e ? strerror(e) : "not a regular file");
        return false;
    }
    manifest m = {0};
    manifest_defaults(&m);
    m.path = strdup(plugin);
    m.routes = calloc(1, sizeof *m.routes);
    if (m.routes) {
        m.count = 1;
        m.routes[0].table = strdup("*");
        m.routes[0].stream = manifest_stream_defaults;
        m.routes[0].handlers = calloc(1, sizeof *m.routes[0].handlers);
    }
    if (m.routes && m.routes[0].handlers) {
        m.routes[0].count = 1;
        m.routes[0].handlers[0].plugin = strdup(plugin);
        m.routes[0].handlers[0].events = MANIFEST_ALL_EVENTS;
    }
    if (!m.path || !m.routes || !m.routes[0].table || !m.routes[0].handlers ||
        !m.routes[0].handlers[0].plugin) {
        manifest_free(&m);
        if (err && cap)
            snprintf(err, cap, "cannot open plugin %s: out of memory", text_quote(q, sizeof q, plugin));
        return false;
    }
    *out = m;
    return true;
}

void manifest_free(manifest *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->count; i++) {
        manifest_route *r = &m->routes[i];
        for (size_t j = 0; j < r->count; j++) {
            manifest_handler *h = &r->handlers[j];
            free(h->plugin);
            json_object_put(h->config);
            free(h->library);
            free(h->at);
            for (int e = DDB_INSERT; e <= DDB_REMOVE; e++) manifest_binding_free(&h->bind[e]);
        }
        free(r->handlers);
        free(r->table);
        free(r->stream.on_failure);
        json_object_put(r->stream.filters);
    }
    free(m->routes);
    free(m->path);
    free(m->function.name);
    json_object_put(m->function.policy);
    json_object_put(m->function.managed_policies);
    *m = (manifest){0};
}

size_t manifest_warn(const manifest *m)
{
    char q[TEXT_QUOTE_CAP], at[MANIFEST_AT_CAP], limit[128];
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        const manifest_route *r = &m->routes[i];
        const manifest_stream *s = &r->stream;
        if (strcmp(r->table, "*") == 0 || s->on_failure) continue;
        if (s->max_retries >= 0 && s->max_record_age_s >= 0)
            snprintf(limit, sizeof limit, "max_retries is %" PRId64 " and max_record_age_s is %"
                     PRId64, s->max_retries, s->max_record_age_s);
        else if (s->max_retries >= 0)
            snprintf(limit, sizeof limit, "max_retries is %" PRId64, s->max_retries);
        else if (s->max_record_age_s >= 0)
            snprintf(limit, sizeof limit, "max_record_age_s is %" PRId64, s->max_record_age_s);
        else
            continue;
        manifest_at(at, "tables", r->table, -1);
        log_warn("manifest %s: %s.stream: %s and no \"on_failure\" is set: Lambda drops a batch "
                 "that still fails with no trace (hint: set \"on_failure\" to the ARN of an SQS "
                 "queue, SNS topic or S3 bucket)", text_quote(q, sizeof q, m->path), at, limit);
        n++;
    }
    return n;
}
