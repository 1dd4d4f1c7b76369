/* ddb/plugin.h - the ddbhost plugin ABI, version 1.2: the only header a plugin includes.
 * It owns the descriptor a plugin exports, the callbacks the host calls, the record and value
 * views it hands them, the inline accessors over them and the host service table. It needs
 * nothing beyond <stddef.h>, <stdint.h> and <stdbool.h>, and nothing in it links against the
 * host: accessors are inline, host services come through ddb_host_api.
 *
 * Read it top-down: a quick start, the contract (what a plugin exports and what the host
 * calls), the records and values it receives with their accessors, the host's services,
 * and last the inline code behind the number conversions, which is not API.
 *
 * Quick start: a plugin that prints the key of every inserted item (docs/ABI.md says more).
 *
 *     #include <stdio.h>
 *     #include <ddb/plugin.h>
 *
 *     DDB_PLUGIN("print-keys", "1.0.0");
 *
 *     ddb_status on_insert(const ddb_record *rec, void *state)
 *     {
 *         const char *id;
 *         size_t len;
 *         (void)state;
 *         if (ddb_get_s(ddb_get(rec->keys, "id"), &id, &len) != DDB_OK) return DDB_ERR_TYPE;
 *         printf("%.*s inserted into %.*s\n", (int)len, id, (int)rec->table.len,
 *                rec->table.ptr ? rec->table.ptr : "");
 *         return DDB_OK;
 *     }
 *
 * Build it as a shared object: cc -shared -fPIC -fvisibility=hidden print_keys.c -o
 * print_keys.so, and run it: ddbhost --invoke print_keys.so event.json. */
#ifndef DDB_PLUGIN_H
#define DDB_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define DDB_EXTERN_C extern "C"
#else
#define DDB_EXTERN_C
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DDB_VISIBLE __attribute__((visibility("default")))
#else
#define DDB_VISIBLE
#endif

/* Marks a symbol the host looks up with dlsym. The callback prototypes below already carry
 * it, so a plugin only needs it for symbols of its own. */
#define DDB_EXPORT DDB_EXTERN_C DDB_VISIBLE

#define DDB_PLUGIN_MAGIC 0x44444250u /* "DDBP" */
#define DDB_ABI_MAJOR 1
#define DDB_ABI_MINOR 2

/* ---- statuses ------------------------------------------------------------------------ */

/* Append-only: a value, once given a meaning, keeps it. */
typedef enum ddb_status {
    DDB_OK = 0,            /* handled */
    DDB_ERR_FAILED = 1,    /* the handler could not process the record: retry it */
    DDB_ERR_TYPE = 2,      /* the value is not of the type asked for */
    DDB_ERR_NOT_FOUND = 3, /* no such attribute, member or element */
    DDB_ERR_RANGE = 4,     /* the number does not fit the target type */
    DDB_ERR_INEXACT = 5,   /* the number has no exact representation in the target type */
    DDB_ERR_INVALID = 6,   /* a NULL or otherwise unusable argument */
    DDB_ERR_NOMEM = 7      /* out of memory */
} ddb_status;

static inline const char *ddb_status_str(ddb_status s)
{
    switch (s) {
    case DDB_OK: return "ok";
    case DDB_ERR_FAILED: return "handler failed";
    case DDB_ERR_TYPE: return "wrong attribute type";
    case DDB_ERR_NOT_FOUND: return "not found";
    case DDB_ERR_RANGE: return "number out of range";
    case DDB_ERR_INEXACT: return "number not exactly representable";
    case DDB_ERR_INVALID: return "invalid argument";
    case DDB_ERR_NOMEM: return "out of memory";
    }
    return "unknown status";
}

/* ---- the contract --------------------------------------------------------------------- */

/* The types the callbacks take, defined further down. */
typedef struct ddb_value ddb_value;
typedef struct ddb_record ddb_record;
typedef struct ddb_init ddb_init;
typedef struct ddb_batch ddb_batch;
typedef struct ddb_window ddb_window;

/* The descriptor. Its first four fields are frozen for every ABI version, so any host can
 * read any plugin's header; later fields are only appended within a major version. */
