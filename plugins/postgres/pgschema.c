/* pgschema.c - the tables of the postgres sink's two layouts, their DDL, the check of an
 * existing table against the configuration, and the SQL of the statements the sink prepares.
 * It never alters a table: a mismatch is reported and the sink refuses to start. */
#include "pgschema.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgconn.h"

/* One column of a table: its name, its type as format_type() prints it, and how a parameter
 * becomes its value (NULL: $n cast to the type). */
typedef struct pgschema_column {
    const char *name;
    const char *type;
    bool not_null;
    const char *param; /* a printf format with one %zu, the parameter's number */
} pgschema_column;

/* Columns of a table beside the projection: two keys and the log's six of its own. */
#define PGSCHEMA_FIXED 8
#define PGSCHEMA_MAX (PGSCHEMA_FIXED + PGCONFIG_COLUMNS_MAX)

/* The columns of the main table (the mirror or the log), in parameter order; returns how
 * many. cols has room for PGSCHEMA_MAX. */
static size_t pgschema_main(const pgconfig *c, pgschema_column *cols)
{
    size_t n = 0;
    for (size_t i = 0; i < c->key_count; i++)
        cols[n++] = (pgschema_column){c->keys[i].name, c->keys[i].type, true, NULL};
    if (c->mode == PGCONFIG_MIRROR) {
        cols[n++] = (pgschema_column){"item", "jsonb", false, NULL};
        cols[n++] = (pgschema_column){"seq", "numeric", true, NULL};
    } else {
        cols[n++] = (pgschema_column){"event", "text", true, NULL};
        cols[n++] = (pgschema_column){"seq", "numeric", true, NULL};
        cols[n++] = (pgschema_column){"ttl_delete", "boolean", true, NULL};
        cols[n++] = (pgschema_column){"old", "jsonb", false, NULL};
        cols[n++] = (pgschema_column){"new", "jsonb", false, NULL};
        cols[n++] =
            (pgschema_column){"at", "timestamp with time zone", false,
                              "'epoch'::timestamptz + $%zu::bigint * interval '1 millisecond'"};
    }
    for (size_t i = 0; i < c->column_count; i++)
        cols[n++] = (pgschema_column){c->columns[i].name, c->columns[i].type, false, NULL};
    return n;
}

/* The mirror's side table: the key of each removed item and the seq of its removal. */
static size_t pgschema_tombstones(const pgconfig *c, pgschema_column *cols)
{
    size_t n = 0;
    for (size_t i = 0; i < c->key_count; i++)
        cols[n++] = (pgschema_column){c->keys[i].name, c->keys[i].type, true, NULL};
    cols[n++] = (pgschema_column){"seq", "numeric", true, NULL};
    cols[n++] = (pgschema_column){"at", "timestamp with time zone", true, NULL};
    return n;
}

size_t pgschema_apply_params(const pgconfig *c)
{
    return c->key_count + (c->mode == PGCONFIG_MIRROR ? 2 : 6) + c->column_count;
}

/* ---- SQL text ------------------------------------------------------------------------ */

/* name as a quoted identifier: "a""b" for a"b. */
static bool pgschema_ident(render_buf *b, const char *name)
{
    bool ok = render_put(b, "\"", 1);
    for (const char *q; ok && (q = strchr(name, '"')) != NULL; name = q + 1)
        ok = render_put(b, name, (size_t)(q - name) + 1) && render_put(b, "\"", 1);
    return ok && render_put(b, name, strlen(name)) && render_put(b, "\"", 1);
}

/* Appends fmt to b, where %s is a string as it is, %I a string as a quoted identifier and %z
 * a size_t in decimal. False when out of memory. */
static bool pgschema_sql(render_buf *b, const char *fmt, ...)
{
    va_list ap;
    bool ok = true;
    char n[24];
    va_start(ap, fmt);
    for (const char *pct; ok && (pct = strchr(fmt, '%')) != NULL; fmt = pct + 2) {
        ok = render_put(b, fmt, (size_t)(pct - fmt));
        if (pct[1] == 's') {
            const char *s = va_arg(ap, const char *);
            ok = ok && render_put(b, s, strlen(s));
        } else if (pct[1] == 'I') {
            ok = ok && pgschema_ident(b, va_arg(ap, const char *));
        } else {
            snprintf(n, sizeof n, "%zu", va_arg(ap, size_t));
            ok = ok && render_put(b, n, strlen(n));
        }
    }
    va_end(ap);
    return ok && render_put(b, fmt, strlen(fmt));
}

/* The lists statements are made of, for cols[0..n): */

