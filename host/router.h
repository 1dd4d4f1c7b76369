/* router.h - joins a manifest to loaded plugins and delivers decoded records to them.
 * Owns handler instances (plugin, state, config) and the failure semantics (stop or
 * continue). Knows nothing of how an event arrived or how the answer leaves. */
#ifndef DDBHOST_ROUTER_H
#define DDBHOST_ROUTER_H

#include <stdio.h>

#include "event.h"
#include "manifest.h"

typedef struct router router;

typedef struct router_result {
    size_t records;          /* in the event */
    size_t delivered;        /* records handed to at least one handler */
    size_t failed;           /* records that failed */
    size_t skipped;          /* records with no route, or filtered out by "events" */
    size_t undelivered;      /* records not attempted after a failure under "stop" */
    const ddb_str *failures; /* SequenceNumbers for batchItemFailures, in record order;
                                borrowed from the router and the batch until the next call */
    size_t nfailures;
} router_result;

/* Loads and validates every plugin of m, then runs each handler's on_init. On failure
 * returns NULL with one line in err (no "ddbhost: error:" prefix); nothing stays loaded. */
router *router_new(const manifest *m, char *err, size_t cap);
/* Runs on_fini for every handler, then unloads. */
void router_free(router *r);

/* Delivers b's records. Returns false only when out of memory (err says so). */
bool router_deliver(router *r, const event_batch *b, router_result *out, char *err, size_t cap);

/* One line per route and handler, for `ddbhost check`. */
void router_describe(const router *r, FILE *out);

#endif
