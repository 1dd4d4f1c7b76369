/* pgconn.c - the postgres sink's connection: libpq's connect with the sink's defaults, the
 * answers of a pipeline read back to its Sync (a statement refused told apart from a
 * connection lost), and libpq's multi-line messages made one line for the host's log. */
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s with every run of newlines, tabs and spaces made one space, and none at the end. */
static void pgconn_one_line(char *s)
{
    char *out = s;
    for (const char *in = s; *in; in++) {
        bool blank = *in == '\n' || *in == '\r' || *in == '\t' || *in == ' ';
        if (!blank)
            *out++ = *in;
        else if (out > s && out[-1] != ' ')
            *out++ = ' ';
    }
    while (out > s && out[-1] == ' ') out--;
    *out = '\0';
}

void pgconn_message(char *err, size_t cap, const char *what, const PGresult *r, const PGconn *conn)
{
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (!msg && r && *PQresultErrorMessage(r)) msg = PQresultErrorMessage(r);
    if (!msg) msg = PQerrorMessage(conn);
    snprintf(err, cap, "%s%s%s%s%s%s", what ? what : "", what ? ": " : "", msg, detail ? " (" : "",
             detail ? detail : "", detail ? ")" : "");
    pgconn_one_line(err);
}

PGconn *pgconn_open(const char *conninfo, char *err, size_t cap)
{
    /* Before dbname, so that the connection string overrides them; client_encoding after it,
     * so that nothing does: the sink sends UTF-8. A connection that hangs would hold the
     * invocation until Lambda's deadline, so it has a timeout unless the environment sets one. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                          "client_encoding", NULL};
    const char *values[] = {getenv("PGCONNECT_TIMEOUT") ? NULL : "10", "ddbhost", conninfo, "UTF8",
                            NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    char why[512];
    if (conn && PQstatus(conn) == CONNECTION_OK) return conn;
    snprintf(why, sizeof why, "%s", conn ? PQerrorMessage(conn) : "out of memory");
    pgconn_one_line(why);
    snprintf(err, cap, "cannot connect to PostgreSQL at host \"%s\" port %s: %s",
             conn && PQhost(conn) ? PQhost(conn) : "?",
             conn && PQport(conn) && *PQport(conn) ? PQport(conn) : "?", why);
    PQfinish(conn);
    return NULL;
}

pgconn_outcome pgconn_collect(PGconn *conn, int n, int *failed, char *err, size_t cap)
{
    pgconn_outcome out = PGCONN_DONE;
    int done = 0; /* statements whose answers were read to the end (a NULL) */
    char why[1024];
    *failed = -1;
    for (;;) {
        PGresult *r = PQgetResult(conn);
        if (PQstatus(conn) == CONNECTION_BAD) {
            /* A server that ends the connection says why first ("terminating connection due to
             * administrator command"): that is the message, not libpq's closed socket. */
            if (out == PGCONN_REFUSED)
                snprintf(why, sizeof why, "%s", err);
            else
                pgconn_message(why, sizeof why, NULL, r, conn);
            snprintf(err, cap, "connection lost: %s", why);
            PQclear(r);
            return PGCONN_LOST;
        }
        if (!r) {
            /* Each statement's answers end with one NULL. More NULLs than statements: libpq lost
             * the connection (in pipeline mode it may say so only in its message). */
            if (++done > n) {
                pgconn_message(why, sizeof why, NULL, NULL, conn);
                snprintf(err, cap, "connection lost: %s",
                         *why ? why : "the server stopped answering");
                return PGCONN_LOST;
            }
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return out;
        }
        if (PQresultStatus(r) == PGRES_FATAL_ERROR && out == PGCONN_DONE) {
            pgconn_message(err, cap, NULL, r, conn);
            *failed = done;
            out = PGCONN_REFUSED;
        }
        PQclear(r);
    }
}
