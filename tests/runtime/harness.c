/* harness.c - child processes for the runtime tests: the Runtime API server and ddbhost,
 * started with posix_spawn, their output in named files of the test's directory (so it can
 * be read while they run), every wait bounded by a deadline. It never decides whether a
 * test passes; it only reports what happened. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char harness_tmp[256];
static unsigned harness_children; /* numbers the output files of each child */

/* Variables the runtime reads: a test states each one it wants, none leaks in from ctest. */
static const char *const harness_controlled[] = {
    "AWS_LAMBDA_RUNTIME_API", "DDBHOST_MANIFEST", "LAMBDA_TASK_ROOT", "_HANDLER",
    "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_FUNCTION_NAME",
    "_X_AMZN_TRACE_ID", NULL};

/* ---- the test's directory ---------------------------------------------------------------- */

static int harness_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int harness_setup(void **state)
{
    const char *dir = getenv("TMPDIR");
    (void)state;
    snprintf(harness_tmp, sizeof harness_tmp, "%s/ddbhost-runtime-XXXXXX",
             dir && *dir ? dir : "/tmp");
    return mkdtemp(harness_tmp) ? 0 : -1;
}

int harness_teardown(void **state)
{
    (void)state;
    return nftw(harness_tmp, harness_remove, 16, FTW_DEPTH | FTW_PHYS);
}

const char *harness_dir(void) { return harness_tmp; }

/* ---- processes --------------------------------------------------------------------------- */

static long long harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static bool harness_spawn(harness_proc *p, const char *name, const char *const argv[],
                          char *const envp[])
{
    posix_spawn_file_actions_t fa;
    int rc;
    unsigned n = ++harness_children;
    memset(p, 0, sizeof *p);
    p->status = -1;
    if (snprintf(p->out_path, sizeof p->out_path, "%s/%s-%u.out", harness_tmp, name, n) >=
            (int)sizeof p->out_path ||
        snprintf(p->err_path, sizeof p->err_path, "%s/%s-%u.err", harness_tmp, name, n) >=
            (int)sizeof p->err_path) {
        fprintf(stderr, "harness: the test directory's path is too long: %s\n", harness_tmp);
        return false;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    rc = posix_spawnp(&p->pid, argv[0], &fa, NULL, (char *const *)argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "harness: cannot start %s: %s\n", argv[0], strerror(rc));
        p->pid = 0;
        return false;
    }
    return true;
}

static bool harness_reap(harness_proc *p, int flags)
{
    int ws;
    pid_t r;
    if (!p->pid) return true;
    do r = waitpid(p->pid, &ws, flags);
    while (r < 0 && errno == EINTR);
    if (r != p->pid) return false;
    p->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    p->pid = 0;
    return true;
}

bool harness_wait(harness_proc *p, int timeout_ms)
{
    long long end = harness_now_ms() + timeout_ms;
    while (!harness_reap(p, WNOHANG)) {
        if (harness_now_ms() >= end) return false;
        harness_sleep_ms(5);
    }
    return true;
}

harness_proc *harness_wait_either(harness_proc *a, harness_proc *b, int timeout_ms)
{
    long long end = harness_now_ms() + timeout_ms;
    for (;;) {
        if (harness_reap(a, WNOHANG)) return a;
        if (harness_reap(b, WNOHANG)) return b;
        if (harness_now_ms() >= end) return NULL;
        harness_sleep_ms(5);
    }
}

void harness_stop(harness_proc *p)
{
    if (!p->pid) return;
    kill(p->pid, SIGTERM);
    if (harness_wait(p, 2000)) return;
    kill(p->pid, SIGKILL);
    harness_reap(p, 0);
}

/* ---- the server -------------------------------------------------------------------------- */