typedef struct ddb_plugin_descriptor {
    uint32_t size;                /* sizeof(ddb_plugin_descriptor) as the plugin was built */
    uint32_t magic;               /* DDB_PLUGIN_MAGIC */
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t reserved_;
    const char *name;             /* non-empty */
    const char *version;
} ddb_plugin_descriptor;

/* Declare the plugin once, at file scope: DDB_PLUGIN("orders-audit", "1.2.0"); */
#define DDB_PLUGIN(name, version)                                                          \
    DDB_EXPORT const ddb_plugin_descriptor ddb_plugin_info = {                             \
        sizeof(ddb_plugin_descriptor), DDB_PLUGIN_MAGIC, DDB_ABI_MAJOR, DDB_ABI_MINOR, 0u, \
        (name), (version)}

/* Record callbacks: export any subset, at least one. DDB_OK = handled; any other status
 * fails this record, and the host reports it in batchItemFailures so Lambda retries it.
 * rec is borrowed; state is what on_init returned (NULL without on_init). */
DDB_EXPORT ddb_status on_insert(const ddb_record *rec, void *state);
DDB_EXPORT ddb_status on_modify(const ddb_record *rec, void *state);
DDB_EXPORT ddb_status on_remove(const ddb_record *rec, void *state);

/* Optional. on_init runs once after the plugin is accepted, before any record; on failure
 * it returns non-OK with a reason in init->error and the host refuses to start.
 * on_fini runs once at shutdown with the same state. */
DDB_EXPORT ddb_status on_init(const ddb_init *init, void **state);
DDB_EXPORT void on_fini(void *state);

/* Optional, for transactional sinks: begin before the first record of an event that this
 * handler receives, end after the last (commit there). A non-OK status from either fails
 * every record this handler received in the batch. In a tumbling-window invocation they also
 * run for a handler of the event's table that receives no record (ABI 1.2 plugins only): the
 * window's last invocation often carries none. */
DDB_EXPORT ddb_status on_batch_begin(const ddb_batch *batch, void *state);
DDB_EXPORT ddb_status on_batch_end(const ddb_batch *batch, void *state);

/* ---- records ------------------------------------------------------------------------- */

typedef enum ddb_event_name { DDB_INSERT = 1, DDB_MODIFY = 2, DDB_REMOVE = 3 } ddb_event_name;

typedef enum ddb_view_type {
    DDB_VIEW_UNKNOWN = 0, /* StreamViewType absent */
    DDB_VIEW_KEYS_ONLY = 1,
    DDB_VIEW_NEW_IMAGE = 2,
    DDB_VIEW_OLD_IMAGE = 3,
    DDB_VIEW_NEW_AND_OLD_IMAGES = 4
} ddb_view_type;

/* Text borrowed from the event: UTF-8, NUL-terminated, len bytes; ptr is NULL when absent. */
typedef struct ddb_str {
    const char *ptr;
    size_t len;
} ddb_str;

/* One stream record. Borrowed: valid until the callback that received it returns; copy
 * what you keep. Fields are only ever appended, and `size` is sizeof(ddb_record) as the
 * host built it. */
struct ddb_record {
    uint32_t size;
    uint32_t index;               /* position in the event's Records array, from 0 */
    ddb_event_name event_name;
    ddb_view_type view_type;
    bool ttl_delete;              /* a REMOVE made by DynamoDB's Time to Live process */
    bool has_creation_time;
    int64_t creation_time_ms;     /* ApproximateCreationDateTime in ms since the epoch */
    int64_t size_bytes;           /* SizeBytes, -1 when absent */
    ddb_str event_id;
    ddb_str table;                /* from eventSourceARN; ptr NULL when not derivable */
    ddb_str sequence_number;      /* decimal digits, up to 40: compare as text, not int */
    ddb_str region;
    ddb_str event_source_arn;
    ddb_str event_version;
    const ddb_value *keys;        /* DDB_M values, NULL when the event lacks them */
    const ddb_value *new_image;
    const ddb_value *old_image;
};

static inline const char *ddb_event_name_str(ddb_event_name n)
{
    return n == DDB_INSERT ? "INSERT" : n == DDB_MODIFY ? "MODIFY" : n == DDB_REMOVE ? "REMOVE" : "";
}

/* ---- attribute values ---------------------------------------------------------------- */

