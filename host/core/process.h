/* process.h - one event in, its batch response out: the single path that both front
 * doors (`--invoke` and the Lambda runtime loop) take. Decodes, routes, delivers, logs. */
#ifndef DDBHOST_PROCESS_H
#define DDBHOST_PROCESS_H

#include "event.h"
#include "router.h"

/* Decodes buf[0..len) (buf[len] must be writable), delivers its records through r and
 * returns the batch response for Lambda (one line of JSON; owned by the caller: free()),
 * even when records failed; *res says what happened. Returns NULL when the event cannot
 * be decoded (err: the decoder's one line) or memory runs out. */
typedef struct process_times {
    double decode_ms;
    double deliver_ms; /* the handlers' time, hooks included */
} process_times;

/* With times, the info line also says how long decoding and the handlers took. */
char *process_event(router *r, event_decoder *d, char *buf, size_t len, router_result *res,
                    process_times *times, char *err, size_t cap);

#endif
