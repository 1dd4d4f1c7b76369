/* event.h - decodes a DynamoDB Streams Lambda event into ddb_records in one pass.
 * No JSON tree: strings are unescaped and base64 decoded in place in the caller's buffer,
 * values land in an arena that is reused from one event to the next.
 * Knows nothing of plugins, manifests or routing. */
#ifndef DDBHOST_EVENT_H
#define DDBHOST_EVENT_H

#include <ddb/plugin.h>

typedef struct event_decoder event_decoder;

/* One member of the tumbling-window state object: its name, decoded and NUL-terminated, and
 * its value as the event wrote it (raw JSON text, not terminated). */
typedef struct event_member {
    ddb_str name;
    ddb_str json;
} event_member;

/* The tumbling-window keys of an event (FORMAT.md §5.1). Texts are NUL-terminated unless
 * said otherwise; everything is borrowed as the records are. */
typedef struct event_window {
    ddb_str start, end;        /* "window"'s bounds as written (ISO 8601), {NULL, 0} when absent */
    int64_t start_ms, end_ms;  /* the same in ms since the epoch, 0 when absent */
    ddb_str shard_id;          /* "shardId" */
    ddb_str table;             /* from the top-level "eventSourceARN", as a record's table */
    bool final_invoke;         /* "isFinalInvokeForWindow" */
    bool terminated_early;     /* "isWindowTerminatedEarly" */
    bool state_object;         /* "state" is a JSON object, every member of it in members */
    ddb_str state;             /* "state"'s raw JSON text (not terminated), or {NULL, 0}: Lambda
                                  wants it back in the response */
    const event_member *members; /* of state, in event order; state itself stays as it came */
    size_t nmembers;
} event_window;

typedef struct event_batch {
    const ddb_record *records; /* borrowed from the decoder and the buffer */
    size_t count;
    bool tumbling_window;      /* the event carries window/state keys */
    event_window window;       /* what they say (all empty without them) */
} event_batch;

event_decoder *event_decoder_new(void);
void event_decoder_free(event_decoder *d);

/* Decodes buf[0..len) in place (buf[len] must exist and be writable; its value does not
 * matter). On success *out borrows from buf and d until the next call. On failure returns
 * false and event_error(d) tells where and why in one line, e.g.
 * `Records[3].dynamodb.NewImage.price.N: "12a" is not a number (byte 1234)` or
 * `invalid JSON at byte 812: unexpected end of input`. */
bool event_decode(event_decoder *d, char *buf, size_t len, event_batch *out);
const char *event_error(const event_decoder *d);

/* Bytes the decoder holds between events (arena and scratch), for tests and benchmarks. */
size_t event_decoder_reserved(const event_decoder *d);

#endif
