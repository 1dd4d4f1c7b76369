/* poller.c - `ddbhost poll`, the third front door: for each table of the manifest it reads the
 * stream shard by shard (a child after its parent), batches records by the route's stream
 * settings, hands each batch to a session as the event Lambda would send, retries by Lambda's
 * rules and checkpoints after each batch. Owns signals, reloads and checkpoints; no decoding. */
#include "poller.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws.h"
#include "checkpoint.h"
#include "filter.h"
#include "log.h"
#include "progress.h"
#include "session.h"
#include "stream.h"
#include "sys.h"
#include "text.h"

#define POLLER_IDLE_MS 250          /* Lambda polls a shard about four times a second */
#define POLLER_DESCRIBE_MS 60000    /* how often the shard tree is read again */
#define POLLER_GET_LIMIT 1000
#define POLLER_MAX_EVENT (6u << 20) /* Lambda's payload limit */
#define POLLER_JSON_DEPTH 128

/* Set by the signal handlers, read between batches: the only way a handler can talk. */
static volatile sig_atomic_t poller_stop_flag, poller_reload_flag;

static void poller_on_stop(int sig)
{
    (void)sig;
    poller_stop_flag = 1;
}

static void poller_on_hup(int sig)
{
    (void)sig;
    poller_reload_flag = 1;
}

typedef struct poller_shard {
    char *id, *parent;
    char *iterator;            /* NULL: to be acquired */
    bool at_end;               /* GetRecords gave no NextShardIterator */
    bool latest;               /* open when poll started: LATEST applies to it */
    stream_record *q;          /* fetched, not yet processed: q[head..n) */
    size_t head, n, cap;
    double since_ms;           /* when q last went from empty to not empty */
    double next_get_ms;
    int64_t retries;           /* failed deliveries of the records at q[head] */
    size_t limit;              /* the batch size now (halved by bisection) */
    char *skipped;             /* SequenceNumber of the last record the filters dropped, when
                                  no queued record follows it: where the checkpoint goes once
                                  the queue is empty */
} poller_shard;

typedef struct poller_table {
    char *name;
    char *arn;
    poller_shard *shards;
    size_t n;
    checkpoint cp;
    filter *filter;            /* the route's "filters"; NULL: every record is delivered */
    double next_describe_ms;
    bool gone;                 /* no longer in the manifest */
} poller_table;

typedef struct poller_stamp {
    char *path;
    struct timespec mtime;
    off_t size;
    ino_t ino;
} poller_stamp;

typedef struct poller {
    const char *manifest_path, *state_dir;
    bool watch;
    progress *progress;
    aws_client *aws;
    session *s;
    poller_table *tables;
    size_t ntables;
    poller_stamp *stamps;
    size_t nstamps;
} poller;

/* ---- helpers --------------------------------------------------------------------------- */

static void poller_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL); /* a signal ends it early, as it should */
}

static const manifest_route *poller_route(const poller *p, const char *table)
{
    const manifest *m = session_manifest(p->s);
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->routes[i].table, table) == 0) return &m->routes[i];
    return NULL;
}

static void poller_shard_free(poller_shard *sh)
{
    for (size_t i = sh->head; i < sh->n; i++) stream_record_free(&sh->q[i]);
    free(sh->q);
    free(sh->id);
    free(sh->parent);
    free(sh->iterator);
    free(sh->skipped);
}

static void poller_table_free(poller_table *t)
{
    for (size_t i = 0; i < t->n; i++) poller_shard_free(&t->shards[i]);
    free(t->shards);
    free(t->name);
    free(t->arn);
    filter_free(t->filter);
    checkpoint_free(&t->cp);
}

static bool poller_save(const poller *p, poller_table *t)
{
    char err[1024];
    if (!p->state_dir) return true;
    if (checkpoint_save(p->state_dir, t->name, &t->cp, err, sizeof err)) return true;
    log_error("%s", err);
    return false;
}

