/* router.c - joins a manifest to loaded plugins and delivers decoded records to them.
 * Owns the handler instances, the per-batch failure marks, each handler's tumbling window, the
 * manifest it was made from and the worker of isolated handlers (which alone loads and calls
 * them); decides "stop" and "continue". Knows nothing of how events come and go. */
#include "router.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bind.h"
#include "event.h"
#include "isolate.h"
#include "loader.h"
#include "log.h"
#include "text.h"

/* Requests to the worker process of the isolated handlers. */
enum {
    ROUTER_OP_LOAD = 1, /* dlopen the plugin: its name and version come back */
    ROUTER_OP_INIT,     /* run its on_init */
    ROUTER_OP_INVOKE,   /* the invocation the next event belongs to */
    ROUTER_OP_EVENT,    /* the event's bytes, to decode */
    ROUTER_OP_RECORD,
    ROUTER_OP_END,
    ROUTER_OP_FINI,
    ROUTER_OP_BEGIN     /* open the batch of a handler that may receive no record */
};
#define ROUTER_NAME_SEP '\x1f' /* between name and version in ROUTER_OP_LOAD's answer */
#define ROUTER_TRACE_VAR "_X_AMZN_TRACE_ID" /* the invocation's trace id, as Lambda exports it */
#define ROUTER_WINDOW_MINOR 2 /* the ABI minor version that brought tumbling windows */

typedef struct router_handler {
    loader_plugin plugin;
    bind_library *binding;   /* instead of a plugin: a bound library's functions */
    loader_record_fn on_record[4]; /* by ddb_event_name: the plugin's callbacks, or
                                      bind_on_record for a bound event (state: binding) */
    const manifest_handler *spec;
    struct ddb_handle handle;
    void *state;
    bool initialised;
    bool in_batch;           /* received a record of the current batch (for an isolated
                                handler: of the current worker) */
    ddb_status begin_status; /* on_batch_begin's answer: non-OK fails every record */
    ddb_status batch_status; /* first failure in the current batch, for on_batch_end */
    bool remote;             /* an isolated plugin: loaded only in the worker */
    bool remote_commits;     /* remote, and it has on_batch_end */
    bool down;               /* remote, and the current worker could not load or start it */
    char *remote_name;       /* remote: "NAME\0VERSION" as the worker read them; owned */
    ddb_plugin_descriptor remote_info; /* remote: plugin.info points here */
    /* In a tumbling-window invocation (handle.window points at window), for a plugin built
     * for ABI 1.2 or later: */
    api_window window;
    char *window_key;        /* its member of Lambda's state object; owned */
    bool took_record;        /* it received a record of the event */
    ddb_status window_failed; /* its batch failed (a hook, or its worker died): its state is
                                 dropped, and with no record to retry the invocation fails */
} router_handler;

typedef struct router_route {
    const char *table;
    size_t table_len;
    router_handler *handlers;
    size_t count;
} router_route;

struct router {
    manifest manifest;       /* the handlers' specs, configs and bindings point into it */
    router_route *routes;
    size_t count;
    size_t *route_records;
    api_invocation invocation;
    int64_t margin_ms;
    const router_route *wildcard;
    manifest_on_failure on_failure;
    router_outcome *outcome; /* per record of the current batch */
    size_t cap_outcome;
    ddb_str *failures;
    size_t cap_failures;
    const event_batch *batch;  /* being delivered (in the worker: its own decoding) */
    int64_t record_timeout_ms;
    size_t isolated;           /* handlers whose code runs in the worker */
    isolate *worker;           /* NULL without isolated handlers, or after it died */
    bool worker_has_event;     /* it decoded the event being delivered */
    char restart_failed[1024]; /* why a worker could not be started again in this event, so
                                  that its other records do not each fork one more to fail */
    size_t worker_first;       /* the first record of this batch the current worker was given */
    char *event;               /* the event's bytes as they came, for the worker */
    size_t event_len, event_cap;
    router_window_state *states; /* the tumbling-window states set in this event */
    size_t cap_states;
    /* In the worker process only: */
    event_decoder *decoder;
    event_batch worker_batch;
    char worker_request_id[128], worker_function_arn[512];
    char worker_trace_env[1024]; /* "_X_AMZN_TRACE_ID=...", in the worker's environment */
};

static bool router_init_handler(router_handler *h, const char *route,
                                const api_invocation *invocation, char *err, size_t cap)
{
    char reason[512] = "";
    h->handle.name = h->binding ? bind_name(h->binding) : h->plugin.info->name;
    h->handle.route = route;
    h->handle.invocation = invocation;
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++)
        h->on_record[e] = !h->binding ? h->plugin.on_record[e]
                          : bind_has(h->binding, (ddb_event_name)e) ? bind_on_record
                                                                    : NULL;
    if (h->binding) h->state = h->binding; /* a binding has no on_init */
    if (!h->plugin.on_init) {
        h->initialised = true; /* accepted: on_fini still runs at shutdown */
        return true;
    }
    const char *json = h->spec->config
                           ? json_object_to_json_string_ext(h->spec->config, JSON_C_TO_STRING_PLAIN)
                           : "null";
    ddb_init init = {
        .size = sizeof init,
        .host = api_table(),
        .self = &h->handle,
        .config = api_config(h->spec->config),
        .config_json = json,
        .plugin_path = h->plugin.path,
        .route = route,
        .error = reason,
        .error_cap = sizeof reason,
    };
    ddb_status st = h->plugin.on_init(&init, &h->state);
    if (st != DDB_OK) {
        reason[sizeof reason - 1] = '\0';
        snprintf(err, cap, "plugin \"%s\" (%s %s) failed to initialise: %s", h->plugin.path,
                 h->plugin.info->name, h->plugin.info->version ? h->plugin.info->version : "",
                 reason[0] ? reason : ddb_status_str(st));
        return false;
    }
    h->initialised = true;
    return true;
}

