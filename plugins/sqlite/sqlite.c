/* sqlite.c - the sqlite sink: a SQLite table kept in step with a DynamoDB table (mirror) or one
 * row per change (log), exactly once in effect: a change applies only when its SequenceNumber is
 * above its key's last (row or tombstone). Owns its connection (shared per file), statements and
 * one transaction per batch; never alters an existing table. docs/SINKS.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include <ddb/plugin.h>

#include "render.h"

DDB_PLUGIN("sqlite", "1.0.0");

#define SQ_SEQ_DIGITS 40           /* a SequenceNumber's most digits; seq holds this many */
#define SQ_PRUNE_EVERY_S 3600      /* tombstones older than tombstone_days go once an hour */
#define SQ_TOMBSTONE_SUFFIX "_tombstones"

typedef enum sq_mode { SQ_MIRROR, SQ_LOG } sq_mode;

/* What config "columns" may ask for; JSON is TEXT holding the value as plain JSON. */
typedef enum sq_type { SQ_TEXT, SQ_NUMERIC, SQ_INTEGER, SQ_REAL, SQ_BLOB, SQ_JSON } sq_type;
static const char *const sq_type_names[] = {"TEXT", "NUMERIC", "INTEGER", "REAL", "BLOB", "JSON"};
/* What each takes of a DynamoDB value, for the message when it gets something else. */
static const char *const sq_type_takes[] = {"S or N", "N or BOOL", "N (an integer of 64 bits) or BOOL",
                                            "N", "B", "any type"};

/* A column of the sink's layout: a key attribute, a fixed column or a projected one. */
typedef struct sq_column {
    char *name;
    sq_type type; /* the declared type is sq_type_names[type], JSON declared as TEXT */
} sq_column;

/* One database file, open once in this process for every handler that names it: SQLite has
 * one writer per file, so two connections of one process, each in its batch's transaction,
 * would wait for each other until busy_timeout failed one. The handlers share its
 * transaction: the first on_batch_begin opens it, the first on_batch_end commits it, and
 * every handler of the batch answers with that commit. */
typedef struct sq_db {
    struct sq_db *next;
    dev_t dev;
    ino_t ino;
    sqlite3 *conn;
    struct sq_sink *sinks;   /* the handlers using it, linked by next_on_db */
    int members;             /* handlers between on_batch_begin and on_batch_end */
    bool in_tx;              /* BEGIN issued, not yet committed */
    bool tx_lost;            /* the batch's transaction was rolled back: its records fail */
    ddb_status end_status;   /* the commit's outcome, for the handlers that end after it */
    sqlite3_stmt *savepoint, *release, *rollback_to;
} sq_db;

/* The only state shared between handlers: the open files (see sq_db). The host calls a
 * plugin from one thread. */
static sq_db *sq_dbs;

typedef struct sq_sink {
    const ddb_host_api *host;
    const ddb_handle *self;
    sq_db *db;
    struct sq_sink *next_on_db;
    char *path;              /* config "db", for messages */
    char *table, *tombs;     /* the table, and the mirror's tombstones beside it */
    sq_mode mode;
    sq_column *keys;         /* the key columns: TEXT (S, N) or BLOB (B) */
    size_t nkeys;
    bool keys_configured;    /* config "key" named them; else the table or a record does */
    sq_column *cols;         /* config "columns" */
    size_t ncols;
    int64_t tombstone_days;  /* 0: never pruned */
    bool ready;              /* the tables exist as checked, and the statements are made */
    bool in_batch;
    time_t pruned_at;
    sqlite3_stmt *upsert, *clear_tomb, *remove_row, *add_tomb, *append, *prune;
    render_buf item, old, json; /* DynamoDB JSON of the images, plain JSON of a projection */
} sq_sink;

/* ---- messages ------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static ddb_status sq_fail_init(const ddb_init *init, ddb_status st, const char *fmt, ...)
{
    va_list ap;
    if (init->error && init->error_cap) {
        va_start(ap, fmt);
        vsnprintf(init->error, init->error_cap, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* One warning line about a record, naming it as the host does; returns DDB_ERR_FAILED. */
__attribute__((format(printf, 3, 4)))
static ddb_status sq_fail_record(const sq_sink *s, const ddb_record *rec, const char *fmt, ...)
{
    char why[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    s->host->log(s->self, DDB_LOG_WARN, "record %u (SequenceNumber %.*s): %s", rec->index,
                 (int)(rec->sequence_number.len < 64 ? rec->sequence_number.len : 64),
                 rec->sequence_number.ptr ? rec->sequence_number.ptr : "", why);
    return DDB_ERR_FAILED;
}

/* ---- columns ------------------------------------------------------------------------- */

static bool sq_add_column(sq_column **cols, size_t *n, const char *name, sq_type type)
{
    sq_column *grown = realloc(*cols, (*n + 1) * sizeof **cols);
    if (!grown) return false;
    *cols = grown;
    if (!(grown[*n].name = strdup(name))) return false;
    grown[(*n)++].type = type;
    return true;
}

static void sq_free_columns(sq_column **cols, size_t *n)
{
    for (size_t i = 0; i < *n; i++) free((*cols)[i].name);
    free(*cols);
    *cols = NULL;
    *n = 0;
}

/* By name as SQLite compares column names: ASCII letters in any case. */
static const sq_column *sq_find(const sq_column *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(cols[i].name, name) == 0) return &cols[i];
    return NULL;
}

/* The columns each mode writes itself, after the keys. */
static const sq_column sq_mirror_fixed[] = {{"item", SQ_TEXT}, {"seq", SQ_TEXT}};
static const sq_column sq_log_fixed[] = {{"event", SQ_TEXT}, {"seq", SQ_TEXT},
                                         {"ttl_delete", SQ_INTEGER}, {"old", SQ_TEXT},
                                         {"new", SQ_TEXT}, {"at", SQ_TEXT}};
static const sq_column sq_tomb_fixed[] = {{"seq", SQ_TEXT}, {"removed_at", SQ_INTEGER}};

static const sq_column *sq_fixed(const sq_sink *s, size_t *n)
{
    *n = s->mode == SQ_MIRROR ? 2 : 6;
    return s->mode == SQ_MIRROR ? sq_mirror_fixed : sq_log_fixed;
}

/* The declared type SQLite is given for t (and finds in an existing table). */
static const char *sq_decl(sq_type t) { return t == SQ_JSON ? "TEXT" : sq_type_names[t]; }

/* Why name cannot be one more column of the table (a fixed, key or projected column has it),
 * or NULL. */