/* Records q[head..head+count) processed: the checkpoint moves past them. */
static bool poller_advance(const poller *p, poller_table *t, poller_shard *sh, size_t count)
{
    if (count == 0) return true;
    checkpoint_shard *c = checkpoint_shard_of(&t->cp, sh->id);
    bool emptied = sh->head + count == sh->n && sh->skipped;
    char *seq = c ? strdup(emptied ? sh->skipped : sh->q[sh->head + count - 1].seq) : NULL;
    if (!seq) {
        log_error("out of memory");
        return false;
    }
    free(c->seq);
    c->seq = seq;
    for (size_t i = 0; i < count; i++) stream_record_free(&sh->q[sh->head + i]);
    sh->head += count;
    if (sh->head == sh->n) {
        sh->head = sh->n = 0;
        free(sh->skipped);
        sh->skipped = NULL;
    }
    sh->retries = 0;
    return poller_save(p, t);
}

/* Drops the records q[from..n) that match none of the route's filter patterns, as Lambda does
 * before invoking: they count as processed (the checkpoint passes them) and are never retried
 * nor reported. False when memory runs out. */
static bool poller_filter(const poller *p, poller_table *t, poller_shard *sh, size_t from)
{
    if (!t->filter) return true;
    size_t kept = from, dropped = 0;
    /* DynamoDB nests attributes 32 deep, two JSON levels each, under the record's own four. */
    json_tokener *tok = json_tokener_new_ex(POLLER_JSON_DEPTH);
    if (!tok) return false;
    for (size_t i = from; i < sh->n; i++) {
        json_tokener_reset(tok);
        json_object *o = json_tokener_parse_ex(tok, sh->q[i].json, (int)sh->q[i].len);
        /* A record the matcher cannot read is delivered, never dropped unseen: the session
         * reports what is wrong with it. */
        bool match = !o || filter_match(t->filter, o);
        json_object_put(o);
        if (match) {
            sh->q[kept++] = sh->q[i];
            free(sh->skipped);
            sh->skipped = NULL;
            continue;
        }
        dropped++;
        free(sh->skipped);
        sh->skipped = sh->q[i].seq;
        sh->q[i].seq = NULL;
        stream_record_free(&sh->q[i]);
    }
    json_tokener_free(tok);
    sh->n = kept;
    if (dropped)
        log_debug("poll: table %s, shard %s: %zu record%s matched no filter pattern", t->name,
                  sh->id, dropped, dropped == 1 ? "" : "s");
    if (!sh->skipped || sh->n > sh->head) return true;
    /* Nothing queued: the checkpoint moves past the dropped records now. */
    checkpoint_shard *c = checkpoint_shard_of(&t->cp, sh->id);
    if (!c) return false;
    free(c->seq);
    c->seq = sh->skipped;
    sh->skipped = NULL;
    sh->head = sh->n = 0;
    return poller_save(p, t);
}

/* ---- on failure ------------------------------------------------------------------------ */

