/* test_abi.c - every fixture plugin in fixtures/ must be refused with its exact one-line
 * message, by the loader itself (loading, and inspecting the file without loading it) and by
 * `ddbhost --invoke FIXTURE.so EVENT`; the valid ones (good, and older_minor built for ABI 1.1)
 * must load with exactly their callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "run.h"

#define FIXTURE_DIR DDB_BINARY_DIR "/tests/abi"
#define EVENT DDB_SOURCE_DIR "/tests/conformance/corpus/events/ankcorn-dynamodb-streams-test-keys-only-insert.json"

#define HINT_MACRO "(hint: declare the plugin with the DDB_PLUGIN macro from plugin.h)"
#define HINT_REBUILD "(hint: rebuild the plugin against this host's plugin.h"

static const char *fixture_path(const char *fixture)
{
    static char path[512];
    assert_true((size_t)snprintf(path, sizeof path, FIXTURE_DIR "/%s.so", fixture) < sizeof path);
    return path;
}

/* The one-line refusal each faulty fixture must earn, for the plugin named path. */
static void expected_refusal(const char *fixture, const char *path, char *out, size_t cap)
{
    const int major = DDB_ABI_MAJOR, minor = DDB_ABI_MINOR;
    const size_t major1_size = offsetof(ddb_plugin_descriptor, version) + sizeof(const char *);
    if (strcmp(fixture, "no_descriptor") == 0)
        snprintf(out, cap, "plugin \"%s\" has no ddb_plugin_info descriptor (hint: add "
                 "DDB_PLUGIN(\"name\", \"version\"); to one source file of the plugin)", path);
    else if (strcmp(fixture, "bad_magic") == 0)
        snprintf(out, cap, "plugin \"%s\" is not a ddbhost plugin: descriptor magic is "
                 "0x12345678, expected 0x44444250 " HINT_MACRO, path);
    else if (strcmp(fixture, "major_mismatch") == 0)
        snprintf(out, cap, "plugin \"%s\" was built for plugin ABI 2.0, this host supports "
                 "%d.%d " HINT_REBUILD ", or upgrade the host)", path, major, minor);
    else if (strcmp(fixture, "newer_minor") == 0)
        snprintf(out, cap, "plugin \"%s\" was built for plugin ABI %d.%d, this host supports "
                 "%d.%d " HINT_REBUILD ", or upgrade the host)", path, major, minor + 1, major,
                 minor);
    else if (strcmp(fixture, "short_size") == 0)
        snprintf(out, cap, "plugin \"%s\" has a descriptor of 8 bytes, too short to hold its "
                 "ABI version " HINT_MACRO, path);
    else if (strcmp(fixture, "short_for_major") == 0)
        snprintf(out, cap, "plugin \"%s\" has a descriptor of 20 bytes, plugin ABI %d.%d needs "
                 "at least %zu " HINT_REBUILD ")", path, major, minor, major1_size);
    else if (strcmp(fixture, "size_overstated") == 0)
        snprintf(out, cap, "plugin \"%s\" has a descriptor of 12 bytes, plugin ABI %d.%d needs "
                 "at least %zu " HINT_REBUILD ")", path, major, minor, major1_size);
    else if (strcmp(fixture, "empty_name") == 0)
        snprintf(out, cap, "plugin \"%s\" has an empty name (hint: give DDB_PLUGIN a non-empty "
                 "name)", path);
    else if (strcmp(fixture, "no_callbacks") == 0 || strcmp(fixture, "callbacks_from_a_dependency") == 0)
        snprintf(out, cap, "plugin \"%s\" exports none of on_insert, on_modify, on_remove "
                 "(hint: define at least one of them with C linkage)", path);
    else if (strcmp(fixture, "init_fails") == 0)
        snprintf(out, cap, "plugin \"%s\" (init-fails 1.0.0) failed to initialise: cannot "
                 "open database \"x\"", path);
    else
        fail_msg("no expected refusal for fixture %s", fixture);
}

static const char *const faulty_fixtures[] = {
    "no_descriptor", "bad_magic",  "major_mismatch", "newer_minor", "short_size",
    "short_for_major", "size_overstated", "empty_name", "no_callbacks",
    "callbacks_from_a_dependency",
};

