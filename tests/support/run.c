/* run.c - starts a program with posix_spawn, its stdout and stderr going to unlinked
 * temporary files, and reads them back once it has exited. Temporary files rather than
 * pipes so that a chatty program can never block on a full pipe while we wait for it. */
#include "run.h"

#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* An anonymous temporary file: created, then unlinked at once so nothing is left behind. */
static int run_tmpfile(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;
    snprintf(path, sizeof path, "%s/ddbtest-run-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

static char *run_slurp_fd(int fd, size_t *len)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0) return NULL;
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) return NULL;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* *out: argv behind the words of DDB_HOST_WRAPPER when argv[0] is a ddbhost binary, NULL
 * (argv as it is) otherwise; *words holds the split copy of the variable. Free both. False
 * when out of memory. */
static bool run_wrapped(const char *const argv[], const char ***out, char **words)
{
    const char *wrapper = getenv("DDB_HOST_WRAPPER"), *base = strrchr(argv[0], '/');
    size_t n = 0, argc = 0;
    char *save;
    *out = NULL;
    *words = NULL;
    if (!wrapper || !*wrapper || strcmp(base ? base + 1 : argv[0], "ddbhost") != 0) return true;
    while (argv[argc]) argc++;
    *words = strdup(wrapper);
    *out = calloc(strlen(wrapper) + argc + 1, sizeof **out);
    if (!*words || !*out) return false;
    for (char *w = strtok_r(*words, " ", &save); w; w = strtok_r(NULL, " ", &save))
        (*out)[n++] = w;
    memcpy(*out + n, argv, (argc + 1) * sizeof *argv);
    return true;
}

bool run_program(const char *const argv[], const char *stdin_path, run_output *r)
{
    posix_spawn_file_actions_t fa;
    int out_fd, err_fd, wstatus, rc;
    pid_t pid;
    bool ok = false;
    char *words;
    const char **wrapped;

    memset(r, 0, sizeof *r);
    if (!run_wrapped(argv, &wrapped, &words)) {
        fprintf(stderr, "run: out of memory for DDB_HOST_WRAPPER\n");
        out_fd = err_fd = -1;
        goto done;
    }
    out_fd = run_tmpfile();
    err_fd = run_tmpfile();
    if (out_fd < 0 || err_fd < 0) {
        fprintf(stderr, "run: cannot create a temporary file: %s\n", strerror(errno));
        goto done;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    if (wrapped)
        rc = posix_spawnp(&pid, wrapped[0], &fa, NULL, (char *const *)wrapped, environ);
    else
        rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "run: cannot start %s: %s\n", argv[0], strerror(rc));
        goto done;
    }
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "run: waitpid for %s: %s\n", argv[0], strerror(errno));
            goto done;
        }
    }
    r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r->out = run_slurp_fd(out_fd, &r->out_len);
    r->err = run_slurp_fd(err_fd, &r->err_len);
    ok = r->out && r->err;
    if (!ok) fprintf(stderr, "run: cannot read the output of %s\n", argv[0]);
done:
    free(wrapped);
    free(words);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    if (!ok) run_output_free(r);
    return ok;
}

void run_output_free(run_output *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
    r->out_len = r->err_len = 0;
}

void run_split_lines(const char *text, size_t len, run_lines *out)
{
    size_t i, start = 0, n = 0;
    memset(out, 0, sizeof *out);
    for (i = 0; i < len; i++)
        if (text[i] == '\n') n++;
    out->ends_with_newline = len > 0 && text[len - 1] == '\n';
    if (len > 0 && !out->ends_with_newline) n++;
    out->line = calloc(n ? n : 1, sizeof *out->line);
    if (!out->line) return;
    for (i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n') continue;
        if (i == len && start == len) break;
        out->line[out->count] = strndup(text + start, i - start);
        out->count++;
        start = i + 1;
    }
}

void run_lines_free(run_lines *l)
{
    size_t i;
    for (i = 0; i < l->count; i++) free(l->line[i]);
    free(l->line);
    memset(l, 0, sizeof *l);
}

char *run_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    char *buf;
    size_t n = 0;
    if (fd < 0) return NULL;
    buf = run_slurp_fd(fd, &n);
    close(fd);
    if (len) *len = n;
    return buf;
}

bool run_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    bool ok;
    if (!f) return false;
    ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

bool run_make_tmpdir(char *out, size_t cap, const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(out, cap, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    return n > 0 && (size_t)n < cap && mkdtemp(out) != NULL;
}

static int run_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int run_remove_tree(const char *path)
{
    return nftw(path, run_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