static const char *sq_name_taken(const sq_sink *s, const char *name, bool as_key)
{
    size_t nf;
    const sq_column *fixed = sq_fixed(s, &nf);
    if (sq_find(fixed, nf, name)) return "the sink writes a column of that name itself";
    if (as_key && sq_find(s->cols, s->ncols, name)) return "config \"columns\" projects it too";
    if (!as_key && sq_find(s->keys, s->nkeys, name)) return "it is a key attribute";
    return NULL;
}

/* ---- the database file ---------------------------------------------------------------- */

static bool sq_exec(sqlite3 *conn, const char *sql, char *err, size_t cap)
{
    if (sqlite3_exec(conn, sql, NULL, NULL, NULL) == SQLITE_OK) return true;
    snprintf(err, cap, "%s", sqlite3_errmsg(conn));
    return false;
}

/* Runs a statement made once (a savepoint's), ready for the next time. */
static int sq_run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

/* The connection opened as the sink wants it: WAL, synchronous=NORMAL, busy_timeout. */
static sqlite3 *sq_connect(const char *path, int64_t busy_ms, char *err, size_t cap)
{
    sqlite3 *conn = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, cap, "cannot open database \"%s\": %s", path,
                 conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
        sqlite3_close(conn);
        return NULL;
    }
    sqlite3_busy_timeout(conn, (int)busy_ms);
    /* journal_mode answers the mode it ended in: a file it cannot put in WAL is refused
     * rather than used with another durability than the one documented. */
    if (sqlite3_prepare_v2(conn, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, cap, "cannot use database \"%s\": %s", path, sqlite3_errmsg(conn));
    } else if (strcasecmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
        snprintf(err, cap, "cannot use database \"%s\": it stays in journal mode %s, not WAL "
                 "(hint: \"db\" must be a file on a local file system)", path,
                 (const char *)sqlite3_column_text(st, 0));
    } else if (sq_exec(conn, "PRAGMA synchronous=NORMAL", err, cap)) {
        sqlite3_finalize(st);
        return conn;
    }
    sqlite3_finalize(st);
    sqlite3_close(conn);
    return NULL;
}

/* The file's open connection, opened when no handler has it yet. */
static sq_db *sq_db_open(const char *path, int64_t busy_ms, char *err, size_t cap)
{
    struct stat info;
    sqlite3 *conn = sq_connect(path, busy_ms, err, cap);
    sq_db *db;
    if (!conn) return NULL;
    if (stat(path, &info) != 0) {
        snprintf(err, cap, "cannot open database \"%s\": %s", path, strerror(errno));
        sqlite3_close(conn);
        return NULL;
    }
    for (db = sq_dbs; db; db = db->next) {
        if (db->dev == info.st_dev && db->ino == info.st_ino) {
            sqlite3_close(conn);
            return db;
        }
    }
    if (!(db = calloc(1, sizeof *db))) {
        snprintf(err, cap, "out of memory");
        sqlite3_close(conn);
        return NULL;
    }
    db->conn = conn;
    db->dev = info.st_dev;
    db->ino = info.st_ino;
    if (sqlite3_prepare_v2(conn, "SAVEPOINT record", -1, &db->savepoint, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(conn, "RELEASE record", -1, &db->release, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(conn, "ROLLBACK TO record", -1, &db->rollback_to, NULL) != SQLITE_OK) {
        snprintf(err, cap, "cannot use database \"%s\": %s", path, sqlite3_errmsg(conn));
        sqlite3_finalize(db->savepoint);
        sqlite3_finalize(db->release);
        sqlite3_close(conn);
        free(db);
        return NULL;
    }
    db->next = sq_dbs;
    sq_dbs = db;
    return db;
}

static void sq_db_close(sq_db *db)
{
    sq_db **p = &sq_dbs;
    while (*p && *p != db) p = &(*p)->next;
    if (*p) *p = db->next;
    if (db->in_tx) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(db->savepoint);
    sqlite3_finalize(db->release);
    sqlite3_finalize(db->rollback_to);
    sqlite3_close(db->conn);
    free(db);
}

/* ---- the layout: checked when the table exists, created when not ---------------------- */

/* A statement's text: fmt with sqlite3_str's %w (an identifier's quotes doubled) and %Q. */
typedef sqlite3_str sq_sql;

/* The columns' names, quoted, after ", " (none before the first unless more). */
static void sq_sql_columns(sq_sql *q, const sq_column *cols, size_t n, bool more)
{
    for (size_t i = 0; i < n; i++) sqlite3_str_appendf(q, "%s\"%w\"", i || more ? ", " : "", cols[i].name);
}

/* " AND key1 = ?1 AND key2 = ?2": the keys are the first parameters of every statement. */
static void sq_sql_key_match(sq_sql *q, const sq_sink *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        sqlite3_str_appendf(q, " AND \"%w\" = ?%d", s->keys[i].name, (int)i + 1);
}

/* "?1, ?2, ... ?n" (SQLite's printf has no %zu). */
static void sq_sql_params(sq_sql *q, size_t n)
{
    for (size_t i = 1; i <= n; i++) sqlite3_str_appendf(q, "%s?%d", i > 1 ? ", " : "", (int)i);
}

/* Prepares the text of q (and frees it); false with SQLite's message. */
static bool sq_prepare(sq_sink *s, sq_sql *q, sqlite3_stmt **out, char *err, size_t cap)
{
    char *sql = sqlite3_str_finish(q);
    int rc = sql ? sqlite3_prepare_v3(s->db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL)
                 : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc == SQLITE_OK) return true;
    snprintf(err, cap, "%s", sql ? sqlite3_errmsg(s->db->conn) : "out of memory");
    return false;
}

static bool sq_run_sql(sq_sink *s, sq_sql *q, char *err, size_t cap)
{
    char *sql = sqlite3_str_finish(q);
    bool ok = sql && sq_exec(s->db->conn, sql, err, cap);
    if (!sql) snprintf(err, cap, "out of memory");
    sqlite3_free(sql);
    return ok;
}

/* 1 when a table of that name exists, 0 when nothing has the name, -1 (and err) when
 * something else has it or the question failed. */
static int sq_table_exists(sq_sink *s, const char *name, char *err, size_t cap)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(s->db->conn, "SELECT type FROM sqlite_master WHERE name = ?1 COLLATE NOCASE", -1,
                           &st, NULL) != SQLITE_OK) {
        snprintf(err, cap, "cannot read the schema of \"%s\": %s", s->path, sqlite3_errmsg(s->db->conn));
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        found = strcmp(type, "table") == 0 ? 1 : -1;
        if (found < 0)
            snprintf(err, cap, "\"%s\" in \"%s\" is a %s, not a table (hint: give config \"table\" "
                     "another name)", name, s->path, type);
    }
    sqlite3_finalize(st);
    return found;
}

