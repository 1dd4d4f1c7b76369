/* test_new.c - `ddbhost new`, through the binary: the project it writes builds with make
 * and with CMake while nothing is installed, passes its own test, runs under `ddbhost
 * --invoke` as its README says and carries this tree's plugin.h. An existing directory or
 * a bad name is refused, and nothing is written then. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

static char new_tmp[1024];

#define NEW(r, ...) \
    assert_true(run_program((const char *const[]){DDB_HOST_BIN, "new", __VA_ARGS__, NULL}, NULL, (r)))

/* Runs a shell command line (printf-style), as a user types it. */
static void new_sh(run_output *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void new_sh(run_output *r, const char *fmt, ...)
{
    char script[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(script, sizeof script, fmt, ap);
    va_end(ap);
    assert_true(run_program((const char *const[]){"/bin/sh", "-c", script, NULL}, NULL, r));
}

static void new_expect_ok(run_output *r, const char *what)
{
    if (r->status != 0) print_error("%s: exit status %d\n--- stdout ---\n%s--- stderr ---\n%s", what, r->status, r->out, r->err);
    assert_int_equal(r->status, 0);
}

static bool new_exists(const char *dir, const char *rel)
{
    char path[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return stat(path, &st) == 0;
}

/* `ddbhost new NAME TMP/NAME`, then `make test` in it with the tree's compiler and flags;
 * the project's directory goes to dir. */
static void new_project_built(const char *name, char *dir, size_t cap)
{
    run_output r;
    char want[256];
    snprintf(dir, cap, "%s/%s", new_tmp, name);
    NEW(&r, name, dir);
    new_expect_ok(&r, "ddbhost new");
    snprintf(want, sizeof want, "created %s/: the ddbhost plugin \"%s\"", dir, name);
    assert_non_null(strstr(r.out, want));
    assert_string_equal(r.err, "");
    run_output_free(&r);
    new_sh(&r, "make -C '%s' test CC='%s' CFLAGS='%s' LDFLAGS='%s'", dir, DDB_CC, DDB_PLUGIN_CFLAGS, DDB_PLUGIN_LDFLAGS);
    new_expect_ok(&r, "make test");
    assert_non_null(strstr(r.out, "6 passed, 0 failed\n"));
    run_output_free(&r);
}

static int new_setup(void **state)
{
    (void)state;
    return run_make_tmpdir(new_tmp, sizeof new_tmp, "ddbhost-new") ? 0 : -1;
}

static int new_teardown(void **state)
{
    (void)state;
    return run_remove_tree(new_tmp);
}

/* ---- the project ---------------------------------------------------------------------------- */

static void test_the_project_has_its_files_and_this_trees_plugin_h(void **state)
{
    (void)state;
    static const char *const files[] = {"src/orders-audit.c", "test/test_plugin.c", "include/ddb/plugin.h",
                                        "events/insert.json", "events/modify.json", "events/remove.json",
                                        "Makefile", "CMakeLists.txt", "README.md", ".gitignore"};
    char dir[1100], path[1200];
    size_t len, want_len;
    new_project_built("orders-audit", dir, sizeof dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!new_exists(dir, files[i])) print_error("missing %s\n", files[i]);
        assert_true(new_exists(dir, files[i]));
    }
    snprintf(path, sizeof path, "%s/include/ddb/plugin.h", dir);
    char *copied = run_read_file(path, &len);
    char *source = run_read_file(DDB_SOURCE_DIR "/plugin-api/include/ddb/plugin.h", &want_len);
    assert_non_null(copied);
    assert_non_null(source);
    assert_int_equal(len, want_len);
    assert_memory_equal(copied, source, len);
    free(copied);
    free(source);
    snprintf(path, sizeof path, "%s/Makefile", dir);
    char *makefile = run_read_file(path, &len);
    assert_non_null(strstr(makefile, "NAME := orders-audit\n"));
    assert_null(strstr(makefile, "@NAME@"));
    free(makefile);
}

static void test_the_project_runs_under_invoke_as_its_readme_says(void **state)
{
    (void)state;
    static const struct { const char *event, *line; } runs[] = {
        {"insert", "as-written: INSERT Items id=item-1 (5 attributes)\n"},
        {"modify", "as-written: MODIFY Items id=item-1 (5 attributes)\n"},
        {"remove", "as-written: REMOVE Items id=item-1 (5 attributes)\n"},
    };
    char dir[1100], want[256];
    run_output r;
    new_project_built("as-written", dir, sizeof dir);
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        new_sh(&r, "cd '%s' && '%s' --log-level error --invoke as-written.so events/%s.json", dir, DDB_HOST_BIN,
               runs[i].event);
        snprintf(want, sizeof want, "%s{\"batchItemFailures\":[]}\n", runs[i].line);
        new_expect_ok(&r, "ddbhost --invoke");
        assert_string_equal(r.out, want);
        assert_string_equal(r.err, "");
        run_output_free(&r);
    }
}

/* The host refuses a plugin that group or others can write, or that sits in a directory
 * they can write: the project stays runnable under a umask that grants group write. */
static void test_the_project_runs_as_written_under_a_group_writable_umask(void **state)
{
    (void)state;
    run_output r;
    new_sh(&r, "cd '%s' && umask 002 && '%s' new shared >/dev/null && cd shared && "
           "make test CC='%s' CFLAGS='%s' LDFLAGS='%s' >/dev/null && "
           "'%s' --log-level error --invoke shared.so events/insert.json",
           new_tmp, DDB_HOST_BIN, DDB_CC, DDB_PLUGIN_CFLAGS, DDB_PLUGIN_LDFLAGS, DDB_HOST_BIN);
    new_expect_ok(&r, "new, make test and --invoke under umask 002");
    assert_string_equal(r.out, "shared: INSERT Items id=item-1 (5 attributes)\n{\"batchItemFailures\":[]}\n");
    run_output_free(&r);
}

static void test_the_project_builds_and_passes_ctest_with_cmake_and_nothing_installed(void **state)
{
    (void)state;
    char dir[1100];
    run_output r;
    snprintf(dir, sizeof dir, "%s/with-cmake", new_tmp);
    NEW(&r, "with-cmake", dir);
    new_expect_ok(&r, "ddbhost new");
    run_output_free(&r);
    /* No find_package(ddbhost), so that a ddbhost installed on this machine is not used. */
    new_sh(&r, "cmake -S '%s' -B '%s/build' -DCMAKE_DISABLE_FIND_PACKAGE_ddbhost=ON -DCMAKE_C_COMPILER='%s' "
           "-DCMAKE_C_FLAGS='%s' -DCMAKE_EXE_LINKER_FLAGS='%s' -DCMAKE_MODULE_LINKER_FLAGS='%s' && "
           "cmake --build '%s/build' && ctest --test-dir '%s/build' --output-on-failure",
           dir, dir, DDB_CC, DDB_PLUGIN_CFLAGS, DDB_PLUGIN_LDFLAGS, DDB_PLUGIN_LDFLAGS, dir, dir);
    new_expect_ok(&r, "cmake, build and ctest");
    assert_non_null(strstr(r.out, "100% tests passed"));
    run_output_free(&r);
    new_sh(&r, "cd '%s' && '%s' --log-level error --invoke build/with-cmake.so events/remove.json", dir, DDB_HOST_BIN);
    new_expect_ok(&r, "ddbhost --invoke");
    assert_string_equal(r.out, "with-cmake: REMOVE Items id=item-1 (5 attributes)\n{\"batchItemFailures\":[]}\n");
    run_output_free(&r);
}

/* The sample MODIFY: price 12.50 -> 11.00 and stock 40 -> 39, numbers as written. */
static void test_the_sample_events_carry_the_item_as_ddbhost_event_writes_it(void **state)
{
    (void)state;
    char dir[1100];
    run_output r;
    snprintf(dir, sizeof dir, "%s/events-only", new_tmp);
    NEW(&r, "events-only", dir);
    new_expect_ok(&r, "ddbhost new");
    run_output_free(&r);
    new_sh(&r, "'%s' --log-level error --invoke '%s' '%s/events/modify.json'", DDB_HOST_BIN, DDB_ECHO, dir);
    new_expect_ok(&r, "ddbhost --invoke echo.so");
    assert_non_null(strstr(r.out, "\"table\":\"Items\""));
    assert_non_null(strstr(r.out,
        "\"Keys\":{\"id\":{\"S\":\"item-1\"}},"
        "\"NewImage\":{\"id\":{\"S\":\"item-1\"},\"name\":{\"S\":\"Blue mug\"},\"price\":{\"N\":\"11.00\"},"
        "\"stock\":{\"N\":\"39\"},\"tags\":{\"SS\":[\"kitchen\",\"blue\"]}},"
        "\"OldImage\":{\"id\":{\"S\":\"item-1\"},\"name\":{\"S\":\"Blue mug\"},\"price\":{\"N\":\"12.50\"},"
        "\"stock\":{\"N\":\"40\"},\"tags\":{\"SS\":[\"kitchen\",\"blue\"]}}}\n"));
    run_output_free(&r);
}

static void test_dir_defaults_to_the_name_in_the_current_directory(void **state)
{
    (void)state;
    run_output r;
    new_sh(&r, "cd '%s' && '%s' new here", new_tmp, DDB_HOST_BIN);
    new_expect_ok(&r, "ddbhost new here");
    assert_true(strncmp(r.out, "created here/", 13) == 0);
    assert_true(new_exists(new_tmp, "here/src/here.c"));
    run_output_free(&r);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void new_refused(run_output *r, int status, const char *want)
{
    run_lines err;
    run_split_lines(r->err, r->err_len, &err);
    bool ok = r->status == status && r->out_len == 0 && err.count == (status == 2 ? 2u : 1u) &&
              strncmp(r->err, "ddbhost: error: ", 16) == 0 && strstr(err.line[0], want) &&
              (status != 2 || strcmp(err.line[1], "Try 'ddbhost --help'.") == 0);
    if (!ok)
        print_error("expected exit status %d, no stdout and one error line with \"%s\"; got %d\n"
                    "--- stdout ---\n%s--- stderr ---\n%s", status, want, r->status, r->out, r->err);
    run_lines_free(&err);
    run_output_free(r);
    if (!ok) fail();
}

static void test_an_existing_directory_is_refused_and_left_as_it_was(void **state)
{
    (void)state;
    char dir[1100], path[1200], *text;
    size_t len;
    run_output r;
    snprintf(dir, sizeof dir, "%s/taken", new_tmp);
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/Makefile", dir);
    assert_true(run_write_file(path, "mine\n"));
    NEW(&r, "taken", dir);
    new_refused(&r, 1, "already exists: ddbhost new never writes into an existing directory");
    text = run_read_file(path, &len);
    assert_string_equal(text, "mine\n");
    free(text);
    assert_false(new_exists(dir, "src"));
}

/* A file size limit of 2 KB makes writing plugin.h fail with EFBIG, after the directory and
 * its subdirectories were made. */
static void test_a_failure_halfway_removes_what_was_written(void **state)
{
    (void)state;
    char dir[1100];
    run_output r;
    snprintf(dir, sizeof dir, "%s/halfway", new_tmp);
    new_sh(&r, "trap '' XFSZ; ulimit -f 4; exec '%s' new halfway '%s'", DDB_HOST_BIN, dir);
    new_refused(&r, 1, "include/ddb/plugin.h\": File too large (nothing was kept: \"");
    assert_false(new_exists(new_tmp, "halfway"));
}

static void test_a_name_must_be_lower_case_letters_digits_dashes_or_underscores(void **state)
{
    (void)state;
    static const char *const bad[] = {"Orders", "9lives", "a.b", "a b", "caf\xC3\xA9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dir[1100];
        run_output r;
        snprintf(dir, sizeof dir, "%s/bad-name-%zu", new_tmp, i);
        NEW(&r, bad[i], dir);
        new_refused(&r, 2, "plugin name \"");
        assert_false(new_exists(new_tmp, dir + strlen(new_tmp) + 1));
    }
}

static void test_usage_errors_and_help(void **state)
{
    (void)state;
    run_output r;
    assert_true(run_program((const char *const[]){DDB_HOST_BIN, "new", NULL}, NULL, &r));
    new_refused(&r, 2, "usage: ddbhost new NAME [DIR]");
    NEW(&r, "a", "b", "c");
    new_refused(&r, 2, "usage: ddbhost new NAME [DIR]");
    NEW(&r, "--force", "x");
    new_refused(&r, 2, "unknown option \"--force\" for ddbhost new");
    NEW(&r, "--help");
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "Usage: ddbhost new NAME [DIR]\n", 30) == 0);
    run_output_free(&r);
}

int main(void)
{
    umask(022); /* the host refuses plugins that group or others can write */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_project_has_its_files_and_this_trees_plugin_h),
        cmocka_unit_test(test_the_project_runs_under_invoke_as_its_readme_says),
        cmocka_unit_test(test_the_project_runs_as_written_under_a_group_writable_umask),
        cmocka_unit_test(test_the_project_builds_and_passes_ctest_with_cmake_and_nothing_installed),
        cmocka_unit_test(test_the_sample_events_carry_the_item_as_ddbhost_event_writes_it),
        cmocka_unit_test(test_dir_defaults_to_the_name_in_the_current_directory),
        cmocka_unit_test(test_an_existing_directory_is_refused_and_left_as_it_was),
        cmocka_unit_test(test_a_failure_halfway_removes_what_was_written),
        cmocka_unit_test(test_a_name_must_be_lower_case_letters_digits_dashes_or_underscores),
        cmocka_unit_test(test_usage_errors_and_help),
    };
    return cmocka_run_group_tests(tests, new_setup, new_teardown);
}
