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
#define POLLER_JSON_DEPTH 256        /* records nest 68 deep at most; window states more */
#define POLLER_MAX_STATE (1u << 20)   /* Lambda's limit on a window's state: past it the window
                                         ends early */
#define POLLER_WINDOW_GRACE_S 2       /* how late a record may show in the stream after its
                                         ApproximateCreationDateTime */

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

/* A record read from the shard, waiting in its queue until the checkpoint passes it. */
typedef struct poller_rec {
    stream_record r;           /* r.json freed once done; r.seq kept until the checkpoint passes */
    unsigned lane;             /* r.partition's lane */
    bool done;                 /* delivered, discarded, or dropped by the filters */
} poller_rec;

/* One of the shard's lanes (parallelization_factor of them; Lambda's virtual shards): the
 * records of a partition key all go to one lane, which batches, retries and keeps its
 * tumbling window on its own. */
typedef struct poller_lane {
    size_t pending;            /* its records in the queue not done */
    size_t limit;              /* the batch size now (halved by bisection) */
    int64_t retries;           /* failed deliveries of its first record not done */
    double since_ms;           /* when pending last went from 0 to more */
    bool early;                /* its window's state outgrew Lambda's limit: the window ends */
    int64_t final_tries;       /* failed final invokes of its window */
    double final_ms;           /* a failed final invoke is not tried again before then */
} poller_lane;

typedef struct poller_shard {
    char *id, *parent;
    char *iterator;            /* NULL: to be acquired */
    bool at_end;               /* GetRecords gave no NextShardIterator, or the shard is gone */
    bool gone;                 /* left the stream (trimmed) before it was read to its end */
    bool latest;               /* open when poll started: LATEST applies to it */
    poller_rec *q;             /* read, not yet passed by the checkpoint: q[head..n) */
    size_t head, n, cap;
    poller_lane *lanes;
    size_t nlanes;             /* 0 until the shard is first stepped */
    double next_get_ms;
    int64_t horizon_s;         /* every record created before this second has been read */
    bool lanes_changed;        /* the lanes of the checkpoint were given up: said once */
    int64_t final_tries;       /* as poller_lane's, for the windows of lanes given up */
    double final_ms;
} poller_shard;

