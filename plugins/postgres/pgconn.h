/* pgconn.h - the postgres sink's libpq connection: opening it (one line naming the host and
 * port when it fails), reading back what a pipeline answered up to its Sync, and PostgreSQL's
 * messages as one line. Knows nothing of records or tables. */
#ifndef PGCONN_H
#define PGCONN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

typedef enum pgconn_outcome {
    PGCONN_DONE,    /* every statement succeeded */
    PGCONN_REFUSED, /* one failed (the ones after it in the pipeline were skipped) */
    PGCONN_LOST     /* the connection broke: nothing more can be sent on it */
} pgconn_outcome;

/* A new connection from conninfo (a connection string or URI; NULL: libpq's PG* environment
 * variables and defaults), UTF-8, not in pipeline mode; owned: PQfinish. NULL when it cannot
 * connect, with "cannot connect to PostgreSQL at host H port P: libpq's reason" in err. */
PGconn *pgconn_open(const char *conninfo, char *err, size_t cap);

/* Reads the answers to the n statements sent since the last Sync, and the Sync's. On
 * PGCONN_REFUSED, *failed is the index (from 0) of the statement that failed; err holds the
 * message of a failure or of the loss, one line. */
pgconn_outcome pgconn_collect(PGconn *conn, int n, int *failed, char *err, size_t cap);

/* err = "what: message" with PostgreSQL's message for r (its detail too), or conn's last error
 * when r has none, on one line. */
void pgconn_message(char *err, size_t cap, const char *what, const PGresult *r, const PGconn *conn);

#endif