/* "a", "b" */
static bool pgschema_names(render_buf *b, const pgschema_column *cols, size_t n)
{
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) ok = pgschema_sql(b, i ? ", %I" : "%I", cols[i].name);
    return ok;
}

/* $1::text, $2::numeric: parameter i + 1 as column i takes it */
static bool pgschema_params(render_buf *b, const pgschema_column *cols, size_t n)
{
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char p[128];
        if (cols[i].param)
            snprintf(p, sizeof p, cols[i].param, i + 1);
        else
            snprintf(p, sizeof p, "$%zu::%s", i + 1, cols[i].type);
        ok = pgschema_sql(b, i ? ", %s" : "%s", p);
    }
    return ok;
}

/* alias."a" = $1::text AND alias."b" = $2::numeric: the keys equal to their parameters */
static bool pgschema_match(render_buf *b, const pgschema_column *keys, size_t n, const char *alias)
{
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = pgschema_sql(b, i ? " AND %s%I = $%z::%s" : "%s%I = $%z::%s", alias, keys[i].name,
                          i + 1, keys[i].type);
    return ok;
}

/* "c" = excluded."c", ...: what an upsert sets */
static bool pgschema_sets(render_buf *b, const pgschema_column *cols, size_t n)
{
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = pgschema_sql(b, i ? ", %I = excluded.%I" : "%I = excluded.%I", cols[i].name,
                          cols[i].name);
    return ok;
}

/* "a" text NOT NULL, "item" jsonb: a table's columns as CREATE TABLE declares them */
static bool pgschema_declare(render_buf *b, const pgschema_column *cols, size_t n)
{
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = pgschema_sql(b, "%I %s%s, ", cols[i].name, cols[i].type,
                          cols[i].not_null ? " NOT NULL" : "");
    return ok;
}

/* The pieces of a statement, built before it and freed after. */
typedef struct pgschema_parts {
    render_buf names, params, match, match_d, keys, sets;
} pgschema_parts;

static void pgschema_parts_free(pgschema_parts *p)
{
    render_free(&p->names);
    render_free(&p->params);
    render_free(&p->match);
    render_free(&p->match_d);
    render_free(&p->keys);
    render_free(&p->sets);
}

static bool pgschema_parts_make(pgschema_parts *p, const pgschema_column *cols, size_t n,
                                size_t keys)
{
    memset(p, 0, sizeof *p);
    return pgschema_names(&p->names, cols, n) && pgschema_params(&p->params, cols, n) &&
           pgschema_match(&p->match, cols, keys, "") &&
           pgschema_match(&p->match_d, cols, keys, "d.") && pgschema_names(&p->keys, cols, keys) &&
           pgschema_sets(&p->sets, cols + keys, n - keys);
}

bool pgschema_apply_sql(const pgconfig *c, render_buf *sql)
{
    pgschema_column cols[PGSCHEMA_MAX];
    size_t n = pgschema_main(c, cols), seq = c->key_count + 2;
    pgschema_parts p;
    bool ok = pgschema_parts_make(&p, cols, n, c->key_count);
    if (ok && c->mode == PGCONFIG_LOG) /* the unique seq makes a replay a no-op */
        ok = pgschema_sql(sql, "INSERT INTO %I (%s) VALUES (%s) ON CONFLICT (seq) DO NOTHING",
                          c->table, p.names.text, p.params.text);
    else if (ok)
        /* Applied when no tombstone is newer (an old INSERT replayed after the REMOVE cannot
         * bring the item back) and, over an existing row, when it is newer than what the row
         * holds. An older tombstone goes: from then on the row's seq guards the key. */
        ok = pgschema_sql(sql,
                          "WITH cleared AS (DELETE FROM %I WHERE %s AND seq < $%z::numeric) "
                          "INSERT INTO %I AS t (%s) SELECT %s "
                          "WHERE NOT EXISTS (SELECT FROM %I d WHERE %s AND d.seq > $%z::numeric) "
                          "ON CONFLICT (%s) DO UPDATE SET %s WHERE excluded.seq > t.seq",
                          c->tombstones, p.match.text, seq, c->table, p.names.text, p.params.text,
                          c->tombstones, p.match_d.text, seq, p.keys.text, p.sets.text);
    pgschema_parts_free(&p);
    return ok;
}