static void poller_iso_time(char *out, size_t cap, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/* Lambda's on-failure record for the discarded records q[head..head+count): appended as one
 * line to the route's file:// destination; a service's ARN (which poll does not send to) gets
 * the line in the log instead. */
static void poller_discard(const poller *p, const poller_table *t, const poller_shard *sh,
                           size_t count, const char *condition, int64_t attempts)
{
    const manifest_route *r = poller_route(p, t->name);
    const char *dest = r ? r->stream.on_failure : NULL;
    const stream_record *first = &sh->q[sh->head], *last = &sh->q[sh->head + count - 1];
    progress_discard(p->progress, t->name, sh->id, first, count, condition);
    char now[40], a[40], b[40];
    poller_iso_time(now, sizeof now, time(NULL));
    poller_iso_time(a, sizeof a, (time_t)first->created_s);
    poller_iso_time(b, sizeof b, (time_t)last->created_s);
    json_object *o = json_object_new_object(), *rc = json_object_new_object();
    json_object *resp = json_object_new_object(), *info = json_object_new_object();
    json_object_object_add(rc, "requestId", json_object_new_string("ddbhost-poll"));
    json_object_object_add(rc, "functionArn", json_object_new_string(p->manifest_path));
    json_object_object_add(rc, "condition", json_object_new_string(condition));
    json_object_object_add(rc, "approximateInvokeCount", json_object_new_int64(attempts));
    json_object_object_add(o, "requestContext", rc);
    json_object_object_add(resp, "statusCode", json_object_new_int(200));
    json_object_object_add(resp, "executedVersion", json_object_new_string("$LATEST"));
    json_object_object_add(resp, "functionError", json_object_new_string("Unhandled"));
    json_object_object_add(o, "responseContext", resp);
    json_object_object_add(o, "version", json_object_new_string("1.0"));
    json_object_object_add(o, "timestamp", json_object_new_string(now));
    json_object_object_add(info, "shardId", json_object_new_string(sh->id));
    json_object_object_add(info, "startSequenceNumber", json_object_new_string(first->seq));
    json_object_object_add(info, "endSequenceNumber", json_object_new_string(last->seq));
    json_object_object_add(info, "approximateArrivalOfFirstRecord", json_object_new_string(a));
    json_object_object_add(info, "approximateArrivalOfLastRecord", json_object_new_string(b));
    json_object_object_add(info, "batchSize", json_object_new_int64((int64_t)count));
    json_object_object_add(info, "streamArn", json_object_new_string(t->arn));
    json_object_object_add(o, "DDBStreamBatchInfo", info);
    size_t len;
    const char *line = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    log_warn("poll: table %s, shard %s: %zu record%s discarded (%s), SequenceNumber %s to %s",
             t->name, sh->id, count, count == 1 ? "" : "s", condition, first->seq, last->seq);
    if (dest && strncmp(dest, "file://", 7) == 0) {
        FILE *f = fopen(dest + 7, "a");
        bool ok = f && fprintf(f, "%s\n", line) >= 0;
        if (f && fclose(f) != 0) ok = false;
        if (!ok) log_error("poll: on_failure \"%s\": %s", dest, strerror(errno));
    } else {
        log_warn("poll: on-failure record%s%s: %s", dest ? " for " : " (no on_failure)",
                 dest ? dest : "", line);
    }
    json_object_put(o);
}

/* ---- delivery -------------------------------------------------------------------------- */

/* The index in the batch q[head..head+n) of the lowest record the response names as failed;
 * n when none failed. A response that is not Lambda's, or names a record not in the batch,
 * fails the whole batch, as in Lambda. */
static size_t poller_lowest_failure(const poller_shard *sh, size_t n, const char *response)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, response, (int)strlen(response)) : NULL;
    json_object *list = NULL;
    size_t lowest = n;
    if (tok) json_tokener_free(tok);
    if (!o || !json_object_object_get_ex(o, "batchItemFailures", &list) ||
        !json_object_is_type(list, json_type_array)) {
        json_object_put(o);
        return 0;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *id = NULL, *f = json_object_array_get_idx(list, i);
        size_t at = n;
        if (json_object_object_get_ex(f, "itemIdentifier", &id) &&
            json_object_is_type(id, json_type_string))
            for (at = 0; at < n; at++)
                if (strcmp(sh->q[sh->head + at].seq, json_object_get_string(id)) == 0) break;
        if (at == n) at = 0;
        if (at < lowest) lowest = at;
    }
    json_object_put(o);
    return lowest;
}

/* The event of q[head..head+n), with one spare byte for the decoder; NULL when memory runs
 * out. */
static char *poller_event(const poller_shard *sh, size_t n, size_t *len)
{
    static const char open[] = "{\"Records\":[", close[] = "]}";
    size_t total = sizeof open + sizeof close;
    for (size_t i = 0; i < n; i++) total += sh->q[sh->head + i].len + 1;
    char *buf = malloc(total), *w = buf;
    if (!buf) return NULL;
    memcpy(w, open, sizeof open - 1);
    w += sizeof open - 1;
    for (size_t i = 0; i < n; i++) {
        if (i) *w++ = ',';
        memcpy(w, sh->q[sh->head + i].json, sh->q[sh->head + i].len);
        w += sh->q[sh->head + i].len;
    }
    memcpy(w, close, sizeof close);
    *len = (size_t)(w - buf) + sizeof close - 1;
    return buf;
}

/* Delivers the batch q[head..head+n) once and applies Lambda's rules to the answer: records
 * before the lowest failure are done; the failed rest is retried (halved when bisect_on_error)
 * until max_retries, then discarded to on_failure. False on an error that ends poll. */
