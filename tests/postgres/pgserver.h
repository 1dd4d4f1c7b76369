/* pgserver.h - a real PostgreSQL server for the postgres sink's tests: Debian's initdb and
 * pg_ctl into a fresh directory, listening only on a unix socket there, run as an unprivileged
 * user when the tests run as root (PostgreSQL refuses root), and stopped at the end even when
 * the test process dies: a watchdog process stops it when the test's end of a pipe closes. */
#ifndef DDBTEST_PGSERVER_H
#define DDBTEST_PGSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct pgserver {
    char dir[128];      /* the directory: data/, the socket, server.log */
    char bin[128];      /* where initdb, pg_ctl and postgres are */
    char conninfo[256]; /* host=DIR port=PGSERVER_PORT user=postgres dbname=postgres */
    uid_t uid;          /* who runs the server: this process's user, or nobody when root */
    gid_t gid;
    pid_t watchdog;
    int watch_fd; /* the test's end of the watchdog's pipe */
} pgserver;

#define PGSERVER_PORT 5432 /* only a socket's name: the server listens on no TCP port */

/* Where Debian's PostgreSQL server programs are: the newest /usr/lib/postgresql/N/bin with
 * initdb, pg_ctl and postgres. False with a one-line reason in why when there is none. */
bool pgserver_find(char *bin, size_t cap, char *why, size_t why_cap);

/* Creates a cluster in a new directory under /tmp and starts it; false with why (the
 * server's log included) when it cannot, and nothing is left behind. */
bool pgserver_start(pgserver *s, char *why, size_t cap);

/* pg_ctl stop: "fast" (sessions ended cleanly) or "immediate" (the server killed: every
 * connection dropped at once, crash recovery at the next start). */
bool pgserver_stop(pgserver *s, const char *mode);
/* pg_ctl start of a stopped server, waiting until it accepts connections. */
bool pgserver_restart(pgserver *s);

/* Stops the server, removes its directory and ends the watchdog. */
void pgserver_destroy(pgserver *s);

/* Runs sql (one or more statements); false with PostgreSQL's message on stderr. */
bool pgserver_exec(const pgserver *s, const char *sql);
/* The rows of a query as psql -At prints them: columns joined by '|', a '\n' after each row,
 * NULL as "NULL". Owned by the caller (free()); NULL with the message on stderr on failure. */
char *pgserver_rows(const pgserver *s, const char *sql);

#endif
