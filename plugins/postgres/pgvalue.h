/* pgvalue.h - the parameters of one statement, built from a record's values: exact text for
 * numbers (never a float on the way), raw bytes for bytea, array literals for sets, plain JSON
 * for jsonb. Reused from one record to the next; knows nothing of connections. */
#ifndef PGVALUE_H
#define PGVALUE_H

#include <stdbool.h>
#include <stddef.h>

#include <ddb/plugin.h>

#include "pgconfig.h"
#include "render.h"

/* Owned: pgvalue_free. After pgvalue_finish, values/lengths/formats are what PQsendQueryPrepared
 * takes, valid until the next pgvalue_reset. */
typedef struct pgvalue_params {
    render_buf bytes; /* every parameter's bytes, one after another (text ones NUL-ended) */
    size_t *off;      /* where each starts in bytes */
    size_t count, cap;
    const char **values;
    int *lengths, *formats;
} pgvalue_params;

bool pgvalue_init(pgvalue_params *p, size_t cap);
void pgvalue_reset(pgvalue_params *p);
void pgvalue_free(pgvalue_params *p);
void pgvalue_finish(pgvalue_params *p);

/* Each appends one parameter; false only when out of memory (or past cap). */
bool pgvalue_null(pgvalue_params *p);
bool pgvalue_text(pgvalue_params *p, const char *s, size_t len);
bool pgvalue_json(pgvalue_params *p, const ddb_value *v); /* plain JSON; NULL v: SQL NULL */

/* Appends the value of column col taken from attribute v (NULL when absent): DDB_OK, or
 * DDB_ERR_TYPE with a one-line reason in why when v's type is not one the column takes (or a
 * string holds a NUL, which PostgreSQL's text cannot), DDB_ERR_NOMEM. An absent attribute and
 * DynamoDB's NULL are SQL NULL. */
ddb_status pgvalue_column(pgvalue_params *p, const pgconfig_column *col, const ddb_value *v,
                          char *why, size_t cap);

#endif