static bool poller_deliver(poller *p, poller_table *t, poller_shard *sh, size_t n,
                           const manifest_stream *st)
{
    size_t len;
    char err[1024];
    char *buf = poller_event(sh, n, &len);
    if (!buf) {
        log_error("out of memory");
        return false;
    }
    router_result res;
    session_times times = {0, 0};
    double t0 = sys_monotonic_ms();
    char *response = session_process(p->s, buf, len, NULL, &res, &times, err, sizeof err);
    size_t ok = n;
    if (!response) {
        log_error("poll: table %s, shard %s: the batch of %zu records failed: %s", t->name,
                  sh->id, n, err);
        ok = 0;
    } else {
        ok = poller_lowest_failure(sh, n, response);
    }
    progress_batch(p->progress, session_manifest(p->s), t->name, sh->id, &sh->q[sh->head], n, ok,
                   response ? &res : NULL, &times, sys_monotonic_ms() - t0);
    free(response);
    free(buf);
    log_debug("poll: table %s, shard %s: %zu of %zu records done", t->name, sh->id, ok, n);
    if (!poller_advance(p, t, sh, ok)) return false;
    if (ok == n) {
        sh->limit = (size_t)st->batch_size;
        return true;
    }
    sh->retries++;
    if (st->max_retries >= 0 && sh->retries > st->max_retries) {
        int64_t attempts = sh->retries;
        poller_discard(p, t, sh, n - ok, "RetryAttemptsExhausted", attempts);
        sh->limit = (size_t)st->batch_size;
        return poller_advance(p, t, sh, n - ok);
    }
    if (st->bisect_on_error && n - ok > 1) sh->limit = (n - ok) / 2;
    return true;
}

/* ---- a shard --------------------------------------------------------------------------- */

/* The shard's iterator: after its checkpoint, else where a new shard starts. False on an error
 * that ends poll; true with no iterator when the shard is gone (it is then finished). */
static bool poller_acquire(poller *p, poller_table *t, poller_shard *sh)
{
    const checkpoint_shard *c = checkpoint_find(&t->cp, sh->id);
    const char *after = sh->skipped            ? sh->skipped
                        : sh->n > sh->head ? sh->q[sh->n - 1].seq
                        : c                ? c->seq
                                           : NULL;
    const manifest_route *r = poller_route(p, t->name);
    stream_position at = after ? STREAM_AFTER
                         : sh->latest && r && r->stream.starting_position == MANIFEST_LATEST
                             ? STREAM_LATEST
                             : STREAM_TRIM_HORIZON;
    aws_error e;
    sh->iterator = stream_iterator(p->aws, t->arn, sh->id, at, after, &e);
    if (!sh->iterator && strcmp(e.type, "TrimmedDataAccessException") == 0 && after) {
        log_warn("poll: table %s, shard %s: records after SequenceNumber %s were trimmed from "
                 "the stream (older than 24 hours) before they were processed; reading from "
                 "the oldest record still there", t->name, sh->id, after);
        sh->iterator = stream_iterator(p->aws, t->arn, sh->id, STREAM_TRIM_HORIZON, NULL, &e);
    }
    if (!sh->iterator && strcmp(e.type, "ResourceNotFoundException") == 0) {
        checkpoint_shard *cs = checkpoint_shard_of(&t->cp, sh->id);
        log_warn("poll: table %s, shard %s is gone from the stream: %s", t->name, sh->id, e.line);
        if (cs) cs->finished = true;
        progress_finished(p->progress, t->name, sh->id, true);
        return cs && poller_save(p, t);
    }
    if (!sh->iterator) log_error("%s", e.line);
    return sh->iterator != NULL;
}

