/* bind.c - bindings: calls an exported function of a plain shared library on each record,
 * with arguments taken from the record as the manifest's "bind" says, through libffi. Owns
 * the library, one ffi_cif per bound event and the scratch the arguments are computed into.
 * It never guesses a value: what cannot be passed exactly fails the record. */
#include "bind.h"

#include <dlfcn.h>
#include <ffi.h>
#include <link.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "log.h"
#include "render.h"
#include "text.h"

/* libffi passes a C bool as a uint8: true on every ABI ddbhost builds for. */
_Static_assert(sizeof(bool) == 1, "bool is passed to libffi as a uint8");

/* One C argument as libffi reads it: every member starts at the union's first byte. */
typedef union bind_slot {
    const void *ptr;
    size_t size;
    int32_t i32;
    int64_t i64;
    uint64_t u64;
    double d;
    uint8_t b;
} bind_slot;

/* The function one event calls, prepared at load. */
typedef struct bind_call {
    const manifest_binding *spec;
    void (*fn)(void);
    ffi_cif cif;
    size_t nc;          /* C arguments: a bytes argument takes two */
    ffi_type **types;   /* [nc] */
    void **values;      /* [nc], each pointing at its slot */
    bind_slot *slots;   /* [nc]: this record's argument values */
    size_t *text_at;    /* [nc]: 1 + offset into text of a JSON argument's text, else 0 */
    uint32_t *hints;    /* per step of each argument in turn: where its member was last found */
    render_buf text;    /* the JSON texts of this record's arguments, kept between records */
} bind_call;

struct bind_library {
    const manifest_handler *spec;
    const char *name;   /* the file name part of spec->library */
    void *dl;
    bind_call *calls[4]; /* indexed by ddb_event_name */
};

/* ---- loading ------------------------------------------------------------------------- */

/* dlopen runs the library's constructors, so the loader's trust check for plugins holds here
 * too (loader_trust: who could have replaced the file, a link judged by its target). */
static bool bind_check_writers(const char *manifest_path, const manifest_handler *spec,
                               char *err, size_t cap)
{
    char at[640], why[8192];
    if (loader_trust(spec->library, why, sizeof why)) return true;
    snprintf(at, sizeof at, "%s.library", spec->at);
    manifest_error(err, cap, manifest_path, at, "\"%s\" %s", spec->library, why);
    return false;
}

static ffi_type *bind_ffi_type(manifest_arg_type t)
{
    switch (t) {
    case MANIFEST_ARG_INT32: return &ffi_type_sint32;
    case MANIFEST_ARG_INT64: return &ffi_type_sint64;
    case MANIFEST_ARG_UINT64: return &ffi_type_uint64;
    case MANIFEST_ARG_DOUBLE: return &ffi_type_double;
    case MANIFEST_ARG_BOOL: return &ffi_type_uint8;
    default: return &ffi_type_pointer; /* string, bytes' pointer, json, record */
    }
}

/* The function spec->call exports, or NULL after saying in err why there is none. */
static void *bind_function(const bind_library *b, const manifest_binding *spec,
                           const char *manifest_path, const char *at, char *err, size_t cap)
{
    void *sym = dlsym(b->dl, spec->call);
    if (!sym) {
        manifest_error(err, cap, manifest_path, at, "\"%s\" is not exported by \"%s\" (hint: "
                       "nm -D --defined-only %s lists what it exports; a C++ function needs "
                       "extern \"C\")", spec->call, b->name, b->spec->library);
        return NULL;
    }
    /* Calling data would jump into it: the symbol table says which it is, when it says. */
    Dl_info info;
    const ElfW(Sym) *elf = NULL;
    int type = dladdr1(sym, &info, (void **)&elf, RTLD_DL_SYMENT) && elf
                   ? ELF64_ST_TYPE(elf->st_info) /* ELF32_ST_TYPE is the same */
                   : STT_NOTYPE;
    if (type == STT_OBJECT || type == STT_TLS || type == STT_COMMON) {
        manifest_error(err, cap, manifest_path, at, "\"%s\" in \"%s\" is data, not a function",
                       spec->call, b->name);
        return NULL;
    }
    return sym;
}

/* Allocates c's per-argument arrays and sets the C type of each of spec's arguments. False
 * when out of memory; bind_close frees whatever was allocated. */