/* What a table has: its columns with their declared types, and its primary key's columns. */
typedef struct sq_found {
    sq_column *cols;
    size_t n;
    sq_column *pk;
    size_t npk;
} sq_found;

static void sq_found_free(sq_found *f)
{
    sq_free_columns(&f->cols, &f->n);
    sq_free_columns(&f->pk, &f->npk);
}

static bool sq_read_table(sq_sink *s, const char *table, sq_found *f, char *err, size_t cap)
{
    sqlite3_stmt *st;
    bool ok = true;
    memset(f, 0, sizeof *f);
    if (sqlite3_prepare_v2(s->db->conn, "SELECT name, upper(type), pk FROM pragma_table_info(?1) "
                           "ORDER BY pk, cid", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, cap, "cannot read table \"%s\" of \"%s\": %s", table, s->path,
                 sqlite3_errmsg(s->db->conn));
        return false;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        sq_type t = SQ_JSON; /* stands for a declared type the sink never gives */
        for (int i = SQ_TEXT; i < SQ_JSON; i++)
            if (strcmp(decl, sq_type_names[i]) == 0) t = (sq_type)i;
        ok = sq_add_column(&f->cols, &f->n, name, t) &&
             (sqlite3_column_int(st, 2) == 0 || sq_add_column(&f->pk, &f->npk, name, t));
    }
    sqlite3_finalize(st);
    if (!ok) snprintf(err, cap, "out of memory");
    return ok;
}

/* Whether the existing table has exactly the layout this sink writes: fixed (nfixed columns),
 * the keys (taken from the table when no config or record named them yet: the columns that
 * are neither fixed nor projected), the projected columns when with_cols, and, when
 * key_is_pk, a primary key of exactly the keys. */
static bool sq_check_layout(sq_sink *s, const char *table, const sq_column *fixed, size_t nfixed,
                            bool with_cols, bool key_is_pk, char *err, size_t cap)
{
    sq_found f;
    char what[400] = "";
    if (!sq_read_table(s, table, &f, err, cap)) return false;
    bool take_keys = s->nkeys == 0;
    for (size_t i = 0; i < f.n && !*what; i++) {
        const sq_column *c = &f.cols[i], *want = sq_find(fixed, nfixed, c->name);
        if (!want && with_cols) want = sq_find(s->cols, s->ncols, c->name);
        if (!want && take_keys && (c->type == SQ_TEXT || c->type == SQ_BLOB)) {
            if (!sq_add_column(&s->keys, &s->nkeys, c->name, c->type)) {
                snprintf(err, cap, "out of memory");
                sq_found_free(&f);
                return false;
            }
            continue;
        }
        if (!want) want = sq_find(s->keys, s->nkeys, c->name);
        if (!want)
            snprintf(what, sizeof what, "it has a column \"%s\" that the sink does not write", c->name);
        else if (c->type != (want->type == SQ_JSON ? SQ_TEXT : want->type))
            snprintf(what, sizeof what, "column \"%s\" is not declared %s", c->name, sq_decl(want->type));
    }
    for (size_t i = 0; i < nfixed + (with_cols ? s->ncols : 0) + s->nkeys && !*what; i++) {
        const sq_column *c = i < nfixed ? &fixed[i] : i < nfixed + s->nkeys ? &s->keys[i - nfixed]
                                                     : &s->cols[i - nfixed - s->nkeys];
        if (!sq_find(f.cols, f.n, c->name))
            snprintf(what, sizeof what, "it has no column \"%s\"", c->name);
    }
    if (!*what && s->nkeys == 0) snprintf(what, sizeof what, "it has no key column");
    if (!*what && s->nkeys > 2) snprintf(what, sizeof what, "it has %zu key columns, more than "
                                         "DynamoDB's two", s->nkeys);
    if (!*what && key_is_pk) {
        bool same = f.npk == s->nkeys;
        for (size_t i = 0; i < f.npk && same; i++) same = sq_find(s->keys, s->nkeys, f.pk[i].name);
        if (!same) snprintf(what, sizeof what, "its primary key is not its key columns");
    }
    sq_found_free(&f);
    if (!*what) return true;
    snprintf(err, cap, "table \"%s\" in \"%s\" is not what the sink writes in mode \"%s\": %s "
             "(hint: the sink never alters a table; give config \"table\" another name, or drop "
             "it)", table, s->path, s->mode == SQ_MIRROR ? "mirror" : "log", what);
    return false;
}

/* The log's seq must be unique by itself: that makes a replayed change a no-op. */
static bool sq_check_log_unique(sq_sink *s, char *err, size_t cap)
{
    sqlite3_stmt *st;
    bool unique = false;
    if (sqlite3_prepare_v2(s->db->conn,
                           "SELECT count(*) FROM pragma_index_list(?1) AS l WHERE l.\"unique\" AND "
                           "(SELECT group_concat(name) FROM pragma_index_info(l.name)) = 'seq'",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, s->table, -1, SQLITE_STATIC);
        unique = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    }
    sqlite3_finalize(st);
    if (!unique)
        snprintf(err, cap, "table \"%s\" in \"%s\" is not what the sink writes in mode \"log\": "
                 "its column \"seq\" is not UNIQUE (hint: the sink never alters a table; give "
                 "config \"table\" another name, or drop it)", s->table, s->path);
    return unique;
}

static void sq_sql_definitions(sq_sql *q, const sq_column *cols, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        sqlite3_str_appendf(q, ", \"%w\" %s%s", cols[i].name, sq_decl(cols[i].type), extra);
}

/* CREATE TABLE for the sink's table (and the mirror's tombstones), from the keys. */
static bool sq_create(sq_sink *s, char *err, size_t cap)
{
    sq_sql *q = sqlite3_str_new(s->db->conn);
    sqlite3_str_appendf(q, "CREATE TABLE \"%w\" (", s->table);
    for (size_t i = 0; i < s->nkeys; i++)
        sqlite3_str_appendf(q, "%s\"%w\" %s NOT NULL", i ? ", " : "", s->keys[i].name,
                            sq_decl(s->keys[i].type));
    if (s->mode == SQ_MIRROR) {
        sqlite3_str_appendf(q, ", \"item\" TEXT, \"seq\" TEXT NOT NULL");
        sq_sql_definitions(q, s->cols, s->ncols, "");
        sqlite3_str_appendf(q, ", PRIMARY KEY (");
        sq_sql_columns(q, s->keys, s->nkeys, false);
        sqlite3_str_appendf(q, "));\nCREATE TABLE \"%w\" (", s->tombs);
        for (size_t i = 0; i < s->nkeys; i++)
            sqlite3_str_appendf(q, "%s\"%w\" %s NOT NULL", i ? ", " : "", s->keys[i].name,
                                sq_decl(s->keys[i].type));
        sqlite3_str_appendf(q, ", \"seq\" TEXT NOT NULL, \"removed_at\" INTEGER NOT NULL, PRIMARY KEY (");
        sq_sql_columns(q, s->keys, s->nkeys, false);
        sqlite3_str_appendf(q, "))");
    } else {
        sqlite3_str_appendf(q, ", \"event\" TEXT NOT NULL, \"seq\" TEXT NOT NULL UNIQUE, "
                               "\"ttl_delete\" INTEGER NOT NULL, \"old\" TEXT, \"new\" TEXT, \"at\" TEXT");
        sq_sql_definitions(q, s->cols, s->ncols, "");
        sqlite3_str_appendf(q, ")");
    }
    if (sq_run_sql(s, q, err, cap)) return true;
    char why[300];
    snprintf(why, sizeof why, "%s", err);
    snprintf(err, cap, "cannot create table \"%s\" in \"%s\": %s", s->table, s->path, why);
    return false;
}