/* One GetRecords page into the shard's queue. False on an error that ends poll. */
static bool poller_fetch(poller *p, poller_table *t, poller_shard *sh, bool *got)
{
    aws_error e;
    char err[1024];
    json_object *a = stream_get(p->aws, sh->iterator, POLLER_GET_LIMIT, &e);
    if (!a && (strcmp(e.type, "ExpiredIteratorException") == 0 ||
               strcmp(e.type, "TrimmedDataAccessException") == 0)) {
        log_debug("poll: table %s, shard %s: %s; a new iterator is taken", t->name, sh->id, e.line);
        free(sh->iterator);
        sh->iterator = NULL;
        return true;
    }
    if (!a) {
        log_error("%s", e.line);
        return false;
    }
    size_t before = sh->n;
    char *next = NULL;
    bool ok = stream_records_parse(a, t->arn, aws_region(p->aws), &sh->q, &sh->n, &sh->cap, &next,
                                   err, sizeof err);
    json_object_put(a);
    if (!ok) {
        log_error("%s", err);
        return false;
    }
    if (!poller_filter(p, t, sh, before)) {
        free(next);
        log_error("out of memory");
        return false;
    }
    free(sh->iterator);
    sh->iterator = next;
    sh->at_end = next == NULL;
    *got = sh->n > before;
    if (before == sh->head && sh->n > before) sh->since_ms = sys_monotonic_ms();
    sh->next_get_ms = sys_monotonic_ms() + (*got ? 0 : POLLER_IDLE_MS);
    return true;
}

/* Whether a record of the route's stream is older than max_record_age_s. */
static bool poller_too_old(const manifest_stream *st, const stream_record *r)
{
    return st->max_record_age_s >= 0 && r->created_s > 0 &&
           (int64_t)time(NULL) - r->created_s > st->max_record_age_s;
}

/* Reads and delivers what the shard has; *busy when it did anything. False on an error that
 * ends poll. */
static bool poller_shard_step(poller *p, poller_table *t, poller_shard *sh, bool *busy)
{
    const checkpoint_shard *c = checkpoint_find(&t->cp, sh->id);
    const manifest_route *r = poller_route(p, t->name);
    if (!r || (c && c->finished)) return true;
    if (sh->parent) {
        const checkpoint_shard *pc = checkpoint_find(&t->cp, sh->parent);
        for (size_t i = 0; i < t->n; i++)
            if (strcmp(t->shards[i].id, sh->parent) == 0 && !(pc && pc->finished)) return true;
    }
    const manifest_stream *st = &r->stream;
    if (sh->limit == 0 || sh->limit > (size_t)st->batch_size) sh->limit = (size_t)st->batch_size;
    if (!sh->iterator && !sh->at_end && !poller_acquire(p, t, sh)) return false;
    if (!sh->iterator && !sh->at_end) return true; /* the shard is gone, or comes back later */
    size_t pending = sh->n - sh->head;
    if (pending < (size_t)st->batch_size && !sh->at_end && sys_monotonic_ms() >= sh->next_get_ms) {
        bool got = false;
        if (!poller_fetch(p, t, sh, &got)) return false;
        *busy = *busy || got;
        pending = sh->n - sh->head;
    }
    if (pending == 0) {
        if (!sh->at_end) return true;
        checkpoint_shard *cs = checkpoint_shard_of(&t->cp, sh->id);
        if (!cs) return false;
        cs->finished = true;
        log_info("poll: table %s, shard %s read to its end", t->name, sh->id);
        progress_finished(p->progress, t->name, sh->id, false);
        *busy = true;
        return poller_save(p, t);
    }
    size_t old = 0;
    while (old < pending && poller_too_old(st, &sh->q[sh->head + old])) old++;
    if (old) {
        poller_discard(p, t, sh, old, "RecordAgeExceeded", sh->retries + 1);
        *busy = true;
        return poller_advance(p, t, sh, old);
    }
    size_t n = pending < sh->limit ? pending : sh->limit;
    size_t bytes = 16;
    for (size_t i = 0; i < n; i++) {
        bytes += sh->q[sh->head + i].len + 1;
        if (bytes > POLLER_MAX_EVENT && i > 0) {
            n = i;
            break;
        }
    }
    if (n < (size_t)st->batch_size && !sh->at_end && st->max_batching_window_s > 0 &&
        sys_monotonic_ms() - sh->since_ms < (double)st->max_batching_window_s * 1000)
        return true;
    *busy = true;
    bool ok = poller_deliver(p, t, sh, n, st);
    if (sh->n > sh->head) sh->since_ms = sys_monotonic_ms();
    return ok;
}

/* ---- tables, discovery and reloads ----------------------------------------------------- */

/* Reads the table's shard tree again and adds the shards it did not know; latest: they were
 * open when poll started. False on an error that ends poll. */
