/* session.h - what every front door opens: a manifest (or one plugin), its loaded handlers
 * and an event decoder, to which events are then handed one at a time. `--invoke`, the
 * Lambda runtime loop and `poll` hold nothing else. Owns the router (which owns the
 * manifest) and the decoder; knows nothing of where events come from or where answers go. */
#ifndef DDBHOST_SESSION_H
#define DDBHOST_SESSION_H

#include <stddef.h>
#include <stdio.h>

#include "api.h"
#include "manifest.h"
#include "router.h"

typedef struct session session;

typedef enum session_failure {
    SESSION_INVALID_MANIFEST, /* the manifest could not be read or is not valid */
    SESSION_REFUSED,          /* a plugin or bound library was refused */
    SESSION_INIT_FAILED,      /* a plugin's on_init failed (or crashed, under isolation) */
    SESSION_NOMEM,
    SESSION_INVALID_EVENT,    /* session_process: the event could not be decoded */
    SESSION_HANDLER_FAILED    /* session_process: a handler failed the invocation as a whole
                                 (a tumbling-window state it set, say) */
} session_failure;

/* Where each event's time went; the info line says it too when asked for. */
typedef struct session_times {
    double decode_ms;
    double deliver_ms; /* the handlers' time, hooks included */
} session_times;

/* Opens the manifest at manifest_path or, when it is NULL, a manifest routing every table to
 * the one plugin at plugin (as `--invoke PLUGIN.so` does); loads and validates every handler
 * and runs their on_init. NULL on failure, with one line in err (no "ddbhost: error:"
 * prefix) and, when why is not NULL, the kind of failure. Close with session_close. */
session *session_open(const char *manifest_path, const char *plugin, session_failure *why,
                      char *err, size_t cap);

/* Decodes buf[0..len) in place (buf[len] must be writable), delivers its records and returns
 * the batch response for Lambda: one line of JSON, owned by the caller (free()), even when
 * records failed; *res says what happened (borrowed from s and buf until the next call).
 * inv is the Lambda invocation the event belongs to (its deadline stops delivery the
 * manifest's deadline margin before it), or NULL. With times, the one info line logged per
 * event also says where the time went. Returns NULL when the event cannot be decoded (err:
 * the decoder's one line) or memory runs out. */
char *session_process(session *s, char *buf, size_t len, const api_invocation *inv,
                      router_result *res, session_times *times, char *err, size_t cap);

/* Why the last session_process returned NULL: SESSION_INVALID_EVENT, SESSION_HANDLER_FAILED
 * or SESSION_NOMEM, for a front door to name the failure (Lambda's errorType). */
session_failure session_last_failure(const session *s);

/* The manifest the session was opened with, for its settings (metrics) and its routes, in
 * the order of router_result's route_records. Borrowed from s. */
const manifest *session_manifest(const session *s);
/* The warnings `ddbhost check` gives about a manifest that loads: settings that drop records
 * with no trace (manifest_warn), windows that no handler keeps state for. Returns how many. */
size_t session_warn(const session *s);
/* One line per route and handler, as `ddbhost check` prints them. */
void session_describe(const session *s, FILE *out);
/* Bytes the decoder holds between events, for --repeat and benchmarks. */
size_t session_reserved(const session *s);

/* Runs every handler's on_fini and unloads them. */
void session_close(session *s);

#endif
