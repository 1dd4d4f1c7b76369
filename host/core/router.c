/* router.c - joins a manifest to loaded plugins and delivers decoded records to them.
 * Owns each handler instance (plugin, state, handle), the per-batch failure marks and the
 * worker process of isolated handlers, and the manifest it was made from. Decides what
 * fails and what is skipped under "stop" or "continue"; knows nothing of how the event
 * arrived or how the response leaves. */
#include "router.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bind.h"
#include "isolate.h"
#include "loader.h"
#include "log.h"

/* Requests to an isolated handler's worker process. */
enum { ROUTER_OP_RECORD = 1, ROUTER_OP_END = 2, ROUTER_OP_FINI = 3 };

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
    const event_batch *batch;  /* being delivered: the worker reads it from its copy */
    isolate *worker;           /* runs the isolated handlers' code for the current batch */
    size_t worker_first;       /* the first record the current worker was given */
    int64_t record_timeout_ms;
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

static ddb_status router_exec(void *ctx, uint32_t op, uint32_t a, uint32_t b);

/* An isolated handler's on_fini runs in a worker of its own: a crash there costs nothing
 * but that plugin's clean-up. */
static void router_isolated_fini(router *r, router_handler *h, uint32_t id)
{
    char why[128];
    ddb_status st;
    isolate *w = isolate_start(router_exec, r);
    if (!w) {
        log_warn("plugin \"%s\": no worker process for on_fini, so it is not run: %s",
                 h->handle.name, strerror(errno));
        return;
    }
    if (isolate_call(w, ROUTER_OP_FINI, 0, id, r->record_timeout_ms, &st, why, sizeof why) !=
        ISOLATE_DONE)
        log_warn("plugin \"%s\" %s in on_fini", h->handle.name, why);
    isolate_stop(w);
}

void router_free(router *r)
{
    if (!r) return;
    isolate_stop(r->worker); /* none between batches; never leave one behind */
    r->worker = NULL;
    for (size_t i = 0; i < r->count; i++) {
        router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            if (h->initialised && h->plugin.on_fini) {
                if (h->spec->isolated) router_isolated_fini(r, h, router_handler_id(r, route, j));
                else h->plugin.on_fini(h->state);
            }
            if (h->plugin.dl) loader_close(&h->plugin);
            bind_close(h->binding);
        }
        free(route->handlers);
    }
    free(r->routes);
    free(r->route_records);
    free(r->outcome);
    free(r->failures);
    manifest_free(&r->manifest);
    free(r);
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
        route->handlers = calloc(mr->count, sizeof *route->handlers);
        if (!route->handlers) {
            snprintf(err, cap, "out of memory loading plugins");
            goto fail;
        }
        for (size_t j = 0; j < mr->count; j++) {
            router_handler *h = &route->handlers[route->count++];
            h->spec = &mr->handlers[j];
            failure = ROUTER_REFUSED;
            if (h->spec->library ? !(h->binding = bind_open(m->path, h->spec, err, cap))
                                 : !loader_open(h->spec->plugin, &h->plugin, err, cap))
                goto fail;
            failure = ROUTER_INIT_FAILED;
            if (!router_init_handler(h, mr->table, &r->invocation, err, cap)) goto fail;
        }
    }
    return r;
fail:
    router_free(r);
    if (why) *why = failure;
    return NULL;
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
    log_warn("record %u (table %.*s, SequenceNumber %.*s) failed in plugin \"%s\": %s",
             rec->index, (int)(rec->table.ptr ? rec->table.len : 8),
             rec->table.ptr ? rec->table.ptr : "no table", (int)rec->sequence_number.len,
             rec->sequence_number.ptr ? rec->sequence_number.ptr : "", h->handle.name, what);
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

/* Calls h's callback for rec, opening h's batch first when this is its first record. */
static ddb_status router_call(router_handler *h, loader_record_fn fn, const ddb_record *rec,
                              const ddb_batch *batch)
{
    if (!h->in_batch) {
        h->in_batch = true;
        if (h->plugin.on_batch_begin) {
            h->begin_status = h->plugin.on_batch_begin(batch, h->state);
            if (h->begin_status != DDB_OK)
                log_warn("plugin \"%s\" failed to begin the batch: %s; its records are retried",
                         h->handle.name, ddb_status_str(h->begin_status));
        }
    }
    ddb_status st = h->begin_status != DDB_OK ? h->begin_status : fn(rec, h->state);
    if (st != DDB_OK && h->begin_status == DDB_OK) router_log_failure(rec, h, ddb_status_str(st));
    if (st != DDB_OK && h->batch_status == DDB_OK) h->batch_status = st;
    return st;
}

/* In the worker: one request of the host. */
static ddb_status router_exec(void *ctx, uint32_t op, uint32_t a, uint32_t b)
{
    router *r = ctx;
    router_handler *h = router_handler_of(r, b);
    if (op == ROUTER_OP_RECORD) {
        const ddb_record *rec = &r->batch->records[a];
        ddb_batch batch = {sizeof batch, (uint32_t)r->batch->count, DDB_OK};
        return router_call(h, router_callback(h, rec), rec, &batch);
    }
    if (op == ROUTER_OP_END) {
        ddb_batch batch = {sizeof batch, (uint32_t)r->batch->count,
                           h->begin_status != DDB_OK ? h->begin_status : h->batch_status};
        return h->in_batch && h->plugin.on_batch_end ? h->plugin.on_batch_end(&batch, h->state)
                                                     : DDB_OK;
    }
    if (op == ROUTER_OP_FINI && h->plugin.on_fini) h->plugin.on_fini(h->state);
    return DDB_OK;
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
            if (!h->plugin.on_batch_end) continue;
            for (size_t k = r->worker_first; k < upto; k++) {
                const ddb_record *rec = &r->batch->records[k];
                if (router_find(r, rec->table) == route && router_callback(h, rec))
                    router_mark(r, k, h, DDB_ERR_FAILED);
            }
        }
    }
}