/* ---- statements ------------------------------------------------------------------------ */

static void sq_finalize(sq_sink *s)
{
    sqlite3_stmt **all[] = {&s->upsert, &s->clear_tomb, &s->remove_row, &s->add_tomb, &s->append,
                            &s->prune};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}

/* The statements of the mode. Parameters: the keys are ?1..?k, then (k = nkeys)
 * upsert: item ?k+1, seq ?k+2, columns from ?k+3; clear_tomb and remove_row: seq ?k+1;
 * add_tomb: seq ?k+1, removed_at ?k+2; append: event ?k+1, seq ?k+2, ttl_delete ?k+3,
 * old ?k+4, new ?k+5, at ?k+6, columns from ?k+7; prune: the oldest removed_at kept ?1. */
static bool sq_statements(sq_sink *s, char *err, size_t cap)
{
    size_t k = s->nkeys;
    sq_sql *q = sqlite3_str_new(s->db->conn);
    if (s->mode == SQ_LOG) {
        sqlite3_str_appendf(q, "INSERT INTO \"%w\" (", s->table);
        sq_sql_columns(q, s->keys, k, false);
        sqlite3_str_appendf(q, ", \"event\", \"seq\", \"ttl_delete\", \"old\", \"new\", \"at\"");
        sq_sql_columns(q, s->cols, s->ncols, true);
        sqlite3_str_appendf(q, ") VALUES (");
        sq_sql_params(q, k + 6 + s->ncols);
        sqlite3_str_appendf(q, ") ON CONFLICT (\"seq\") DO NOTHING");
        return sq_prepare(s, q, &s->append, err, cap);
    }
    /* A change applies when no tombstone of its key is as new and its row, if any, is older. */
    sqlite3_str_appendf(q, "INSERT INTO \"%w\" (", s->table);
    sq_sql_columns(q, s->keys, k, false);
    sqlite3_str_appendf(q, ", \"item\", \"seq\"");
    sq_sql_columns(q, s->cols, s->ncols, true);
    sqlite3_str_appendf(q, ") SELECT ");
    sq_sql_params(q, k + 2 + s->ncols);
    sqlite3_str_appendf(q, " WHERE NOT EXISTS (SELECT 1 FROM \"%w\" WHERE \"seq\" >= ?%d", s->tombs, (int)k + 2);
    sq_sql_key_match(q, s);
    sqlite3_str_appendf(q, ") ON CONFLICT (");
    sq_sql_columns(q, s->keys, k, false);
    sqlite3_str_appendf(q, ") DO UPDATE SET \"item\" = excluded.\"item\", \"seq\" = excluded.\"seq\"");
    for (size_t i = 0; i < s->ncols; i++)
        sqlite3_str_appendf(q, ", \"%w\" = excluded.\"%w\"", s->cols[i].name, s->cols[i].name);
    sqlite3_str_appendf(q, " WHERE excluded.\"seq\" > \"%w\".\"seq\"", s->table);
    if (!sq_prepare(s, q, &s->upsert, err, cap)) return false;

    q = sqlite3_str_new(s->db->conn);
    sqlite3_str_appendf(q, "DELETE FROM \"%w\" WHERE \"seq\" < ?%d", s->tombs, (int)k + 1);
    sq_sql_key_match(q, s);
    if (!sq_prepare(s, q, &s->clear_tomb, err, cap)) return false;

    q = sqlite3_str_new(s->db->conn);
    sqlite3_str_appendf(q, "DELETE FROM \"%w\" WHERE \"seq\" < ?%d", s->table, (int)k + 1);
    sq_sql_key_match(q, s);
    if (!sq_prepare(s, q, &s->remove_row, err, cap)) return false;

    /* After remove_row, a row left for the key is newer than the REMOVE: no tombstone then. */
    q = sqlite3_str_new(s->db->conn);
    sqlite3_str_appendf(q, "INSERT INTO \"%w\" (", s->tombs);
    sq_sql_columns(q, s->keys, k, false);
    sqlite3_str_appendf(q, ", \"seq\", \"removed_at\") SELECT ");
    sq_sql_params(q, k + 2);
    sqlite3_str_appendf(q, " WHERE NOT EXISTS (SELECT 1 FROM \"%w\" WHERE 1", s->table);
    sq_sql_key_match(q, s);
    sqlite3_str_appendf(q, ") ON CONFLICT (");
    sq_sql_columns(q, s->keys, k, false);
    sqlite3_str_appendf(q, ") DO UPDATE SET \"seq\" = excluded.\"seq\", \"removed_at\" = "
                           "excluded.\"removed_at\" WHERE excluded.\"seq\" > \"%w\".\"seq\"", s->tombs);
    if (!sq_prepare(s, q, &s->add_tomb, err, cap)) return false;

    q = sqlite3_str_new(s->db->conn);
    sqlite3_str_appendf(q, "DELETE FROM \"%w\" WHERE \"removed_at\" < ?1", s->tombs);
    return sq_prepare(s, q, &s->prune, err, cap);
}

/* Forgets the layout (after a rolled-back batch may have taken a table it created with it):
 * the next record checks or creates it again. */
static void sq_unready(sq_sink *s)
{
    sq_finalize(s);
    s->ready = false;
    if (!s->keys_configured) sq_free_columns(&s->keys, &s->nkeys);
}

/* Makes the sink ready to write: the existing tables checked, or created from the keys
 * (config "key", else rec's Keys; with neither, at on_init, it waits for the first record),
 * and the statements made. */
