/* pgconfig.h - the postgres sink's configuration, read once from the handler's "config" in
 * on_init: where to connect, which table, which layout, the key and projected columns with
 * their PostgreSQL types. Knows nothing of connections or records. */
#ifndef PGCONFIG_H
#define PGCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ddb/plugin.h>

/* PostgreSQL truncates longer identifiers (NAMEDATALEN - 1): refused rather than cut. */
#define PGCONFIG_NAME_MAX 63
/* Projected columns at most: a bound that keeps every column list on the stack. */
#define PGCONFIG_COLUMNS_MAX 64
/* A DynamoDB stream keeps a record 24 hours: after two days no older change can come. */
#define PGCONFIG_TOMBSTONE_DAYS 2

typedef enum pgconfig_mode { PGCONFIG_MIRROR, PGCONFIG_LOG } pgconfig_mode;

/* What a column holds, and so which DynamoDB type fills it. */
typedef enum pgconfig_kind {
    PGCONFIG_TEXT,          /* S */
    PGCONFIG_NUMERIC,       /* N, its exact text */
    PGCONFIG_BIGINT,        /* N that is an integer in range */
    PGCONFIG_BOOLEAN,       /* BOOL */
    PGCONFIG_BYTEA,         /* B */
    PGCONFIG_JSONB,         /* any value, as plain JSON */
    PGCONFIG_TEXT_ARRAY,    /* SS */
    PGCONFIG_NUMERIC_ARRAY, /* NS */
    PGCONFIG_BYTEA_ARRAY    /* BS */
} pgconfig_kind;

typedef struct pgconfig_column {
    char *name; /* the attribute, and the column named after it */
    char *type; /* as PostgreSQL's format_type() prints it: "numeric(12,2)", "text[]" */
    pgconfig_kind kind;
} pgconfig_column;

/* Owned: pgconfig_free. */
typedef struct pgconfig {
    char *conninfo;   /* NULL: libpq's PG* environment variables and defaults */
    char *table;      /* the mirror or the log */
    char *tombstones; /* mirror: table "_tombstones"; NULL in log mode */
    pgconfig_mode mode;
    pgconfig_column keys[2]; /* the partition key, then the sort key if any */
    size_t key_count;
    pgconfig_column *columns; /* the typed projection, in config order */
    size_t column_count;
    int64_t tombstone_days; /* mirror: tombstones older than this go; 0: never */
} pgconfig;

/* Reads init's config into c. False with a one-line reason in err when it is not one this
 * sink can serve (err names the key); c then holds nothing to free. */
bool pgconfig_read(const ddb_init *init, pgconfig *c, char *err, size_t cap);
void pgconfig_free(pgconfig *c);

const char *pgconfig_kind_takes(pgconfig_kind kind);

#endif