typedef struct poller_table {
    char *name;
    char *arn;
    char *hash_key;            /* the table's partition key; NULL: unknown */
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

/* A tumbling window as a batch carries it. */
typedef struct poller_window {
    int64_t start, end;        /* seconds since the epoch */
    const char *state;         /* a JSON object's text */
    bool final, early;
} poller_window;

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

/* t in ISO 8601 UTC, with milliseconds (on-failure records) or without (windows). */
static void poller_iso_time(char *out, size_t cap, int64_t t, bool ms)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, cap, ms ? "%Y-%m-%dT%H:%M:%S.000Z" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Orders two SequenceNumbers (decimal texts of any length): <0, 0 or >0. */
static int poller_seq_cmp(const char *a, const char *b)
{
    while (*a == '0' && a[1]) a++;
    while (*b == '0' && b[1]) b++;
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* How many lanes the checkpoint keeps for a route: none when the shard is one lane with no
 * window (its sequence number says everything). */
static size_t poller_lanes_kept(const manifest_stream *st)
{
    return st->parallelization_factor > 1 || st->tumbling_window_s > 0
               ? (size_t)st->parallelization_factor
               : 0;
}

/* The start of the tumbling window a record created at `created` belongs to. */
static int64_t poller_window_of(const manifest_stream *st, int64_t created)
{
    int64_t w = st->tumbling_window_s;
    return created - created % w;
}

static void poller_shard_free(poller_shard *sh)
{
    for (size_t i = sh->head; i < sh->n; i++) stream_record_free(&sh->q[i].r);
    free(sh->q);
    free(sh->lanes);
    free(sh->id);
    free(sh->parent);
    free(sh->iterator);
}

static void poller_table_free(poller_table *t)
{
    for (size_t i = 0; i < t->n; i++) poller_shard_free(&t->shards[i]);
    free(t->shards);
    free(t->name);
    free(t->arn);
    free(t->hash_key);
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

/* Moves the checkpoint past the records done at the head of the queue: every record up to
 * its sequence number is done, in every lane. The lanes' own sequence numbers it passes say
 * nothing more and are dropped. Whether it moved. */
static bool poller_settle(poller_shard *sh, checkpoint_shard *cs)
{
    size_t from = sh->head;
    while (sh->head < sh->n && sh->q[sh->head].done) sh->head++;
    if (sh->head == from) return false;
    free(cs->seq);
    cs->seq = sh->q[sh->head - 1].r.seq;
    sh->q[sh->head - 1].r.seq = NULL;
    for (size_t i = from; i < sh->head; i++) stream_record_free(&sh->q[i].r);
    for (size_t i = 0; i < cs->nlanes; i++)
        if (cs->lanes[i].seq && poller_seq_cmp(cs->lanes[i].seq, cs->seq) <= 0) {
            free(cs->lanes[i].seq);
            cs->lanes[i].seq = NULL;
        }
    if (sh->head == sh->n) {
        sh->head = sh->n = 0;
    } else if (sh->head >= sh->n / 2) {
        memmove(sh->q, sh->q + sh->head, (sh->n - sh->head) * sizeof *sh->q);
        sh->n -= sh->head;
        sh->head = 0;
    }
    return true;
}

/* The records q[idx[0..count)] of lane `lane` are done (delivered or discarded): the lane's
 * sequence number moves to the last, the checkpoint past what is done, and it is saved. */
static bool poller_done(const poller *p, poller_table *t, poller_shard *sh, checkpoint_shard *cs,
                        unsigned lane, const size_t *idx, size_t count)
{
    if (count == 0) return poller_save(p, t);
    for (size_t i = 0; i < count; i++) {
        poller_rec *q = &sh->q[idx[i]];
        q->done = true;
        free(q->r.json);
        q->r.json = NULL;
    }
    sh->lanes[lane].pending -= count;
    if (lane < cs->nlanes) {
        char *seq = strdup(sh->q[idx[count - 1]].r.seq);
        if (!seq) {
            log_error("out of memory");
            return false;
        }
        free(cs->lanes[lane].seq);
        cs->lanes[lane].seq = seq;
    }
    poller_settle(sh, cs);
    return poller_save(p, t);
}

/* The batch's records as the progress view and --json name them. */
static progress_span poller_span(const poller_table *t, const poller_shard *sh, unsigned lane,
                                 const size_t *idx, size_t n, const char *start, const char *end)
{
    return (progress_span){t->name, sh->id, lane, n ? &sh->q[idx[0]].r : NULL,
                           n ? &sh->q[idx[n - 1]].r : NULL, n, start, end};
}

/* ---- on failure ------------------------------------------------------------------------ */

/* Lambda's on-failure record for the discarded records q[idx[0..count)]: appended as one line
 * to the route's file:// destination; a service's ARN (which poll does not send to) gets the
 * line in the log instead. */
static void poller_discard(const poller *p, const poller_table *t, const poller_shard *sh,
                           unsigned lane, const size_t *idx, size_t count, const char *condition,
                           int64_t attempts)
{
    const manifest_route *r = poller_route(p, t->name);
    const char *dest = r ? r->stream.on_failure : NULL;
    const stream_record *first = &sh->q[idx[0]].r, *last = &sh->q[idx[count - 1]].r;
    progress_span span = poller_span(t, sh, lane, idx, count, NULL, NULL);
    progress_discard(p->progress, &span, condition);
    char now[40], a[40], b[40];
    poller_iso_time(now, sizeof now, (int64_t)time(NULL), true);
    poller_iso_time(a, sizeof a, first->created_s, true);
    poller_iso_time(b, sizeof b, last->created_s, true);
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

/* What the session answered to the batch q[idx[0..n)]: the index in it of the lowest record
 * named as failed, n when none failed; in a tumbling window (state not NULL), the state the
 * answer carries, owned. A response that is not Lambda's, names a record not in the batch, or
 * in a window carries no state object, fails the whole batch, as in Lambda. */
static size_t poller_answer(const poller_shard *sh, const size_t *idx, size_t n,
                            const char *response, char **state)
{
    json_tokener *tok = json_tokener_new_ex(POLLER_JSON_DEPTH);
    json_object *o = tok ? json_tokener_parse_ex(tok, response, (int)strlen(response)) : NULL;
    json_object *list = NULL, *st = NULL;
    size_t lowest = n;
    if (tok) json_tokener_free(tok);
    if (state) *state = NULL;
    if (!o || !json_object_object_get_ex(o, "batchItemFailures", &list) ||
        !json_object_is_type(list, json_type_array) ||
        (state && (!json_object_object_get_ex(o, "state", &st) ||
                   !json_object_is_type(st, json_type_object)))) {
        json_object_put(o);
        return 0;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *id = NULL, *f = json_object_array_get_idx(list, i);
        size_t at = n;
        if (json_object_object_get_ex(f, "itemIdentifier", &id) &&
            json_object_is_type(id, json_type_string))
            for (at = 0; at < n; at++)
                if (strcmp(sh->q[idx[at]].r.seq, json_object_get_string(id)) == 0) break;
        if (at == n) at = 0;
        if (at < lowest) lowest = at;
    }
    if (state) {
        const char *text = json_object_to_json_string_ext(
            st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *state = text ? strdup(text) : NULL;
        if (!*state) lowest = 0;
    }
    json_object_put(o);
    return lowest;
}

/* s escaped as a JSON string's body, malloc'd; NULL when memory runs out. */
static char *poller_escape(const char *s)
{
    size_t len = text_escape(NULL, 0, s, strlen(s)) + 1;
    char *out = malloc(len);
    if (out) text_escape(out, len, s, strlen(s));
    return out;
}

/* The event of the records q[idx[0..n)] (and of the window w, or none), with one spare byte
 * for the decoder; NULL when memory runs out. */
static char *poller_event(const poller_table *t, const poller_shard *sh, const size_t *idx,
                          size_t n, const poller_window *w, size_t *len)
{
    static const char open[] = "{\"Records\":[";
    char start[32], end[32], *tail = NULL, *shard = NULL, *arn = NULL;
    size_t tail_len = 2;
    if (w) {
        poller_iso_time(start, sizeof start, w->start, false);
        poller_iso_time(end, sizeof end, w->end, false);
        static const char fmt[] = "],\"window\":{\"start\":\"%s\",\"end\":\"%s\"},\"state\":%s,"
                                  "\"shardId\":\"%s\",\"eventSourceARN\":\"%s\","
                                  "\"isFinalInvokeForWindow\":%s,\"isWindowTerminatedEarly\":%s}";
        shard = poller_escape(sh->id);
        arn = poller_escape(t->arn);
        int need = shard && arn ? snprintf(NULL, 0, fmt, start, end, w->state, shard, arn,
                                           w->final ? "true" : "false", w->early ? "true" : "false")
                                : -1;
        tail = need >= 0 ? malloc((size_t)need + 1) : NULL;
        if (tail)
            snprintf(tail, (size_t)need + 1, fmt, start, end, w->state, shard, arn,
                     w->final ? "true" : "false", w->early ? "true" : "false");
        free(shard);
        free(arn);
        if (!tail) return NULL;
        tail_len = (size_t)need;
    }
    size_t total = sizeof open + tail_len + 1;
    for (size_t i = 0; i < n; i++) total += sh->q[idx[i]].r.len + 1;
    char *buf = malloc(total), *p = buf;
    if (!buf) {
        free(tail);
        return NULL;
    }
    memcpy(p, open, sizeof open - 1);
    p += sizeof open - 1;
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ',';
        memcpy(p, sh->q[idx[i]].r.json, sh->q[idx[i]].r.len);
        p += sh->q[idx[i]].r.len;
    }
    memcpy(p, tail ? tail : "]}", tail_len);
    p += tail_len;
    *p = '\0';
    *len = (size_t)(p - buf);
    free(tail);
    return buf;
}

/* Hands the records q[idx[0..n)] of lane `lane` (in window w, or none) to the session once;
 * the answer (owned, NULL when the batch failed whole), its outcome in *res, *times and *ms. */
static char *poller_invoke(poller *p, const poller_table *t, const poller_shard *sh,
                           const size_t *idx, size_t n, const poller_window *w,
                           router_result *res, session_times *times, double *ms)
{
    size_t len;
    char err[1024];
    char *buf = poller_event(t, sh, idx, n, w, &len);
    *ms = 0;
    if (!buf) {
        log_error("out of memory");
        return NULL;
    }
    double t0 = sys_monotonic_ms();
    char *response = session_process(p->s, buf, len, NULL, res, times, err, sizeof err);
    *ms = sys_monotonic_ms() - t0;
    free(buf);
    if (!response && w && w->final)
        log_warn("poll: table %s, shard %s: the final invoke of a tumbling window failed: %s; "
                 "the shard waits until it succeeds", t->name, sh->id, err);
    else if (!response)
        log_error("poll: table %s, shard %s: the batch of %zu records failed: %s", t->name,
                  sh->id, n, err);
    return response;
}

/* Delivers the records q[idx[0..n)] of lane `lane` once (in the lane's open window when the
 * route has tumbling windows) and applies Lambda's rules to the answer: records before the
 * lowest failure are done and the window takes the state the answer carries; the failed rest
 * is retried (halved when bisect_on_error) until max_retries, then discarded to on_failure.
 * False on an error that ends poll. */
static bool poller_deliver(poller *p, poller_table *t, poller_shard *sh, checkpoint_shard *cs,
                           unsigned lane, const size_t *idx, size_t n, const manifest_stream *st)
{
    poller_lane *ln = &sh->lanes[lane];
    checkpoint_lane *cl = lane < cs->nlanes && cs->lanes[lane].window ? &cs->lanes[lane] : NULL;
    poller_window w = {cl ? cl->window_start : 0, cl ? cl->window_end : 0, cl ? cl->state : NULL,
                       false, false};
    router_result res;
    session_times times = {0, 0};
    double ms;
    char *state = NULL, start[32], end[32];
    char *response = poller_invoke(p, t, sh, idx, n, cl ? &w : NULL, &res, &times, &ms);
    size_t ok = response ? poller_answer(sh, idx, n, response, cl ? &state : NULL) : 0;
    if (cl) {
        poller_iso_time(start, sizeof start, w.start, false);
        poller_iso_time(end, sizeof end, w.end, false);
    }
    progress_span span = poller_span(t, sh, lane, idx, n, cl ? start : NULL, cl ? end : NULL);
    progress_batch(p->progress, session_manifest(p->s), &span, ok, response ? &res : NULL, &times,
                   ms);
    free(response);
    log_debug("poll: table %s, shard %s, lane %u: %zu of %zu records done", t->name, sh->id, lane,
              ok, n);
    if (state && ok > 0) {
        if (strlen(state) > POLLER_MAX_STATE) ln->early = true;
        if (!checkpoint_window(cl, w.start, w.end, state)) {
            free(state);
            log_error("out of memory");
            return false;
        }
    }
    free(state);
    if (ok > 0) ln->retries = 0;
    if (!poller_done(p, t, sh, cs, lane, idx, ok)) return false;
    if (ok == n) {
        ln->limit = (size_t)st->batch_size;
        return true;
    }
    ln->retries++;
    if (st->max_retries >= 0 && ln->retries > st->max_retries) {
        int64_t attempts = ln->retries;
        poller_discard(p, t, sh, lane, idx + ok, n - ok, "RetryAttemptsExhausted", attempts);
        ln->limit = (size_t)st->batch_size;
        ln->retries = 0;
        return poller_done(p, t, sh, cs, lane, idx + ok, n - ok);
    }
    if (st->bisect_on_error && n - ok > 1) ln->limit = (n - ok) / 2;
    return true;
}

/* The final invoke of the window open in the checkpoint's lane `lane` (Records empty, its
 * last state, isFinalInvokeForWindow), which closes it; a failure leaves it open, tried again
 * later (Lambda holds the shard until it succeeds). *tries and *next_ms pace the tries. False
 * on an error that ends poll. */
static bool poller_final(poller *p, poller_table *t, poller_shard *sh, checkpoint_shard *cs,
                         unsigned lane, bool early, int64_t *tries, double *next_ms)
{
    checkpoint_lane *cl = &cs->lanes[lane];
    poller_window w = {cl->window_start, cl->window_end, cl->state, true, early};
    router_result res;
    session_times times = {0, 0};
    double ms;
    char start[32], end[32];
    char *response = poller_invoke(p, t, sh, NULL, 0, &w, &res, &times, &ms);
    if (!response) {
        int64_t shift = *tries < 7 ? *tries : 7; /* 250 ms doubled, up to 32 s */
        *next_ms = sys_monotonic_ms() + (double)(POLLER_IDLE_MS << shift);
        (*tries)++;
        return true;
    }
    free(response);
    poller_iso_time(start, sizeof start, w.start, false);
    poller_iso_time(end, sizeof end, w.end, false);
    progress_span span = poller_span(t, sh, lane, NULL, 0, start, end);
    progress_window_final(p->progress, &span, early, strlen(cl->state));
    log_debug("poll: table %s, shard %s, lane %u: window %s to %s closed", t->name, sh->id, lane,
              start, end);
    *tries = 0;
    *next_ms = 0;
    checkpoint_window(cl, 0, 0, NULL);
    return poller_save(p, t);
}

/* ---- a shard --------------------------------------------------------------------------- */

/* The shard's iterator: after its last record read, else after its checkpoint, else where a
 * new shard starts. False on an error that ends poll; true with no iterator when the shard is
 * gone: it is then at its end, and finishes as a shard read to its end does (the records
 * read are delivered and the open windows closed first). */
static bool poller_acquire(poller *p, poller_table *t, poller_shard *sh)
{
    const checkpoint_shard *c = checkpoint_find(&t->cp, sh->id);
    const char *after = sh->n > sh->head ? sh->q[sh->n - 1].r.seq : c ? c->seq : NULL;
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
        log_warn("poll: table %s, shard %s is gone from the stream: %s", t->name, sh->id, e.line);
        sh->at_end = sh->gone = true;
        return true;
    }
    if (!sh->iterator) log_error("%s", e.line);
    return sh->iterator != NULL;
}

/* Whether the record matches the table's filter patterns (always, without any). A record
 * the matcher cannot read is delivered, never dropped unseen: the session reports what is
 * wrong with it. */
static bool poller_wanted(const poller_table *t, json_tokener *tok, const stream_record *r)
{
    if (!t->filter) return true;
    json_tokener_reset(tok);
    json_object *o = json_tokener_parse_ex(tok, r->json, (int)r->len);
    bool match = !o || filter_match(t->filter, o);
    json_object_put(o);
    return match;
}

/* Queues the records of a GetRecords page, each in its lane. A record its lane already did
 * (the checkpoint's lane sequence number says so) or that matches none of the route's filter
 * patterns is done at once, as Lambda drops those before invoking: it counts as processed and
 * is never retried nor reported. False, having taken none of them, when memory runs out. */
static bool poller_queue(poller_table *t, poller_shard *sh, const checkpoint_shard *cs,
                         stream_record *recs, size_t n)
{
    if (sh->n + n > sh->cap) {
        size_t cap = sh->cap ? sh->cap : 256;
        while (cap < sh->n + n) cap *= 2;
        poller_rec *grown = realloc(sh->q, cap * sizeof *grown);
        if (!grown) return false;
        sh->q = grown;
        sh->cap = cap;
    }
    /* DynamoDB nests attributes 32 deep, two JSON levels each, under the record's own four. */
    json_tokener *tok = t->filter ? json_tokener_new_ex(POLLER_JSON_DEPTH) : NULL;
    if (t->filter && !tok) return false;
    size_t dropped = 0, again = 0;
    double now = sys_monotonic_ms();
    for (size_t i = 0; i < n; i++) {
        poller_rec *q = &sh->q[sh->n++];
        q->r = recs[i];
        q->lane = (unsigned)(q->r.partition % sh->nlanes);
        q->done = false;
        if (q->r.created_s > sh->horizon_s) sh->horizon_s = q->r.created_s;
        const char *lane_seq = q->lane < cs->nlanes ? cs->lanes[q->lane].seq : NULL;
        if (lane_seq && poller_seq_cmp(q->r.seq, lane_seq) <= 0) {
            again++;
        } else if (!poller_wanted(t, tok, &q->r)) {
            dropped++;
        } else {
            poller_lane *ln = &sh->lanes[q->lane];
            if (ln->pending++ == 0) ln->since_ms = now;
            continue;
        }
        q->done = true;
        free(q->r.json);
        q->r.json = NULL;
    }
    if (tok) json_tokener_free(tok);
    if (dropped)
        log_debug("poll: table %s, shard %s: %zu record%s matched no filter pattern", t->name,
                  sh->id, dropped, dropped == 1 ? "" : "s");
    if (again)
        log_debug("poll: table %s, shard %s: %zu record%s already processed in %s lane",
                  t->name, sh->id, again, again == 1 ? "" : "s", again == 1 ? "its" : "their");
    return true;
}

/* One GetRecords page into the shard's queue. False on an error that ends poll. */
static bool poller_fetch(poller *p, poller_table *t, poller_shard *sh, checkpoint_shard *cs,
                         bool *got)
{
    aws_error e;
    char err[1024];
    int64_t asked_s = (int64_t)time(NULL);
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
    stream_record *recs = NULL;
    size_t n = 0, cap = 0;
    char *next = NULL;
    bool parsed = stream_records_parse(a, t->arn, aws_region(p->aws), t->hash_key, &recs, &n,
                                       &cap, &next, err, sizeof err);
    json_object_put(a);
    if (!parsed || !poller_queue(t, sh, cs, recs, n)) {
        for (size_t i = 0; i < n; i++) stream_record_free(&recs[i]);
        free(recs);
        free(next);
        log_error("%s", parsed ? "out of memory" : err);
        return false;
    }
    free(recs);
    /* An empty page at the head: every record created a grace before the call is read. */
    if (n == 0 && next && asked_s - POLLER_WINDOW_GRACE_S > sh->horizon_s)
        sh->horizon_s = asked_s - POLLER_WINDOW_GRACE_S;
    free(sh->iterator);
    sh->iterator = next;
    sh->at_end = next == NULL;
    *got = n > 0;
    sh->next_get_ms = sys_monotonic_ms() + (*got ? 0 : POLLER_IDLE_MS);
    return !poller_settle(sh, cs) || poller_save(p, t);
}

/* Whether a record of the route's stream is older than max_record_age_s. */
static bool poller_too_old(const manifest_stream *st, const stream_record *r)
{
    return st->max_record_age_s >= 0 && r->created_s > 0 &&
           (int64_t)time(NULL) - r->created_s > st->max_record_age_s;
}

/* Whether the checkpoint's lanes are those of the route's settings: as many as it keeps, and
 * each open window as long as tumbling_window_s. */
static bool poller_lanes_fit(const checkpoint_shard *cs, const manifest_stream *st)
{
    if (cs->nlanes != poller_lanes_kept(st)) return false;
    for (size_t i = 0; i < cs->nlanes; i++)
        if (cs->lanes[i].window &&
            (st->tumbling_window_s == 0 ||
             cs->lanes[i].window_end - cs->lanes[i].window_start != st->tumbling_window_s))
            return false;
    return true;
}

/* Makes the shard's lanes those of the route's settings. The checkpoint's lanes are kept
 * when they fit (a restart); else (the settings changed) their open windows end early (their
 * final invokes first, which may have to wait) and they are made again: the queue's records
 * not done go to their new lanes, in order, so that each key keeps its order. *ready when
 * the lanes fit. False on an error that ends poll. */
static bool poller_lanes(poller *p, poller_table *t, poller_shard *sh, checkpoint_shard *cs,
                         const manifest_stream *st, bool *busy, bool *ready)
{
    *ready = false;
    if (!poller_lanes_fit(cs, st)) {
        for (size_t i = 0; i < cs->nlanes; i++) {
            if (!cs->lanes[i].window) continue;
            if (sys_monotonic_ms() < sh->final_ms) return true;
            *busy = true;
            if (!poller_final(p, t, sh, cs, (unsigned)i, true, &sh->final_tries, &sh->final_ms))
                return false;
            if (cs->lanes[i].window) return true;
        }
        bool had = false;
        for (size_t i = 0; i < cs->nlanes; i++) had = had || cs->lanes[i].seq;
        if (had && !sh->lanes_changed)
            log_warn("poll: table %s, shard %s: its lanes are made anew (parallelization_factor "
                     "or tumbling_window_s changed): records they did past SequenceNumber %s may "
                     "be delivered again after a restart", t->name, sh->id,
                     cs->seq ? cs->seq : "(none)");
        sh->lanes_changed = true;
        if (!checkpoint_lanes(cs, poller_lanes_kept(st))) goto nomem;
        free(sh->lanes);
        sh->lanes = NULL;
        sh->nlanes = 0;
        if (!poller_save(p, t)) return false;
    }
    size_t n = (size_t)st->parallelization_factor;
    if (sh->nlanes != n) {
        poller_lane *lanes = calloc(n, sizeof *lanes);
        if (!lanes) goto nomem;
        free(sh->lanes);
        sh->lanes = lanes;
        sh->nlanes = n;
        double now = sys_monotonic_ms();
        for (size_t i = sh->head; i < sh->n; i++) {
            poller_rec *q = &sh->q[i];
            q->lane = (unsigned)(q->r.partition % n);
            if (!q->done && lanes[q->lane].pending++ == 0) lanes[q->lane].since_ms = now;
        }
    }
    *ready = true;
    return true;
nomem:
    log_error("out of memory");
    return false;
}

/* The lane's first records not done, in queue order, into idx (cap of them): up to its batch
 * size and Lambda's 6 MB, and in a tumbling window only those of the window open (or, none
 * being open, of the first record's). Returns how many. */
static size_t poller_batch(const poller_shard *sh, unsigned lane, const checkpoint_shard *cs,
                           const manifest_stream *st, size_t *idx, size_t cap)
{
    const checkpoint_lane *cl = lane < cs->nlanes ? &cs->lanes[lane] : NULL;
    size_t n = 0, bytes = 16;
    int64_t window = -1;
    if (cl && cl->window) window = cl->window_start;
    for (size_t i = sh->head; i < sh->n && n < cap; i++) {
        const poller_rec *q = &sh->q[i];
        if (q->done || q->lane != lane) continue;
        if (st->tumbling_window_s > 0) {
            int64_t w = poller_window_of(st, q->r.created_s);
            if (window < 0) window = w;
            /* A record whose time is before the open window (the times are approximate)
             * joins it; one after it waits for the next. */
            if (w > window) break;
        }
        bytes += q->r.len + 1;
        if (bytes > POLLER_MAX_EVENT && n > 0) break;
        idx[n++] = i;
    }
    return n;
}

/* Delivers what lane `lane` has ready, or closes its window; *busy when it did anything.
 * False on an error that ends poll. */
static bool poller_lane_step(poller *p, poller_table *t, poller_shard *sh, checkpoint_shard *cs,
                             unsigned lane, const manifest_stream *st, bool *busy)
{
    poller_lane *ln = &sh->lanes[lane];
    checkpoint_lane *cl = lane < cs->nlanes ? &cs->lanes[lane] : NULL;
    if (ln->limit == 0 || ln->limit > (size_t)st->batch_size) ln->limit = (size_t)st->batch_size;
    size_t first = sh->head;
    while (first < sh->n && (sh->q[first].done || sh->q[first].lane != lane)) first++;
    bool has = first < sh->n;
    if (st->tumbling_window_s > 0 && cl && cl->window) {
        bool later = has && poller_window_of(st, sh->q[first].r.created_s) > cl->window_start;
        bool over = ln->early || later ||
                    (!has && (sh->at_end || sh->horizon_s >= cl->window_end));
        if (over) {
            if (sys_monotonic_ms() < ln->final_ms) return true;
            *busy = true;
            bool early = ln->early;
            if (!poller_final(p, t, sh, cs, lane, early, &ln->final_tries, &ln->final_ms))
                return false;
            if (!cl->window) ln->early = false;
            return true;
        }
    }
    if (!has) return true;
    size_t *idx = malloc(ln->limit * sizeof *idx);
    if (!idx) {
        log_error("out of memory");
        return false;
    }
    bool ok = true;
    size_t old = 0;
    for (size_t i = first; i < sh->n && old < ln->limit; i++) {
        const poller_rec *q = &sh->q[i];
        if (q->done || q->lane != lane) continue;
        if (!poller_too_old(st, &q->r)) break;
        idx[old++] = i;
    }
    if (old) {
        /* The lane's first record is among them: its failed tries (0 when never delivered)
         * are the invocations; the next record starts afresh, at full batch size. */
        poller_discard(p, t, sh, lane, idx, old, "RecordAgeExceeded", ln->retries);
        ln->retries = 0;
        ln->limit = (size_t)st->batch_size;
        *busy = true;
        ok = poller_done(p, t, sh, cs, lane, idx, old);
        free(idx);
        return ok;
    }
    size_t n = poller_batch(sh, lane, cs, st, idx, ln->limit);
    bool window_ends = false;
    if (st->tumbling_window_s > 0) {
        /* The window's records are all here when a later one is, or the shard has no more. */
        int64_t w = cl && cl->window ? cl->window_start : poller_window_of(st, sh->q[idx[0]].r.created_s);
        for (size_t i = idx[n - 1] + 1; i < sh->n && !window_ends; i++)
            window_ends = sh->q[i].lane == lane && poller_window_of(st, sh->q[i].r.created_s) > w;
        window_ends = window_ends || sh->at_end || sh->horizon_s >= w + st->tumbling_window_s;
    }
    if (n < (size_t)st->batch_size && !sh->at_end && !window_ends &&
        st->max_batching_window_s > 0 &&
        sys_monotonic_ms() - ln->since_ms < (double)st->max_batching_window_s * 1000) {
        free(idx);
        return true;
    }
    if (st->tumbling_window_s > 0 && cl && !cl->window) {
        int64_t start = poller_window_of(st, sh->q[idx[0]].r.created_s);
        if (!checkpoint_window(cl, start, start + st->tumbling_window_s, "{}")) {
            free(idx);
            log_error("out of memory");
            return false;
        }
    }
    *busy = true;
    ok = poller_deliver(p, t, sh, cs, lane, idx, n, st);
    if (ln->pending) ln->since_ms = sys_monotonic_ms();
    free(idx);
    return ok;
}

/* Whether the table has the shard id among its shards. */
static bool poller_knows(const poller_table *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->shards[i].id, id) == 0) return true;
    return false;
}

/* Reads and delivers what the shard has; *busy when it did anything. False on an error that
 * ends poll. */
static bool poller_shard_step(poller *p, poller_table *t, poller_shard *sh, bool *busy)
{
    const manifest_route *r = poller_route(p, t->name);
    checkpoint_shard *cs = checkpoint_shard_of(&t->cp, sh->id);
    if (!cs) {
        log_error("out of memory");
        return false;
    }
    if (!r || cs->finished) return true;
    if (sh->parent) {
        const checkpoint_shard *pc = checkpoint_find(&t->cp, sh->parent);
        if (poller_knows(t, sh->parent) && !(pc && pc->finished)) return true;
    }
    const manifest_stream *st = &r->stream;
    bool ready;
    if (!poller_lanes(p, t, sh, cs, st, busy, &ready)) return false;
    if (!ready) return true;
    if (!sh->iterator && !sh->at_end && !poller_acquire(p, t, sh)) return false;
    /* Read ahead while no lane has a full batch, and no further than a batch per lane past
     * the oldest record not done (a lane retrying a record holds the others that far). */
    bool full = false;
    for (size_t i = 0; i < sh->nlanes && !full; i++)
        full = sh->lanes[i].pending >= (size_t)st->batch_size;
    if (!full && sh->n - sh->head < (size_t)st->batch_size * sh->nlanes && !sh->at_end &&
        sys_monotonic_ms() >= sh->next_get_ms) {
        bool got = false;
        if (!poller_fetch(p, t, sh, cs, &got)) return false;
        *busy = *busy || got;
    }
    for (unsigned i = 0; i < sh->nlanes && !poller_stop_flag; i++)
        if (!poller_lane_step(p, t, sh, cs, i, st, busy)) return false;
    bool open = false;
    for (size_t i = 0; i < cs->nlanes; i++) open = open || cs->lanes[i].window;
    if (!sh->at_end || sh->n > sh->head || open) return true;
    cs->finished = true;
    if (!sh->gone) log_info("poll: table %s, shard %s read to its end", t->name, sh->id);
    progress_finished(p->progress, t->name, sh->id, sh->gone);
    *busy = true;
    return poller_save(p, t);
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
    poller_shard *grown = realloc(t->shards, (t->n + n + 1) * sizeof *grown);
    if (!grown) {
        stream_shards_free(shards, n);
        log_error("out of memory");
        return false;
    }
    t->shards = grown;
    for (size_t i = 0; i < n; i++) {
        if (poller_knows(t, shards[i].id)) continue;
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

/* The checkpoint's shards that are not finished and that the stream no longer lists
 * (DynamoDB trimmed them while poll was stopped): each is taken as gone, so that its open
 * windows get their final invokes, and its children wait for them, before it is marked
 * finished. False on an error that ends poll. */
static bool poller_checkpoint_gone(poller *p, poller_table *t)
{
    for (size_t i = 0; i < t->cp.n; i++) {
        const checkpoint_shard *c = &t->cp.shards[i];
        if (c->finished || poller_knows(t, c->id)) continue;
        poller_shard *grown = realloc(t->shards, (t->n + 1) * sizeof *grown);
        if (grown) t->shards = grown;
        char *id = grown ? strdup(c->id) : NULL;
        if (!id) {
            log_error("out of memory");
            return false;
        }
        poller_shard *sh = &t->shards[t->n++];
        memset(sh, 0, sizeof *sh);
        sh->id = id;
        sh->at_end = sh->gone = true;
        log_warn("poll: table %s, shard %s of the checkpoint is gone from the stream", t->name, id);
        progress_shard(p->progress, t->name, id, NULL, false);
    }
    return true;
}

/* The table's stream and checkpoint, on first sight. False on an error that ends poll. */
static bool poller_table_open(poller *p, poller_table *t)
{
    char err[1024];
    if (!stream_find(p->aws, t->name, &t->arn, &t->hash_key, err, sizeof err)) {
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
    return poller_discover(p, t, true) && poller_checkpoint_gone(p, t);
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
    /* First of all, so that a SIGTERM at any moment stops poll as it should (exit 0). */
    struct sigaction sa = {0};
    sa.sa_handler = poller_on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = poller_on_hup;
    sigaction(SIGHUP, &sa, NULL);
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