static bool bind_alloc_args(bind_call *c, const manifest_binding *spec)
{
    for (size_t i = 0; i < spec->nargs; i++) c->nc += spec->args[i].type == MANIFEST_ARG_BYTES ? 2 : 1;
    size_t n = c->nc ? c->nc : 1;
    c->types = calloc(n, sizeof *c->types);
    c->values = calloc(n, sizeof *c->values);
    c->slots = calloc(n, sizeof *c->slots);
    c->text_at = calloc(n, sizeof *c->text_at);
    size_t steps = 1;
    for (size_t i = 0; i < spec->nargs; i++) steps += spec->args[i].nsteps;
    c->hints = calloc(steps, sizeof *c->hints);
    if (!c->types || !c->values || !c->slots || !c->text_at || !c->hints) return false;
    for (size_t i = 0, k = 0; i < spec->nargs; i++) {
        c->types[k++] = bind_ffi_type(spec->args[i].type);
        if (spec->args[i].type == MANIFEST_ARG_BYTES)
            c->types[k++] = sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
    }
    for (size_t k = 0; k < c->nc; k++) c->values[k] = &c->slots[k];
    return true;
}

/* Finds spec's function in the library and prepares its call. */
static bool bind_prepare(bind_library *b, const char *manifest_path, ddb_event_name e,
                         char *err, size_t cap)
{
    static const char *const keys[] = {NULL, "on_insert", "on_modify", "on_remove"};
    const manifest_binding *spec = &b->spec->bind[e];
    char at[640];
    snprintf(at, sizeof at, "%s.bind.%s.call", b->spec->at, keys[e]);
    void *sym = bind_function(b, spec, manifest_path, at, err, cap);
    if (!sym) return false;
    bind_call *c = b->calls[e] = calloc(1, sizeof *c);
    if (!c || !bind_alloc_args(c, spec)) {
        manifest_error(err, cap, manifest_path, at, "out of memory preparing \"%s\"", spec->call);
        return false;
    }
    c->spec = spec;
    memcpy(&c->fn, &sym, sizeof sym); /* POSIX: a function survives the trip through void * */
    ffi_type *ret = spec->returns == MANIFEST_RETURNS_INT    ? &ffi_type_sint
                    : spec->returns == MANIFEST_RETURNS_BOOL ? &ffi_type_uint8
                                                             : &ffi_type_void;
    ffi_status st = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, (unsigned)c->nc, ret, c->types);
    if (st != FFI_OK) {
        snprintf(at, sizeof at, "%s.bind.%s", b->spec->at, keys[e]);
        manifest_error(err, cap, manifest_path, at, "libffi cannot prepare a call to \"%s\" "
                       "with these arguments (ffi_prep_cif status %d)", spec->call, (int)st);
        return false;
    }
    return true;
}
bind_library *bind_open(const char *manifest_path, const manifest_handler *spec, char *err,
                        size_t cap)
{
    char at[640];
    bind_library *b = calloc(1, sizeof *b);
    snprintf(at, sizeof at, "%s.library", spec->at);
    if (!b) {
        manifest_error(err, cap, manifest_path, at, "out of memory loading \"%s\"", spec->library);
        return NULL;
    }
    b->spec = spec;
    const char *slash = strrchr(spec->library, '/');
    b->name = slash ? slash + 1 : spec->library;
    if (!bind_check_writers(manifest_path, spec, err, cap)) goto fail;
    b->dl = dlopen(spec->library, RTLD_NOW | RTLD_LOCAL);
    if (!b->dl) {
        const char *why = dlerror();
        size_t n = strlen(spec->library);
        if (!why) why = "unknown error";
        /* dlerror() starts with the name given to dlopen, which the message shows already. */
        else if (strncmp(why, spec->library, n) == 0 && strncmp(why + n, ": ", 2) == 0) why += n + 2;
        manifest_error(err, cap, manifest_path, at, "cannot load \"%s\": %s%s", spec->library, why,
                       slash ? "" : " (hint: a bare file name that is not next to the manifest "
                                    "is searched for in the system's library path; give a path "
                                    "to load a file of your own)");
        goto fail;
    }
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++)
        if (spec->bind[e].call && !bind_prepare(b, manifest_path, (ddb_event_name)e, err, cap))
            goto fail;
    return b;
