/* pgschema.h - the postgres sink's tables and statements: the layout a pgconfig describes,
 * created when missing and checked, never altered, when present; and the SQL of each
 * statement with its parameters in the order pgvalue fills them. */
#ifndef PGSCHEMA_H
#define PGSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "pgconfig.h"
#include "render.h"

/* The parameters of the statements, in order, after the key attributes:
 *   mirror apply:  item, seq, then the projected columns
 *   mirror remove: seq
 *   log:           event, seq, ttl_delete, old, new, at (ms since the epoch), then the
 *                  projected columns */

/* Creates the tables c describes, or checks that the existing ones have exactly its columns,
 * types and primary key, in one transaction (serialised between sinks by an advisory lock).
 * conn must not be in pipeline mode. False with a one-line reason in err. */
bool pgschema_ensure(PGconn *conn, const pgconfig *c, char *err, size_t cap);

/* The SQL of the statements, appended to sql; false when out of memory. */
bool pgschema_apply_sql(const pgconfig *c, render_buf *sql);  /* INSERT/MODIFY, or log */
bool pgschema_remove_sql(const pgconfig *c, render_buf *sql); /* mirror REMOVE */
bool pgschema_prune_sql(const pgconfig *c, render_buf *sql);  /* mirror: old tombstones */

/* Parameters of the apply statement (keys included). */
size_t pgschema_apply_params(const pgconfig *c);

#endif