static bool sq_ready(sq_sink *s, const ddb_record *rec, char *err, size_t cap)
{
    size_t nf;
    const sq_column *fixed = sq_fixed(s, &nf);
    int exists, tomb = 0;
    if (s->ready) return true;
    if ((exists = sq_table_exists(s, s->table, err, cap)) < 0 ||
        (s->mode == SQ_MIRROR && (tomb = sq_table_exists(s, s->tombs, err, cap)) < 0))
        return false;
    if (!exists && tomb) {
        snprintf(err, cap, "table \"%s\" in \"%s\" has tombstones (\"%s\") but no table: drop "
                 "both, or neither", s->table, s->path, s->tombs);
        return false;
    }
    if (exists) {
        if (!sq_check_layout(s, s->table, fixed, nf, true, s->mode == SQ_MIRROR, err, cap) ||
            (s->mode == SQ_LOG && !sq_check_log_unique(s, err, cap)))
            goto fail;
        if (s->mode == SQ_MIRROR && !tomb) {
            snprintf(err, cap, "table \"%s\" in \"%s\" has no tombstone table \"%s\" beside it: it "
                     "was not made by this sink's mode \"mirror\" (hint: the sink never alters a "
                     "table; give config \"table\" another name, or drop it)", s->table, s->path, s->tombs);
            goto fail;
        }
    } else if (s->nkeys == 0) {
        if (!rec) return true;
        for (size_t i = 0; i < ddb_count(rec->keys); i++) {
            const char *name = "";
            size_t len = 0;
            const ddb_value *v = ddb_member_at(rec->keys, i, &name, &len);
            ddb_type t = ddb_type_of(v);
            const char *taken = sq_name_taken(s, name, true);
            if (strlen(name) != len || (t != DDB_S && t != DDB_N && t != DDB_B) || taken) {
                snprintf(err, cap, "cannot create table \"%s\" from the record's Keys: key "
                         "attribute \"%s\" %s", s->table, name, taken ? taken : "is not S, N or B");
                goto fail;
            }
            if (!sq_add_column(&s->keys, &s->nkeys, name, t == DDB_B ? SQ_BLOB : SQ_TEXT)) {
                snprintf(err, cap, "out of memory");
                goto fail;
            }
        }
        if (s->nkeys == 0) {
            snprintf(err, cap, "the record has no Keys to create table \"%s\" from", s->table);
            return false;
        }
    }
    if ((tomb && !sq_check_layout(s, s->tombs, sq_tomb_fixed, 2, false, true, err, cap)) ||
        (!exists && !sq_create(s, err, cap)) || !sq_statements(s, err, cap))
        goto fail;
    s->ready = true;
    return true;
fail:
    sq_unready(s);
    return false;
}

/* ---- one record ---------------------------------------------------------------------- */

/* The SequenceNumber as seq holds it: its digits, left-padded with zeros to 40, so that text
 * order is number order (out holds 41 bytes). False when it is not 1 to 40 digits. */
static bool sq_seq(ddb_str seq, char out[SQ_SEQ_DIGITS + 1])
{
    size_t i = 0;
    if (!seq.ptr || seq.len == 0 || seq.len > SQ_SEQ_DIGITS) return false;
    for (i = 0; i < seq.len; i++)
        if (seq.ptr[i] < '0' || seq.ptr[i] > '9') return false;
    memset(out, '0', SQ_SEQ_DIGITS - seq.len);
    memcpy(out + SQ_SEQ_DIGITS - seq.len, seq.ptr, seq.len);
    out[SQ_SEQ_DIGITS] = '\0';
    return true;
}

/* Binds the record's key values as ?1..?k of st; false (with why) when its Keys are not the
 * table's key columns. */
static bool sq_bind_keys(const sq_sink *s, sqlite3_stmt *st, const ddb_record *rec, char *why, size_t cap)
{
    if (ddb_count(rec->keys) != s->nkeys) {
        snprintf(why, cap, "its Keys have %zu attributes, table \"%s\" has %zu key columns",
                 ddb_count(rec->keys), s->table, s->nkeys);
        return false;
    }
    for (size_t i = 0; i < s->nkeys; i++) {
        const ddb_value *v = ddb_get(rec->keys, s->keys[i].name);
        ddb_type t = ddb_type_of(v);
        if (!v) {
            snprintf(why, cap, "its Keys lack \"%s\", a key column of table \"%s\"", s->keys[i].name, s->table);
            return false;
        }
        if (s->keys[i].type == SQ_BLOB ? t != DDB_B : t != DDB_S && t != DDB_N) {
            snprintf(why, cap, "key attribute \"%s\" is %s, column \"%s\" holds %s", s->keys[i].name,
                     ddb_type_name(t), s->keys[i].name, s->keys[i].type == SQ_BLOB ? "B" : "S or N");
            return false;
        }
        if (t == DDB_B) sqlite3_bind_blob(st, (int)i + 1, v->len ? v->ptr : "", (int)v->len, SQLITE_STATIC);
        else sqlite3_bind_text(st, (int)i + 1, v->ptr, (int)v->len, SQLITE_STATIC);
    }
    return true;
}

/* Binds N value v as ?at of st as a double, the nearest: NUMERIC and REAL hold no more. */
static bool sq_bind_real(sqlite3_stmt *st, int at, const sq_column *c, const ddb_value *v, char *why,
                         size_t cap)
{
    double d;
    ddb_status ds = ddb_n_double(v, &d);
    if (ds == DDB_OK || ds == DDB_ERR_INEXACT) return sqlite3_bind_double(st, at, d) == SQLITE_OK;
    snprintf(why, cap, "attribute \"%s\" is N %.*s, beyond a double, column \"%s\" (%s) takes %s",
             c->name, (int)(v->len < 64 ? v->len : 64), (const char *)v->ptr, c->name,
             sq_type_names[c->type], sq_type_takes[c->type]);
    return false;
}

/* Binds attribute c of image (NULL when absent) as ?at of st, as column c takes it; false
 * (with why, naming the attribute) when it takes no value of that type. */