bool harness_server_start(harness_server *s, const char *const args[])
{
    const char *argv[64] = {DDB_PYTHON, DDB_SERVER, "--state", s->state_path};
    size_t n = 4, i;
    long long end;
    static unsigned servers;
    memset(s, 0, sizeof *s);
    if (snprintf(s->state_path, sizeof s->state_path, "%s/server-%u.jsonl", harness_tmp,
                 ++servers) >= (int)sizeof s->state_path)
        return false;
    for (i = 0; args && args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    if (!harness_spawn(&s->proc, "server", argv, NULL)) return false;
    for (end = harness_now_ms() + 20000; harness_now_ms() < end; harness_sleep_ms(10)) {
        char *out = harness_slurp(s->proc.out_path);
        bool got = sscanf(out, "PORT %d\n", &s->port) == 1 && strchr(out, '\n');
        free(out);
        if (got) return true;
        if (harness_reap(&s->proc, WNOHANG)) break;
    }
    {
        char *err = harness_slurp(s->proc.err_path);
        fprintf(stderr, "harness: the Runtime API server did not start (exit status %d)\n%s",
                s->proc.status, err);
        free(err);
    }
    harness_stop(&s->proc);
    return false;
}

/* ---- ddbhost ----------------------------------------------------------------------------- */

static bool harness_keep(const char *var, const char *const env[])
{
    size_t i, k;
    for (i = 0; harness_controlled[i]; i++) {
        k = strlen(harness_controlled[i]);
        if (!strncmp(var, harness_controlled[i], k) && var[k] == '=') return false;
    }
    for (i = 0; env && env[i]; i++) {
        k = (size_t)(strchr(env[i], '=') - env[i]);
        if (!strncmp(var, env[i], k + 1)) return false;
    }
    return true;
}

bool harness_host_start(harness_proc *h, int port, const char *const extra_argv[],
                        const char *const env[])
{
    const char *argv[48], *wrapper = getenv("DDB_HOST_WRAPPER");
    char api[64], *words = NULL, *save;
    size_t n = 0, i, argc = 0;
    char **envp;
    bool ok;
    /* `make memcheck` runs every ddbhost behind valgrind, as tests/support/run.c does. */
    if (wrapper && *wrapper && (words = strdup(wrapper)) != NULL)
        for (char *w = strtok_r(words, " ", &save); w && argc < 32; w = strtok_r(NULL, " ", &save))
            argv[argc++] = w;
    argv[argc++] = DDB_HOST_BIN;
    for (i = 0; environ[i]; i++) n++;
    for (i = 0; env && env[i]; i++) n++;
    envp = calloc(n + 2, sizeof *envp);
    if (!envp) {
        free(words);
        return false;
    }
    n = 0;
    for (i = 0; environ[i]; i++)
        if (harness_keep(environ[i], env)) envp[n++] = environ[i];
    for (i = 0; env && env[i]; i++) envp[n++] = (char *)env[i];
    snprintf(api, sizeof api, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", port);
    envp[n++] = api;
    for (i = 0; extra_argv && extra_argv[i] && argc < 47; i++) argv[argc++] = extra_argv[i];
    argv[argc] = NULL;
    ok = harness_spawn(h, "ddbhost", argv, envp);
    free(envp);
    free(words);
    return ok;
}

int harness_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* ---- files and the log ------------------------------------------------------------------- */

char *harness_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    if (f) {
        do {
            if (cap - len < 65536) {
                char *more = realloc(buf, cap = cap * 2 + 65536);
                if (!more) break;
                buf = more;
            }
            got = fread(buf + len, 1, cap - len - 1, f);
            len += got;
        } while (got > 0);
        fclose(f);
    }
    if (!buf) buf = malloc(1);
    if (buf) buf[len] = '\0';
    return buf;
}

bool harness_write(char *path, size_t cap, const char *name, const char *text)
{
    FILE *f;
    bool ok;
    snprintf(path, cap, "%s/%s", harness_tmp, name);
    f = fopen(path, "w");
    if (!f) return false;
    ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

struct json_object *harness_log(const harness_server *s)
{
    char *text = harness_slurp(s->state_path), *line = text, *nl;
    json_object *log = json_object_new_array();
    /* Only whole lines: the server may be writing the last one as we read. */
    for (; line && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        json_object *e;
        *nl = '\0';
        e = json_tokener_parse(line);
        if (e) json_object_array_add(log, e);
        else fprintf(stderr, "harness: not JSON in %s: %s\n", s->state_path, line);
    }
    free(text);
    return log;
}

struct json_object *harness_entry(struct json_object *log, const char *kind, size_t n,
                                  size_t *count)
{
    json_object *found = NULL;
    size_t i, seen = 0;
    for (i = 0; i < json_object_array_length(log); i++) {
        json_object *e = json_object_array_get_idx(log, i);
        if (strcmp(harness_str(e, "kind"), kind) != 0) continue;
        if (seen++ == n) found = e;
    }
    if (count) *count = seen;
    return found;
}

const char *harness_str(struct json_object *entry, const char *key)
{
    json_object *v;
    if (!entry || !json_object_object_get_ex(entry, key, &v) || !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

long long harness_int(struct json_object *entry, const char *key)
{
    json_object *v;
    if (!entry || !json_object_object_get_ex(entry, key, &v)) return -1;
    return (long long)json_object_get_int64(v);
}

bool harness_sanitizer_report(const char *text)
{
    return strstr(text, "ERROR: AddressSanitizer") || strstr(text, "ERROR: LeakSanitizer") ||
           strstr(text, "runtime error: ");
}