static uint32_t router_handler_id(const router *r, const router_route *route, size_t j)
{
    return (uint32_t)(route - r->routes) << 16 | (uint32_t)j;
}

static router_handler *router_handler_of(const router *r, uint32_t id)
{
    return &r->routes[id >> 16].handlers[id & 0xFFFF];
}

static ddb_status router_exec(void *ctx, const isolate_request *q, isolate_reply *out);

/* One request to the worker about handler id: its status in *st and its reply in why, or,
 * when it crashed or timed out, how, with the worker stopped and gone. */
static isolate_outcome router_request(router *r, uint32_t op, uint32_t a, uint32_t id,
                                      const char *data, size_t len, int64_t timeout_ms,
                                      ddb_status *st, char *why, size_t cap)
{
    isolate_request q = {op, a, id, (char *)data, len};
    isolate_outcome o = isolate_call(r->worker, &q, timeout_ms, st, why, cap);
    if (o != ISOLATE_DONE) {
        isolate_stop(r->worker);
        r->worker = NULL;
    }
    return o;
}

/* router_request whose answer is DDB_OK or not; false with why. */
static bool router_ask(router *r, uint32_t op, uint32_t a, uint32_t id, const char *data,
                       size_t len, int64_t timeout_ms, char *why, size_t cap)
{
    ddb_status st = DDB_ERR_FAILED;
    return router_request(r, op, a, id, data, len, timeout_ms, &st, why, cap) == ISOLATE_DONE &&
           st == DDB_OK;
}

/* Loads and starts remote handler h in the current worker; false with one line in err (and
 * *failure the kind) when it is refused, fails its on_init, or crashes doing either. */
static bool router_start_remote(router *r, router_handler *h, uint32_t id, router_failure *failure,
                                char *err, size_t cap)
{
    char why[1024];
    const char *path = h->spec->plugin;
    *failure = ROUTER_REFUSED;
    if (!router_ask(r, ROUTER_OP_LOAD, 0, id, NULL, 0, r->record_timeout_ms, why, sizeof why)) {
        if (r->worker) snprintf(err, cap, "%s", why); /* the loader's refusal */
        else snprintf(err, cap, "plugin \"%s\" %s while loading (in a constructor)", path, why);
        return false;
    }
    char *sep = strchr(why, ROUTER_NAME_SEP);
    free(h->remote_name);
    if (!sep || !(h->remote_name = strdup(why))) {
        snprintf(err, cap, "plugin \"%s\": the worker answered no name", path);
        return false;
    }
    h->remote_name[sep - why] = '\0';
    h->remote_info.name = h->handle.name = h->remote_name;
    h->remote_info.version = h->remote_name + (sep - why) + 1;
    *failure = ROUTER_INIT_FAILED;
    if (router_ask(r, ROUTER_OP_INIT, 0, id, NULL, 0, r->record_timeout_ms, why, sizeof why)) {
        h->initialised = true;
        return true;
    }
    if (r->worker) snprintf(err, cap, "%s", why); /* on_init's own failure */
    else snprintf(err, cap, "plugin \"%s\" (%s %s) %s in on_init", path, h->remote_info.name,
                  h->remote_info.version, why);
    return false;
}

/* A worker for the isolated handlers, each remote one loaded and started in it. At start-up
 * (fatal) the first failure stops it all, with err; after a crash a handler that fails to
 * start again is only down for this worker, with a warning. */
static bool router_start_worker(router *r, bool fatal, router_failure *failure, char *err,
                                size_t cap)
{
    *failure = ROUTER_NOMEM;
    r->worker_has_event = false;
    if (!(r->worker = isolate_start(router_exec, r))) {
        snprintf(err, cap, "cannot start a worker process for the isolated handlers: %s",
                 strerror(errno));
        return false;
    }
    for (size_t i = 0; i < r->count; i++) {
        router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            if (!h->remote) continue;
            h->down = !r->worker || !router_start_remote(r, h, router_handler_id(r, route, j),
                                                         failure, err, cap);
            if (h->down && fatal) return false;
            if (h->down) log_warn("plugin \"%s\" could not be started again in a new worker: %s",
                                  h->spec->plugin, r->worker ? err : "the worker is gone");
        }
    }
    return r->worker != NULL;
}

/* on_fini of every isolated handler, in the worker, which then exits. A worker that died
 * took the handlers' state with it: there is nothing left to finish. */
static void router_stop_worker(router *r)
{
    char why[1024];
    for (size_t i = 0; r->worker && i < r->count; i++) {
        router_route *route = &r->routes[i];
        for (size_t j = 0; r->worker && j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            if (!h->spec->isolated || !h->initialised || h->down || h->binding) continue;
            if (!router_ask(r, ROUTER_OP_FINI, 0, router_handler_id(r, route, j), NULL, 0,
                            r->record_timeout_ms, why, sizeof why) && !r->worker)
                log_warn("plugin \"%s\" %s in on_fini", h->handle.name, why);
        }
    }
    isolate_stop(r->worker);
    r->worker = NULL;
}

void router_free(router *r)
{
    if (!r) return;
    router_stop_worker(r);
    for (size_t i = 0; i < r->count; i++) {
        router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            if (h->initialised && !h->spec->isolated && h->plugin.on_fini) h->plugin.on_fini(h->state);
            if (h->remote) {
                free(h->plugin.path);
                free(h->remote_name);
            } else if (h->plugin.dl) {
                loader_close(&h->plugin);
            }
            bind_close(h->binding);
            free(h->window.text);
            free(h->window_key);
        }
        free(route->handlers);
    }
    free(r->routes);
    free(r->route_records);
    free(r->outcome);
    free(r->failures);
    free(r->event);
    free(r->states);
    manifest_free(&r->manifest);
    free(r);
}

