/* bind.h - bindings: a manifest handler that calls exported functions of any shared library
 * (no plugin.h, no descriptor: the manifest is the contract) with arguments taken from each
 * record, through libffi. Everything is opened and checked at load; per record it computes
 * the arguments and calls. Knows nothing of routing or of how the event arrived. */
#ifndef DDBHOST_BIND_H
#define DDBHOST_BIND_H

#include <stdio.h>

#include <ddb/plugin.h>

#include "manifest.h"

typedef struct bind_library bind_library;

/* Opens spec->library and prepares a call for each bound event: the library loads, each
 * function is exported and is a function, libffi accepts each signature. spec must outlive
 * the result. On failure returns NULL with one line in err (no "ddbhost: error:" prefix) in
 * the manifest's form, naming the key:
 * manifest "m.json": tables.Orders.bind.on_insert.call: "f" is not exported by "libx.so" ... */
bind_library *bind_open(const char *manifest_path, const manifest_handler *spec, char *err,
                        size_t cap);
void bind_close(bind_library *b);

/* The library's file name, which log lines name the handler by. Borrowed from b. */
const char *bind_name(const bind_library *b);
/* Whether records of event e call a function. */
bool bind_has(const bind_library *b, ddb_event_name e);

/* A record callback of loader_record_fn's shape, library being the bind_library: computes the
 * arguments of the binding for rec's event and calls its function. An argument that cannot be
 * passed (a missing attribute, a number out of range, a value of the wrong type) fails the
 * record without calling, and a function that returns failure fails it; either way one log
 * line says why. Not reentrant: each binding computes its arguments in scratch of its own. */
ddb_status bind_on_record(const ddb_record *rec, void *library);

/* One line per binding, for `ddbhost check`:
 * Orders: bind libbilling.so on INSERT -> billing_record(string, int64) returns int */
void bind_describe(const bind_library *b, const char *table, FILE *out);

#endif