bool pgschema_remove_sql(const pgconfig *c, render_buf *sql)
{
    pgschema_column cols[PGSCHEMA_FIXED];
    size_t n = pgschema_tombstones(c, cols), seq = c->key_count + 1;
    pgschema_parts p;
    /* The row goes unless it holds a newer change, which then guards the key itself; else the
     * tombstone keeps the newest removal. */
    bool ok = pgschema_parts_make(&p, cols, n - 1, c->key_count) &&
              pgschema_sql(sql,
                           "WITH gone AS (DELETE FROM %I WHERE %s AND seq < $%z::numeric) "
                           "INSERT INTO %I AS d (%s, at) SELECT %s, now() "
                           "WHERE NOT EXISTS (SELECT FROM %I WHERE %s AND seq > $%z::numeric) "
                           "ON CONFLICT (%s) DO UPDATE SET seq = excluded.seq, at = excluded.at "
                           "WHERE excluded.seq > d.seq",
                           c->table, p.match.text, seq, c->tombstones, p.names.text, p.params.text,
                           c->table, p.match.text, seq, p.keys.text);
    pgschema_parts_free(&p);
    return ok;
}

bool pgschema_prune_sql(const pgconfig *c, render_buf *sql)
{
    char days[24];
    snprintf(days, sizeof days, "%" PRId64, c->tombstone_days);
    return pgschema_sql(sql, "DELETE FROM %I WHERE at < now() - interval '%s days'", c->tombstones,
                        days);
}

/* ---- creating and checking ----------------------------------------------------------- */

/* Runs sql with params; the result when it has the status wanted, else NULL and err. */
static PGresult *pgschema_exec(PGconn *conn, const char *sql, int nparams,
                               const char *const *params, ExecStatusType want, char *err,
                               size_t cap)
{
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == want) return r;
    pgconn_message(err, cap, "cannot set up the tables", r, conn);
    PQclear(r);
    return NULL;
}

static bool pgschema_run(PGconn *conn, const char *sql, char *err, size_t cap)
{
    PGresult *r = pgschema_exec(conn, sql, 0, NULL, PGRES_COMMAND_OK, err, cap);
    PQclear(r);
    return r != NULL;
}

/* One of the sink's tables: its columns, its primary key (the first pk of pk_cols) and the
 * index it gets when created (columns of index_cols, or none). */
typedef struct pgschema_table {
    const char *name;
    const pgschema_column *cols, *pk_cols, *index_cols;
    size_t n, pk, index;
} pgschema_table;

#define PGSCHEMA_DIFFERS "table \"%s\" does not match the configuration: "
#define PGSCHEMA_HINT "; hint: a table is never altered: drop or rename it, or set config \"table\""

/* The existing table's columns (names and types, no more, no fewer) and primary key against
 * t's; quoted is its name as an identifier. */
static bool pgschema_check(PGconn *conn, const pgschema_table *t, const char *quoted, char *err,
                           size_t cap)
{
    static const char columns_sql[] =
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum";
    static const char pk_sql[] =
        "SELECT a.attname FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord), "
        "pg_attribute a WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
        "AND a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.ord";
    render_buf have = {0}, want = {0};
    PGresult *r = pgschema_exec(conn, columns_sql, 1, &quoted, PGRES_TUPLES_OK, err, cap);
    bool ok = r != NULL;
    for (size_t i = 0; i < t->n && ok; i++) {
        int row = 0;
        while (row < PQntuples(r) && strcmp(PQgetvalue(r, row, 0), t->cols[i].name) != 0) row++;
        if (row == PQntuples(r))
            snprintf(err, cap, PGSCHEMA_DIFFERS "it has no column \"%s\" (%s)" PGSCHEMA_HINT,
                     t->name, t->cols[i].name, t->cols[i].type);
        else if (strcmp(PQgetvalue(r, row, 1), t->cols[i].type) != 0)
            snprintf(err, cap, PGSCHEMA_DIFFERS "its column \"%s\" is %s, not %s" PGSCHEMA_HINT,
                     t->name, t->cols[i].name, PQgetvalue(r, row, 1), t->cols[i].type);
        ok = row < PQntuples(r) && strcmp(PQgetvalue(r, row, 1), t->cols[i].type) == 0;
    }
    for (int row = 0; ok && row < PQntuples(r); row++) {
        size_t i = 0;
        while (i < t->n && strcmp(PQgetvalue(r, row, 0), t->cols[i].name) != 0) i++;
        if (i < t->n) continue;
        snprintf(err, cap,
                 PGSCHEMA_DIFFERS
                 "it has a column \"%s\" that the configuration does not" PGSCHEMA_HINT,
                 t->name, PQgetvalue(r, row, 0));
        ok = false;
    }
    PQclear(r);
    if (!ok || !(r = pgschema_exec(conn, pk_sql, 1, &quoted, PGRES_TUPLES_OK, err, cap)))
        return false;
    ok = (size_t)PQntuples(r) == t->pk;
    for (size_t i = 0; i < t->pk && ok; i++)
        ok = !strcmp(PQgetvalue(r, (int)i, 0), t->pk_cols[i].name);
    for (int row = 0; !ok && row < PQntuples(r); row++)
        if (!pgschema_sql(&have, row ? ", %s" : "%s", PQgetvalue(r, row, 0))) break;
    for (size_t i = 0; !ok && i < t->pk; i++)
        if (!pgschema_sql(&want, i ? ", %s" : "%s", t->pk_cols[i].name)) break;
    if (!ok)
        snprintf(err, cap, PGSCHEMA_DIFFERS "its primary key is (%s), not (%s)" PGSCHEMA_HINT,
                 t->name, have.text ? have.text : "none", want.text ? want.text : "?");
    render_free(&have);
    render_free(&want);
    PQclear(r);
    return ok;
}

