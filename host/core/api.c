/* api.c - the host service table that every plugin receives in on_init: logging attributed
 * to the handler, typed lookups in its "config" (a json-c object), the invocation served, the
 * tumbling-window state a handler sets, values as JSON text (render). Holds no state of its
 * own; it must never let a plugin's bad argument crash the host. */
#include "api.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "render.h"
#include "text.h"

static void api_log(const ddb_handle *self, ddb_log_level level, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    if (!fmt) return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* The logger writes one line per message: a plugin's newlines must not forge others. */
    for (char *c = text; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    if ((unsigned)level > DDB_LOG_DEBUG) level = DDB_LOG_DEBUG;
    log_msg(level, "%s: %s", self && self->name ? self->name : "plugin", text);
}

/* Looks up member key of cfg: false when cfg is not an object or has no such member. A
 * member that is JSON null is present, with *val NULL (json-c's null), so of no type. */
static bool api_member(const ddb_config *cfg, const char *key, struct json_object **val)
{
    struct json_object *obj = (struct json_object *)cfg;
    *val = NULL;
    if (!obj || !key || !json_object_is_type(obj, json_type_object)) return false;
    return json_object_object_get_ex(obj, key, val);
}

static const char *api_config_string(const ddb_config *cfg, const char *key)
{
    struct json_object *v;
    api_member(cfg, key, &v);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static ddb_status api_config_int64(const ddb_config *cfg, const char *key, int64_t *out)
{
    struct json_object *v;
    int64_t n;
    if (!out || !key) return DDB_ERR_INVALID;
    if (!api_member(cfg, key, &v)) return DDB_ERR_NOT_FOUND;
    if (!v || !json_object_is_type(v, json_type_int)) return DDB_ERR_TYPE;
    /* json-c keeps integers above INT64_MAX as uint64 and clamps int64 reads to INT64_MAX.
     * (Below INT64_MIN it clamps while parsing, which no reader can tell apart.) */
    n = json_object_get_int64(v);
    if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX) return DDB_ERR_RANGE;
    *out = n;
    return DDB_OK;
}

static ddb_status api_config_bool(const ddb_config *cfg, const char *key, bool *out)
{
    struct json_object *v;
    if (!out || !key) return DDB_ERR_INVALID;
    if (!api_member(cfg, key, &v)) return DDB_ERR_NOT_FOUND;
    if (!v || !json_object_is_type(v, json_type_boolean)) return DDB_ERR_TYPE;
    *out = json_object_get_boolean(v) != 0;
    return DDB_OK;
}

int64_t api_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static const char *api_request_id(const ddb_handle *self)
{
    return self && self->invocation ? self->invocation->request_id : NULL;
}

static const char *api_function_arn(const ddb_handle *self)
{
    return self && self->invocation && self->invocation->request_id
               ? self->invocation->function_arn
               : NULL;
}

static int64_t api_remaining_ms(const ddb_handle *self)
{
    if (!self || !self->invocation || self->invocation->deadline_ms <= 0) return -1;
    int64_t left = self->invocation->deadline_ms - api_now_ms();
    return left > 0 ? left : 0;
}

bool api_window_text(api_window *w, const char *json, size_t len)
{
    if (len + 1 > w->cap) {
        char *grown = malloc(len + 1); /* not realloc: json may be the old text */
        if (!grown) return false;
        memcpy(grown, json, len);
        free(w->text);
        w->text = grown;
        w->cap = len + 1;
    } else {
        memmove(w->text, json, len);
    }
    w->text[len] = '\0';
    w->len = len;
    w->view.state = (ddb_str){w->text, len};
    return true;
}

/* A state that is not a JSON object would reach Lambda, and come back in the next event, which
 * the decoder would refuse: it fails the invocation instead (the first reason is kept). */
static ddb_status api_set_window_state(const ddb_handle *self, const char *json, size_t len)
{
    char why[300];
    if (!self) return DDB_ERR_INVALID;
    api_window *w = self->window;
    if (!w) return DDB_ERR_NOT_FOUND;
    if (!text_json_object(json, json ? len : 0, why, sizeof why)) {
        if (!w->error[0])
            snprintf(w->error, sizeof w->error,
                     "set a tumbling-window state that is not a JSON object: %s", why);
        return DDB_ERR_INVALID;
    }
    if (!api_window_text(w, json, len)) return DDB_ERR_NOMEM;
    w->set = true;
    return DDB_OK;
}

/* Rendered whole, then copied as far as it fits: a plugin asks again with the length. */
static size_t api_json(const ddb_value *v, ddb_json_form form, char *out, size_t cap)
{
    render_buf b = {0};
    bool ok = form == DDB_JSON_DYNAMODB ? render_dynamodb(&b, v)
              : form == DDB_JSON_ITEM   ? (ddb_type_of(v) == DDB_M ? render_item(&b, v)
                                                                   : render_put(&b, "null", 4))
                                        : render_plain(&b, v);
    size_t len = ok ? b.len : 0;
    if (out && cap) {
        size_t n = len < cap ? len : cap - 1;
        if (n) memcpy(out, b.text, n);
        out[n] = '\0';
    }
    render_free(&b);
    return len;
}

const ddb_host_api *api_table(void)
{
    static const ddb_host_api table = {
        .size = sizeof(ddb_host_api),
        .abi_major = DDB_ABI_MAJOR,
        .abi_minor = DDB_ABI_MINOR,
        .log = api_log,
        .config_string = api_config_string,
        .config_int64 = api_config_int64,
        .config_bool = api_config_bool,
        .request_id = api_request_id,
        .function_arn = api_function_arn,
        .remaining_ms = api_remaining_ms,
        .set_window_state = api_set_window_state,
        .json = api_json,
    };
    return &table;
}