fail:
    bind_close(b);
    return NULL;
}

void bind_close(bind_library *b)
{
    if (!b) return;
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++) {
        bind_call *c = b->calls[e];
        if (!c) continue;
        free(c->types);
        free(c->values);
        free(c->slots);
        free(c->text_at);
        free(c->hints);
        render_free(&c->text);
        free(c);
    }
    if (b->dl) dlclose(b->dl);
    free(b);
}

const char *bind_name(const bind_library *b) { return b->name; }

bool bind_has(const bind_library *b, ddb_event_name e)
{
    return (unsigned)e < 4 && b->calls[e] != NULL;
}

void bind_describe(const bind_library *b, const char *table, FILE *out)
{
    static const char *const returns[] = {"int", "bool", "void"};
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++) {
        const manifest_binding *spec = &b->spec->bind[e];
        if (!b->calls[e]) continue;
        fprintf(out, "%s: bind %s on %s -> %s(", table, b->name,
                ddb_event_name_str((ddb_event_name)e), spec->call);
        for (size_t i = 0; i < spec->nargs; i++)
            fprintf(out, "%s%s%s", i ? ", " : "", manifest_arg_type_name(spec->args[i].type),
                    spec->args[i].optional ? "?" : "");
        fprintf(out, ") returns %s\n", returns[spec->returns]);
    }
}

/* ---- one record ----------------------------------------------------------------------- */

static const ddb_value *bind_map(const ddb_record *rec, manifest_arg_source s)
{
    return s == MANIFEST_SRC_KEYS        ? rec->keys
           : s == MANIFEST_SRC_NEW_IMAGE ? rec->new_image
                                         : rec->old_image;
}

/* Attribute names are short: eight bytes at a time, inline, beat a call to memcmp. */
static bool bind_same(const char *a, const char *b, size_t n)
{
    uint64_t x, y;
    for (; n >= 8; n -= 8, a += 8, b += 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return false;
    }
    for (; n; n--)
        if (*a++ != *b++) return false;
    return true;
}

/* The member of map v that st names; NULL when there is none. The records of a table mostly
 * list their attributes in the same order, so it looks first where it found the name last
 * time (*hint), then scans. */
static const ddb_value *bind_member(const ddb_value *v, const manifest_step *st, uint32_t *hint)
{
    const char *name = NULL;
    size_t len = 0;
    if (ddb_type_of(v) != DDB_M) return NULL;
    const ddb_value *m = ddb_member_at(v, *hint, &name, &len);
    if (m && len == st->name_len && bind_same(name, st->name, len)) return m;
    for (uint32_t k = 0; k < v->len; k++) {
        m = ddb_member_at(v, k, &name, &len);
        if (len == st->name_len && bind_same(name, st->name, len)) {
            *hint = k;
            return m;
        }
    }
    return NULL;
}

/* The attribute a's path leads to, hint holding a's steps' hints; NULL when something on the
 * way is absent or NULL, or is neither map nor list (bind_path_problem tells which). */
static const ddb_value *bind_find(const manifest_arg *a, const ddb_record *rec, uint32_t *hint)
{
    const ddb_value *v = bind_map(rec, a->source);
    for (size_t i = 0; v && i < a->nsteps; i++) {
        const manifest_step *st = &a->steps[i];
        v = st->name ? bind_member(v, st, &hint[i]) : ddb_at(v, st->index);
    }
    return v;
}

static void bind_putc(char **o, const char *end, char ch)
{
    if (*o < end) *(*o)++ = ch;
}

/* a's path up to step `upto` as the manifest would write it, cut to fit cap. */
static void bind_path_text(const manifest_arg *a, size_t upto, char *out, size_t cap)
{
    static const char *const maps[] = {"Keys", "NewImage", "OldImage"};
    char *o = out, num[16];
    const char *end = out + cap - 1;
    for (const char *m = maps[a->source]; *m; m++) bind_putc(&o, end, *m);
    for (size_t i = 0; i < upto; i++) {
        const manifest_step *st = &a->steps[i];
        if (!st->name) {
            snprintf(num, sizeof num, "[%u]", (unsigned)st->index);
            for (const char *m = num; *m; m++) bind_putc(&o, end, *m);
            continue;
        }
        bool plain = st->name_len > 0;
        for (size_t k = 0; k < st->name_len && plain; k++)
            plain = (unsigned char)st->name[k] >= 0x20 && !strchr(".[]:?'\"\\", st->name[k]);
        bind_putc(&o, end, plain ? '.' : '[');
        if (!plain) bind_putc(&o, end, '\'');
        for (size_t k = 0; k < st->name_len; k++) {
            if (!plain && (st->name[k] == '\'' || st->name[k] == '\\')) bind_putc(&o, end, '\\');
            bind_putc(&o, end, st->name[k]);
        }
        if (!plain) bind_putc(&o, end, '\'');
        if (!plain) bind_putc(&o, end, ']');
    }
    *o = '\0';
}