static bool poller_discover(poller *p, poller_table *t, bool latest)
{
    char err[1024];
    stream_shard *shards;
    size_t n;
    t->next_describe_ms = sys_monotonic_ms() + POLLER_DESCRIBE_MS;
    if (!stream_list_shards(p->aws, t->arn, &shards, &n, err, sizeof err)) {
        log_error("%s", err);
        return false;
    }
    size_t known = t->n;
    poller_shard *grown = realloc(t->shards, (t->n + n + 1) * sizeof *grown);
    if (!grown) {
        stream_shards_free(shards, n);
        log_error("out of memory");
        return false;
    }
    t->shards = grown;
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        for (size_t j = 0; j < known && !have; j++) have = strcmp(t->shards[j].id, shards[i].id) == 0;
        if (have) continue;
        poller_shard *sh = &t->shards[t->n++];
        memset(sh, 0, sizeof *sh);
        sh->id = shards[i].id;
        sh->parent = shards[i].parent;
        shards[i].id = shards[i].parent = NULL;
        sh->latest = latest && !shards[i].closed;
        const checkpoint_shard *c = checkpoint_find(&t->cp, sh->id);
        progress_shard(p->progress, t->name, sh->id, sh->parent, c && c->finished);
        log_debug("poll: table %s: shard %s%s%s", t->name, sh->id, sh->parent ? " (parent " : "",
                  sh->parent ? sh->parent : "");
    }
    stream_shards_free(shards, n);
    return true;
}

/* The table's stream and checkpoint, on first sight. False on an error that ends poll. */
static bool poller_table_open(poller *p, poller_table *t)
{
    char err[1024];
    if (!stream_find(p->aws, t->name, &t->arn, err, sizeof err)) {
        log_error("%s", err);
        return false;
    }
    if (p->state_dir && !checkpoint_load(p->state_dir, t->name, &t->cp, err, sizeof err)) {
        log_error("%s", err);
        return false;
    }
    if (t->cp.stream_arn && strcmp(t->cp.stream_arn, t->arn) != 0)
        log_warn("poll: table %s: the checkpoint is of stream %s, the table's stream is now %s: "
                 "it is read from its start position", t->name, t->cp.stream_arn, t->arn);
    if (!checkpoint_stream(&t->cp, t->arn)) {
        log_error("out of memory");
        return false;
    }
    log_info("poll: table %s: stream %s", t->name, t->arn);
    return poller_discover(p, t, true);
}

/* The table's filter patterns, from its route (again after a reload). */
static bool poller_filters(poller_table *t, const manifest_route *r)
{
    char err[512];
    filter_free(t->filter);
    t->filter = NULL;
    if (!r->stream.filters) return true;
    t->filter = filter_compile(r->stream.filters, err, sizeof err);
    if (!t->filter) log_error("poll: table %s: filters: %s", t->name, err);
    return t->filter != NULL;
}

/* Brings p->tables in line with the session's manifest: new tables opened, tables no longer
 * routed left alone (their checkpoint stays). */
static bool poller_sync_tables(poller *p)
{
    const manifest *m = session_manifest(p->s);
    for (size_t i = 0; i < p->ntables; i++) p->tables[i].gone = poller_route(p, p->tables[i].name) == NULL;
    for (size_t i = 0; i < m->count; i++) {
        const manifest_route *r = &m->routes[i];
        bool have = false;
        if (strcmp(r->table, "*") == 0) {
            log_warn("poll: the \"*\" route is no event source and is not polled; name each table");
            continue;
        }
        if (r->stream.tumbling_window_s > 0)
            log_warn("poll: table %s: tumbling_window_s is not applied by poll: batches carry no "
                     "window and no state (docs/POLL.md)", r->table);
        for (size_t j = 0; j < p->ntables && !have; j++) {
            have = strcmp(p->tables[j].name, r->table) == 0;
            if (have && !poller_filters(&p->tables[j], r)) return false;
        }
        if (have) continue;
        poller_table *grown = realloc(p->tables, (p->ntables + 1) * sizeof *grown);
        if (!grown) return false;
        p->tables = grown;
        poller_table *t = &p->tables[p->ntables];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(r->table))) return false;
        p->ntables++;
        if (!poller_filters(t, r) || !poller_table_open(p, t)) return false;
    }
    return true;
}