static bool sq_bind_column(sq_sink *s, sqlite3_stmt *st, int at, const sq_column *c,
                           const ddb_value *image, char *why, size_t cap)
{
    const ddb_value *v = ddb_get(image, c->name);
    ddb_type t = ddb_type_of(v);
    int64_t i64;
    ddb_status ds;
    if (t == DDB_NONE || t == DDB_NULL) return sqlite3_bind_null(st, at) == SQLITE_OK;
    switch (c->type) {
    case SQ_TEXT:
        if (t == DDB_S || t == DDB_N) return sqlite3_bind_text(st, at, v->ptr, (int)v->len, SQLITE_STATIC) == SQLITE_OK;
        break;
    case SQ_NUMERIC:
    case SQ_INTEGER:
        if (t == DDB_BOOL) return sqlite3_bind_int(st, at, v->boolean != 0) == SQLITE_OK;
        if (t != DDB_N) break;
        if ((ds = ddb_n_int64(v, &i64)) == DDB_OK) return sqlite3_bind_int64(st, at, i64) == SQLITE_OK;
        if (c->type == SQ_NUMERIC) return sq_bind_real(st, at, c, v, why, cap);
        snprintf(why, cap, "attribute \"%s\" is N %.*s, %s, column \"%s\" (INTEGER) takes %s",
                 c->name, (int)(v->len < 64 ? v->len : 64), (const char *)v->ptr,
                 ds == DDB_ERR_INEXACT ? "not an integer" : "beyond 64 bits", c->name,
                 sq_type_takes[c->type]);
        return false;
    case SQ_REAL:
        if (t == DDB_N) return sq_bind_real(st, at, c, v, why, cap);
        break;
    case SQ_BLOB:
        if (t == DDB_B) return sqlite3_bind_blob(st, at, v->len ? v->ptr : "", (int)v->len, SQLITE_STATIC) == SQLITE_OK;
        break;
    case SQ_JSON:
        s->json.len = 0;
        if (!render_plain(&s->json, v)) {
            snprintf(why, cap, "out of memory");
            return false;
        }
        return sqlite3_bind_text(st, at, s->json.text, (int)s->json.len, SQLITE_TRANSIENT) == SQLITE_OK;
    }
    snprintf(why, cap, "attribute \"%s\" is %s, column \"%s\" (%s) takes %s", c->name,
             ddb_type_name(t), c->name, sq_type_names[c->type], sq_type_takes[c->type]);
    return false;
}

/* image as DynamoDB JSON into buf, bound as ?at (NULL when there is no image). */
static bool sq_bind_image(sqlite3_stmt *st, int at, render_buf *buf, const ddb_value *image)
{
    if (!image) return sqlite3_bind_null(st, at) == SQLITE_OK;
    buf->len = 0;
    return render_item(buf, image) &&
           sqlite3_bind_text(st, at, buf->text, (int)buf->len, SQLITE_STATIC) == SQLITE_OK;
}

/* ApproximateCreationDateTime as ISO 8601 in UTC with milliseconds, which SQLite's date
 * functions read: 2024-05-01T12:20:00.000Z. */
static bool sq_bind_time(sqlite3_stmt *st, int at, const ddb_record *rec)
{
    char text[40];
    struct tm tm;
    int64_t ms = rec->creation_time_ms, s = ms / 1000 - (ms % 1000 < 0);
    time_t t = (time_t)s;
    if (!rec->has_creation_time || !gmtime_r(&t, &tm)) return sqlite3_bind_null(st, at) == SQLITE_OK;
    size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(text + n, sizeof text - n, ".%03dZ", (int)(ms - s * 1000));
    return sqlite3_bind_text(st, at, text, -1, SQLITE_TRANSIENT) == SQLITE_OK;
}

/* Steps st once and resets it, its bindings cleared; false with SQLite's message. */
static bool sq_step(const sq_sink *s, sqlite3_stmt *st, char *why, size_t cap)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) snprintf(why, cap, "%s", sqlite3_errmsg(s->db->conn));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

/* Binds the keys and then each of the columns' values from image, from parameter at on. */
static bool sq_bind_record(sq_sink *s, sqlite3_stmt *st, const ddb_record *rec, int at,
                           const ddb_value *image, char *why, size_t cap)
{
    if (!sq_bind_keys(s, st, rec, why, cap)) return false;
    for (size_t i = 0; i < s->ncols; i++)
        if (!sq_bind_column(s, st, at + (int)i, &s->cols[i], image, why, cap)) return false;
    return true;
}

/* The statements of one record. *ran false: it failed before any of them ran (the record's
 * values do not fit the table), so nothing needs undoing. */
static bool sq_write(sq_sink *s, const ddb_record *rec, const char *seq, bool *ran, char *why, size_t cap)
{
    int k = (int)s->nkeys;
    *ran = false;
    if (s->mode == SQ_LOG) {
        sqlite3_stmt *st = s->append;
        const ddb_value *image = rec->new_image ? rec->new_image : rec->old_image;
        bool ok = sq_bind_record(s, st, rec, k + 7, image, why, cap) &&
                  sqlite3_bind_text(st, k + 1, ddb_event_name_str(rec->event_name), -1, SQLITE_STATIC) == SQLITE_OK &&
                  sqlite3_bind_text(st, k + 2, seq, -1, SQLITE_STATIC) == SQLITE_OK &&
                  sqlite3_bind_int(st, k + 3, rec->ttl_delete) == SQLITE_OK &&
                  sq_bind_image(st, k + 4, &s->old, rec->old_image) &&
                  sq_bind_image(st, k + 5, &s->item, rec->new_image) && sq_bind_time(st, k + 6, rec);
        if (!ok) {
            if (!*why) snprintf(why, cap, "out of memory");
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return false;
        }
        *ran = true;
        return sq_step(s, st, why, cap);
    }
    if (rec->event_name == DDB_REMOVE) {
        if (!sq_bind_keys(s, s->remove_row, rec, why, cap) || !sq_bind_keys(s, s->add_tomb, rec, why, cap)) {
            sqlite3_clear_bindings(s->remove_row);
            return false;
        }
        sqlite3_bind_text(s->remove_row, k + 1, seq, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->add_tomb, k + 1, seq, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->add_tomb, k + 2, (int64_t)time(NULL));
        *ran = true;
        return sq_step(s, s->remove_row, why, cap) && sq_step(s, s->add_tomb, why, cap);
    }
    /* INSERT, MODIFY: without a NewImage (KEYS_ONLY or OLD_IMAGE streams) the row holds the
     * key alone, item NULL: the table still mirrors which items exist. */
    sqlite3_stmt *st = s->upsert;
    bool ok = sq_bind_record(s, st, rec, k + 3, rec->new_image, why, cap) &&
              sq_bind_image(st, k + 1, &s->item, rec->new_image) &&
              sqlite3_bind_text(st, k + 2, seq, -1, SQLITE_STATIC) == SQLITE_OK &&
              sq_bind_keys(s, s->clear_tomb, rec, why, cap) &&
              sqlite3_bind_text(s->clear_tomb, k + 1, seq, -1, SQLITE_STATIC) == SQLITE_OK;
    if (!ok) {
        if (!*why) snprintf(why, cap, "out of memory");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_clear_bindings(s->clear_tomb);
        return false;
    }
    *ran = true;
    return sq_step(s, st, why, cap) && sq_step(s, s->clear_tomb, why, cap);
}