/* The ten DynamoDB types. DDB_NONE is what ddb_type_of() says of a NULL pointer. */
typedef enum ddb_type {
    DDB_NONE = 0,
    DDB_S = 1,    /* string: UTF-8, explicit length */
    DDB_N = 2,    /* number: exact decimal text, up to 38 significant digits */
    DDB_B = 3,    /* binary: already base64-decoded bytes */
    DDB_BOOL = 4,
    DDB_NULL = 5,
    DDB_M = 6,    /* map: members in event order */
    DDB_L = 7,    /* list: elements of any type */
    DDB_SS = 8,   /* string set: elements are DDB_S values */
    DDB_NS = 9,   /* number set: elements are DDB_N values */
    DDB_BS = 10   /* binary set: elements are DDB_B values */
} ddb_type;

/* One attribute value. The layout is frozen for ABI major 1, but read it through the
 * accessors below: they check the type and never crash on a value of another type.
 * Every pointer is borrowed: valid until the callback that received it returns. */
struct ddb_value {
    uint8_t type;      /* a ddb_type */
    uint8_t boolean;   /* DDB_BOOL: 0 or 1 */
    uint16_t reserved_;
    uint32_t len;      /* S, N, B: bytes; M: members; L, SS, NS, BS: elements */
    const void *ptr;   /* S, N: chars followed by a NUL not counted in len; B: bytes;
                          M: ddb_member[len]; L, SS, NS, BS: ddb_value[len] */
};

/* One member of a map: its name (UTF-8, NUL-terminated, explicit length) and value. */
typedef struct ddb_member {
    const char *name;
    uint32_t name_len;
    uint32_t reserved_;
    ddb_value value;
} ddb_member;

static inline ddb_type ddb_type_of(const ddb_value *v) { return v ? (ddb_type)v->type : DDB_NONE; }