static void expect_refusal(const char *fixture)
{
    const char *path = fixture_path(fixture);
    char expected[2048], err[2048] = "";
    loader_plugin p;
    memset(&p, 0x5a, sizeof p);
    expected_refusal(fixture, path, expected, sizeof expected);
    assert_false(loader_open(path, &p, err, sizeof err));
    assert_string_equal(err, expected);
    /* Nothing is left loaded or allocated: the struct is empty and closing it is harmless. */
    assert_null(p.dl);
    assert_null(p.path);
    assert_null(p.info);
    loader_close(&p);
}

static void test_plugin_without_descriptor_is_refused_with_how_to_declare_one(void **state)
{
    (void)state;
    expect_refusal("no_descriptor");
}

static void test_plugin_with_wrong_magic_is_refused_showing_both_magics(void **state)
{
    (void)state;
    expect_refusal("bad_magic");
}

static void test_plugin_built_for_another_major_is_refused_showing_both_versions(void **state)
{
    (void)state;
    expect_refusal("major_mismatch");
}

static void test_plugin_built_for_a_newer_minor_is_refused_showing_both_versions(void **state)
{
    (void)state;
    expect_refusal("newer_minor");
}

static void test_descriptor_shorter_than_its_version_fields_is_refused(void **state)
{
    (void)state;
    expect_refusal("short_size");
}

static void test_descriptor_too_short_for_abi_major_1_is_refused(void **state)
{
    (void)state;
    expect_refusal("short_for_major");
}

static void test_descriptor_object_smaller_than_its_size_field_is_refused(void **state)
{
    (void)state;
    expect_refusal("size_overstated");
}

static void test_plugin_with_empty_name_is_refused(void **state)
{
    (void)state;
    expect_refusal("empty_name");
}

static void test_plugin_exporting_no_record_callback_is_refused(void **state)
{
    (void)state;
    expect_refusal("no_callbacks");
}

/* dlsym finds a symbol in the plugin's dependencies too: a library's on_insert is no
 * callback of the plugin's. */
static void test_a_callback_that_only_a_linked_library_exports_does_not_count(void **state)
{
    (void)state;
    expect_refusal("callbacks_from_a_dependency");
}

static void test_valid_plugin_loads_with_exactly_the_callbacks_it_exports(void **state)
{
    const char *path = fixture_path("good");
    char err[512] = "";
    loader_plugin p;
    (void)state;
    assert_true(loader_open(path, &p, err, sizeof err));
    assert_string_equal(err, "");
    assert_string_equal(p.path, path);
    assert_string_equal(p.info->name, "good");
    assert_string_equal(p.info->version, "1.0.0");
    assert_int_equal(p.info->abi_major, DDB_ABI_MAJOR);
    assert_int_equal(p.info->abi_minor, DDB_ABI_MINOR);
    assert_non_null(p.on_record[DDB_INSERT]);
    assert_null(p.on_record[DDB_MODIFY]);
    assert_non_null(p.on_record[DDB_REMOVE]);
    assert_non_null(p.on_init);
    assert_non_null(p.on_fini);
    assert_null(p.on_batch_begin);
    assert_non_null(p.on_batch_end);
    loader_close(&p);
    assert_null(p.dl);
}

/* Minor versions only append: a plugin built for an older minor than the host's loads. */
static void test_a_plugin_built_for_an_older_minor_loads(void **state)
{
    const char *path = fixture_path("older_minor");
    char err[512] = "";
    loader_plugin p;
    loader_inspection in;
    (void)state;
    assert_true(DDB_ABI_MINOR > 1);
    assert_true(loader_inspect(path, &in, err, sizeof err));
    assert_int_equal(in.abi_minor, 1);
    assert_true(loader_open(path, &p, err, sizeof err));
    assert_string_equal(err, "");
    assert_string_equal(p.info->name, "older-minor");
    assert_int_equal(p.info->abi_major, DDB_ABI_MAJOR);
    assert_int_equal(p.info->abi_minor, 1);
    assert_non_null(p.on_record[DDB_INSERT]);
    assert_non_null(p.on_batch_begin);
    loader_close(&p);
}

