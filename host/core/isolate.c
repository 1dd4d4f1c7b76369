/* isolate.c - worker processes for plugin code: fork, a request/answer pipe pair, and an
 * exact account of how a worker ended (signal, exit status, time-out). Owns the worker's
 * pid and pipe ends; knows nothing of records or plugins beyond the exec callback. */
#include "isolate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct isolate_request {
    uint32_t op, a, b;
} isolate_request;

struct isolate {
    pid_t pid;
    int requests; /* host writes */
    int answers;  /* host reads */
};

static bool isolate_full_write(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

/* 1: read n bytes, 0: end of file, -1: error */
static int isolate_full_read(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, c + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) return 0;
        got += (size_t)k;
    }
    return 1;
}

__attribute__((noreturn)) static void isolate_serve(int requests, int answers, isolate_exec exec,
                                                    void *ctx)
{
    isolate_request q;
    while (isolate_full_read(requests, &q, sizeof q) == 1) {
        int32_t status = (int32_t)exec(ctx, q.op, q.a, q.b);
        fflush(NULL); /* what the plugin printed comes before the host's next line */
        if (!isolate_full_write(answers, &status, sizeof status)) break;
    }
    fflush(NULL);
    _exit(0);
}

isolate *isolate_start(isolate_exec exec, void *ctx)
{
    int req[2], ans[2];
    if (pipe(req) != 0) return NULL;
    if (pipe(ans) != 0) {
        close(req[0]);
        close(req[1]);
        return NULL;
    }
    /* A worker that dies while the host writes to it must not take the host with it. */
    signal(SIGPIPE, SIG_IGN);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(req[0]);
        close(req[1]);
        close(ans[0]);
        close(ans[1]);
        errno = saved;
        return NULL;
    }
    if (pid == 0) {
        close(req[1]);
        close(ans[0]);
        isolate_serve(req[0], ans[1], exec, ctx);
    }
    close(req[0]);
    close(ans[1]);
    /* Allocated after the fork: the worker holds nothing it could be said to leak. */
    isolate *w = malloc(sizeof *w);
    if (!w) {
        close(req[1]); /* the worker sees end of file and exits */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        close(ans[0]);
        return NULL;
    }
    w->pid = pid;
    w->requests = req[1];
    w->answers = ans[0];
    return w;
}

/* How the worker ended, once it has: reaps it. */
static void isolate_describe_end(isolate *w, char *why, size_t cap)
{
    int st = 0;
    pid_t got;
    while ((got = waitpid(w->pid, &st, 0)) < 0 && errno == EINTR) {}
    w->pid = 0;
    if (got < 0) snprintf(why, cap, "ended, but its status could not be read");
    else if (WIFSIGNALED(st))
        snprintf(why, cap, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else snprintf(why, cap, "exited with status %d", WEXITSTATUS(st));
}

isolate_outcome isolate_call(isolate *w, uint32_t op, uint32_t a, uint32_t b, int64_t timeout_ms,
                             ddb_status *status, char *why, size_t cap)
{
    isolate_request q = {op, a, b};
    if (!isolate_full_write(w->requests, &q, sizeof q)) {
        isolate_describe_end(w, why, cap);
        return ISOLATE_CRASHED;
    }
    struct pollfd p = {w->answers, POLLIN, 0};
    int ready;
    while ((ready = poll(&p, 1, timeout_ms < 0 ? -1 : (int)timeout_ms)) < 0 && errno == EINTR) {}
    if (ready == 0) {
        kill(w->pid, SIGKILL);
        while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {}
        w->pid = 0;
        snprintf(why, cap, "gave no answer within %lld ms and was killed", (long long)timeout_ms);
        return ISOLATE_TIMEOUT;
    }
    int32_t answer;
    if (ready < 0 || isolate_full_read(w->answers, &answer, sizeof answer) != 1) {
        isolate_describe_end(w, why, cap);
        return ISOLATE_CRASHED;
    }
    *status = (ddb_status)answer;
    return ISOLATE_DONE;
}

void isolate_stop(isolate *w)
{
    if (!w) return;
    close(w->requests);
    if (w->pid > 0) {
        /* It exits on end of file, closing its end of the answers: wait for that (a second
         * at most, for its last writes), then reap it; kill only one that lingers. */
        struct pollfd p = {w->answers, POLLIN, 0};
        int ready;
        char c;
        while ((ready = poll(&p, 1, 1000)) < 0 && errno == EINTR) {}
        bool closed = ready > 0 && read(w->answers, &c, 1) == 0;
        if (!closed) kill(w->pid, SIGKILL);
        while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    close(w->answers);
    free(w);
}
