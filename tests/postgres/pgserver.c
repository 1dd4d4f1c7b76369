/* pgserver.c - starts and stops a throwaway PostgreSQL server for the tests: initdb, pg_ctl,
 * a unix socket in the server's own directory, an unprivileged user when run as root, and a
 * watchdog process that stops the server and removes its directory if the test dies. */
#include "pgserver.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "run.h"

bool pgserver_find(char *bin, size_t cap, char *why, size_t why_cap)
{
    glob_t g;
    long best = -1;
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *v = g.gl_pathv[i] + strlen("/usr/lib/postgresql/");
            char dir[256], initdb[300], postgres[300];
            long major = strtol(v, NULL, 10);
            snprintf(dir, sizeof dir, "%.*s", (int)(strlen(g.gl_pathv[i]) - strlen("/pg_ctl")),
                     g.gl_pathv[i]);
            snprintf(initdb, sizeof initdb, "%s/initdb", dir);
            snprintf(postgres, sizeof postgres, "%s/postgres", dir);
            if (major <= best || access(initdb, X_OK) != 0 || access(postgres, X_OK) != 0) continue;
            best = major;
            snprintf(bin, cap, "%s", dir);
        }
        globfree(&g);
    }
    if (best < 0)
        snprintf(why, why_cap,
                 "no PostgreSQL server in /usr/lib/postgresql/*/bin (initdb, pg_ctl, "
                 "postgres): install Debian's postgresql package (make test does)");
    return best >= 0;
}

/* Runs argv[0] with argv as the server's user, stdout and stderr appended to log; its exit
 * status, or -1 when it could not run. */
static int pgserver_run(const pgserver *s, const char *const argv[], const char *log)
{
    pid_t pid = fork();
    int status;
    if (pid < 0) return -1;
    if (pid == 0) {
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(s->gid) != 0 || setuid(s->uid) != 0))
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* pg_ctl with the cluster's data directory and one more argument list. */
static bool pgserver_ctl(const pgserver *s, const char *const *more)
{
    char ctl[160], data[160], log[160], own[160];
    const char *argv[16] = {ctl, "-D", data, "-l", log};
    size_t n = 5;
    snprintf(ctl, sizeof ctl, "%s/pg_ctl", s->bin);
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(log, sizeof log, "%s/server.log", s->dir); /* the server's, opened as its user */
    snprintf(own, sizeof own, "%s/pg_ctl.log", s->dir);
    while (*more && n < 15) argv[n++] = *more++;
    argv[n] = NULL;
    return pgserver_run(s, argv, own) == 0;
}

bool pgserver_stop(pgserver *s, const char *mode)
{
    return pgserver_ctl(s, (const char *const[]){"-m", mode, "-w", "stop", NULL});
}

bool pgserver_restart(pgserver *s)
{
    return pgserver_ctl(s, (const char *const[]){"-w", "-t", "60", "start", NULL});
}

/* The watchdog: waits on its end of the pipe. A byte means the test stopped the server
 * itself; end of file means the test died, so it stops the server and removes the directory. */
static void pgserver_watch(pgserver *s, int fd)
{
    char c;
    ssize_t n;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) dup2(null, 0), dup2(null, 1), dup2(null, 2); /* holds no pipe of ctest's open */
    while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {
    }
    if (n == 1) _exit(0);
    pgserver_stop(s, "immediate");
    run_remove_tree(s->dir);
    _exit(0);
}

/* The user who runs the server: this one, or nobody when this is root. */
static bool pgserver_user(pgserver *s, char *why, size_t cap)
{
    struct passwd *pw;
    s->uid = geteuid();
    s->gid = getegid();
    if (s->uid != 0) return true;
    pw = getpwnam("nobody");
    if (!pw) {
        snprintf(why, cap,
                 "PostgreSQL refuses to run as root, and there is no user \"nobody\" to run it as");
        return false;
    }
    s->uid = pw->pw_uid;
    s->gid = pw->pw_gid;
    return true;
}

/* What the server said, for a failure message: the end of a log. */
static void pgserver_tail(const char *path, char *why, size_t cap)
{
    size_t len, used = strlen(why);
    char *text = run_read_file(path, &len);
    const char *from;
    if (!text) return;
    from = len > 600 ? text + len - 600 : text;
    snprintf(why + used, cap - used, "; %s says: %s", path, from);
    free(text);
}