/* Delivers rec to an isolated handler through the batch's worker, starting one if needed. */
static ddb_status router_isolated(router *r, const router_route *route, size_t j,
                                  const ddb_record *rec)
{
    router_handler *h = &route->handlers[j];
    char why[128];
    ddb_status st = DDB_ERR_FAILED;
    if (!r->worker) {
        r->worker = isolate_start(router_exec, r);
        if (!r->worker) {
            router_log_failure(rec, h, "no worker process could be started");
            return DDB_ERR_FAILED;
        }
        r->worker_first = rec->index;
    }
    h->in_batch = true;
    isolate_outcome o = isolate_call(r->worker, ROUTER_OP_RECORD, rec->index,
                                     router_handler_id(r, route, j), router_budget(r), &st, why,
                                     sizeof why);
    if (o == ISOLATE_DONE) {
        if (st != DDB_OK && h->batch_status == DDB_OK) h->batch_status = st;
        return st;
    }
    router_log_failure(rec, h, why); /* e.g. "killed by signal 11 (Segmentation fault)" */
    router_worker_lost(r, rec->index);
    return DDB_ERR_FAILED;
}

/* Delivers one record to its handlers in order; returns whether any handler took it and
 * marks it failed when one of them failed. */
static bool router_record(router *r, const router_route *route, const ddb_record *rec,
                          const ddb_batch *batch)
{
    bool taken = false;
    for (size_t j = 0; j < route->count; j++) {
        router_handler *h = &route->handlers[j];
        loader_record_fn fn = router_callback(h, rec);
        if (!fn) continue;
        taken = true;
        ddb_status st = h->spec->isolated ? router_isolated(r, route, j, rec)
                                          : router_call(h, fn, rec, batch);
        if (st == DDB_OK) continue;
        router_mark(r, rec->index, h, st);
        if (r->on_failure == MANIFEST_STOP) break;
    }
    return taken;
}

/* on_batch_end for every handler that took records; a failure there fails every record
 * that handler took. */
static void router_end_batch(router *r, const event_batch *b, size_t attempted)
{
    ddb_batch batch = {sizeof batch, (uint32_t)b->count, DDB_OK};
    for (size_t i = 0; i < r->count; i++) {
        const router_route *route = &r->routes[i];
        for (size_t j = 0; j < route->count; j++) {
            router_handler *h = &route->handlers[j];
            if (!h->in_batch) continue;
            h->in_batch = false;
            batch.status = h->begin_status != DDB_OK ? h->begin_status : h->batch_status;
            ddb_status st = DDB_OK;
            if (h->spec->isolated && r->worker) {
                char why[128];
                if (isolate_call(r->worker, ROUTER_OP_END, 0, router_handler_id(r, route, j),
                                 router_budget(r), &st, why, sizeof why) != ISOLATE_DONE) {
                    log_error("plugin \"%s\" %s in on_batch_end", h->handle.name, why);
                    isolate_stop(r->worker);
                    r->worker = NULL;
                    st = DDB_ERR_FAILED;
                }
            } else if (!h->spec->isolated && h->plugin.on_batch_end) {
                st = h->plugin.on_batch_end(&batch, h->state);
            }
            h->begin_status = h->batch_status = DDB_OK;
            if (st == DDB_OK) continue;
            log_warn("plugin \"%s\" failed to end the batch: %s; its records are retried",
                     h->handle.name, ddb_status_str(st));
            for (size_t k = 0; k < attempted; k++) {
                const ddb_record *rec = &b->records[k];
                if (router_find(r, rec->table) == route && router_callback(h, rec))
                    router_mark(r, k, h, st);
            }
        }
    }
    isolate_stop(r->worker); /* the next batch gets a worker of its own */
    r->worker = NULL;
}

bool router_deliver(router *r, const event_batch *b, router_result *out, char *err, size_t cap)
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
    out->batch = b->records;
    out->outcome = r->outcome;
    r->batch = b;

    memset(r->route_records, 0, r->count * sizeof *r->route_records);
    out->route_records = r->route_records;
    ddb_batch batch = {sizeof batch, (uint32_t)b->count, DDB_OK};
    size_t i = 0;
    for (; i < b->count; i++) {
        const ddb_record *rec = &b->records[i];
        r->outcome[i].attempted = true;
        if (r->invocation.deadline_ms > 0) {
            int64_t left = r->invocation.deadline_ms - api_now_ms();
            if (left < r->margin_ms) {
                router_deadline(r, b, i, left);
                out->deadline_cut = true;
                break;
            }
        }
        const router_route *route = router_find(r, rec->table);
        if (!route || !router_record(r, route, rec, &batch)) {
            out->skipped++;
            continue;
        }
        r->route_records[route - r->routes]++;
        out->delivered++;
        if (r->outcome[i].plugin && r->on_failure == MANIFEST_STOP) {
            i++;
            break;
        }
    }
    out->undelivered = b->count - i;
    router_end_batch(r, b, i);

    for (size_t k = 0; k < i; k++) {
        if (!r->outcome[k].plugin) continue;
        out->failed++;
        if (r->on_failure == MANIFEST_STOP && out->nfailures) continue;
        r->failures[out->nfailures++] = b->records[k].sequence_number;
    }
    /* Out of time: Lambda must retry from the first record not delivered. Under "stop" an
     * earlier failure already makes it retry from there. */
    if (out->deadline_cut && !(r->on_failure == MANIFEST_STOP && out->nfailures))
        r->failures[out->nfailures++] = b->records[i].sequence_number;
    out->failures = r->failures;
    return true;
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
