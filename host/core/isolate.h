/* isolate.h - a worker process that runs plugin code on the host's behalf, so that a crash,
 * an exit() or a hang in a plugin costs what it was doing instead of the host. The worker
 * is forked from the host and serves requests over a pipe (numbers and bytes; the answer: a
 * status, a line of text and bytes) until told to stop. Knows nothing of records. */
#ifndef DDBHOST_ISOLATE_H
#define DDBHOST_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ddb/plugin.h>

typedef struct isolate isolate;

/* One request: what to do (op, a, b) and bytes that go with it. In the worker, data is the
 * worker's own copy (NUL-terminated after len bytes, writable), or NULL when len is 0. */
typedef struct isolate_request {
    uint32_t op, a, b;
    char *data;
    size_t len;
} isolate_request;

/* The most bytes an answer may carry besides its line of text. */
#define ISOLATE_MAX_DATA (64u << 20)

/* What the worker answers besides a status: a line of text written to text (cap bytes,
 * NUL-terminated) and, when data is set, up to ISOLATE_MAX_DATA bytes of its own that it leaves
 * alone until the answer is sent (a tumbling-window state, say). */
typedef struct isolate_reply {
    char *text;
    size_t cap;
    const char *data;
    size_t len;
} isolate_reply;

/* Runs in the worker for each request; what it returns goes back to the host, with the
 * reply it may fill in. */
typedef ddb_status (*isolate_exec)(void *ctx, const isolate_request *q, isolate_reply *reply);

typedef enum isolate_outcome {
    ISOLATE_DONE,    /* the worker answered: *status holds its answer, why its reply text */
    ISOLATE_CRASHED, /* it died (signal or exit) before answering */
    ISOLATE_TIMEOUT  /* it did not answer in time and was killed */
} isolate_outcome;

/* Forks a worker that calls exec(ctx, ...) for each request. NULL when fork or pipe fail
 * (errno says why). stdout and stderr are flushed first so nothing is written twice. */
isolate *isolate_start(isolate_exec exec, void *ctx);

/* Sends one request and waits at most timeout_ms (< 0: no limit) for the answer. On DONE
 * why holds the worker's reply text ("" when none) and isolate_data its bytes. On CRASHED or
 * TIMEOUT the worker is gone and why says how, e.g. "killed by signal 11 (Segmentation
 * fault)", "exited with status 3", "gave no answer within 2000 ms and was killed"; the caller
 * stops it and starts another if it needs one. */
isolate_outcome isolate_call(isolate *w, const isolate_request *q, int64_t timeout_ms,
                             ddb_status *status, char *why, size_t cap);

/* The bytes of the last answer (NULL, 0 when it had none): owned by w, valid until its next
 * call. */
const char *isolate_data(const isolate *w, size_t *len);

/* Lets the worker finish (it exits when its request pipe closes), waits for it, and frees
 * w. A worker that does not exit within a second is killed. */
void isolate_stop(isolate *w);

#endif
