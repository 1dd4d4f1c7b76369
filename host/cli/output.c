/* output.c - whether the plugins' last line on standard output ended. A regular file is read
 * back at its offset; /dev/null needs nothing; anything else (a pipe, a terminal) is passed
 * through a pipe of ours by a thread while plugins run. Owns that pipe, the thread and the
 * saved descriptor of the real standard output; knows nothing of what is printed. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sys.h"

struct output {
    off_t start;   /* a regular file: its offset before the plugins ran; else -1 */
    int real;      /* the real standard output, saved */
    int from;      /* the pipe's read end */
    int wake[2];   /* written once by output_end: drain the pipe and stop */
    char last;     /* the last byte passed on, '\n' before any */
    pthread_t thread;
};

/* Passes on what the pipe holds now; false at its end (every writer gone, or after wake,
 * nothing more to read). */
static bool output_pass(output *o)
{
    char buf[65536];
    ssize_t n = read(o->from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    o->last = buf[n - 1];
    sys_write_all(o->real, buf, (size_t)n); /* a closed stdout loses plugin output only */
    return true;
}

static void *output_copy(void *arg)
{
    output *o = arg;
    struct pollfd fds[2] = {{o->from, POLLIN, 0}, {o->wake[0], POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[0].revents && !output_pass(o)) break;
        if (fds[1].revents) {
            /* Only what is already written: a process a plugin left behind may hold the
             * pipe open for ever. */
            fcntl(o->from, F_SETFL, fcntl(o->from, F_GETFL) | O_NONBLOCK);
            while (output_pass(o)) {}
            break;
        }
    }
    return NULL;
}

/* Where standard output goes decides how its last byte is known. */
static bool output_is_dev_null(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

output *output_begin(void)
{
    int p[2] = {-1, -1};
    struct stat st;
    fflush(stdout);
    if (fstat(STDOUT_FILENO, &st) == 0 && output_is_dev_null(&st)) return NULL;
    output *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->last = '\n';
    o->wake[0] = o->wake[1] = o->real = -1;
    o->start = S_ISREG(st.st_mode) ? lseek(STDOUT_FILENO, 0, SEEK_CUR) : -1;
    if (o->start >= 0) return o; /* no pipe: the file is read back at the end */
    if (pipe2(p, O_CLOEXEC) != 0 || pipe2(o->wake, O_CLOEXEC) != 0 ||
        (o->real = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
        dup2(p[1], STDOUT_FILENO) < 0)
        goto fail;
    close(p[1]);
    p[1] = -1;
    o->from = p[0];
    errno = pthread_create(&o->thread, NULL, output_copy, o);
    if (errno == 0) return o;
    dup2(o->real, STDOUT_FILENO);
fail:;
    int saved = errno;
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 0) close(p[i]);
        if (o->wake[i] >= 0) close(o->wake[i]);
    }
    if (o->real >= 0) close(o->real);
    free(o);
    errno = saved;
    return NULL;
}

/* The byte before the regular file's offset, if anything was written since start. */
static void output_end_file(output *o)
{
    char c = '\n';
    off_t end = lseek(STDOUT_FILENO, 0, SEEK_CUR);
    if (end > o->start) {
        int fd = open("/proc/self/fd/1", O_RDONLY | O_CLOEXEC); /* stdout may be write-only */
        if (fd < 0 || pread(fd, &c, 1, end - 1) != 1) c = '\n';
        if (fd >= 0) close(fd);
    }
    if (c != '\n') sys_write_all(STDOUT_FILENO, "\n", 1);
    free(o);
}

void output_end(output *o)
{
    if (!o) return;
    fflush(stdout);
    if (o->start >= 0) {
        output_end_file(o);
        return;
    }
    dup2(o->real, STDOUT_FILENO); /* the pipe's last writer here is gone */
    sys_write_all(o->wake[1], "", 1);
    pthread_join(o->thread, NULL);
    if (o->last != '\n') sys_write_all(STDOUT_FILENO, "\n", 1);
    close(o->from);
    close(o->wake[0]);
    close(o->wake[1]);
    close(o->real);
    free(o);
}
