/* harness.h - runs the local Runtime API server (server.py) and ddbhost against it, each
 * with bounded waits so that no test can hang, and reads back the server's log of what the
 * runtime sent. Shared by the runtime suites; it knows the protocol's log, not the tests. */
#ifndef DDBTEST_HARNESS_H
#define DDBTEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct json_object;

/* A child process whose stdout and stderr go to files in the test's directory. */
typedef struct harness_proc {
    pid_t pid;          /* 0 once reaped */
    int status;         /* exit status; 128 + signal number when killed; -1 while running */
    char out_path[512];
    char err_path[512];
} harness_proc;

typedef struct harness_server {
    harness_proc proc;
    int port;
    char state_path[512]; /* the server's JSON lines log */
} harness_server;

/* A fresh directory for this test (and its removal); both return 0 on success, as cmocka's
 * setup and teardown do. harness_dir() is its path. */
int harness_setup(void **state);
int harness_teardown(void **state);
const char *harness_dir(void);

/* Starts server.py with args (NULL-terminated, after the script's name; --state is added)
 * and waits for its "PORT n" line. port 0 lets the server pick; else it binds that one. */
bool harness_server_start(harness_server *s, const char *const args[]);

/* Starts ddbhost (extra_argv NULL-terminated, may be NULL) with AWS_LAMBDA_RUNTIME_API set
 * to 127.0.0.1:port and env ("KEY=VALUE", NULL-terminated, may be NULL) added. Variables
 * that steer the runtime are removed from the inherited environment first, and so is any
 * variable env sets, so the test alone decides them. DDB_HOST_WRAPPER (words split at
 * spaces) runs it behind a wrapper, as run_program() does. */
bool harness_host_start(harness_proc *h, int port, const char *const extra_argv[],
                        const char *const env[]);

/* Waits up to timeout_ms for p to exit; true when it has (p->status is then set). */
bool harness_wait(harness_proc *p, int timeout_ms);
/* Waits for the first of a and b to exit: returns it, or NULL after timeout_ms. */
harness_proc *harness_wait_either(harness_proc *a, harness_proc *b, int timeout_ms);
/* SIGTERM, then SIGKILL after two seconds; reaps. Does nothing to a reaped process. */
void harness_stop(harness_proc *p);

/* A port on 127.0.0.1 where nothing listens (free when asked). */
int harness_free_port(void);

/* A whole file as text (owned: free()), or "" (also owned) when it cannot be read. */
char *harness_slurp(const char *path);
/* Writes text to DIR/name (DIR = harness_dir()); path receives the full path. */
bool harness_write(char *path, size_t cap, const char *name, const char *text);

/* The server's log as a json-c array of its entries (owned: json_object_put()). */
struct json_object *harness_log(const harness_server *s);
/* The n-th (from 0) entry of the given kind, or NULL; *count (may be NULL) gets how many. */
struct json_object *harness_entry(struct json_object *log, const char *kind, size_t n,
                                  size_t *count);
/* A string member of an entry, or "" when absent. */
const char *harness_str(struct json_object *entry, const char *key);
long long harness_int(struct json_object *entry, const char *key);

/* Whether a sanitizer reported anything in this text. */
bool harness_sanitizer_report(const char *text);

#endif
