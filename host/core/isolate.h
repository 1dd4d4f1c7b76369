/* isolate.h - a worker process that runs plugin code on the host's behalf, so that a crash,
 * an exit() or a hang in a plugin costs one record instead of the whole batch. The worker
 * is forked from the host (it shares everything loaded and decoded so far, copy-on-write)
 * and serves small requests over a pipe until told to stop. Knows nothing of records. */
#ifndef DDBHOST_ISOLATE_H
#define DDBHOST_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ddb/plugin.h>

typedef struct isolate isolate;

/* Runs in the worker for each request; what it returns goes back to the host. */
typedef ddb_status (*isolate_exec)(void *ctx, uint32_t op, uint32_t a, uint32_t b);

typedef enum isolate_outcome {
    ISOLATE_DONE,    /* the worker answered: *status holds its answer */
    ISOLATE_CRASHED, /* it died (signal or exit) before answering */
    ISOLATE_TIMEOUT  /* it did not answer in time and was killed */
} isolate_outcome;

/* Forks a worker that calls exec(ctx, ...) for each request. NULL when fork or pipe fail
 * (errno says why). stdout and stderr are flushed first so nothing is written twice. */
isolate *isolate_start(isolate_exec exec, void *ctx);

/* Sends one request and waits at most timeout_ms (< 0: no limit) for the answer. On
 * CRASHED or TIMEOUT the worker is gone and why says how, e.g. "killed by signal 11
 * (Segmentation fault)", "exited with status 3", "no answer within 2000 ms"; the caller
 * stops it and starts another if it needs one. */
isolate_outcome isolate_call(isolate *w, uint32_t op, uint32_t a, uint32_t b, int64_t timeout_ms,
                             ddb_status *status, char *why, size_t cap);

/* Lets the worker finish (it exits when its request pipe closes), waits for it, and frees
 * w. A worker that does not exit within a second is killed. */
void isolate_stop(isolate *w);

#endif