static inline const char *ddb_type_name(ddb_type t)
{
    static const char *const names[] = {"none", "S", "N",  "B",  "BOOL", "NULL",
                                        "M",    "L", "SS", "NS", "BS"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static inline ddb_status ddb_scalar_(const ddb_value *v, ddb_type want, const void **p, size_t *len)
{
    if (!v) return DDB_ERR_INVALID;
    if (v->type != want) return DDB_ERR_TYPE;
    if (p) *p = v->ptr;
    if (len) *len = v->len;
    return DDB_OK;
}

/* S: UTF-8 text and its length in bytes (the text may contain NUL; a NUL also follows it). */
static inline ddb_status ddb_get_s(const ddb_value *v, const char **text, size_t *len)
{
    return ddb_scalar_(v, DDB_S, (const void **)text, len);
}

/* N: the number's exact decimal text as the event carried it, e.g. "-12.50E3". */
static inline ddb_status ddb_get_n(const ddb_value *v, const char **text, size_t *len)
{
    return ddb_scalar_(v, DDB_N, (const void **)text, len);
}

/* B: the decoded bytes (not base64). */
static inline ddb_status ddb_get_b(const ddb_value *v, const uint8_t **bytes, size_t *len)
{
    return ddb_scalar_(v, DDB_B, (const void **)bytes, len);
}

static inline ddb_status ddb_get_bool(const ddb_value *v, bool *out)
{
    if (!v || !out) return DDB_ERR_INVALID;
    if (v->type != DDB_BOOL) return DDB_ERR_TYPE;
    *out = v->boolean != 0;
    return DDB_OK;
}

static inline bool ddb_is_null(const ddb_value *v) { return v && v->type == DDB_NULL; }

/* Members of an M, elements of an L, SS, NS or BS; 0 for anything else. */
static inline size_t ddb_count(const ddb_value *v)
{
    return v && v->type >= DDB_M ? v->len : 0;
}

/* Element i of an L, SS, NS or BS; NULL when out of range or not such a value. */
static inline const ddb_value *ddb_at(const ddb_value *v, size_t i)
{
    if (!v || v->type < DDB_L || i >= v->len) return NULL;
    return (const ddb_value *)v->ptr + i;
}

/* Member i of an M, in event order; its name through name/name_len (either may be NULL).
 * NULL when out of range or not a map. */
static inline const ddb_value *ddb_member_at(const ddb_value *m, size_t i, const char **name,
                                             size_t *name_len)
{
    const ddb_member *e;
    if (!m || m->type != DDB_M || i >= m->len) return NULL;
    e = (const ddb_member *)m->ptr + i;
    if (name) *name = e->name;
    if (name_len) *name_len = e->name_len;
    return &e->value;
}

/* The member of map m named name (len bytes); NULL when absent or m is not a map.
 * NULL-safe, so lookups chain: ddb_getn(ddb_get(img, "address"), "city", 4). */
static inline const ddb_value *ddb_getn(const ddb_value *m, const char *name, size_t len)
{
    const ddb_member *e;
    uint32_t i;
    size_t k;
    if (!m || !name || m->type != DDB_M) return NULL;
    e = (const ddb_member *)m->ptr;
    for (i = 0; i < m->len; i++) {
        if (e[i].name_len != len) continue;
        for (k = 0; k < len && e[i].name[k] == name[k]; k++) {}
        if (k == len) return &e[i].value;
    }
    return NULL;
}

static inline const ddb_value *ddb_get(const ddb_value *m, const char *name)
{
    size_t len = 0;
    if (!name) return NULL;
    while (name[len]) len++;
    return ddb_getn(m, name, len);
}

/* ---- numbers: checked conversions of N values -------------------------------------- */

/* N to int64, checked: DDB_ERR_INEXACT when it has a fractional part, DDB_ERR_RANGE when it
 * does not fit; *out is written only on DDB_OK. Works on NS elements too. */
static inline ddb_status ddb_n_int64(const ddb_value *v, int64_t *out);

/* N to uint64, checked the same way (a negative number is DDB_ERR_RANGE, -0 is 0). */
static inline ddb_status ddb_n_uint64(const ddb_value *v, uint64_t *out);

/* N to double, checked. *out is the double nearest to the number (ties to even), the same
 * bits strtod gives, for every N DynamoDB holds; DDB_OK when it equals the number exactly
 * (12, 0.5; 0.1 and 19.99 do not), DDB_ERR_INEXACT when it does not. DynamoDB's range (1E-130
 * to 9.99E+125) never leaves the doubles; DDB_ERR_RANGE for anything that would. */
static inline ddb_status ddb_n_double(const ddb_value *v, double *out);

/* ---- host services ------------------------------------------------------------------- */

typedef enum ddb_log_level {
    DDB_LOG_ERROR = 0,
    DDB_LOG_WARN = 1,
    DDB_LOG_INFO = 2,
    DDB_LOG_DEBUG = 3
} ddb_log_level;

/* The forms of JSON text host->json writes, every number with its own digits and every
 * string exact: DDB_JSON_PLAIN {"total":12.50,"photo":"iVBO..."} (N as a JSON number, B as
 * base64, sets as arrays); DDB_JSON_DYNAMODB {"N":"12.50"}, one typed value as the stream
 * carries it; DDB_JSON_ITEM {"id":{"S":"a"},"total":{"N":"12.50"}}, a map's members in
 * DynamoDB JSON: an image or the keys as DynamoDB's APIs take them. */
typedef enum ddb_json_form {
    DDB_JSON_PLAIN = 0,
    DDB_JSON_DYNAMODB = 1,
    DDB_JSON_ITEM = 2
} ddb_json_form;

typedef struct ddb_handle ddb_handle; /* the host's record of one loaded handler */
typedef struct ddb_config ddb_config; /* a handler's "config" object from the manifest */

/* Handed to on_init; entries are only ever appended. A plugin built against this header
 * only ever runs on a host of the same or a newer minor version, so every entry it knows
 * is there; `size` is sizeof(ddb_host_api) as the host built it. */
typedef struct ddb_host_api {
    uint32_t size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /* One log line attributed to the handler: printf-style format. */
    void (*log)(const ddb_handle *self, ddb_log_level level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* Config lookups by top-level key. Strings are owned by the host and live until on_fini.
     * config_string: NULL when absent or not a string. */
    const char *(*config_string)(const ddb_config *cfg, const char *key);
    /* DDB_ERR_NOT_FOUND when absent, DDB_ERR_TYPE when not an integer. */
    ddb_status (*config_int64)(const ddb_config *cfg, const char *key, int64_t *out);
    ddb_status (*config_bool)(const ddb_config *cfg, const char *key, bool *out);

    /* ABI 1.1: the Lambda invocation being served. Strings are owned by the host and valid
     * until the batch ends; NULL outside an invocation (under `ddbhost --invoke`). */
    const char *(*request_id)(const ddb_handle *self);
    const char *(*function_arn)(const ddb_handle *self);
    /* Milliseconds left before Lambda's deadline for this invocation; -1 when there is none. */
    int64_t (*remaining_ms)(const ddb_handle *self);

    /* ABI 1.2: sets this handler's tumbling-window state to json (len bytes), a JSON object,
     * copied. Lambda hands it back in the window's next invocation; batch->window->state shows
     * it from now on. Any callback of a window invocation may set it; on_batch_end, where it
     * is whole, is the usual place. DDB_ERR_INVALID when json is not a JSON object: the
     * invocation then fails, with one line naming the plugin. DDB_ERR_NOT_FOUND outside a
     * tumbling-window invocation. */
    ddb_status (*set_window_state)(const ddb_handle *self, const char *json, size_t len);

    /* ABI 1.2: v as exact JSON text, in the form asked for (ddb_json_form), NUL-terminated in
     * out. Writes at most cap bytes, NUL included, and returns the length of the whole text
     * as snprintf does: when that is cap or more, call again with a buffer one byte longer.
     * 0 when the host is out of memory (no JSON text is empty). */
    size_t (*json)(const ddb_value *v, ddb_json_form form, char *out, size_t cap);
} ddb_host_api;

/* What on_init receives. Borrowed: valid during on_init only, except host, self and config,
 * which stay valid until on_fini returns. */
struct ddb_init {
    uint32_t size;
    const ddb_host_api *host;
    const ddb_handle *self;       /* pass to host->log */
    const ddb_config *config;     /* pass to host->config_* */
    const char *config_json;      /* the same config as JSON text, "null" when none */
    const char *plugin_path;
    const char *route;            /* the manifest table this handler serves ("*" for any) */
    char *error;                  /* on failure, write a one-line reason here */
    size_t error_cap;
};

/* What the batch hooks receive. Borrowed: valid during the hook only. */
struct ddb_batch {
    uint32_t size;
    uint32_t records;             /* records in the event */
    ddb_status status;            /* on_batch_end: DDB_OK when every record this handler got
                                     succeeded, else the first failure */
    const ddb_window *window;     /* ABI 1.2: the tumbling window the event belongs to, NULL
                                     when the event source mapping has none */
};

/* ABI 1.2: a tumbling window (TumblingWindowInSeconds on the event source mapping): Lambda
 * calls the function several times per window and shard, handing each invocation the state
 * the last one returned. Each handler has a state of its own, a JSON object. Borrowed: valid
 * during the hook only. */
struct ddb_window {
    uint32_t size;                /* sizeof(ddb_window) as the host built it */
    bool final_invoke;            /* isFinalInvokeForWindow: the window's last invocation, its
                                     state the window's result */
    bool terminated_early;        /* isWindowTerminatedEarly: Lambda ended the window before its
                                     time (the whole state passed 1 MB) */
    int64_t start_ms;             /* the window, [start, end), in ms since the epoch; 0 when */
    int64_t end_ms;               /* the event lacks a bound */
    ddb_str start;                /* the bounds as the event wrote them (ISO 8601), */
    ddb_str end;                  /* e.g. "2020-07-30T17:00:00Z" */
    ddb_str shard_id;             /* the shard the records come from */
    ddb_str state;                /* this handler's state as JSON text: "{}" when the window
                                     starts, then what it last set (set_window_state) */
};

/* ---- sizes the ABI pins ---------------------------------------------------------------- */

/* Enum and bool fields of ABI structs have the sizes the host was built with: 4 bytes for an
 * enum, 1 for a bool. A compiler that makes them smaller (-fshort-enums) fails here instead of
 * building a plugin that reads the wrong bytes. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define DDB_ASSERT_SIZE_(what, n) static_assert(sizeof(what) == (n), #what " must be " #n " bytes")
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define DDB_ASSERT_SIZE_(what, n) _Static_assert(sizeof(what) == (n), #what " must be " #n " bytes")
#else /* C99 and C++98: an array of negative size when the size is wrong */
#define DDB_ASSERT_SIZE_2_(what, n, line) typedef char ddb_size_check_##line[sizeof(what) == (n) ? 1 : -1]
#define DDB_ASSERT_SIZE_1_(what, n, line) DDB_ASSERT_SIZE_2_(what, n, line)
#define DDB_ASSERT_SIZE_(what, n) DDB_ASSERT_SIZE_1_(what, n, __LINE__)
#endif
DDB_ASSERT_SIZE_(ddb_status, 4);
DDB_ASSERT_SIZE_(ddb_event_name, 4);
DDB_ASSERT_SIZE_(ddb_view_type, 4);
DDB_ASSERT_SIZE_(ddb_log_level, 4);
DDB_ASSERT_SIZE_(((ddb_record *)0)->ttl_delete, 1);
DDB_ASSERT_SIZE_(((ddb_record *)0)->has_creation_time, 1);
DDB_ASSERT_SIZE_(((ddb_batch *)0)->status, 4);
DDB_ASSERT_SIZE_(((ddb_window *)0)->final_invoke, 1);
DDB_ASSERT_SIZE_(((ddb_window *)0)->terminated_early, 1);

/* ---- not API: the inline code behind the number conversions -------------------------- */

/* Everything from here on is how ddb_n_int64, ddb_n_uint64 and ddb_n_double are computed.
 * Names ending in '_' are not API: they may change or go in any version. */

/* Splits an N's text into sign, significant digits and a power of ten:
 * value = (neg ? -1 : 1) * digits[0..*nd) * 10^*exp10, leading and trailing zeros removed.
 * Returns false when the text is not a number (the host never hands out such an N, but a
 * value built by hand may be anything). The grammar is the one the host's decoder checks;
 * it is written again here because a plugin needs nothing of the host. */
static inline bool ddb_n_split_(const ddb_value *v, bool *neg, char digits[40], int *nd, long *exp10)
{
    const char *s = (const char *)v->ptr, *end = s + v->len;
    long e = 0, x = 0, zeros = 0; /* zeros: seen after the last non-zero digit */
    int n = 0, seen = 0, xneg = 0;
    *neg = false;
    if (s < end && (*s == '-' || *s == '+')) *neg = *s++ == '-';
    for (; s < end && ((*s >= '0' && *s <= '9') || *s == '.'); s++) {
        if (*s == '.') { if (seen & 2) return false; seen |= 2; continue; }
        seen |= 1;
        if (seen & 2) e--;
        if (*s == '0') { if (n) zeros++; continue; }
        if (n + zeros >= 40) return false;
        for (; zeros > 0; zeros--) digits[n++] = '0';
        digits[n++] = *s;
    }
    if (!(seen & 1)) return false;
    if (s < end && (*s == 'e' || *s == 'E')) {
        if (++s < end && (*s == '-' || *s == '+')) xneg = *s++ == '-';
        if (s == end) return false;
        for (; s < end && *s >= '0' && *s <= '9'; s++)
            if (x < 100000) x = x * 10 + (*s - '0');
    }
    if (s != end) return false;
    *nd = n;
    *exp10 = e + zeros + (xneg ? -x : x);
    return true;
}

/* Internal (not API): N as a magnitude of at most lim and its sign, checked. */
static inline ddb_status ddb_n_integer_(const ddb_value *v, bool *neg, uint64_t *out, uint64_t lim)
{
    char d[40];
    int nd, i;
    long e;
    uint64_t u = 0;
    if (!v || !out) return DDB_ERR_INVALID;
    if (v->type != DDB_N) return DDB_ERR_TYPE;
    if (!ddb_n_split_(v, neg, d, &nd, &e)) return DDB_ERR_INVALID;
    if (nd == 0) { *out = 0; return DDB_OK; }
    if (e < 0) return DDB_ERR_INEXACT;
    if (nd + e > 20) return DDB_ERR_RANGE;
    for (i = 0; i < nd + e; i++) {
        unsigned dig = i < nd ? (unsigned)(d[i] - '0') : 0u;
        if (u > (lim - dig) / 10u) return DDB_ERR_RANGE;
        u = u * 10u + dig;
    }
    *out = u;
    return DDB_OK;
}

static inline ddb_status ddb_n_int64(const ddb_value *v, int64_t *out)
{
    bool neg = false;
    uint64_t u;
    ddb_status st = ddb_n_integer_(v, &neg, &u, (uint64_t)INT64_MAX + 1u);
    if (st != DDB_OK) return st;
    if (!neg && u > (uint64_t)INT64_MAX) return DDB_ERR_RANGE;
    *out = neg ? (int64_t)(0u - u) : (int64_t)u;
    return DDB_OK;
}

static inline ddb_status ddb_n_uint64(const ddb_value *v, uint64_t *out)
{
    bool neg = false;
    uint64_t u;
    ddb_status st = ddb_n_integer_(v, &neg, &u, UINT64_MAX);
    if (st != DDB_OK) return st;
    if (neg && u != 0) return DDB_ERR_RANGE;
    *out = u;
    return DDB_OK;
}

/* Internals of ddb_n_double (not API: they may change in any version). A non-negative
 * integer in 32-bit limbs w[0..n), least significant first. 36 limbs hold any N as
 * ddb_n_round_ scales it: up to 40 digits times 5^400, or shifted left to be divided by it. */
typedef struct ddb_big_ {
    uint32_t w[36];
    int n;
} ddb_big_;

static inline void ddb_big_muladd_(ddb_big_ *a, uint32_t mul, uint32_t add)
{
    uint64_t c = add;
    int i;
    for (i = 0; i < a->n; i++) { c += (uint64_t)a->w[i] * mul; a->w[i] = (uint32_t)c; c >>= 32; }
    if (c) a->w[a->n++] = (uint32_t)c;
}

/* a /= d; true when it leaves a remainder. Inlined with a constant d, it multiplies. */
static inline bool ddb_big_div_(ddb_big_ *a, uint32_t d)
{
    uint64_t r = 0;
    int i;
    for (i = a->n - 1; i >= 0; i--) {
        r = r << 32 | a->w[i];
        a->w[i] = (uint32_t)(r / d);
        r %= d;
    }
    while (a->n > 0 && a->w[a->n - 1] == 0) a->n--;
    return r != 0;
}

static inline int ddb_big_bits_(const ddb_big_ *a)
{
    int b;
    if (a->n == 0) return 0;
    for (b = 32; !((a->w[a->n - 1] >> (b - 1)) & 1u); b--) {}
    return (a->n - 1) * 32 + b;
}

static inline void ddb_big_shl_(ddb_big_ *a, int bits)
{
    int limbs = bits / 32, s = bits % 32, i, j;
    for (i = a->n + limbs; i >= 0; i--) {
        uint32_t hi = 0, lo = 0;
        j = i - limbs;
        if (j >= 0 && j < a->n) hi = a->w[j];
        if (j >= 1 && j - 1 < a->n) lo = a->w[j - 1];
        a->w[i] = s ? (hi << s) | (lo >> (32 - s)) : hi;
    }
    a->n += limbs + 1;
    while (a->n > 0 && a->w[a->n - 1] == 0) a->n--;
}

/* The 64 bits of a (non-zero) from its highest set bit down; *low: how many bits of a lie
 * below them (negative when a is shorter); *sticky set when any of those is 1. */
static inline uint64_t ddb_big_top64_(const ddb_big_ *a, int *low, bool *sticky)
{
    int s = ddb_big_bits_(a) - 64, at, sh, i;
    uint64_t lo, mid, hi;
    *low = s;
    if (s <= 0) return ((a->n > 1 ? (uint64_t)a->w[1] << 32 : 0u) | a->w[0]) << -s;
    at = s / 32, sh = s % 32;
    lo = a->w[at], mid = a->w[at + 1], hi = at + 2 < a->n ? a->w[at + 2] : 0u;
    for (i = 0; i < at; i++) if (a->w[i]) *sticky = true;
    if (sh == 0) return mid << 32 | lo;
    if (lo & ((1u << sh) - 1u)) *sticky = true;
    return hi << (64 - sh) | mid << (32 - sh) | lo >> sh;
}

/* r * 2^k, exactly while the result stays a normal double. */
static inline double ddb_scale2_(double r, long k)
{
    for (; k >= 64; k -= 64) r *= 18446744073709551616.0;
    for (; k <= -64; k += 64) r /= 18446744073709551616.0;
    return k >= 0 ? r * (double)(1ull << k) : r / (double)(1ull << -k);
}

/* digits[0..nd) * 10^e rounded to the nearest double, ties to even, in integers: the digits
 * times 5^e, or shifted left and divided by 5^-e so that at least 64 bits of the quotient
 * stand above the point (the 2^e of 10^e only moves the point). Its top 53 bits are the
 * double; the bits below and the remainder decide the rounding and *exact. False when the
 * result is not a normal double. */
static inline bool ddb_n_round_(const char *digits, int nd, long e, double *out, bool *exact)
{
    static const uint32_t p5[] = {1u, 5u, 25u, 125u, 625u, 3125u, 15625u, 78125u, 390625u,
                                  1953125u, 9765625u, 48828125u, 244140625u, 1220703125u};
    ddb_big_ a;
    long k = e < 0 ? -e : e, two = e; /* the value is a * 2^two once a holds digits * 5^e */
    int i, j, low;
    bool rest = false;
    uint64_t top, mant;
    a.n = 0;
    for (i = 0; i < nd; i += 9) {
        uint32_t chunk = 0, scale = 1u;
        for (j = i; j < nd && j < i + 9; j++, scale *= 10u) chunk = chunk * 10u + (uint32_t)(digits[j] - '0');
        ddb_big_muladd_(&a, scale, chunk);
    }
    if (e >= 0) {
        for (; k >= 13; k -= 13) ddb_big_muladd_(&a, 1220703125u, 0u); /* 5^13 */
        ddb_big_muladd_(&a, p5[k], 0u);
    } else {
        int shift = 64 + (int)(k * 2322 / 1000) + 1 - ddb_big_bits_(&a); /* 5^k < 2^(2.322k+1) */
        if (shift > 0) ddb_big_shl_(&a, shift), two -= shift;
        for (; k >= 13; k -= 13)
            if (ddb_big_div_(&a, 1220703125u)) rest = true;
        if (ddb_big_div_(&a, p5[k])) rest = true;
    }
    top = ddb_big_top64_(&a, &low, &rest);
    mant = top >> 11;
    *exact = !rest && (top & 0x7FFu) == 0;
    if ((top & 0x7FFu) > 0x400u || ((top & 0x7FFu) == 0x400u && (rest || (mant & 1u)))) mant++;
    two += low + 11;
    if (mant >> 53) { mant >>= 1; two++; }
    if (two + 52 < -1022 || two + 53 > 1024) return false; /* beyond a normal double */
    *out = ddb_scale2_((double)mant, two);
    return true;
}

static inline ddb_status ddb_n_double(const ddb_value *v, double *out)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    char d[40];
    int nd, i;
    long e;
    bool neg, exact;
    double r = 0;
    if (!v || !out) return DDB_ERR_INVALID;
    if (v->type != DDB_N) return DDB_ERR_TYPE;
    if (!ddb_n_split_(v, &neg, d, &nd, &e)) return DDB_ERR_INVALID;
    if (nd == 0) { *out = neg ? -0.0 : 0.0; return DDB_OK; }
    if (e > 400 || e < -400) return DDB_ERR_RANGE;
    if (nd <= 15 && e >= -22 && e <= 22) {
        /* Clinger's fast path: both operands exact, so one correctly rounded operation; the
         * result is exact when a multiplication's is or the division leaves no remainder. */
        uint64_t mant = 0, odd, five = 1;
        for (i = 0; i < nd; i++) mant = mant * 10u + (uint64_t)(d[i] - '0');
        for (i = 0; i < (e < 0 ? -e : e); i++) five *= 5u;
        for (odd = mant; !(odd & 1u); odd >>= 1) {}
        /* mant * 10^e is odd * 5^e * 2^(e + twos): exact when odd * 5^e fits 53 bits;
         * mant / 10^k is exact when 5^k divides mant (the twos only move the point). */
        exact = e >= 0 ? odd <= (1ull << 53) / five : mant % five == 0;
        r = e >= 0 ? (double)mant * p10[e] : (double)mant / p10[-e];
    } else if (!ddb_n_round_(d, nd, e, &r, &exact)) {
        return DDB_ERR_RANGE;
    }
    *out = neg ? -r : r;
    return exact ? DDB_OK : DDB_ERR_INEXACT;
}

#endif /* DDB_PLUGIN_H */
