/* postgres.c - the postgres sink: keeps a PostgreSQL table in step with a DynamoDB table (one
 * row per item) or logs every change (one row per change). A change is applied only when its
 * SequenceNumber is newer than what the row holds, so Lambda's retries and replays change
 * nothing twice; one transaction per batch, a savepoint per record, pipelined statements
 * prepared once. Owns the connection; pgconfig, pgschema, pgvalue and pgconn do the rest. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <ddb/plugin.h>

#include "pgconfig.h"
#include "pgconn.h"
#include "pgschema.h"
#include "pgvalue.h"

DDB_PLUGIN("postgres", "1.0.0");

/* The prepared statements, by name. */
#define PG_APPLY "ddb_apply"         /* mirror INSERT/MODIFY, or the log's insert */
#define PG_REMOVE "ddb_remove"       /* mirror REMOVE */
#define PG_PRUNE "ddb_prune"         /* mirror: tombstones older than tombstone_days */
#define PG_SAVEPOINT "ddb_savepoint" /* around each record */
#define PG_RELEASE "ddb_release"
#define PG_ROLLBACK_TO "ddb_rollback_to"

typedef struct pg {
    const ddb_host_api *host;
    const ddb_handle *self;
    pgconfig cfg;
    PGconn *conn;  /* in pipeline mode; NULL once lost, until the next batch reconnects */
    bool in_batch; /* between BEGIN and COMMIT */
    bool lost;     /* the connection went during this batch: its transaction with it */
    pgvalue_params params;
    char error[1024]; /* the last failure, one line */
} pg;

/* ---- the connection ------------------------------------------------------------------ */

static void pg_notice(void *arg, const char *message)
{
    pg *p = arg;
    char line[512];
    snprintf(line, sizeof line, "PostgreSQL says: %s", message);
    line[strcspn(line, "\n")] = '\0';
    p->host->log(p->self, DDB_LOG_DEBUG, "%s", line);
}

static void pg_drop(pg *p)
{
    PQfinish(p->conn);
    p->conn = NULL;
    p->in_batch = false;
}

/* Sends a prepared statement with p->params (params true) or none. */
static bool pg_send(pg *p, const char *name, bool params)
{
    const pgvalue_params *v = &p->params;
    return PQsendQueryPrepared(p->conn, name, params ? (int)v->count : 0, params ? v->values : NULL,
                               params ? v->lengths : NULL, params ? v->formats : NULL, 0) == 1;
}

