/* measure.c - runs a command RUNS times, each in a fresh process, and prints its whole-process
 * wall time (fork to wait4, CLOCK_MONOTONIC) and peak RSS (ru_maxrss from wait4) on one line.
 * The command's stdout and stderr go to /dev/null. This helper is kept tiny on purpose: a
 * child's ru_maxrss starts from the RSS of the forked copy of this process.
 * Usage: measure RUNS COMMAND [ARGS...] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEASURE_MAX_RUNS 1000

static double measure_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int measure_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One fresh run; returns its exit status (or 128 + signal), -1 if it could not be started. */
static int measure_once(char **argv, double *ms, long *maxrss_kb)
{
    double t0 = measure_now_ms();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) return -1;
    *ms = measure_now_ms() - t0;
    *maxrss_kb = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    char *end;
    long runs = argc > 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc < 3 || *end || runs < 1 || runs > MEASURE_MAX_RUNS) {
        fprintf(stderr, "measure: usage: measure RUNS COMMAND [ARGS...] (RUNS from 1 to %d)\n",
                MEASURE_MAX_RUNS);
        return 2;
    }
    double ms[MEASURE_MAX_RUNS];
    long rss = 0;
    for (long i = 0; i < runs; i++) {
        long run_rss = 0;
        int rc = measure_once(argv + 2, &ms[i], &run_rss);
        if (rc < 0) {
            fprintf(stderr, "measure: error: run %ld of \"%s\": %s\n", i + 1, argv[2],
                    strerror(errno));
            return 1;
        }
        if (rc != 0) {
            fprintf(stderr, "measure: error: run %ld of \"%s\" exited with status %d%s\n", i + 1,
                    argv[2], rc, rc == 127 ? " (not found or not executable?)" : "");
            return 1;
        }
        if (run_rss > rss) rss = run_rss;
    }
    double first = ms[0];
    qsort(ms, (size_t)runs, sizeof ms[0], measure_cmp);
    double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
    printf("runs=%ld median_ms=%.3f min_ms=%.3f max_ms=%.3f first_ms=%.3f maxrss_kb=%ld\n", runs,
           median, ms[0], ms[runs - 1], first, rss);
    return 0;
}