/* Stands in the host for a remote handler's callback, which only the worker calls. */
static ddb_status router_remote_record(const ddb_record *rec, void *state)
{
    (void)rec;
    (void)state;
    return DDB_ERR_FAILED;
}

/* An isolated plugin, inspected but not loaded: which events it handles. */
static bool router_inspect_remote(router_handler *h, char *err, size_t cap)
{
    loader_inspection seen;
    if (!loader_inspect(h->spec->plugin, &seen, err, cap)) return false;
    h->remote = true;
    h->remote_commits = seen.has_batch_end;
    h->remote_info.abi_major = (uint16_t)seen.abi_major;
    h->remote_info.abi_minor = (uint16_t)seen.abi_minor;
    h->handle.name = h->spec->plugin; /* until the worker reads its descriptor's name */
    h->plugin.info = &h->remote_info;
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++)
        h->on_record[e] = seen.has[e] ? router_remote_record : NULL;
    if (!(h->plugin.path = strdup(h->spec->plugin))) {
        snprintf(err, cap, "out of memory loading plugins");
        return false;
    }
    return true;
}

/* Opens handler h of route table: a binding, a plugin in the host, or an isolated plugin
 * (in the worker, later). False with err and *failure. */
static bool router_open_handler(router *r, router_handler *h, const char *table,
                                router_failure *failure, char *err, size_t cap)
{
    *failure = ROUTER_REFUSED;
    if (h->spec->isolated) r->isolated++;
    if (h->spec->library) {
        if (!(h->binding = bind_open(r->manifest.path, h->spec, err, cap))) return false;
    } else if (h->spec->isolated) {
        return router_inspect_remote(h, err, cap);
    } else if (!loader_open(h->spec->plugin, &h->plugin, err, cap)) {
        return false;
    }
    *failure = ROUTER_INIT_FAILED;
    return router_init_handler(h, table, &r->invocation, err, cap);
}

router *router_new(manifest *taken, router_failure *why, char *err, size_t cap)
{
    router_failure failure = ROUTER_NOMEM;
    router *r = calloc(1, sizeof *r);
    if (!r) {
        manifest_free(taken);
        snprintf(err, cap, "out of memory loading plugins");
        if (why) *why = failure;
        return NULL;
    }
    r->manifest = *taken;
    *taken = (manifest){0};
    const manifest *m = &r->manifest;
    if (!(r->routes = calloc(m->count ? m->count : 1, sizeof *r->routes)) ||
        !(r->route_records = calloc(m->count ? m->count : 1, sizeof *r->route_records))) {
        snprintf(err, cap, "out of memory loading plugins");
        goto fail;
    }
    r->on_failure = m->on_failure;
    r->record_timeout_ms = m->record_timeout_ms;
    for (size_t i = 0; i < m->count; i++) {
        const manifest_route *mr = &m->routes[i];
        router_route *route = &r->routes[r->count++];
        route->table = mr->table;
        route->table_len = strlen(mr->table);
        if (strcmp(mr->table, "*") == 0) r->wildcard = route;
        if (!(route->handlers = calloc(mr->count, sizeof *route->handlers))) {
            snprintf(err, cap, "out of memory loading plugins");
            goto fail;
        }
        for (size_t j = 0; j < mr->count; j++) {
            router_handler *h = &route->handlers[route->count++];
            h->spec = &mr->handlers[j];
            if (!router_open_handler(r, h, mr->table, &failure, err, cap)) goto fail;
        }
    }
    /* Forked after every handler of the host is ready, so that it holds the bindings too. */
    if (r->isolated && !router_start_worker(r, true, &failure, err, cap)) goto fail;
    return r;
fail:
    router_free(r);
    if (why) *why = failure;
    return NULL;
}

bool router_isolates(const router *r) { return r->isolated > 0; }

bool router_keep_event(router *r, const char *buf, size_t len)
{
    if (len > r->event_cap) {
        char *grown = realloc(r->event, len);
        if (!grown) return false;
        r->event = grown;
        r->event_cap = len;
    }
    memcpy(r->event, buf, len);
    r->event_len = len;
    return true;
}

void router_set_invocation(router *r, const api_invocation *inv, int64_t margin_ms)
{
    r->invocation = inv ? *inv : (api_invocation){NULL, NULL, 0};
    r->margin_ms = margin_ms;
}

const char *router_route_name(const router *r, size_t i) { return r->routes[i].table; }

size_t router_route_count(const router *r) { return r->count; }

const manifest *router_manifest(const router *r) { return &r->manifest; }

static const router_route *router_find(const router *r, ddb_str table)
{
    if (table.ptr) {
        for (size_t i = 0; i < r->count; i++) {
            const router_route *route = &r->routes[i];
            if (route->table_len == table.len && memcmp(route->table, table.ptr, table.len) == 0)
                return route;
        }
    }
    return r->wildcard;
}

/* Whether h gets this record: the manifest lets the event through and h has a callback. */
static loader_record_fn router_callback(const router_handler *h, const ddb_record *rec)
{
    if (!(h->spec->events & (1u << rec->event_name))) return NULL;
    return h->on_record[rec->event_name];
}

static void router_log_failure(const ddb_record *rec, const router_handler *h, const char *what)
{
    log_record_failure(rec, " failed in plugin \"%s\": %s", h->handle.name, what);
}