/* Why bind_find found nothing, for the log line: which step, and what was there. Sets
 * *type_error when something on the way has a type the path cannot go through. */
static void bind_path_problem(const manifest_arg *a, const ddb_record *rec, char *out, size_t cap,
                              bool *type_error)
{
    char path[512];
    const ddb_value *v = bind_map(rec, a->source);
    *type_error = false;
    if (!v) {
        bind_path_text(a, 0, path, sizeof path);
        snprintf(out, cap, "the record has no %s", path);
        return;
    }
    for (size_t i = 0; i < a->nsteps; i++) {
        const manifest_step *st = &a->steps[i];
        const ddb_value *next = st->name ? ddb_getn(v, st->name, st->name_len) : ddb_at(v, st->index);
        if (next && !ddb_is_null(next)) {
            v = next;
            continue;
        }
        bool wrong = st->name ? v->type != DDB_M : v->type < DDB_L;
        bind_path_text(a, wrong ? i : i + 1, path, sizeof path);
        if (wrong) {
            *type_error = true;
            snprintf(out, cap, "%s is %s, not a %s", path, ddb_type_name((ddb_type)v->type),
                     st->name ? "map" : "list or set");
        } else if (next) {
            snprintf(out, cap, "%s is NULL", path);
        } else if (!st->name) {
            snprintf(out, cap, "%s is missing (the %s has %u element%s)", path,
                     v->type == DDB_L ? "list" : "set", (unsigned)v->len, v->len == 1 ? "" : "s");
        } else {
            snprintf(out, cap, "%s is missing", path);
        }
        return;
    }
    bind_path_text(a, a->nsteps, path, sizeof path);
    snprintf(out, cap, "%s is missing", path);
}