/* The files --watch looks at: the manifest and every plugin it names. */
static void poller_stamps(poller *p)
{
    for (size_t i = 0; i < p->nstamps; i++) free(p->stamps[i].path);
    free(p->stamps);
    p->stamps = NULL;
    p->nstamps = 0;
    const manifest *m = session_manifest(p->s);
    size_t n = 1;
    for (size_t i = 0; i < m->count; i++) n += m->routes[i].count;
    p->stamps = calloc(n, sizeof *p->stamps);
    if (!p->stamps) return;
    p->stamps[p->nstamps++].path = strdup(p->manifest_path);
    for (size_t i = 0; i < m->count; i++)
        for (size_t j = 0; j < m->routes[i].count; j++) {
            const char *f = m->routes[i].handlers[j].plugin ? m->routes[i].handlers[j].plugin
                                                            : m->routes[i].handlers[j].library;
            if (f && strchr(f, '/')) p->stamps[p->nstamps++].path = strdup(f);
        }
    for (size_t i = 0; i < p->nstamps; i++) {
        struct stat st;
        if (p->stamps[i].path && stat(p->stamps[i].path, &st) == 0) {
            p->stamps[i].mtime = st.st_mtim;
            p->stamps[i].size = st.st_size;
            p->stamps[i].ino = st.st_ino;
        }
    }
}

static bool poller_changed(const poller *p)
{
    for (size_t i = 0; i < p->nstamps; i++) {
        struct stat st;
        const poller_stamp *s = &p->stamps[i];
        if (!s->path || stat(s->path, &st) != 0) continue;
        if (st.st_mtim.tv_sec != s->mtime.tv_sec || st.st_mtim.tv_nsec != s->mtime.tv_nsec ||
            st.st_size != s->size || st.st_ino != s->ino)
            return true;
    }
    return false;
}

/* Opens the manifest again and, when every handler loads, swaps it in between two batches; a
 * refusal keeps the handlers that run. False on an error that ends poll. */
static bool poller_reload(poller *p, const char *why)
{
    char err[1024];
    session *fresh = session_open(p->manifest_path, NULL, NULL, err, sizeof err);
    if (p->watch) poller_stamps(p); /* a refused file is not tried again until it changes */
    if (!fresh) {
        log_error("poll: reload (%s) refused, the handlers loaded before keep running: %s", why, err);
        progress_reload(p->progress, why, err);
        return true;
    }
    session_close(p->s);
    p->s = fresh;
    if (p->watch) poller_stamps(p);
    log_info("poll: reloaded \"%s\" (%s)", p->manifest_path, why);
    progress_reload(p->progress, why, NULL);
    return poller_sync_tables(p);
}

/* ---- the command ----------------------------------------------------------------------- */

static const char poller_usage[] =
    "usage: ddbhost poll --manifest MANIFEST.json [--endpoint URL] [--region REGION]\n"
    "                    [--state DIR] [--watch] [--json | --quiet] [--log-level LEVEL]\n"
    "\n"
    "  --manifest FILE     the function's manifest: every table it names is polled\n"
    "  --endpoint URL      one URL for DynamoDB and DynamoDB Streams (DynamoDB Local, moto)\n"
    "  --region REGION     else AWS_REGION, else AWS_DEFAULT_REGION\n"
    "  --state DIR         keep checkpoints in DIR (else nothing is kept between runs)\n"
    "  --watch             reload when the manifest or a plugin file changes, as SIGHUP does\n"
    "  --json              one JSON object per line on stdout: start, each batch, discards,\n"
    "                      shards finished, reloads, stop (docs/POLL.md)\n"
    "  --quiet             no progress view, only errors on stderr\n"
    "  --log-level LEVEL   error, warn, info (default) or debug; logs go to stderr\n"
    "\n"
    "On a terminal, stderr shows a progress view (records done, failures, iterator age and\n"
    "state per table and shard) unless --json or --quiet is given.\n";