static void router_deadline(const router *r, const event_batch *b, size_t i, int64_t left)
{
    const ddb_str *seq = &b->records[i].sequence_number;
    log_warn("deadline: stopped before record %zu of %zu with %lld ms left (margin %lld ms); "
             "Lambda retries from SequenceNumber %.*s",
             i, b->count, (long long)left, (long long)r->margin_ms, (int)seq->len,
             seq->ptr ? seq->ptr : "");
}

/* Marks record i failed by h with st; the first failure of a record is the one kept. */
static void router_mark(router *r, size_t i, const router_handler *h, ddb_status st)
{
    if (r->outcome[i].plugin) return;
    r->outcome[i].plugin = h->handle.name;
    r->outcome[i].status = st;
}

/* What h's batch hooks receive for an event of `records` records: its window, if it has one. */
static ddb_batch router_hook_batch(const router_handler *h, size_t records, ddb_status status)
{
    return (ddb_batch){sizeof(ddb_batch), (uint32_t)records, status,
                       h->handle.window ? &h->window.view : NULL};
}

/* Opens h's batch, in the process that runs its code: on_batch_begin, when it has one. */
static void router_open(router_handler *h, size_t records)
{
    if (h->in_batch) return;
    h->in_batch = true;
    if (!h->plugin.on_batch_begin) return;
    ddb_batch batch = router_hook_batch(h, records, DDB_OK);
    h->begin_status = h->plugin.on_batch_begin(&batch, h->state);
    if (h->begin_status != DDB_OK)
        log_warn("plugin \"%s\" failed to begin the batch: %s; its records are retried",
                 h->handle.name, ddb_status_str(h->begin_status));
}

/* Calls h's callback for rec, opening h's batch first when this is its first record. */
static ddb_status router_call(router_handler *h, loader_record_fn fn, const ddb_record *rec,
                              size_t records)
{
    router_open(h, records);
    ddb_status st = h->begin_status != DDB_OK ? h->begin_status : fn(rec, h->state);
    if (st != DDB_OK && h->begin_status == DDB_OK) router_log_failure(rec, h, ddb_status_str(st));
    if (st != DDB_OK && h->batch_status == DDB_OK) h->batch_status = st;
    return st;
}

/* ---- tumbling windows ----------------------------------------------------------------- */

/* Whether h takes part in tumbling windows: a plugin built for ABI 1.2 or later. An older one
 * can neither read ddb_batch's window nor set a state, and is called as before. */
static bool router_windowed(const router_handler *h)
{
    return !h->binding && h->plugin.info && h->plugin.info->abi_minor >= ROUTER_WINDOW_MINOR;
}

/* Handler j's member of the state object: its plugin's name, with "#2" for the second windowed
 * handler of that name on its route, "#3" for the third ... False when out of memory. */
static bool router_window_key(const router_route *route, size_t j)
{
    router_handler *h = &route->handlers[j];
    size_t same = 1, n = strlen(h->handle.name) + 24;
    for (size_t k = 0; k < j; k++)
        if (router_windowed(&route->handlers[k]) &&
            strcmp(route->handlers[k].handle.name, h->handle.name) == 0)
            same++;
    char *key = realloc(h->window_key, n);
    if (!key) return false;
    h->window_key = key;
    if (same == 1) snprintf(key, n, "%s", h->handle.name);
    else snprintf(key, n, "%s#%zu", h->handle.name, same);
    return true;
}

/* Each windowed handler's window in event b (only the isolated ones' in the worker), or none
 * when b is no tumbling-window invocation: the event's bounds and flags, and as its state its
 * member of the event's state, "{}" without one (the last, when the name comes twice, as JSON
 * parsers read it). False when out of memory. */
static bool router_window_begin(router *r, const event_batch *b, bool isolated_only)
{
    const event_window *w = &b->window;
    for (size_t i = 0; i < r->count; i++) {
        const router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            h->handle.window = NULL;
            h->took_record = false;
            h->window_failed = DDB_OK;
            if (!b->tumbling_window || !router_windowed(h) || (isolated_only && !h->spec->isolated))
                continue;
            if (!router_window_key(route, j)) return false;
            size_t klen = strlen(h->window_key);
            ddb_str state = {"{}", 2};
            for (size_t k = 0; k < w->nmembers; k++)
                if (w->members[k].name.len == klen &&
                    memcmp(w->members[k].name.ptr, h->window_key, klen) == 0)
                    state = w->members[k].json;
            h->window.view = (ddb_window){sizeof(ddb_window), w->final_invoke, w->terminated_early,
                                          w->start_ms, w->end_ms, w->start, w->end, w->shard_id,
                                          {NULL, 0}};
            if (!api_window_text(&h->window, state.ptr, state.len)) return false;
            h->window.set = false;
            h->window.error[0] = '\0';
            h->handle.window = &h->window;
        }
    }
    return true;
}

/* In the worker: what goes back with an isolated handler's batch end: the state it set, or
 * why one it set was refused. None when its batch did not begin. */
static void router_worker_window_reply(router_handler *h, isolate_reply *out)
{
    if (h->window.error[0]) {
        snprintf(out->text, out->cap, "%s", h->window.error);
    } else if (h->window.set && h->begin_status == DDB_OK && h->window.len > ISOLATE_MAX_DATA) {
        snprintf(out->text, out->cap, "set a tumbling-window state of %zu bytes, more than a "
                 "worker may send (%u)", h->window.len, ISOLATE_MAX_DATA);
    } else if (h->window.set && h->begin_status == DDB_OK) {
        out->data = h->window.text;
        out->len = h->window.len;
    }
    h->handle.window = NULL;
}

