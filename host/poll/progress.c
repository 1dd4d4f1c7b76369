/* progress.c - what `ddbhost poll` shows of its work: counts per table and shard, a view
 * redrawn in place on a terminal (erased before each log line, drawn again at the next tick),
 * JSON lines (json-c) and the EMF line of each batch (metrics.c). Owns the counts and the
 * screen; never changes what the poller does. */
#include "progress.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "metrics.h"
#include "sys.h"

#define PROGRESS_REDRAW_MS 250 /* at most four views a second */
#define PROGRESS_ROWS 12       /* shard rows in the view; the rest are counted */

typedef struct progress_counts {
    char *table, *id, *parent;
    bool finished;
    size_t done, failed, discarded;
    int64_t age_ms;            /* of the last batch; -1 before the first */
} progress_counts;

struct progress {
    FILE *json, *err;
    bool view;
    int64_t (*now_ms)(void);
    pid_t pid;                 /* a worker forked from poll does not touch the view */
    progress_counts *shards;
    size_t n, cap;
    size_t batches;
    int64_t started_ms;
    double drawn_ms;           /* when the view was last drawn (monotonic) */
    int drawn;                 /* lines of the view on the screen now */
    json_object *pending;      /* the last batch's line, until a discard may add to it */
    progress_counts *pending_shard;
};

/* ---- the screen ------------------------------------------------------------------------ */

static void progress_erase(void *ctx)
{
    progress *pg = ctx;
    if (pg->drawn == 0 || getpid() != pg->pid) return;
    fprintf(pg->err, "\033[%dA\r\033[J", pg->drawn);
    pg->drawn = 0;
}