static int poller_run(poller *p, const char *endpoint, const char *region)
{
    char err[1024];
    int status = 1;
    struct sigaction sa = {0};
    sa.sa_handler = poller_on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = poller_on_hup;
    sigaction(SIGHUP, &sa, NULL);
    p->s = session_open(p->manifest_path, NULL, NULL, err, sizeof err);
    if (!p->s) {
        log_error("%s", err);
        return 1;
    }
    session_warn(p->s);
    p->aws = aws_open(endpoint, region, &poller_stop_flag, err, sizeof err);
    if (!p->aws) {
        log_error("poll: %s", err);
        return 1;
    }
    if (p->watch) poller_stamps(p);
    if (!poller_sync_tables(p)) return 1;
    if (p->ntables == 0) {
        log_error("poll: manifest \"%s\" routes no table by name: nothing to poll", p->manifest_path);
        return 1;
    }
    progress_start(p->progress, session_manifest(p->s), p->manifest_path);
    while (!poller_stop_flag) {
        if (poller_reload_flag) {
            poller_reload_flag = 0;
            if (!poller_reload(p, "SIGHUP")) return 1;
        } else if (p->watch && poller_changed(p) && !poller_reload(p, "a file changed")) {
            return 1;
        }
        progress_tick(p->progress);
        bool busy = false;
        for (size_t i = 0; i < p->ntables && !poller_stop_flag; i++) {
            poller_table *t = &p->tables[i];
            if (t->gone) continue;
            if (sys_monotonic_ms() >= t->next_describe_ms && !poller_discover(p, t, false))
                return 1;
            for (size_t j = 0; j < t->n && !poller_stop_flag; j++)
                if (!poller_shard_step(p, t, &t->shards[j], &busy)) return 1;
        }
        if (!busy && !poller_stop_flag) poller_sleep_ms(POLLER_IDLE_MS);
    }
    log_info("poll: stopped; checkpoints are written");
    status = 0;
    return status;
}

int poller_main(int argc, char **argv)
{
    enum { OPT_ENDPOINT = 256, OPT_REGION, OPT_STATE, OPT_WATCH, OPT_LOG_LEVEL, OPT_JSON, OPT_QUIET };
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"manifest", required_argument, NULL, 'm'},
        {"endpoint", required_argument, NULL, OPT_ENDPOINT},
        {"region", required_argument, NULL, OPT_REGION},
        {"state", required_argument, NULL, OPT_STATE},
        {"watch", no_argument, NULL, OPT_WATCH},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {NULL, 0, NULL, 0},
    };
    poller p = {0};
    const char *endpoint = NULL, *region = NULL;
    ddb_log_level level;
    bool json = false, quiet = false, level_set = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(poller_usage, stdout); return 0;
        case 'm': p.manifest_path = optarg; break;
        case OPT_ENDPOINT: endpoint = optarg; break;
        case OPT_REGION: region = optarg; break;
        case OPT_STATE: p.state_dir = optarg; break;
        case OPT_WATCH: p.watch = true; break;
        case OPT_LOG_LEVEL:
            if (!log_parse_level(optarg, &level))
                return log_usage_error("unknown log level \"%s\" (expected error, warn, info or debug)",
                                       optarg);
            log_set_level(level);
            level_set = true;
            break;
        case OPT_JSON: json = true; break;
        case OPT_QUIET: quiet = true; break;
        case ':': return log_usage_error("option %s needs an argument", argv[optind - 1]);
        default: return log_usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (!p.manifest_path || optind != argc)
        return log_usage_error("usage: ddbhost poll --manifest MANIFEST.json [--endpoint URL] "
                               "[--region REGION] [--state DIR] [--watch] [--json | --quiet]");
    struct stat st;
    if (p.state_dir && (stat(p.state_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        log_error("poll: --state \"%s\" is not a directory", p.state_dir);
        return 1;
    }
    if (quiet && !level_set) log_set_level(DDB_LOG_ERROR);
    bool view = !json && !quiet && isatty(STDERR_FILENO);
    p.progress = progress_new(json ? stdout : NULL, stderr, view, NULL);
    if (!p.progress) {
        log_error("out of memory");
        return 1;
    }
    int status = poller_run(&p, endpoint, region);
    progress_stop(p.progress, status);
    for (size_t i = 0; i < p.ntables; i++) poller_table_free(&p.tables[i]);
    free(p.tables);
    for (size_t i = 0; i < p.nstamps; i++) free(p.stamps[i].path);
    free(p.stamps);
    aws_close(p.aws);
    if (p.s) session_close(p.s);
    progress_free(p.progress);
    return status;
}