/* In the host: what the worker answered with an isolated handler's batch end (why: its text). */
static void router_window_answer(router *r, router_handler *h, const char *why)
{
    size_t len;
    const char *data = isolate_data(r->worker, &len);
    if (why[0]) {
        snprintf(h->window.error, sizeof h->window.error, "%.*s", (int)sizeof h->window.error - 1,
                 why);
    } else if (data) {
        if (!api_window_text(&h->window, data, len))
            snprintf(h->window.error, sizeof h->window.error, "set a tumbling-window state that "
                     "the host had no memory to keep");
        else h->window.set = true;
    }
}

/* The states the event's windowed handlers set, for the response; false with err when the
 * invocation must fail instead. Every window closes here: set_window_state finds none until
 * the next. */
static bool router_window_collect(router *r, router_result *out, char *err, size_t cap)
{
    size_t total = 0, n = 0;
    bool failed = false;
    for (size_t i = 0; i < r->count; i++) total += r->routes[i].count;
    if (total > r->cap_states) {
        router_window_state *grown = realloc(r->states, total * sizeof *grown);
        if (!grown) {
            snprintf(err, cap, "out of memory collecting the tumbling-window states");
            return false;
        }
        r->states = grown;
        r->cap_states = total;
    }
    for (size_t i = 0; i < r->count; i++) {
        for (size_t j = 0; j < r->routes[i].count; j++) {
            router_handler *h = &r->routes[i].handlers[j];
            if (!h->handle.window) continue;
            h->handle.window = NULL;
            if (failed) continue;
            if (h->window.error[0]) {
                snprintf(err, cap, "plugin \"%s\" %s", h->handle.name, h->window.error);
                failed = out->handler_failed = true;
            } else if (h->window_failed != DDB_OK && !h->took_record) {
                snprintf(err, cap, "plugin \"%s\" failed to end a tumbling-window invocation in "
                         "which it received no record: %s (hint: the invocation fails, so that "
                         "Lambda calls it again with the same state)",
                         h->handle.name, ddb_status_str(h->window_failed));
                failed = out->handler_failed = true;
            } else if (h->window.set && h->window_failed == DDB_OK) {
                r->states[n++] = (router_window_state){h->window_key,
                                                       {h->window.text, h->window.len}};
            }
        }
    }
    out->window_states = r->states;
    out->nwindow_states = failed ? 0 : n;
    return !failed;
}

/* In the worker: the trace id the host's environment has for this invocation (the runtime
 * sets it per invocation, after the worker was forked), as plugins read it. One buffer,
 * rewritten in place: setenv would keep every old value for the life of the process. */
static void router_worker_trace(router *r, const char *trace)
{
    char *env = r->worker_trace_env;
    size_t cap = sizeof r->worker_trace_env;
    bool exported = env[0] != '\0';
    if (!trace[0] || strlen(trace) + sizeof ROUTER_TRACE_VAR + 1 > cap) {
        if (exported) unsetenv(ROUTER_TRACE_VAR);
        env[0] = '\0';
        return;
    }
    snprintf(env, cap, "%s=%s", ROUTER_TRACE_VAR, trace);
    if (!exported && putenv(env) != 0) env[0] = '\0';
}

/* In the worker: the invocation the next event belongs to, as plugins see it. The request's
 * bytes: the deadline (int64_t), then the request id, the function ARN and the trace id, each
 * ended by a NUL ("" when absent). */
static ddb_status router_worker_invoke(router *r, const isolate_request *q)
{
    int64_t deadline = 0;
    const char *text[3] = {"", "", ""};
    if (q->data && q->len >= sizeof deadline) {
        memcpy(&deadline, q->data, sizeof deadline);
        const char *p = q->data + sizeof deadline, *end = q->data + q->len;
        for (int k = 0; k < 3 && p < end; k++, p += strlen(p) + 1) text[k] = p;
    }
    snprintf(r->worker_request_id, sizeof r->worker_request_id, "%s", text[0]);
    snprintf(r->worker_function_arn, sizeof r->worker_function_arn, "%s", text[1]);
    router_worker_trace(r, text[2]);
    r->invocation = (api_invocation){text[0][0] ? r->worker_request_id : NULL,
                                     text[1][0] ? r->worker_function_arn : NULL, deadline};
    return DDB_OK;
}

/* In the worker: the event, decoded from its bytes as the host decoded them. */
static ddb_status router_worker_event(router *r, const isolate_request *q, char *reply, size_t cap)
{
    if (!r->decoder && !(r->decoder = event_decoder_new())) {
        snprintf(reply, cap, "out of memory");
        return DDB_ERR_NOMEM;
    }
    if (!q->data || !event_decode(r->decoder, q->data, q->len, &r->worker_batch)) {
        snprintf(reply, cap, "%s", q->data ? event_error(r->decoder) : "no event");
        return DDB_ERR_FAILED;
    }
    r->batch = &r->worker_batch;
    if (!router_window_begin(r, r->batch, true)) {
        snprintf(reply, cap, "out of memory");
        return DDB_ERR_NOMEM;
    }
    return DDB_OK;
}

/* In the worker: the end of h's batch (with the state it set), then ready for the next. */
static ddb_status router_worker_end(router *r, router_handler *h, isolate_reply *out)
{
    ddb_status status = h->begin_status != DDB_OK ? h->begin_status : h->batch_status;
    ddb_batch batch = router_hook_batch(h, r->batch ? r->batch->count : 0, status);
    ddb_status st = h->in_batch && h->plugin.on_batch_end ? h->plugin.on_batch_end(&batch, h->state)
                                                           : DDB_OK;
    if (h->handle.window) router_worker_window_reply(h, out);
    h->in_batch = false;
    h->begin_status = h->batch_status = DDB_OK;
    return st;
}