static bool pg_send_sql(pg *p, const char *sql)
{
    return PQsendQueryParams(p->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

/* A Sync after what was sent, and its answers: n statements. A connection that breaks is
 * dropped. */
static pgconn_outcome pg_sync(pg *p, bool sent, int n, int *failed)
{
    pgconn_outcome out;
    int none;
    if (!failed) failed = &none;
    if (!sent || PQpipelineSync(p->conn) != 1) {
        pgconn_message(p->error, sizeof p->error, "connection lost", NULL, p->conn);
        out = PGCONN_LOST;
    } else {
        out = pgconn_collect(p->conn, n, failed, p->error, sizeof p->error);
    }
    if (out == PGCONN_LOST) pg_drop(p);
    return out;
}

/* Prepares the statements, once per connection, and leaves it in pipeline mode. */
static bool pg_prepare(pg *p)
{
    static const char *const simple[][2] = {{PG_SAVEPOINT, "SAVEPOINT ddb_record"},
                                            {PG_RELEASE, "RELEASE SAVEPOINT ddb_record"},
                                            {PG_ROLLBACK_TO, "ROLLBACK TO SAVEPOINT ddb_record"}};
    render_buf apply = {0}, remove = {0}, prune = {0};
    bool mirror = p->cfg.mode == PGCONFIG_MIRROR;
    bool built = pgschema_apply_sql(&p->cfg, &apply) &&
                 (!mirror || (pgschema_remove_sql(&p->cfg, &remove) &&
                              pgschema_prune_sql(&p->cfg, &prune)));
    bool sent = built && PQenterPipelineMode(p->conn) == 1 &&
                PQsendPrepare(p->conn, PG_APPLY, apply.text, 0, NULL);
    for (size_t i = 0; i < 3; i++)
        sent = sent && PQsendPrepare(p->conn, simple[i][0], simple[i][1], 0, NULL);
    if (mirror)
        sent = sent && PQsendPrepare(p->conn, PG_REMOVE, remove.text, 0, NULL) &&
               PQsendPrepare(p->conn, PG_PRUNE, prune.text, 0, NULL);
    render_free(&apply);
    render_free(&remove);
    render_free(&prune);
    if (!built) snprintf(p->error, sizeof p->error, "out of memory");
    else if (!sent) pgconn_message(p->error, sizeof p->error, "cannot prepare", NULL, p->conn);
    return sent && pg_sync(p, true, mirror ? 6 : 4, NULL) == PGCONN_DONE;
}

/* A new connection, its statements prepared. */
static bool pg_connect(pg *p)
{
    p->conn = pgconn_open(p->cfg.conninfo, p->error, sizeof p->error);
    if (!p->conn) return false;
    PQsetNoticeProcessor(p->conn, pg_notice, p);
    if (pg_prepare(p)) return true;
    pg_drop(p);
    return false;
}

/* ---- records ------------------------------------------------------------------------- */

/* One warning line about rec, with what failed. */
static void pg_warn(pg *p, const ddb_record *rec, const char *why)
{
    p->host->log(p->self, DDB_LOG_WARN,
                 "record %" PRIu32 " (SequenceNumber %.*s): table \"%s\": %s", rec->index,
                 (int)rec->sequence_number.len,
                 rec->sequence_number.ptr ? rec->sequence_number.ptr : "", p->cfg.table, why);
}

/* The key attributes, then the statement's own parameters (pgschema.h lists them). */
static ddb_status pg_params(pg *p, const ddb_record *rec, char *why, size_t cap)
{
    pgvalue_params *v = &p->params;
    const ddb_value *image = rec->new_image ? rec->new_image : rec->old_image;
    const ddb_str *seq = &rec->sequence_number;
    char at[24];
    ddb_status st = DDB_OK;
    bool ok = true;
    pgvalue_reset(v);
    if (!seq->ptr || !seq->len) {
        snprintf(why, cap, "the record has no SequenceNumber, so its order is unknown");
        return DDB_ERR_INVALID;
    }
    for (size_t i = 0; i < p->cfg.key_count && st == DDB_OK; i++) {
        const ddb_value *key = ddb_get(rec->keys, p->cfg.keys[i].name);
        if (!key || key->type == DDB_NULL) {
            snprintf(why, cap, "the record has no key attribute \"%s\" (config \"key\")",
                     p->cfg.keys[i].name);
            return DDB_ERR_NOT_FOUND;
        }
        st = pgvalue_column(v, &p->cfg.keys[i], key, why, cap);
    }
    if (st != DDB_OK) return st;
    if (p->cfg.mode == PGCONFIG_MIRROR && rec->event_name == DDB_REMOVE) {
        ok = pgvalue_text(v, seq->ptr, seq->len);
    } else if (p->cfg.mode == PGCONFIG_MIRROR) {
        /* Without a NewImage (KEYS_ONLY, OLD_IMAGE streams) the row keeps the item's key. */
        ok = pgvalue_json(v, rec->new_image) && pgvalue_text(v, seq->ptr, seq->len);
        image = rec->new_image;
    } else {
        const char *event = ddb_event_name_str(rec->event_name);
        snprintf(at, sizeof at, "%" PRId64, rec->creation_time_ms);
        ok = pgvalue_text(v, event, strlen(event)) && pgvalue_text(v, seq->ptr, seq->len) &&
             pgvalue_text(v, rec->ttl_delete ? "true" : "false", rec->ttl_delete ? 4 : 5) &&
             pgvalue_json(v, rec->old_image) && pgvalue_json(v, rec->new_image) &&
             (rec->has_creation_time ? pgvalue_text(v, at, strlen(at)) : pgvalue_null(v));
    }
    if (p->cfg.mode == PGCONFIG_MIRROR && rec->event_name == DDB_REMOVE)
        return ok ? DDB_OK : DDB_ERR_NOMEM;
    for (size_t i = 0; i < p->cfg.column_count && ok && st == DDB_OK; i++)
        st =
            pgvalue_column(v, &p->cfg.columns[i], ddb_get(image, p->cfg.columns[i].name), why, cap);
    if (!ok) st = DDB_ERR_NOMEM;
    if (st == DDB_ERR_NOMEM) snprintf(why, cap, "out of memory");
    return st;
}

/* Applies one record inside the batch's transaction: a savepoint, the statement, its release,
 * in one round trip. A statement PostgreSQL refuses is rolled back to the savepoint, so the
 * records before it stay applied and this one is reported. */
static ddb_status pg_record(const ddb_record *rec, pg *p)
{
    char why[sizeof((pg *)0)->error + 160];
    const char *stmt;
    ddb_status st;
    bool sent;
    int failed;
    if (p->lost) return DDB_ERR_FAILED; /* said once, where it happened */
    if (!p->in_batch) {
        pg_warn(p, rec, "no transaction is open (on_batch_begin was not called)");
        return DDB_ERR_FAILED;
    }
    if ((st = pg_params(p, rec, why, sizeof why)) != DDB_OK) {
        pg_warn(p, rec, why);
        return st;
    }
    pgvalue_finish(&p->params);
    stmt = p->cfg.mode == PGCONFIG_MIRROR && rec->event_name == DDB_REMOVE ? PG_REMOVE : PG_APPLY;
    sent =
        pg_send(p, PG_SAVEPOINT, false) && pg_send(p, stmt, true) && pg_send(p, PG_RELEASE, false);
    switch (pg_sync(p, sent, 3, &failed)) {
    case PGCONN_DONE: return DDB_OK;
    case PGCONN_LOST:
        p->lost = true;
        snprintf(why, sizeof why,
                 "%s; the batch's transaction is rolled back: this record and the "
                 "rest of the batch fail, and the next batch reconnects",
                 p->error);
        pg_warn(p, rec, why);
        return DDB_ERR_FAILED;
    case PGCONN_REFUSED: break;
    }
    pg_warn(p, rec, p->error);
    if (pg_sync(p, pg_send(p, PG_ROLLBACK_TO, false) && pg_send(p, PG_RELEASE, false), 2, NULL) ==
        PGCONN_LOST) {
        p->lost = true;
        pg_warn(p, rec, p->error);
    }
    return DDB_ERR_FAILED;
}

ddb_status on_insert(const ddb_record *rec, void *state) { return pg_record(rec, state); }
ddb_status on_modify(const ddb_record *rec, void *state) { return pg_record(rec, state); }
ddb_status on_remove(const ddb_record *rec, void *state) { return pg_record(rec, state); }

/* ---- batches ------------------------------------------------------------------------- */

ddb_status on_batch_begin(const ddb_batch *batch, void *state)
{
    pg *p = state;
    (void)batch;
    p->lost = false;
    /* A connection that died between batches (the server restarted, an idle timeout while
     * Lambda was frozen) is found here, and replaced once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = !p->conn;
        if (fresh && !pg_connect(p)) break;
        switch (pg_sync(p, pg_send_sql(p, "BEGIN"), 1, NULL)) {
        case PGCONN_DONE: p->in_batch = true; return DDB_OK;
        case PGCONN_REFUSED: attempt = 2; break;
        case PGCONN_LOST:
            if (fresh)
                attempt = 2;
            else
                p->host->log(p->self, DDB_LOG_INFO, "reconnecting: %s", p->error);
            break;
        }
    }
    p->host->log(p->self, DDB_LOG_ERROR, "cannot begin the batch: %s", p->error);
    return DDB_ERR_FAILED;
}

ddb_status on_batch_end(const ddb_batch *batch, void *state)
{
    pg *p = state;
    bool prune = p->cfg.mode == PGCONFIG_MIRROR && p->cfg.tombstone_days > 0;
    int failed;
    (void)batch;
    if (p->lost || !p->in_batch) return DDB_ERR_FAILED; /* nothing left to commit */
    p->in_batch = false;
    /* COMMIT, then in its own implicit transaction the pruning of old tombstones (an index
     * scan that finds nothing, most batches): a failure there must not cost the batch. */
    switch (pg_sync(p, pg_send_sql(p, "COMMIT") && (!prune || pg_send(p, PG_PRUNE, false)),
                    prune ? 2 : 1, &failed)) {
    case PGCONN_DONE: return DDB_OK;
    case PGCONN_REFUSED:
        if (failed > 0) {
            p->host->log(p->self, DDB_LOG_WARN, "cannot prune the tombstones of \"%s\": %s",
                         p->cfg.tombstones, p->error);
            return DDB_OK;
        }
        break;
    case PGCONN_LOST: break;
    }
    p->host->log(p->self, DDB_LOG_ERROR, "cannot commit the batch: %s", p->error);
    return DDB_ERR_FAILED;
}

/* ---- life -------------------------------------------------------------------------- */

static void pg_free(pg *p)
{
    PQfinish(p->conn);
    pgconfig_free(&p->cfg);
    pgvalue_free(&p->params);
    free(p);
}

ddb_status on_init(const ddb_init *init, void **state)
{
    pg *p = calloc(1, sizeof *p);
    if (!p) return DDB_ERR_NOMEM;
    p->host = init->host;
    p->self = init->self;
    if (!pgconfig_read(init, &p->cfg, init->error, init->error_cap)) goto fail;
    if (!pgvalue_init(&p->params, pgschema_apply_params(&p->cfg))) {
        snprintf(init->error, init->error_cap, "out of memory");
        goto fail;
    }
    /* The tables are created or checked before any record, on a connection not yet in
     * pipeline mode; then the statements are prepared on it. */
    p->conn = pgconn_open(p->cfg.conninfo, init->error, init->error_cap);
    if (!p->conn || !pgschema_ensure(p->conn, &p->cfg, init->error, init->error_cap)) goto fail;
    PQsetNoticeProcessor(p->conn, pg_notice, p);
    if (!pg_prepare(p)) {
        snprintf(init->error, init->error_cap, "%s", p->error);
        goto fail;
    }
    *state = p;
    return DDB_OK;
fail:
    pg_free(p);
    return DDB_ERR_FAILED;
}

void on_fini(void *state) { pg_free(state); }
