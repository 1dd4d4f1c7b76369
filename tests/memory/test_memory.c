/* test_memory.c - the memory a user's Lambda needs: `ddbhost --invoke` on a 6 MB event
 * (about 1,900 records of every type, the largest batch Lambda sends) must peak under 40 MB,
 * so that it fits the default 128 MB function beside the plugin's own needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define EVENT_RECORDS "1900"
#define RSS_LIMIT_KB (40 * 1024)

static char dir[] = "/tmp/ddbhost-memory-XXXXXX";
static char event_path[512], out_path[512], err_path[512];

/* Runs argv with stdout and stderr sent to files; returns the wait status, fills *usage. */
static int run(char *const argv[], const char *out, const char *err, struct rusage *usage)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    assert_int_equal(wait4(pid, &status, 0, usage), pid);
    return status;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(event_path, sizeof event_path, "%s/event.json", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);
    char *gen[] = {DDB_EVENTGEN, EVENT_RECORDS, NULL};
    struct rusage ru;
    int st = run(gen, event_path, err_path, &ru);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(event_path);
    unlink(out_path);
    unlink(err_path);
    rmdir(dir);
    return 0;
}

static void test_a_6_mb_event_is_delivered_in_under_40_mb_of_memory(void **state)
{
    (void)state;
    struct stat sb;
    assert_int_equal(stat(event_path, &sb), 0);
    assert_true(sb.st_size > 5 * 1000 * 1000 && sb.st_size <= 6 * 1024 * 1024);

    char *argv[] = {DDB_PLAIN_HOST, "--invoke", DDB_PLAIN_WALK, event_path, NULL};
    struct rusage ru;
    int st = run(argv, out_path, err_path, &ru);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(slurp(out_path), "{\"batchItemFailures\":[]}\n");
    assert_non_null(strstr(slurp(err_path), "walk: " EVENT_RECORDS " records"));
    printf("peak RSS %ld KB for a %lld-byte event\n", ru.ru_maxrss, (long long)sb.st_size);
    assert_true(ru.ru_maxrss < RSS_LIMIT_KB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_6_mb_event_is_delivered_in_under_40_mb_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