/* In the worker: one request of the host. */
static ddb_status router_exec(void *ctx, const isolate_request *q, isolate_reply *out)
{
    router *r = ctx;
    char *reply = out->text;
    size_t cap = out->cap;
    router_handler *h = router_handler_of(r, q->b);
    switch (q->op) {
    case ROUTER_OP_LOAD: {
        loader_plugin p;
        if (!loader_open(h->spec->plugin, &p, reply, cap)) return DDB_ERR_FAILED;
        free(h->plugin.path); /* the host's copy, which the worker inherited */
        h->plugin = p;
        snprintf(reply, cap, "%s%c%s", p.info->name, ROUTER_NAME_SEP, p.info->version);
        return DDB_OK;
    }
    case ROUTER_OP_INIT:
        return router_init_handler(h, r->routes[q->b >> 16].table, &r->invocation, reply, cap)
                   ? DDB_OK : DDB_ERR_FAILED;
    case ROUTER_OP_INVOKE: return router_worker_invoke(r, q);
    case ROUTER_OP_EVENT: return router_worker_event(r, q, reply, cap);
    case ROUTER_OP_RECORD: {
        const ddb_record *rec = &r->batch->records[q->a];
        return router_call(h, router_callback(h, rec), rec, r->batch->count);
    }
    case ROUTER_OP_BEGIN:
        router_open(h, r->batch ? r->batch->count : 0);
        return h->begin_status;
    case ROUTER_OP_END: return router_worker_end(r, h, out);
    case ROUTER_OP_FINI:
        if (h->initialised && h->plugin.on_fini) h->plugin.on_fini(h->state);
        loader_close(&h->plugin); /* its destructors run here, as in the host without isolation */
        return DDB_OK;
    }
    return DDB_ERR_INVALID;
}

/* The time an isolated handler has for one request: the manifest's budget, or less when
 * the invocation's deadline (less its margin, which the response needs) is nearer. */
static int64_t router_budget(const router *r)
{
    int64_t budget = r->record_timeout_ms;
    if (r->invocation.deadline_ms > 0) {
        int64_t left = r->invocation.deadline_ms - r->margin_ms - api_now_ms();
        if (left < budget) budget = left > 1 ? left : 1;
    }
    return budget;
}

/* The worker is gone: what its isolated handlers did in it is lost. A handler with batch
 * hooks commits in on_batch_end, which will not come, so every record it took from this
 * worker before `upto` fails too (Lambda retries from the lowest). */
static void router_worker_lost(router *r, size_t upto)
{
    isolate_stop(r->worker);
    r->worker = NULL;
    for (size_t i = 0; i < r->count; i++) {
        router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            if (!h->spec->isolated || !h->in_batch) continue;
            h->in_batch = false;
            if (h->handle.window) h->window_failed = DDB_ERR_FAILED; /* its state went too */
            if (!(h->remote ? h->remote_commits : h->plugin.on_batch_end != NULL) &&
                !h->handle.window)
                continue;
            for (size_t k = r->worker_first; k < upto; k++) {
                const ddb_record *rec = &r->batch->records[k];
                if (router_find(r, rec->table) == route && router_callback(h, rec))
                    router_mark(r, k, h, DDB_ERR_FAILED);
            }
        }
    }
}

/* Tells the worker which invocation the next event belongs to: the request's bytes are the
 * deadline, then the request id, the function ARN and the trace id, each ended by a NUL. */
static bool router_worker_invoke_send(router *r, char *why, size_t cap)
{
    const api_invocation *inv = &r->invocation;
    const char *trace = getenv(ROUTER_TRACE_VAR);
    char ids[sizeof inv->deadline_ms + 2048];
    memcpy(ids, &inv->deadline_ms, sizeof inv->deadline_ms);
    int n = snprintf(ids + sizeof inv->deadline_ms, sizeof ids - sizeof inv->deadline_ms,
                     "%.127s%c%.511s%c%.1000s", inv->request_id ? inv->request_id : "", '\0',
                     inv->function_arn ? inv->function_arn : "", '\0', trace ? trace : "");
    size_t len = sizeof inv->deadline_ms + (n > 0 ? (size_t)n + 1 : 0);
    return router_ask(r, ROUTER_OP_INVOKE, 0, 0, ids, len, router_budget(r), why, cap);
}

/* The worker, with the event in it, for record i: started again after a crash, and handed
 * the invocation and the event's bytes once per batch. A worker found dead at the start of a
 * batch (killed for memory while it waited, say) is replaced without failing a record: none
 * was at stake. False with why. */
static bool router_worker_ready(router *r, size_t i, char *why, size_t cap)
{
    router_failure failure;
    if (!r->worker && r->restart_failed[0]) {
        snprintf(why, cap, "%s", r->restart_failed);
        return false;
    }
    if (!r->worker && !router_start_worker(r, false, &failure, why, cap)) {
        snprintf(r->restart_failed, sizeof r->restart_failed, "%s", why);
        return false;
    }
    if (r->worker_has_event) return true;
    if (!router_worker_invoke_send(r, why, cap)) {
        if (r->worker) return false;
        log_warn("the worker process of the isolated handlers %s between events; starting "
                 "another (their on_init runs again)", why);
        if (!router_start_worker(r, false, &failure, why, cap) ||
            !router_worker_invoke_send(r, why, cap))
            return false;
    }
    if (!router_ask(r, ROUTER_OP_EVENT, 0, 0, r->event, r->event_len, router_budget(r), why, cap))
        return false;
    r->worker_has_event = true;
    r->worker_first = i;
    return true;
}

