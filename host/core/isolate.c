/* isolate.c - worker processes for plugin code: fork, a request/answer pipe pair, and an
 * exact account of how a worker ended (signal, exit status, time-out). Owns the worker's
 * pid and pipe ends; knows nothing of records or plugins beyond the exec callback. */
#include "isolate.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys.h"

/* On the pipe: a request's numbers and the length of the bytes that follow it; an answer's
 * status (op), the length of its bytes (a) and of the text (len) that follows it, then the
 * bytes. */
typedef struct isolate_head {
    uint32_t op, a, b;
    uint32_t len;
} isolate_head;

#define ISOLATE_MAX_REPLY 4096

struct isolate {
    pid_t pid;
    int requests; /* host writes */
    int answers;  /* host reads */
    char *data;   /* the bytes of the last answer */
    size_t data_len, data_cap;
};

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

/* The bytes of a request, into a buffer of the worker's that grows to the largest; false
 * when the host is gone. A request without bytes leaves the buffer alone: what the last one
 * brought may still be in use (the worker decodes an event in place and keeps its records
 * for the requests that follow). */
static bool isolate_read_data(int fd, isolate_request *q, uint32_t len, char **buf, size_t *cap)
{
    if (!len) return true;
    if ((size_t)len + 1 > *cap) {
        char *grown = realloc(*buf, (size_t)len + 1);
        if (!grown) return false;
        *buf = grown;
        *cap = (size_t)len + 1;
    }
    if (isolate_full_read(fd, *buf, len) != 1) return false;
    (*buf)[len] = '\0';
    q->data = *buf;
    q->len = len;
    return true;
}

__attribute__((noreturn)) static void isolate_serve(int requests, int answers, isolate_exec exec,
                                                    void *ctx)
{
    isolate_head h;
    char *data = NULL, reply[ISOLATE_MAX_REPLY];
    size_t cap = 0;
    while (isolate_full_read(requests, &h, sizeof h) == 1) {
        isolate_request q = {h.op, h.a, h.b, NULL, 0};
        if (!isolate_read_data(requests, &q, h.len, &data, &cap)) break;
        reply[0] = '\0';
        isolate_reply r = {reply, sizeof reply, NULL, 0};
        isolate_head answer = {(uint32_t)exec(ctx, &q, &r), 0, 0, 0};
        reply[sizeof reply - 1] = '\0';
        answer.len = (uint32_t)strlen(reply);
        answer.a = r.data && r.len <= ISOLATE_MAX_DATA ? (uint32_t)r.len : 0;
        fflush(NULL); /* what the plugin printed comes before the host's next line */
        if (!sys_write_all(answers, &answer, sizeof answer) ||
            !sys_write_all(answers, reply, answer.len) ||
            !sys_write_all(answers, r.data, answer.a))
            break;
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
    isolate *w = calloc(1, sizeof *w);
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

/* The len bytes that follow an answer's text, into w's buffer; false when they do not come
 * or do not fit in memory. */
static bool isolate_answer_data(isolate *w, uint32_t len)
{
    if (!len) return true;
    if (len > w->data_cap) {
        char *grown = realloc(w->data, len);
        if (!grown) return false;
        w->data = grown;
        w->data_cap = len;
    }
    if (isolate_full_read(w->answers, w->data, len) != 1) return false;
    w->data_len = len;
    return true;
}

/* Waits at most timeout_ms (< 0: no limit) for the worker to answer; false when it did
 * not, with the worker killed and reaped and why saying so. */
static bool isolate_wait(isolate *w, int64_t timeout_ms, char *why, size_t cap)
{
    struct pollfd p = {w->answers, POLLIN, 0};
    int ready;
    int wait = timeout_ms < 0 ? -1 : timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
    while ((ready = poll(&p, 1, wait)) < 0 && errno == EINTR) {}
    if (ready != 0) return true;
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {}
    w->pid = 0;
    snprintf(why, cap, "gave no answer within %lld ms and was killed", (long long)timeout_ms);
    return false;
}

isolate_outcome isolate_call(isolate *w, const isolate_request *q, int64_t timeout_ms,
                             ddb_status *status, char *why, size_t cap)
{
    isolate_head h = {q->op, q->a, q->b, (uint32_t)q->len};
    if (q->len > UINT32_MAX || !sys_write_all(w->requests, &h, sizeof h) ||
        !sys_write_all(w->requests, q->data, q->len)) {
        isolate_describe_end(w, why, cap);
        return ISOLATE_CRASHED;
    }
    if (!isolate_wait(w, timeout_ms, why, cap)) return ISOLATE_TIMEOUT;
    isolate_head answer;
    char text[ISOLATE_MAX_REPLY];
    w->data_len = 0;
    if (isolate_full_read(w->answers, &answer, sizeof answer) != 1 || answer.len >= sizeof text ||
        answer.a > ISOLATE_MAX_DATA ||
        (answer.len && isolate_full_read(w->answers, text, answer.len) != 1) ||
        !isolate_answer_data(w, answer.a)) {
        kill(w->pid, SIGKILL); /* one that lies about its answer's length may wait forever */
        isolate_describe_end(w, why, cap);
        return ISOLATE_CRASHED;
    }
    snprintf(why, cap, "%.*s", (int)answer.len, text);
    *status = (ddb_status)(int32_t)answer.op;
    return ISOLATE_DONE;
}

const char *isolate_data(const isolate *w, size_t *len)
{
    *len = w->data_len;
    return w->data_len ? w->data : NULL;
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
    free(w->data);
    free(w);
}