/* The batch's transaction is gone (SQLite rolls back by itself on some errors, a failed
 * ROLLBACK TO leaves no choice): every handler of the file forgets what it made in it, and
 * the batch fails at its end. */
static void sq_lose_tx(sq_db *db)
{
    if (!sqlite3_get_autocommit(db->conn)) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    db->in_tx = false;
    db->tx_lost = true;
    for (sq_sink *s = db->sinks; s; s = s->next_on_db) sq_unready(s);
}

/* Applies one record in a savepoint: all of it, or (on failure) none of it, while the batch's
 * earlier records stay applied. */
static ddb_status sq_record(const ddb_record *rec, void *state)
{
    sq_sink *s = state;
    sq_db *db = s->db;
    char seq[SQ_SEQ_DIGITS + 1], why[600] = "";
    bool ran, ok;
    if (rec->size < offsetof(ddb_record, old_image) + sizeof rec->old_image) return DDB_ERR_INVALID;
    if (db->tx_lost) return sq_fail_record(s, rec, "the batch's transaction was rolled back (see above)");
    if (!sq_seq(rec->sequence_number, seq))
        return sq_fail_record(s, rec, "its SequenceNumber is not a number of 1 to 40 digits");
    if (!rec->keys) return sq_fail_record(s, rec, "it has no Keys");
    if (!sq_ready(s, rec, why, sizeof why)) return sq_fail_record(s, rec, "%s", why);
    if (sq_run(db->savepoint) != SQLITE_DONE)
        return sq_fail_record(s, rec, "cannot begin a savepoint: %s", sqlite3_errmsg(db->conn));
    ok = sq_write(s, rec, seq, &ran, why, sizeof why);
    if (!ok && ran && sq_run(db->rollback_to) != SQLITE_DONE) {
        sq_lose_tx(db);
        return sq_fail_record(s, rec, "%s; then the savepoint could not be rolled back: the batch fails", why);
    }
    if (sq_run(db->release) != SQLITE_DONE || (db->in_tx && sqlite3_get_autocommit(db->conn))) {
        sq_lose_tx(db);
        return sq_fail_record(s, rec, "%s%sthe batch's transaction was lost: %s", why, *why ? "; " : "",
                              sqlite3_errmsg(db->conn));
    }
    return ok ? DDB_OK : sq_fail_record(s, rec, "%s", why);
}

ddb_status on_insert(const ddb_record *rec, void *state) { return sq_record(rec, state); }
ddb_status on_modify(const ddb_record *rec, void *state) { return sq_record(rec, state); }
ddb_status on_remove(const ddb_record *rec, void *state) { return sq_record(rec, state); }

/* ---- batches ------------------------------------------------------------------------- */

/* Tombstones older than tombstone_days, once an hour: by then Lambda has no older change of
 * their keys left to deliver (a stream keeps records for 24 hours). */
static void sq_prune(sq_sink *s)
{
    time_t now = time(NULL);
    char why[300];
    if (s->mode != SQ_MIRROR || s->tombstone_days == 0 || !s->ready || now - s->pruned_at < SQ_PRUNE_EVERY_S)
        return;
    s->pruned_at = now;
    sqlite3_bind_int64(s->prune, 1, (int64_t)now - s->tombstone_days * 86400);
    if (!sq_step(s, s->prune, why, sizeof why))
        s->host->log(s->self, DDB_LOG_WARN, "cannot prune tombstones of \"%s\": %s", s->table, why);
}

ddb_status on_batch_begin(const ddb_batch *batch, void *state)
{
    sq_sink *s = state;
    sq_db *db = s->db;
    (void)batch;
    if (s->in_batch) return DDB_OK;
    if (!db->in_tx && db->members == 0) {
        db->tx_lost = false;
        /* IMMEDIATE: the write lock now, where busy_timeout waits for it, rather than at the
         * first write of a record. */
        if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            s->host->log(s->self, DDB_LOG_WARN, "cannot begin a transaction in \"%s\": %s", s->path,
                         sqlite3_errmsg(db->conn));
            return DDB_ERR_FAILED;
        }
        db->in_tx = true;
        db->end_status = DDB_OK;
    }
    s->in_batch = true;
    db->members++;
    sq_prune(s);
    return DDB_OK;
}

ddb_status on_batch_end(const ddb_batch *batch, void *state)
{
    sq_sink *s = state;
    sq_db *db = s->db;
    ddb_status st;
    (void)batch;
    if (!s->in_batch) return DDB_OK;
    s->in_batch = false;
    db->members--;
    if (db->in_tx) {
        db->in_tx = false;
        db->end_status = DDB_OK;
        if (sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            s->host->log(s->self, DDB_LOG_WARN, "cannot commit the batch to \"%s\": %s", s->path,
                         sqlite3_errmsg(db->conn));
            sq_lose_tx(db);
        }
    }
    if (db->tx_lost) db->end_status = DDB_ERR_FAILED;
    st = db->end_status;
    if (db->members == 0) db->tx_lost = false; /* the next batch starts afresh */
    return st;
}

/* ---- configuration ------------------------------------------------------------------- */

static const char *const sq_config_keys[] = {"db", "table", "mode", "key", "columns",
                                             "tombstone_days", "busy_timeout_ms"};

/* A name for a table or column: a non-empty string without NUL. */
static const char *sq_name(json_object *v)
{
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) return NULL;
    const char *s = json_object_get_string(v);
    return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

static bool sq_config_int(const ddb_init *init, json_object *v, const char *key, int64_t lo,
                          int64_t hi, int64_t *out, const char *meaning)
{
    /* json-c clamps what does not fit int64, and hi and lo lie inside it */
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        if (*out >= lo && *out <= hi) return true;
    }
    sq_fail_init(init, DDB_ERR_INVALID, "config \"%s\" must be an integer from %lld to %lld (%s)",
                 key, (long long)lo, (long long)hi, meaning);
    return false;
}