/* Logs why record rec fails in c's binding and returns st. */
static ddb_status bind_fail(const bind_library *b, const bind_call *c, const ddb_record *rec,
                            ddb_status st, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static ddb_status bind_fail(const bind_library *b, const bind_call *c, const ddb_record *rec,
                            ddb_status st, const char *fmt, ...)
{
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    /* The logger keeps it one line, whatever attribute names hold. */
    log_record_failure(rec, ": %s in \"%s\" %s", c->spec->call, b->name, why);
    return st;
}

/* The argument could not be computed: logs it, naming args[i] as written. */
#define BIND_REJECT(st, ...)                                                                    \
    bind_arg_fail(b, c, rec, i, (st), __VA_ARGS__)

static ddb_status bind_arg_fail(const bind_library *b, const bind_call *c, const ddb_record *rec,
                                size_t i, ddb_status st, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static ddb_status bind_arg_fail(const bind_library *b, const bind_call *c, const ddb_record *rec,
                                size_t i, ddb_status st, const char *fmt, ...)
{
    char why[768], q[TEXT_QUOTE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return bind_fail(b, c, rec, st, "not called: args[%zu] %s: %s", i,
                     text_quote(q, sizeof q, c->spec->args[i].text), why);
}

/* Argument i from the record's own fields: its table, eventID, SequenceNumber or eventName. */
static ddb_status bind_arg_field(const bind_library *b, const bind_call *c, const ddb_record *rec,
                                 size_t i, bind_slot *s)
{
    const manifest_arg *a = &c->spec->args[i];
    const ddb_str *f = a->source == MANIFEST_SRC_TABLE       ? &rec->table
                       : a->source == MANIFEST_SRC_EVENT_ID ? &rec->event_id
                                                            : &rec->sequence_number;
    ddb_str name = {ddb_event_name_str(rec->event_name), 0};
    if (a->source == MANIFEST_SRC_EVENT_NAME) name.len = strlen(name.ptr), f = &name;
    if (!f->ptr && !a->optional)
        return BIND_REJECT(DDB_ERR_NOT_FOUND, "the record has no %.*s", (int)a->path_len,
                           a->text);
    if (a->type == MANIFEST_ARG_STRING && f->ptr && memchr(f->ptr, '\0', f->len))
        return BIND_REJECT(DDB_ERR_INVALID, "it contains a NUL byte, which a C string "
                           "cannot carry (hint: pass it as bytes)");
    s->ptr = f->ptr;
    if (a->type == MANIFEST_ARG_BYTES) s[1].size = f->ptr ? f->len : 0;
    return DDB_OK;
}

/* Argument i's path found nothing (v is NULL) or a NULL: an optional argument passes zeros
 * (NULL, 0, false); otherwise the record fails, naming the step that found what. */
static ddb_status bind_arg_absent(const bind_library *b, const bind_call *c, const ddb_record *rec,
                                  size_t i, bind_slot *s, const ddb_value *v)
{
    const manifest_arg *a = &c->spec->args[i];
    char why[640];
    bool type_error = false;
    if (!v) bind_path_problem(a, rec, why, sizeof why, &type_error);
    else snprintf(why, sizeof why, "%.*s is NULL", (int)a->path_len, a->text);
    if (a->optional && !type_error) {
        memset(s, 0, (a->type == MANIFEST_ARG_BYTES ? 2 : 1) * sizeof *s);
        return DDB_OK;
    }
    if (type_error) return BIND_REJECT(DDB_ERR_TYPE, "%s", why);
    return BIND_REJECT(v ? DDB_ERR_TYPE : DDB_ERR_NOT_FOUND, "%s (hint: a trailing \"?\" "
                       "passes %s instead)", why, a->type <= MANIFEST_ARG_BYTES || a->type == MANIFEST_ARG_JSON
                                    ? "NULL"
                                : a->type == MANIFEST_ARG_BOOL ? "false"
                                                               : "0");
}

/* N to the nearest double: 19.99 has no exact double, and the nearest one is what everyone
 * means, so only a number beyond a double's range fails. */
static ddb_status bind_n_double(const ddb_value *v, double *out)
{
    ddb_status st = ddb_n_double(v, out);
    return st == DDB_ERR_INEXACT ? DDB_OK : st;
}

/* The N v as argument i's number type, into s; it fails when it does not fit or, for an
 * integer type, is not a whole number. */
static ddb_status bind_arg_number(const bind_library *b, const bind_call *c, const ddb_record *rec,
                                  size_t i, bind_slot *s, const ddb_value *v)
{
    const manifest_arg *a = &c->spec->args[i];
    ddb_status st;
    if (a->type == MANIFEST_ARG_UINT64) {
        st = ddb_n_uint64(v, &s->u64);
    } else if (a->type == MANIFEST_ARG_DOUBLE) {
        st = bind_n_double(v, &s->d);
    } else {
        st = ddb_n_int64(v, &s->i64);
        if (st == DDB_OK && a->type == MANIFEST_ARG_INT32) {
            if (s->i64 < INT32_MIN || s->i64 > INT32_MAX) st = DDB_ERR_RANGE;
            else s->i32 = (int32_t)s->i64;
        }
    }
    if (st == DDB_ERR_RANGE)
        return BIND_REJECT(st, "%.*s is %.*s, out of range for %s", (int)a->path_len, a->text,
                           (int)(v->len < 48 ? v->len : 48), (const char *)v->ptr,
                           manifest_arg_type_name(a->type));
    if (st == DDB_ERR_INEXACT)
        return BIND_REJECT(st, "%.*s is %.*s, not a whole number as %s needs", (int)a->path_len,
                           a->text, (int)(v->len < 48 ? v->len : 48), (const char *)v->ptr,
                           manifest_arg_type_name(a->type));
    if (st != DDB_OK)
        return BIND_REJECT(st, "%.*s: %s", (int)a->path_len, a->text, ddb_status_str(st));
    return DDB_OK;
}

/* The value v as argument i's C type, into s (a JSON argument's text into c's text). */
static ddb_status bind_arg_value(const bind_library *b, bind_call *c, const ddb_record *rec,
                                 size_t i, bind_slot *s, const ddb_value *v)
{
    const manifest_arg *a = &c->spec->args[i];
    ddb_type t = ddb_type_of(v);
    const char *wants = NULL;
    switch (a->type) {
    case MANIFEST_ARG_STRING:
        if (t != DDB_S && t != DDB_N) wants = "S or N";
        else if (memchr(v->ptr, '\0', v->len))
            return BIND_REJECT(DDB_ERR_INVALID, "%.*s contains a NUL byte, which a C string "
                               "cannot carry (hint: pass it as bytes)", (int)a->path_len, a->text);
        else s->ptr = v->ptr;
        break;
    case MANIFEST_ARG_BYTES:
        if (t != DDB_B && t != DDB_S) wants = "B or S";
        else s[0].ptr = v->ptr, s[1].size = v->len;
        break;
    case MANIFEST_ARG_INT32:
    case MANIFEST_ARG_INT64:
    case MANIFEST_ARG_UINT64:
    case MANIFEST_ARG_DOUBLE:
        if (t != DDB_N) wants = "N";
        else return bind_arg_number(b, c, rec, i, s, v);
        break;
    case MANIFEST_ARG_BOOL:
        if (t != DDB_BOOL) wants = "BOOL";
        else s->b = v->boolean;
        break;
    case MANIFEST_ARG_JSON:
        if (!render_plain(&c->text, v) || !render_put(&c->text, "", 1))
            return BIND_REJECT(DDB_ERR_NOMEM, "out of memory for its JSON text");
        break;
    default: break;
    }
    if (wants)
        return BIND_REJECT(DDB_ERR_TYPE, "%.*s is %s, and %s takes %s", (int)a->path_len, a->text,
                           ddb_type_name(t), manifest_arg_type_name(a->type), wants);
    return DDB_OK;
}

/* Computes argument i of c from rec into c's slots from slot k on; hint: its steps' hints. */
static ddb_status bind_arg(const bind_library *b, bind_call *c, const ddb_record *rec, size_t i,
                           size_t k, uint32_t *hint)
{
    const manifest_arg *a = &c->spec->args[i];
    bind_slot *s = &c->slots[k];
    c->text_at[k] = 0;
    if (a->source == MANIFEST_SRC_RECORD) {
        s->ptr = rec;
        return DDB_OK;
    }
    if (a->source >= MANIFEST_SRC_TABLE) return bind_arg_field(b, c, rec, i, s);
    const ddb_value *v = bind_find(a, rec, hint);
    if (!v || (ddb_is_null(v) && (a->optional || a->type != MANIFEST_ARG_JSON)))
        return bind_arg_absent(b, c, rec, i, s, v);
    return bind_arg_value(b, c, rec, i, s, v);
}

ddb_status bind_on_record(const ddb_record *rec, void *library)
{
    bind_library *b = library;
    bind_call *c = (unsigned)rec->event_name < 4 ? b->calls[rec->event_name] : NULL;
    if (!c) return DDB_OK;
    const manifest_binding *spec = c->spec;
    bool texts = false;
    c->text.len = 0;
    uint32_t *hint = c->hints;
    for (size_t i = 0, k = 0; i < spec->nargs; i++) {
        size_t before = c->text.len;
        ddb_status st = bind_arg(b, c, rec, i, k, hint);
        if (st != DDB_OK) return st;
        hint += spec->args[i].nsteps;
        if (c->text.len != before) { /* a JSON text: its address is known once all are written */
            c->text_at[k] = before + 1;
            texts = true;
        }
        k += spec->args[i].type == MANIFEST_ARG_BYTES ? 2 : 1;
    }
    for (size_t k = 0; texts && k < c->nc; k++)
        if (c->text_at[k]) c->slots[k].ptr = c->text.text + c->text_at[k] - 1;
    ffi_arg rc = 0;
    ffi_call(&c->cif, c->fn, &rc, c->values);
    if (spec->returns == MANIFEST_RETURNS_INT && (int)(ffi_sarg)rc != 0)
        return bind_fail(b, c, rec, DDB_ERR_FAILED, "returned %d (0 is success)", (int)(ffi_sarg)rc);
    if (spec->returns == MANIFEST_RETURNS_BOOL && !(rc & 0xFF))
        return bind_fail(b, c, rec, DDB_ERR_FAILED, "returned false (true is success)");
    return DDB_OK;
}