static void progress_draw(progress *pg)
{
    char text[16384];
    struct winsize ws;
    int width = ioctl(fileno(pg->err), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    int lines = progress_render(pg, text, sizeof text, width);
    progress_erase(pg);
    fputs(text, pg->err);
    fflush(pg->err);
    pg->drawn = lines;
    pg->drawn_ms = sys_monotonic_ms();
}

/* ---- JSON lines ------------------------------------------------------------------------ */

static void progress_put(progress *pg, json_object *o)
{
    fprintf(pg->json, "%s\n",
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(pg->json);
    json_object_put(o);
}

/* The last batch's line, now that nothing more can be added to it. */
static void progress_flush(progress *pg)
{
    if (pg->pending) progress_put(pg, pg->pending);
    pg->pending = NULL;
    pg->pending_shard = NULL;
}

/* A line {"event": event, "table": ..., "shard": ...}; the shard's members when sh is given. */
static json_object *progress_line(progress *pg, const char *event, const progress_counts *sh)
{
    progress_flush(pg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "event", json_object_new_string(event));
    if (sh) {
        json_object_object_add(o, "table", json_object_new_string(sh->table));
        json_object_object_add(o, "shard", json_object_new_string(sh->id));
    }
    return o;
}

/* The span's lane and window after "shard". */
static void progress_where(json_object *o, const progress_span *span)
{
    json_object_object_add(o, "lane", json_object_new_int64(span->lane));
    if (!span->window_start) return;
    json_object *w = json_object_new_object();
    json_object_object_add(w, "start", json_object_new_string(span->window_start));
    json_object_object_add(w, "end", json_object_new_string(span->window_end));
    json_object_object_add(o, "window", w);
}

static void progress_range(json_object *o, const progress_span *span)
{
    json_object_object_add(o, "first_sequence_number", json_object_new_string(span->first->seq));
    json_object_object_add(o, "last_sequence_number", json_object_new_string(span->last->seq));
}

/* ---- counts ---------------------------------------------------------------------------- */

/* The shard's counts, added when first seen; NULL when memory runs out. */
static progress_counts *progress_find(progress *pg, const char *table, const char *shard)
{
    for (size_t i = 0; i < pg->n; i++)
        if (strcmp(pg->shards[i].id, shard) == 0 && strcmp(pg->shards[i].table, table) == 0)
            return &pg->shards[i];
    if (pg->n == pg->cap) {
        size_t cap = pg->cap ? pg->cap * 2 : 8;
        progress_counts *grown = realloc(pg->shards, cap * sizeof *grown);
        if (!grown) return NULL;
        if (pg->pending_shard) pg->pending_shard = grown + (pg->pending_shard - pg->shards);
        pg->shards = grown;
        pg->cap = cap;
    }
    progress_counts *sh = &pg->shards[pg->n];
    memset(sh, 0, sizeof *sh);
    sh->table = strdup(table);
    sh->id = strdup(shard);
    sh->age_ms = -1;
    if (!sh->table || !sh->id) {
        free(sh->table);
        free(sh->id);
        return NULL;
    }
    pg->n++;
    return sh;
}

static const char *progress_state(const progress *pg, const progress_counts *sh)
{
    if (sh->finished) return "finished";
    for (size_t i = 0; sh->parent && i < pg->n; i++)
        if (!pg->shards[i].finished && strcmp(pg->shards[i].id, sh->parent) == 0 &&
            strcmp(pg->shards[i].table, sh->table) == 0)
            return "waiting for parent";
    return "reading";
}

/* ---- the view -------------------------------------------------------------------------- */

/* ms as a person reads a lag or an uptime: "-", "0.4s", "42s", "3m07s", "2h05m". */
static const char *progress_duration(char *out, size_t cap, int64_t ms)
{
    if (ms < 0) snprintf(out, cap, "-");
    else if (ms < 10000) snprintf(out, cap, "%.1fs", (double)ms / 1000);
    else if (ms < 60000) snprintf(out, cap, "%llds", (long long)(ms / 1000));
    else if (ms < 3600000)
        snprintf(out, cap, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        snprintf(out, cap, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
    return out;
}

/* Appends one line of the view, cut to width - 1 columns (the view is ASCII but for table
 * names, which DynamoDB keeps to letters, digits, '_', '-' and '.'). */
static size_t progress_row(char *out, size_t cap, size_t used, int width, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static size_t progress_row(char *out, size_t cap, size_t used, int width, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t keep = len < 0 ? 0 : (size_t)len < sizeof line ? (size_t)len : sizeof line - 1;
    if (width > 1 && keep > (size_t)width - 1) keep = (size_t)width - 1;
    while (keep > 0 && line[keep - 1] == ' ') keep--;
    if (used + keep + 2 > cap) return used;
    memcpy(out + used, line, keep);
    out[used + keep] = '\n';
    out[used + keep + 1] = '\0';
    return used + keep + 1;
}

/* The shard's id in w columns: its end, which tells shards apart, after "..." when cut. */
static const char *progress_id(char *out, size_t cap, const char *id, int w)
{
    size_t len = strlen(id);
    if (w < 8 || len <= (size_t)w) snprintf(out, cap, "%s", id);
    else snprintf(out, cap, "...%s", id + len - (size_t)w + 3);
    return out;
}

int progress_render(const progress *pg, char *out, size_t cap, int width)
{
    size_t tables = 0, done = 0, failed = 0, discarded = 0, used = 0;
    int tw = 5, lines = 0;
    char up[32], age[32], id[128];
    out[0] = '\0';
    for (size_t i = 0; i < pg->n; i++) {
        const progress_counts *sh = &pg->shards[i];
        size_t j = 0;
        while (j < i && strcmp(pg->shards[j].table, sh->table) != 0) j++;
        tables += j == i;
        done += sh->done;
        failed += sh->failed;
        discarded += sh->discarded;
        if ((int)strlen(sh->table) > tw) tw = (int)strlen(sh->table);
    }
    tw = tw > 24 ? 24 : tw;
    progress_duration(up, sizeof up, pg->now_ms() - pg->started_ms);
    used = progress_row(out, cap, used, width,
                        "poll up %s: %zu table%s, %zu shard%s, %zu batch%s: %zu done, "
                        "%zu failed, %zu discarded",
                        up, tables, tables == 1 ? "" : "s", pg->n, pg->n == 1 ? "" : "s",
                        pg->batches, pg->batches == 1 ? "" : "es", done, failed, discarded);
    /* the shard's id takes what the columns before it leave of the line */
    int iw = width - 1 - (tw + 2 + 8 + 2 + 6 + 2 + 9 + 2 + 6 + 2 + 18 + 2);
    used = progress_row(out, cap, used, width, "%-*s  %8s  %6s  %9s  %6s  %-18s  %s", tw, "TABLE",
                        "DONE", "FAILED", "DISCARDED", "AGE", "STATE", "SHARD");
    lines = 2;
    /* the shards being read first, then the finished ones, as many as there are rows */
    size_t shown = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < pg->n && shown < PROGRESS_ROWS; i++) {
            const progress_counts *sh = &pg->shards[i];
            if (sh->finished != (pass == 1)) continue;
            used = progress_row(out, cap, used, width, "%-*.*s  %8zu  %6zu  %9zu  %6s  %-18s  %s",
                                tw, tw, sh->table, sh->done, sh->failed, sh->discarded,
                                progress_duration(age, sizeof age, sh->age_ms),
                                progress_state(pg, sh), progress_id(id, sizeof id, sh->id, iw));
            shown++;
            lines++;
        }
    if (shown < pg->n) {
        used = progress_row(out, cap, used, width, "... and %zu more shard%s", pg->n - shown,
                            pg->n - shown == 1 ? "" : "s");
        lines++;
    }
    return lines;
}

/* ---- the hooks ------------------------------------------------------------------------- */

progress *progress_new(FILE *json, FILE *err, bool view, int64_t (*now_ms)(void))
{
    progress *pg = calloc(1, sizeof *pg);
    if (!pg) return NULL;
    pg->json = json;
    pg->err = err;
    pg->view = view;
    pg->now_ms = now_ms ? now_ms : api_now_ms;
    pg->pid = getpid();
    pg->started_ms = pg->now_ms();
    pg->drawn_ms = sys_monotonic_ms() - PROGRESS_REDRAW_MS;
    if (view) log_set_before_line(progress_erase, pg);
    return pg;
}

void progress_free(progress *pg)
{
    if (!pg) return;
    if (pg->view) log_set_before_line(NULL, NULL);
    progress_flush(pg);
    for (size_t i = 0; i < pg->n; i++) {
        free(pg->shards[i].table);
        free(pg->shards[i].id);
        free(pg->shards[i].parent);
    }
    free(pg->shards);
    free(pg);
}

void progress_start(progress *pg, const manifest *m, const char *manifest_path)
{
    if (!pg->json) return;
    json_object *o = progress_line(pg, "start", NULL), *tables = json_object_new_array();
    json_object_object_add(o, "manifest", json_object_new_string(manifest_path));
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->routes[i].table, "*") != 0)
            json_object_array_add(tables, json_object_new_string(m->routes[i].table));
    json_object_object_add(o, "tables", tables);
    progress_put(pg, o);
}

void progress_shard(progress *pg, const char *table, const char *shard, const char *parent,
                    bool finished)
{
    progress_counts *sh = progress_find(pg, table, shard);
    if (!sh) return;
    sh->finished = finished;
    if (parent && !sh->parent) sh->parent = strdup(parent);
}

void progress_batch(progress *pg, const manifest *m, const progress_span *span, size_t done,
                    const router_result *res, const session_times *times, double ms)
{
    progress_counts *sh = progress_find(pg, span->table, span->shard);
    size_t n = span->n, failed = res ? res->failed : n;
    int64_t created = n ? span->last->created_s : 0;
    int64_t age = created > 0 ? pg->now_ms() - created * 1000 : -1;
    if (age < -1) age = 0; /* a clock behind the stream's */
    pg->batches++;
    if (sh) {
        sh->done += done;
        sh->failed += failed;
        sh->age_ms = age;
    }
    if (m && m->metrics && res) {
        progress_erase(pg);
        metrics_write(pg->err, m, res, times);
    }
    if (!pg->json || !sh || n == 0) return;
    json_object *o = progress_line(pg, "batch", sh);
    progress_where(o, span);
    json_object_object_add(o, "records", json_object_new_int64((int64_t)n));
    json_object_object_add(o, "done", json_object_new_int64((int64_t)done));
    json_object_object_add(o, "failed", json_object_new_int64((int64_t)failed));
    json_object_object_add(o, "discarded", json_object_new_int64(0));
    json_object_object_add(o, "iterator_age_ms", age >= 0 ? json_object_new_int64(age) : NULL);
    char d[32];
    snprintf(d, sizeof d, "%.3f", ms);
    json_object_object_add(o, "duration_ms", json_object_new_double_s(ms, d));
    progress_range(o, span);
    pg->pending = o;
    pg->pending_shard = sh;
}

void progress_discard(progress *pg, const progress_span *span, const char *condition)
{
    progress_counts *sh = progress_find(pg, span->table, span->shard);
    size_t n = span->n;
    if (!sh || n == 0) return;
    sh->discarded += n;
    if (!pg->json) return;
    if (pg->pending && pg->pending_shard == sh && strcmp(condition, "RetryAttemptsExhausted") == 0)
        json_object_object_add(pg->pending, "discarded", json_object_new_int64((int64_t)n));
    json_object *o = progress_line(pg, "discard", sh);
    progress_where(o, span);
    json_object_object_add(o, "records", json_object_new_int64((int64_t)n));
    json_object_object_add(o, "condition", json_object_new_string(condition));
    progress_range(o, span);
    progress_put(pg, o);
}

void progress_window_final(progress *pg, const progress_span *span, bool early,
                           size_t state_bytes)
{
    progress_counts *sh = progress_find(pg, span->table, span->shard);
    if (!pg->json || !sh) return;
    json_object *o = progress_line(pg, "window_final", sh);
    progress_where(o, span);
    json_object_object_add(o, "terminated_early", json_object_new_boolean(early));
    json_object_object_add(o, "state_bytes", json_object_new_int64((int64_t)state_bytes));
    progress_put(pg, o);
}

void progress_finished(progress *pg, const char *table, const char *shard, bool gone)
{
    progress_counts *sh = progress_find(pg, table, shard);
    if (!sh) return;
    sh->finished = true;
    if (!pg->json) return;
    json_object *o = progress_line(pg, "shard_finished", sh);
    json_object_object_add(o, "gone", json_object_new_boolean(gone));
    progress_put(pg, o);
}

void progress_reload(progress *pg, const char *why, const char *refused)
{
    if (!pg->json) return;
    json_object *o = progress_line(pg, "reload", NULL);
    json_object_object_add(o, "cause", json_object_new_string(why));
    json_object_object_add(o, "ok", json_object_new_boolean(refused == NULL));
    if (refused) json_object_object_add(o, "error", json_object_new_string(refused));
    progress_put(pg, o);
}

void progress_tick(progress *pg)
{
    if (pg->json) progress_flush(pg);
    if (pg->view && sys_monotonic_ms() - pg->drawn_ms >= PROGRESS_REDRAW_MS) progress_draw(pg);
}

void progress_stop(progress *pg, int status)
{
    if (pg->view) progress_draw(pg);
    if (!pg->json) return;
    size_t done = 0, failed = 0, discarded = 0;
    for (size_t i = 0; i < pg->n; i++) {
        done += pg->shards[i].done;
        failed += pg->shards[i].failed;
        discarded += pg->shards[i].discarded;
    }
    json_object *o = progress_line(pg, "stop", NULL);
    json_object_object_add(o, "status", json_object_new_int(status));
    json_object_object_add(o, "batches", json_object_new_int64((int64_t)pg->batches));
    json_object_object_add(o, "done", json_object_new_int64((int64_t)done));
    json_object_object_add(o, "failed", json_object_new_int64((int64_t)failed));
    json_object_object_add(o, "discarded", json_object_new_int64((int64_t)discarded));
    progress_put(pg, o);
}