/* config "columns" (projected) or "key": an object of names to types. */
static bool sq_config_columns(sq_sink *s, const ddb_init *init, json_object *obj, bool as_key)
{
    const char *key = as_key ? "key" : "columns";
    if (!json_object_is_type(obj, json_type_object)) {
        sq_fail_init(init, DDB_ERR_INVALID, "config \"%s\" must be an object of %s", key,
                     as_key ? "key attribute names to S, N or B" : "attribute names to column types");
        return false;
    }
    json_object_object_foreach(obj, name, v) {
        const char *type = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        int t = -1;
        if (as_key) {
            if (strcmp(type, "S") == 0 || strcmp(type, "N") == 0) t = SQ_TEXT;
            else if (strcmp(type, "B") == 0) t = SQ_BLOB;
        } else {
            for (int i = SQ_TEXT; i <= SQ_JSON; i++)
                if (strcasecmp(type, sq_type_names[i]) == 0) t = i;
        }
        const char *taken = *name ? sq_name_taken(s, name, as_key) : "a name is not empty";
        if (t < 0) {
            sq_fail_init(init, DDB_ERR_INVALID, "config \"%s\".\"%s\": %s is not %s", key, name,
                         json_object_to_json_string(v), as_key ? "a key type (S, N or B)"
                         : "a column type (TEXT, NUMERIC, INTEGER, REAL, BLOB or JSON)");
            return false;
        }
        if (taken) {
            sq_fail_init(init, DDB_ERR_INVALID, "config \"%s\".\"%s\": %s", key, name, taken);
            return false;
        }
        if (!(as_key ? sq_add_column(&s->keys, &s->nkeys, name, (sq_type)t)
                     : sq_add_column(&s->cols, &s->ncols, name, (sq_type)t))) {
            sq_fail_init(init, DDB_ERR_NOMEM, "out of memory");
            return false;
        }
    }
    if (as_key && (s->nkeys < 1 || s->nkeys > 2)) {
        sq_fail_init(init, DDB_ERR_INVALID, "config \"key\" must name one or two attributes (the "
                     "partition key, and the sort key if the table has one)");
        return false;
    }
    s->keys_configured = as_key || s->keys_configured;
    return true;
}

/* Reads the config object into s (its strings copied); false with init->error written. */
static bool sq_config(sq_sink *s, const ddb_init *init, json_object *cfg, const char **db, int64_t *busy_ms)
{
    json_object *v;
    const char *table = NULL;
    if (!json_object_is_type(cfg, json_type_object)) {
        sq_fail_init(init, DDB_ERR_INVALID, "config must be an object with at least \"db\", the "
                     "SQLite database file");
        return false;
    }
    json_object_object_foreach(cfg, key, member) {
        size_t i = 0, n = sizeof sq_config_keys / sizeof *sq_config_keys;
        (void)member;
        while (i < n && strcmp(key, sq_config_keys[i]) != 0) i++;
        if (i == n) {
            sq_fail_init(init, DDB_ERR_INVALID, "config: unknown key \"%s\" (expected \"db\", "
                         "\"table\", \"mode\", \"key\", \"columns\", \"tombstone_days\" or "
                         "\"busy_timeout_ms\")", key);
            return false;
        }
    }
    /* mode first: it says which column names are taken */
    if (json_object_object_get_ex(cfg, "mode", &v)) {
        const char *mode = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(mode, "mirror") != 0 && strcmp(mode, "log") != 0) {
            sq_fail_init(init, DDB_ERR_INVALID, "config \"mode\": %s is neither \"mirror\" nor \"log\"",
                         json_object_to_json_string(v));
            return false;
        }
        s->mode = strcmp(mode, "log") == 0 ? SQ_LOG : SQ_MIRROR;
    }
    if (!json_object_object_get_ex(cfg, "db", &v) || !(*db = sq_name(v))) {
        sq_fail_init(init, DDB_ERR_INVALID, "config \"db\" must be the path of the SQLite database "
                     "file (created if missing)");
        return false;
    }
    if (json_object_object_get_ex(cfg, "table", &v) && !(table = sq_name(v))) {
        sq_fail_init(init, DDB_ERR_INVALID, "config \"table\" must be a table name");
        return false;
    }
    if (!table && strcmp(init->route, "*") == 0) {
        sq_fail_init(init, DDB_ERR_INVALID, "config \"table\" is required on the \"*\" route: the "
                     "table of one route holds the items of one DynamoDB table");
        return false;
    }
    if (!table) table = init->route;
    if ((json_object_object_get_ex(cfg, "key", &v) && !sq_config_columns(s, init, v, true)) ||
        (json_object_object_get_ex(cfg, "columns", &v) && !sq_config_columns(s, init, v, false)))
        return false;
    s->tombstone_days = 2;
    *busy_ms = 5000;
    if ((json_object_object_get_ex(cfg, "tombstone_days", &v) &&
         !sq_config_int(init, v, "tombstone_days", 0, 36500, &s->tombstone_days, "0: never pruned")) ||
        (json_object_object_get_ex(cfg, "busy_timeout_ms", &v) &&
         !sq_config_int(init, v, "busy_timeout_ms", 0, 600000, busy_ms, "how long to wait for a lock")))
        return false;
    s->table = strdup(table);
    s->tombs = malloc(strlen(table) + sizeof SQ_TOMBSTONE_SUFFIX);
    s->path = strdup(*db);
    if (!s->table || !s->tombs || !s->path) {
        sq_fail_init(init, DDB_ERR_NOMEM, "out of memory");
        return false;
    }
    sprintf(s->tombs, "%s%s", table, SQ_TOMBSTONE_SUFFIX);
    return true;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

void on_fini(void *state)
{
    sq_sink *s = state, **p;
    if (!s) return;
    sq_finalize(s);
    if (s->db) {
        for (p = &s->db->sinks; *p && *p != s; p = &(*p)->next_on_db) {}
        if (*p) *p = s->next_on_db;
        if (!s->db->sinks) sq_db_close(s->db);
    }
    sq_free_columns(&s->keys, &s->nkeys);
    sq_free_columns(&s->cols, &s->ncols);
    render_free(&s->item);
    render_free(&s->old);
    render_free(&s->json);
    free(s->path);
    free(s->table);
    free(s->tombs);
    free(s);
}

ddb_status on_init(const ddb_init *init, void **state)
{
    sq_sink *s;
    json_object *cfg;
    const char *db_path = NULL;
    int64_t busy_ms = 0;
    char err[700];
    if (!init || !state || !init->host || !init->config_json || !init->route) return DDB_ERR_INVALID;
    if (!(s = calloc(1, sizeof *s))) return sq_fail_init(init, DDB_ERR_NOMEM, "out of memory");
    s->host = init->host;
    s->self = init->self;
    cfg = json_tokener_parse(init->config_json);
    if (!sq_config(s, init, cfg, &db_path, &busy_ms)) {
        json_object_put(cfg);
        on_fini(s);
        return DDB_ERR_INVALID;
    }
    json_object_put(cfg);
    if (!(s->db = sq_db_open(s->path, busy_ms, err, sizeof err))) {
        on_fini(s);
        return sq_fail_init(init, DDB_ERR_FAILED, "%s", err);
    }
    s->next_on_db = s->db->sinks;
    s->db->sinks = s;
    if (!sq_ready(s, NULL, err, sizeof err)) {
        on_fini(s);
        return sq_fail_init(init, DDB_ERR_FAILED, "%s", err);
    }
    *state = s;
    return DDB_OK;
}
