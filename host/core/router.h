/* router.h - joins a manifest to loaded plugins and delivers decoded records to them.
 * Owns handler instances (plugin, state, config) and the failure semantics (stop or
 * continue). Knows nothing of how an event arrived or how the answer leaves. */
#ifndef DDBHOST_ROUTER_H
#define DDBHOST_ROUTER_H

#include <stdio.h>

#include "api.h"
#include "event.h"
#include "manifest.h"

typedef struct router router;

/* A tumbling-window state a handler set: its member of the state object sent back to Lambda. */
typedef struct router_window_state {
    const char *key;         /* the plugin's name, or "NAME#2" for its second handler on the
                                route, "NAME#3" ... */
    ddb_str json;            /* a JSON object */
} router_window_state;

typedef struct router_result {
    size_t records;          /* in the event */
    size_t delivered;        /* records handed to at least one handler */
    size_t failed;           /* records that failed */
    size_t skipped;          /* records with no route, or filtered out by "events" */
    size_t undelivered;      /* records not attempted after a failure under "stop" */
    const ddb_str *failures; /* SequenceNumbers for batchItemFailures, in record order;
                                borrowed from the router and the batch until the next call */
    size_t nfailures;
    bool deadline_cut;       /* delivery stopped because the invocation's deadline neared */
    const size_t *route_records; /* records delivered per route, in manifest order */
    const ddb_record *batch;     /* the event's records (records of them), borrowed */
    const struct router_outcome *outcome; /* per record of the batch, borrowed */
    const router_window_state *window_states; /* in a tumbling-window invocation, the states
                                 handlers set, to replace their members of the event's state;
                                 borrowed from the router until the next call */
    size_t nwindow_states;
    bool handler_failed;     /* router_deliver failed because of a handler (a tumbling-window
                                state it set, hooks that failed with no record to retry), not
                                for want of memory */
} router_result;

/* What became of one record: plugin is NULL unless it failed. */
typedef struct router_outcome {
    const char *plugin;      /* the handler that failed it (its descriptor name) */
    ddb_status status;       /* what that handler returned */
    bool attempted;          /* delivery reached it (it may still have been skipped) */
} router_outcome;

typedef enum router_failure {
    ROUTER_REFUSED,     /* a plugin could not be loaded or failed validation (or, isolated,
                           its worker died loading it) */
    ROUTER_INIT_FAILED, /* a plugin's on_init failed (or, isolated, its worker died in it) */
    ROUTER_NOMEM
} router_failure;

/* Loads and validates every plugin of m, then runs each handler's on_init: in the host, or
 * for isolated handlers in the worker process forked here, which only loads them (the host
 * inspects their files and runs none of their code). Takes m: the
 * router owns what it held, and *m is left empty (manifest_free on it is harmless), on
 * failure as on success. On failure returns NULL with one line in err (no "ddbhost: error:"
 * prefix) and, when why is not NULL, what kind of failure it was; nothing stays loaded. */
router *router_new(manifest *m, router_failure *why, char *err, size_t cap);
/* The manifest the router was made from. Borrowed from r. */
const manifest *router_manifest(const router *r);

/* Whether the router has isolated handlers, whose worker decodes each event from its bytes
 * itself: router_keep_event must then be handed them before they are decoded in place. */
bool router_isolates(const router *r);
/* Keeps a copy of an event's bytes for the worker; false when out of memory. */
bool router_keep_event(router *r, const char *buf, size_t len);

/* The invocation the next batches belong to (copied; its strings are borrowed until the
 * next call), or NULL for none. Plugins see it through the host API; with a deadline,
 * delivery stops once less than margin_ms remain before it. */
void router_set_invocation(router *r, const api_invocation *inv, int64_t margin_ms);

/* The table name of route i, in manifest order ("*" for the catch-all). */
const char *router_route_name(const router *r, size_t i);
size_t router_route_count(const router *r);
/* Runs on_fini for every handler, then unloads. */
void router_free(router *r);

/* Delivers b's records; in a tumbling-window invocation, also opens and ends the batch of
 * every handler of the event's table built for ABI 1.2, records or none, and collects the
 * states they set. Returns false, with one line in err, when out of memory or when the
 * invocation must fail: a handler set a state that is not a JSON object, or the batch of one
 * that received no record failed (nothing would make Lambda try again). */
bool router_deliver(router *r, const event_batch *b, router_result *out, char *err, size_t cap);

/* Logs one warning per route with tumbling_window_s whose handlers cannot keep a window's
 * state (none is a plugin built for ABI 1.2 or later); returns how many. */
size_t router_warn(const router *r);

/* One line per route and handler, for `ddbhost check`. */
void router_describe(const router *r, FILE *out);

#endif