/* Delivers rec to an isolated handler through the worker. */
static ddb_status router_isolated(router *r, const router_route *route, size_t j,
                                  const ddb_record *rec)
{
    router_handler *h = &route->handlers[j];
    char why[1024];
    ddb_status st = DDB_ERR_FAILED;
    if (!router_worker_ready(r, rec->index, why, sizeof why)) {
        router_log_failure(rec, h, why);
        if (!r->worker) router_worker_lost(r, rec->index);
        return DDB_ERR_FAILED;
    }
    if (h->down) {
        router_log_failure(rec, h, "it could not be started in the worker (see above)");
        return DDB_ERR_FAILED;
    }
    h->in_batch = true;
    if (router_request(r, ROUTER_OP_RECORD, rec->index, router_handler_id(r, route, j), NULL, 0,
                       router_budget(r), &st, why, sizeof why) == ISOLATE_DONE) {
        if (st != DDB_OK && h->batch_status == DDB_OK) h->batch_status = st;
        return st;
    }
    router_log_failure(rec, h, why); /* e.g. "killed by signal 11 (Segmentation fault)" */
    router_worker_lost(r, rec->index);
    return DDB_ERR_FAILED;
}

/* Opens the batch of isolated handler j in the worker, before any record. */
static void router_isolated_open(router *r, const router_route *route, size_t j)
{
    router_handler *h = &route->handlers[j];
    char why[1024];
    ddb_status st = DDB_ERR_FAILED;
    if (!router_worker_ready(r, 0, why, sizeof why) || h->down) {
        log_error("plugin \"%s\" could not begin the batch: %s", h->handle.name,
                  h->down ? "it could not be started in the worker (see above)" : why);
        h->window_failed = DDB_ERR_FAILED;
        if (!r->worker) router_worker_lost(r, 0);
        return;
    }
    h->in_batch = true;
    if (router_request(r, ROUTER_OP_BEGIN, 0, router_handler_id(r, route, j), NULL, 0,
                       router_budget(r), &st, why, sizeof why) == ISOLATE_DONE) {
        h->begin_status = st;
        return;
    }
    log_error("plugin \"%s\" %s in on_batch_begin", h->handle.name, why);
    router_worker_lost(r, 0);
}

/* In a tumbling-window invocation, the batch of every windowed handler of the event's table
 * opens before the first record, so that one that receives none sees the window too: the last
 * invocation of a window often carries no record. */
static void router_window_open(router *r, const event_batch *b)
{
    if (!b->tumbling_window) return;
    ddb_str table = b->window.table.ptr || !b->count ? b->window.table : b->records[0].table;
    const router_route *route = router_find(r, table);
    for (size_t j = 0; route && j < route->count; j++) {
        router_handler *h = &route->handlers[j];
        if (!h->handle.window) continue;
        if (h->spec->isolated) router_isolated_open(r, route, j);
        else router_open(h, b->count);
    }
}

/* Delivers one record to its handlers in order; returns whether any handler took it and
 * marks it failed when one of them failed. */
static bool router_record(router *r, const router_route *route, const ddb_record *rec,
                          size_t records)
{
    bool taken = false;
    for (size_t j = 0; j < route->count; j++) {
        router_handler *h = &route->handlers[j];
        loader_record_fn fn = router_callback(h, rec);
        if (!fn) continue;
        taken = true;
        h->took_record = true;
        ddb_status st = h->spec->isolated ? router_isolated(r, route, j, rec)
                                          : router_call(h, fn, rec, records);
        if (st == DDB_OK) continue;
        router_mark(r, rec->index, h, st);
        if (r->on_failure == MANIFEST_STOP) break;
    }
    return taken;
}

/* on_batch_end of one handler that took records, in the host or in the worker. An isolated
 * sink whose worker died before its turn (in another plugin's on_batch_end) never committed
 * what it took: that fails too. */
static ddb_status router_end_handler(router *r, const router_route *route, size_t j,
                                     const ddb_batch *batch)
{
    router_handler *h = &route->handlers[j];
    char why[1024];
    ddb_status st = DDB_OK;
    if (!h->spec->isolated)
        return h->plugin.on_batch_end ? h->plugin.on_batch_end(batch, h->state) : DDB_OK;
    if (!r->worker) {
        if (!h->remote_commits && !h->handle.window) return DDB_OK;
        log_error("plugin \"%s\" could not run on_batch_end: its worker process had died", h->handle.name);
        return DDB_ERR_FAILED;
    }
    if (router_request(r, ROUTER_OP_END, 0, router_handler_id(r, route, j), NULL, 0,
                       router_budget(r), &st, why, sizeof why) == ISOLATE_DONE) {
        if (h->handle.window) router_window_answer(r, h, why);
        return st;
    }
    log_error("plugin \"%s\" %s in on_batch_end", h->handle.name, why); /* the worker is gone */
    return DDB_ERR_FAILED;
}

/* on_batch_end for every handler that took records; a failure there fails every record
 * that handler took. */
static void router_end_batch(router *r, const event_batch *b, size_t attempted)
{
    for (size_t i = 0; i < r->count; i++) {
        const router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            if (!h->in_batch) continue;
            h->in_batch = false;
            ddb_batch batch = router_hook_batch(h, b->count, h->begin_status != DDB_OK
                                                                 ? h->begin_status
                                                                 : h->batch_status);
            ddb_status st = router_end_handler(r, route, j, &batch);
            if (h->handle.window && h->window_failed == DDB_OK)
                h->window_failed = st != DDB_OK ? st : h->begin_status;
            h->begin_status = h->batch_status = DDB_OK;
            if (st == DDB_OK) continue;
            if (h->took_record) /* else a window's (router_window_collect says why) */
                log_warn("plugin \"%s\" failed to end the batch: %s; its records are retried",
                         h->handle.name, ddb_status_str(st));
            for (size_t k = 0; k < attempted; k++) {
                const ddb_record *rec = &b->records[k];
                if (router_find(r, rec->table) == route && router_callback(h, rec))
                    router_mark(r, k, h, st);
            }
        }
    }
    r->worker_has_event = false; /* the worker stays, with its handlers' state, for the next */
}

