/* progress.h - what `ddbhost poll` shows of its work: per table and shard, records done,
 * failures, discards, iterator age and state, as a view redrawn on a terminal, as JSON lines
 * for machines (--json), and the Embedded Metric Format line of each batch. The poller calls
 * it at clear points; it decides nothing about batches. docs/POLL.md. */
#ifndef DDBHOST_PROGRESS_H
#define DDBHOST_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "manifest.h"
#include "router.h"
#include "session.h"
#include "stream.h"

typedef struct progress progress;

/* json: where the JSON lines go (stdout under --json), or NULL for none. err: where EMF lines
 * go and, when view, where the view is drawn (stderr, a terminal); with view the logger's
 * lines erase it first. now_ms: the wall clock (NULL: api_now_ms). Borrowed until
 * progress_free. NULL when memory runs out. */
progress *progress_new(FILE *json, FILE *err, bool view, int64_t (*now_ms)(void));
/* Leaves the last view on the screen and stops erasing it before log lines. */
void progress_free(progress *pg);

/* Polling starts (after the tables' streams were found): the "start" line. */
void progress_start(progress *pg, const manifest *m, const char *manifest_path);
/* A shard found in table's stream; finished: its checkpoint says it was read to its end. */
void progress_shard(progress *pg, const char *table, const char *shard, const char *parent,
                    bool finished);
/* Records of a shard's lane, the first and last of n (in a lane with others between them),
 * in a tumbling window or not. Everything borrowed. */
typedef struct progress_span {
    const char *table, *shard;
    unsigned lane;                 /* 0 with parallelization_factor 1 */
    const stream_record *first, *last;
    size_t n;
    const char *window_start, *window_end; /* ISO 8601; NULL outside a tumbling window */
} progress_span;

/* A batch delivered: the span's records, done of them before the lowest failure; res and
 * times as session_process gave them (res NULL: the batch failed whole), ms its duration.
 * Writes the EMF line when m says "metrics": true. */
void progress_batch(progress *pg, const manifest *m, const progress_span *span, size_t done,
                    const router_result *res, const session_times *times, double ms);
/* The span's records sent to on_failure (condition: RetryAttemptsExhausted after the batch
 * just reported, or RecordAgeExceeded). */
void progress_discard(progress *pg, const progress_span *span, const char *condition);
/* A tumbling window's final invoke succeeded (span: its lane and window, no records):
 * early when the window ended before its time, state_bytes the final state's size. */
void progress_window_final(progress *pg, const progress_span *span, bool early,
                           size_t state_bytes);
/* The shard is read to its end (gone: it left the stream before it was). */
void progress_finished(progress *pg, const char *table, const char *shard, bool gone);
/* A reload for why ("SIGHUP", "a file changed"): refused is the error that kept the old
 * handlers, or NULL when the new ones took over. */
void progress_reload(progress *pg, const char *why, const char *refused);
/* Between two rounds of the shards: redraws the view, at most four times a second. */
void progress_tick(progress *pg);
/* Polling ends with status (the exit status): the "stop" line and the view a last time. */
void progress_stop(progress *pg, int status);

/* The view's text for a terminal width columns wide: lines ending in '\n', none longer than
 * width - 1. Returns the number of lines; out (cap bytes) always holds a C string. */
int progress_render(const progress *pg, char *out, size_t cap, int width);

#endif