/* A bare file name means a file in the current directory, never one on the library path;
 * messages name the plugin as the user wrote it. */
static void test_bare_plugin_name_is_opened_from_the_current_directory(void **state)
{
    char cwd[PATH_MAX], err[512] = "";
    loader_plugin p;
    bool good, bad;
    (void)state;
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(FIXTURE_DIR), 0);
    good = loader_open("good.so", &p, err, sizeof err);
    if (good) loader_close(&p);
    bad = loader_open("bad_magic.so", &p, err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    assert_true(good);
    assert_false(bad);
    assert_string_equal(err, "plugin \"bad_magic.so\" is not a ddbhost plugin: descriptor magic "
                             "is 0x12345678, expected 0x44444250 " HINT_MACRO);
}

/* Whether the dynamic loader holds the file at path, without loading it. */
static bool is_loaded(const char *path)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (dl) dlclose(dl);
    return dl != NULL;
}

/* What the host learns of an isolated plugin before a worker loads it comes from the file. */
static void test_inspecting_a_plugin_reads_its_version_and_callbacks_without_loading_it(void **state)
{
    const char *path = fixture_path("good");
    char err[512] = "";
    loader_inspection in;
    (void)state;
    memset(&in, 0x5a, sizeof in);
    assert_true(loader_inspect(path, &in, err, sizeof err));
    assert_string_equal(err, "");
    assert_int_equal(in.abi_major, DDB_ABI_MAJOR);
    assert_int_equal(in.abi_minor, DDB_ABI_MINOR);
    assert_true(in.has[DDB_INSERT]);
    assert_false(in.has[DDB_MODIFY]);
    assert_true(in.has[DDB_REMOVE]);
    assert_true(in.has_batch_end);
    assert_false(is_loaded(path));
}

/* Every refusal but the empty name comes from the file, word for word as loader_open words
 * it; the name is a pointer that only the loaded plugin's relocations fill in. */
static void test_inspecting_refuses_each_faulty_plugin_as_opening_does_without_loading_it(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof faulty_fixtures / sizeof faulty_fixtures[0]; i++) {
        const char *fixture = faulty_fixtures[i], *path = fixture_path(fixture);
        char expected[2048], err[2048] = "";
        loader_inspection in;
        bool ok = loader_inspect(path, &in, err, sizeof err);
        if (strcmp(fixture, "empty_name") == 0) {
            assert_true(ok);
        } else {
            expected_refusal(fixture, path, expected, sizeof expected);
            if (ok) fail_msg("%s: inspected without a refusal", fixture);
            assert_string_equal(err, expected);
        }
        if (is_loaded(path)) fail_msg("%s: inspecting it loaded it", fixture);
    }
}

/* The file is read before the dynamic loader ever sees it: a plugin cut short at any byte
 * (a copy that ran out of space) is refused with one line, never read out of bounds. */