static bool pgserver_configure(const pgserver *s)
{
    char conf[192], text[512];
    FILE *f;
    snprintf(conf, sizeof conf, "%s/data/postgresql.conf", s->dir);
    snprintf(text, sizeof text,
             "\nlisten_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n"
             "max_connections = 20\nshared_buffers = 16MB\n",
             s->dir, PGSERVER_PORT);
    if (!(f = fopen(conf, "a"))) return false;
    fputs(text, f);
    return fclose(f) == 0;
}

bool pgserver_start(pgserver *s, char *why, size_t cap)
{
    char initdb[160], data[160], log[160];
    int fds[2];
    memset(s, 0, sizeof *s);
    s->watch_fd = -1;
    why[0] = '\0';
    if (!pgserver_find(s->bin, sizeof s->bin, why, cap) || !pgserver_user(s, why, cap))
        return false;
    /* Under /tmp, whatever TMPDIR says: the server's user must reach it. */
    snprintf(s->dir, sizeof s->dir, "/tmp/ddbhost-pg-XXXXXX");
    if (!mkdtemp(s->dir) || chown(s->dir, s->uid, s->gid) != 0) {
        snprintf(why, cap, "cannot make a directory for the server: %s", strerror(errno));
        return false;
    }
    snprintf(initdb, sizeof initdb, "%s/initdb", s->bin);
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(log, sizeof log, "%s/initdb.log", s->dir);
    snprintf(s->conninfo, sizeof s->conninfo, "host=%s port=%d user=postgres dbname=postgres",
             s->dir, PGSERVER_PORT);
    if (pgserver_run(s,
                     (const char *const[]){initdb, "-D", data, "-U", "postgres", "-A", "trust",
                                           "-E", "UTF8", "--locale=C", "--no-sync", NULL},
                     log) != 0) {
        snprintf(why, cap, "initdb failed");
        pgserver_tail(log, why, cap);
        goto fail;
    }
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    if (!pgserver_configure(s) || !pgserver_restart(s)) {
        snprintf(why, cap, "the server did not start");
        pgserver_tail(log, why, cap);
        goto fail;
    }
    if (pipe2(fds, O_CLOEXEC) != 0 || (s->watchdog = fork()) < 0) {
        snprintf(why, cap, "cannot start the watchdog: %s", strerror(errno));
        pgserver_stop(s, "immediate");
        goto fail;
    }
    if (s->watchdog == 0) {
        close(fds[1]);
        pgserver_watch(s, fds[0]);
    }
    close(fds[0]);
    s->watch_fd = fds[1];
    return true;
fail:
    run_remove_tree(s->dir);
    return false;
}

void pgserver_destroy(pgserver *s)
{
    if (s->watch_fd < 0) return;
    pgserver_stop(s, "fast");
    if (write(s->watch_fd, "q", 1) != 1) kill(s->watchdog, SIGKILL);
    close(s->watch_fd);
    while (waitpid(s->watchdog, NULL, 0) < 0 && errno == EINTR) {
    }
    run_remove_tree(s->dir);
    s->watch_fd = -1;
}

static PGconn *pgserver_connect(const pgserver *s)
{
    PGconn *conn = PQconnectdb(s->conninfo);
    if (PQstatus(conn) == CONNECTION_OK) return conn;
    fprintf(stderr, "pgserver: cannot connect (%s): %s", s->conninfo, PQerrorMessage(conn));
    PQfinish(conn);
    return NULL;
}

bool pgserver_exec(const pgserver *s, const char *sql)
{
    PGconn *conn = pgserver_connect(s);
    PGresult *r;
    bool ok;
    if (!conn) return false;
    r = PQexec(conn, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "pgserver: %s: %s", sql, PQerrorMessage(conn));
    PQclear(r);
    PQfinish(conn);
    return ok;
}

char *pgserver_rows(const pgserver *s, const char *sql)
{
    PGconn *conn = pgserver_connect(s);
    PGresult *r;
    char *out = NULL;
    size_t len = 0;
    FILE *f;
    if (!conn) return NULL;
    r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "pgserver: %s: %s", sql, PQerrorMessage(conn));
    } else if ((f = open_memstream(&out, &len)) != NULL) {
        for (int row = 0; row < PQntuples(r); row++)
            for (int col = 0; col < PQnfields(r); col++)
                fprintf(f, "%s%s", PQgetisnull(r, row, col) ? "NULL" : PQgetvalue(r, row, col),
                        col + 1 < PQnfields(r) ? "|" : "\n");
        fclose(f);
    }
    PQclear(r);
    PQfinish(conn);
    return out;
}