/* Room for b's outcomes and failures, cleared, and out pointing at them; false when out of
 * memory. */
static bool router_begin(router *r, const event_batch *b, router_result *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->records = b->count;
    if (b->count > r->cap_outcome) {
        router_outcome *o = realloc(r->outcome, b->count * sizeof *o);
        ddb_str *s = realloc(r->failures, b->count * sizeof *s);
        if (o) r->outcome = o;
        if (s) r->failures = s;
        if (!o || !s) {
            snprintf(err, cap, "out of memory delivering %zu records", b->count);
            return false;
        }
        r->cap_outcome = b->count;
    }
    if (b->count) memset(r->outcome, 0, b->count * sizeof *r->outcome);
    memset(r->route_records, 0, r->count * sizeof *r->route_records);
    out->batch = b->records;
    out->outcome = r->outcome;
    out->route_records = r->route_records;
    r->batch = b;
    return true;
}

/* Delivers b's records in order until the end, the first failure under "stop", or too near
 * the deadline; returns how many were attempted. */
static size_t router_walk(router *r, const event_batch *b, router_result *out)
{
    for (size_t i = 0; i < b->count; i++) {
        const ddb_record *rec = &b->records[i];
        r->outcome[i].attempted = true;
        if (r->invocation.deadline_ms > 0) {
            int64_t left = r->invocation.deadline_ms - api_now_ms();
            if (left < r->margin_ms) {
                router_deadline(r, b, i, left);
                out->deadline_cut = true;
                return i;
            }
        }
        const router_route *route = router_find(r, rec->table);
        if (!route || !router_record(r, route, rec, b->count)) {
            out->skipped++;
            continue;
        }
        r->route_records[route - r->routes]++;
        out->delivered++;
        if (r->outcome[i].plugin && r->on_failure == MANIFEST_STOP) return i + 1;
    }
    return b->count;
}

/* The failed records of the first `attempted`, and the SequenceNumbers Lambda retries from. */
static void router_collect(router *r, const event_batch *b, size_t attempted, router_result *out)
{
    for (size_t k = 0; k < attempted; k++) {
        if (!r->outcome[k].plugin) continue;
        out->failed++;
        if (r->on_failure == MANIFEST_STOP && out->nfailures) continue;
        r->failures[out->nfailures++] = b->records[k].sequence_number;
    }
    /* Out of time: Lambda must retry from the first record not delivered. Under "stop" an
     * earlier failure already makes it retry from there. */
    if (out->deadline_cut && !(r->on_failure == MANIFEST_STOP && out->nfailures))
        r->failures[out->nfailures++] = b->records[attempted].sequence_number;
    out->failures = r->failures;
}

bool router_deliver(router *r, const event_batch *b, router_result *out, char *err, size_t cap)
{
    r->restart_failed[0] = '\0'; /* each event may try a new worker once */
    if (!router_begin(r, b, out, err, cap)) return false;
    if (!router_window_begin(r, b, false)) {
        snprintf(err, cap, "out of memory keeping the tumbling-window states");
        return false;
    }
    router_window_open(r, b);
    size_t attempted = router_walk(r, b, out);
    out->undelivered = b->count - attempted;
    router_end_batch(r, b, attempted);
    router_collect(r, b, attempted, out);
    return router_window_collect(r, out, err, cap);
}

size_t router_warn(const router *r)
{
    char q[TEXT_QUOTE_CAP], at[700] = "tables";
    size_t warned = 0;
    for (size_t i = 0; i < r->count && i < r->manifest.count; i++) {
        const router_route *route = &r->routes[i];
        int64_t window = r->manifest.routes[i].stream.tumbling_window_s;
        size_t j = 0;
        while (j < route->count && !router_windowed(&route->handlers[j])) j++;
        if (window == 0 || j < route->count) continue;
        text_path_key(at, 6, sizeof at, route->table, route->table_len);
        log_warn("manifest %s: %s.stream: tumbling_window_s is %lld and no handler of the route "
                 "is a plugin built for ABI 1.2 or later, so the window's state passes through "
                 "untouched (hint: rebuild the plugin against this host's plugin.h and set its "
                 "state with host->set_window_state)",
                 text_quote(q, sizeof q, r->manifest.path), at, (long long)window);
        warned++;
    }
    return warned;
}

void router_describe(const router *r, FILE *out)
{
    for (size_t i = 0; i < r->count; i++) {
        const router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            const router_handler *h = &route->handlers[j];
            char events[64] = "";
            if (h->binding) {
                bind_describe(h->binding, route->table, out);
                continue;
            }
            for (int e = DDB_INSERT; e <= DDB_REMOVE; e++) {
                if (!(h->spec->events & (1u << e)) || !h->plugin.on_record[e]) continue;
                if (events[0]) strcat(events, ", ");
                strcat(events, ddb_event_name_str((ddb_event_name)e));
            }
            fprintf(out, "%s: %s %s (%s) on %s\n", route->table, h->plugin.info->name,
                    h->plugin.info->version ? h->plugin.info->version : "", h->plugin.path,
                    events[0] ? events : "no events");
        }
    }
}