static void test_a_plugin_cut_short_anywhere_is_refused_with_one_line(void **state)
{
    char dir[PATH_MAX], cut[PATH_MAX + 16], err[1024], prefix[PATH_MAX + 64];
    size_t len;
    char *bytes = run_read_file(fixture_path("good"), &len);
    (void)state;
    assert_non_null(bytes);
    assert_true(run_make_tmpdir(dir, sizeof dir, "ddbtest-abi-cut"));
    snprintf(cut, sizeof cut, "%s/cut.so", dir);
    snprintf(prefix, sizeof prefix, "cannot load plugin \"%s\": ", cut);
    for (size_t n = 0; n < len; n += n < 128 ? 1 : 61) {
        loader_plugin p;
        FILE *f = fopen(cut, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(bytes, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(cut, 0644), 0);
        if (loader_open(cut, &p, err, sizeof err)) fail_msg("cut at %zu bytes: loaded", n);
        if (strncmp(err, prefix, strlen(prefix)) != 0 || strchr(err, '\n'))
            fail_msg("cut at %zu bytes: %s", n, err);
        assert_null(p.dl);
    }
    free(bytes);
    assert_int_equal(run_remove_tree(dir), 0);
}

/* Runs `ddbhost --invoke FIXTURE.so EVENT`, which must exit 1 with exactly one line on
 * stderr: `ddbhost: error: ` and the fixture's refusal. */
static void expect_cli_refusal(const char *fixture)
{
    const char *path = fixture_path(fixture);
    const char *argv[] = {DDB_HOST_BIN, "--invoke", path, EVENT, NULL};
    char message[2048], expected[2100];
    run_output r;
    run_lines lines;
    expected_refusal(fixture, path, message, sizeof message);
    snprintf(expected, sizeof expected, "ddbhost: error: %s", message);
    assert_true(run_program(argv, NULL, &r));
    run_split_lines(r.err, r.err_len, &lines);
    if (r.status != 1 || lines.count != 1) print_error("%s: stderr was:\n%s", fixture, r.err);
    assert_int_equal(r.status, 1);
    assert_int_equal(lines.count, 1);
    assert_true(lines.ends_with_newline);
    assert_string_equal(lines.line[0], expected);
    run_lines_free(&lines);
    run_output_free(&r);
}

static void test_cli_refuses_each_faulty_plugin_with_one_error_line_and_status_1(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof faulty_fixtures / sizeof faulty_fixtures[0]; i++)
        expect_cli_refusal(faulty_fixtures[i]);
}

static void test_cli_refuses_to_start_when_on_init_fails_and_repeats_its_reason(void **state)
{
    (void)state;
    expect_cli_refusal("init_fails");
}

static void test_cli_runs_the_valid_plugin_and_reports_no_failures(void **state)
{
    const char *argv[] = {DDB_HOST_BIN, "--invoke", fixture_path("good"), EVENT, NULL};
    run_output r;
    run_lines lines;
    (void)state;
    assert_true(run_program(argv, NULL, &r));
    if (r.status != 0) print_error("stderr was:\n%s", r.err);
    assert_int_equal(r.status, 0);
    run_split_lines(r.out, r.out_len, &lines);
    assert_true(lines.count >= 1);
    assert_string_equal(lines.line[lines.count - 1], "{\"batchItemFailures\":[]}");
    run_lines_free(&lines);
    run_output_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_without_descriptor_is_refused_with_how_to_declare_one),
        cmocka_unit_test(test_plugin_with_wrong_magic_is_refused_showing_both_magics),
        cmocka_unit_test(test_plugin_built_for_another_major_is_refused_showing_both_versions),
        cmocka_unit_test(test_plugin_built_for_a_newer_minor_is_refused_showing_both_versions),
        cmocka_unit_test(test_descriptor_shorter_than_its_version_fields_is_refused),
        cmocka_unit_test(test_descriptor_too_short_for_abi_major_1_is_refused),
        cmocka_unit_test(test_descriptor_object_smaller_than_its_size_field_is_refused),
        cmocka_unit_test(test_plugin_with_empty_name_is_refused),
        cmocka_unit_test(test_plugin_exporting_no_record_callback_is_refused),
        cmocka_unit_test(test_a_callback_that_only_a_linked_library_exports_does_not_count),
        cmocka_unit_test(test_valid_plugin_loads_with_exactly_the_callbacks_it_exports),
        cmocka_unit_test(test_a_plugin_built_for_an_older_minor_loads),
        cmocka_unit_test(test_bare_plugin_name_is_opened_from_the_current_directory),
        cmocka_unit_test(test_inspecting_a_plugin_reads_its_version_and_callbacks_without_loading_it),
        cmocka_unit_test(test_inspecting_refuses_each_faulty_plugin_as_opening_does_without_loading_it),
        cmocka_unit_test(test_a_plugin_cut_short_anywhere_is_refused_with_one_line),
        cmocka_unit_test(test_cli_refuses_each_faulty_plugin_with_one_error_line_and_status_1),
        cmocka_unit_test(test_cli_refuses_to_start_when_on_init_fails_and_repeats_its_reason),
        cmocka_unit_test(test_cli_runs_the_valid_plugin_and_reports_no_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