/* CREATE TABLE and its index. */
static bool pgschema_create(PGconn *conn, const pgschema_table *t, char *err, size_t cap)
{
    render_buf sql = {0}, cols = {0}, pk = {0};
    bool built =
        pgschema_declare(&cols, t->cols, t->n) && pgschema_names(&pk, t->pk_cols, t->pk) &&
        pgschema_sql(&sql, "CREATE TABLE %I (%sPRIMARY KEY (%s))", t->name, cols.text, pk.text);
    bool ok = built && pgschema_run(conn, sql.text, err, cap);
    if (ok && t->index) {
        sql.len = pk.len = 0;
        built = pgschema_names(&pk, t->index_cols, t->index) &&
                pgschema_sql(&sql, "CREATE INDEX ON %I (%s)", t->name, pk.text);
        ok = built && pgschema_run(conn, sql.text, err, cap);
    }
    if (!built) snprintf(err, cap, "out of memory");
    render_free(&sql);
    render_free(&cols);
    render_free(&pk);
    return ok;
}

/* Creates t when missing, else checks it. */
static bool pgschema_table_ready(PGconn *conn, const pgschema_table *t, char *err, size_t cap)
{
    render_buf quoted = {0};
    const char *q;
    PGresult *r;
    bool ok = false;
    if (!pgschema_ident(&quoted, t->name)) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    q = quoted.text;
    r = pgschema_exec(conn, "SELECT relkind FROM pg_class WHERE oid = to_regclass($1)", 1, &q,
                      PGRES_TUPLES_OK, err, cap);
    if (r && PQntuples(r) == 0)
        ok = pgschema_create(conn, t, err, cap);
    else if (r && strcmp(PQgetvalue(r, 0, 0), "r") != 0 && strcmp(PQgetvalue(r, 0, 0), "p") != 0)
        snprintf(err, cap, "\"%s\" exists and is not a table" PGSCHEMA_HINT, t->name);
    else if (r)
        ok = pgschema_check(conn, t, q, err, cap);
    PQclear(r);
    render_free(&quoted);
    return ok;
}

bool pgschema_ensure(PGconn *conn, const pgconfig *c, char *err, size_t cap)
{
    pgschema_column main[PGSCHEMA_MAX], side[PGSCHEMA_FIXED];
    pgschema_column seq = {"seq", "numeric", true, NULL}, at = {"at", "", true, NULL};
    bool mirror = c->mode == PGCONFIG_MIRROR;
    /* The mirror is keyed by the item's key; the log by seq and looked up by item; the
     * tombstones are keyed by the item's key and pruned by age. */
    pgschema_table table = {c->table,
                            main,
                            mirror ? main : &seq,
                            mirror ? NULL : main,
                            pgschema_main(c, main),
                            mirror ? c->key_count : 1,
                            mirror ? 0 : c->key_count};
    pgschema_table tombstones = {c->tombstones, side, side, &at, pgschema_tombstones(c, side),
                                 c->key_count,  1};
    const char *lock = c->table;
    PGresult *r = NULL;
    /* Two sinks starting at once (two Lambda instances) must not both create the table. */
    bool ok = pgschema_run(conn, "BEGIN", err, cap) &&
              (r = pgschema_exec(conn, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, &lock,
                                 PGRES_TUPLES_OK, err, cap)) != NULL &&
              pgschema_table_ready(conn, &table, err, cap) &&
              (!mirror || pgschema_table_ready(conn, &tombstones, err, cap)) &&
              pgschema_run(conn, "COMMIT", err, cap);
    PQclear(r);
    if (!ok) PQclear(PQexec(conn, "ROLLBACK"));
    return ok;
}
