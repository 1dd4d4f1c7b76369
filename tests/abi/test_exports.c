/* test_exports.c - what built objects export: every plugin and example only the ABI entry
 * points, the host none of its own functions (plugins must not bind to host internals, and
 * host internals must not shadow a plugin's). Sanitizer runtimes export symbols of their own;
 * those are set aside by name, and the fixture extra_export.so proves the check still bites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "symbols.h"

#define MAX_PREFIXES 64

/* Added by the toolchain or a sanitizer runtime, never by our code. */
static bool is_toolchain_symbol(const char *name)
{
    static const char *const prefixes[] = {"__asan", "___asan", "__ubsan", "__sanitizer",
                                           "__lsan", "__interceptor_", "___interceptor_",
                                           "__sancov", "__odr_asan"};
    static const char *const names[] = {"_init", "_fini", "_edata", "_end", "__bss_start"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) return true;
    return false;
}

/* A sanitizer runtime linked into an executable exports its interceptors under the name of
 * the function they wrap (clang: process_vm_readv beside __interceptor_process_vm_readv),
 * which may look like one of ours; the __interceptor_ twin gives them away. */
static bool is_interceptor(const symbols *s, const char *name)
{
    char twin[512];
    snprintf(twin, sizeof twin, "__interceptor_%s", name);
    if (symbols_has(s, twin)) return true;
    snprintf(twin, sizeof twin, "___interceptor_%s", name);
    return symbols_has(s, twin);
}

static bool is_abi_entry_point(const char *name)
{
    static const char *const names[] = {"ddb_plugin_info", "on_insert",      "on_modify",
                                        "on_remove",       "on_init",        "on_fini",
                                        "on_batch_begin",  "on_batch_end"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) return true;
    return false;
}

/* Appends name to the space-separated list out. */
static void list_add(char *out, size_t cap, const char *name)
{
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s%s", len ? " " : "", name);
}

/* The exports of the plugin at path that are neither ABI entry points nor the toolchain's,
 * space-separated into out ("" when none). */
static void plugin_stray_exports(const char *path, char *out, size_t cap)
{
    symbols s;
    *out = '\0';
    assert_true(symbols_defined(path, &s));
    for (size_t i = 0; i < s.count; i++)
        if (!is_abi_entry_point(s.name[i]) && !is_toolchain_symbol(s.name[i]) &&
            !is_interceptor(&s, s.name[i]))
            list_add(out, cap, s.name[i]);
    symbols_free(&s);
}

/* Every host module owns one prefix named after its file (loader.c: loader_), plus ddb_ of
 * the public ABI. Read from host/'s parts so that a new module is covered without editing
 * this. */
static size_t host_prefixes(char prefixes[MAX_PREFIXES][64])
{
    static const char *const parts[] = {"core", "tools", "cli", "lambda"};
    size_t n = 0;
    strcpy(prefixes[n++], "ddb_");
    for (size_t p = 0; p < sizeof parts / sizeof *parts; p++) {
        char path[512];
        snprintf(path, sizeof path, "%s/host/%s", DDB_SOURCE_DIR, parts[p]);
        DIR *dir = opendir(path);
        struct dirent *e;
        assert_non_null(dir);
        while ((e = readdir(dir)) && n < MAX_PREFIXES) {
            size_t len = strlen(e->d_name);
            if (len < 3 || len > 60 || strcmp(e->d_name + len - 2, ".c") != 0) continue;
            snprintf(prefixes[n++], 64, "%.*s_", (int)(len - 2), e->d_name);
        }
        closedir(dir);
    }
    return n;
}

/* The exports of path that carry a host module's prefix, space-separated into out. */
static void host_own_exports(const char *path, char *out, size_t cap)
{
    char prefixes[MAX_PREFIXES][64];
    size_t np = host_prefixes(prefixes);
    symbols s;
    *out = '\0';
    assert_true(symbols_defined(path, &s));
    for (size_t i = 0; i < s.count; i++) {
        if (is_interceptor(&s, s.name[i])) continue;
        for (size_t k = 0; k < np; k++) {
            if (strncmp(s.name[i], prefixes[k], strlen(prefixes[k])) != 0) continue;
            list_add(out, cap, s.name[i]);
            break;
        }
    }
    symbols_free(&s);
}

/* Checks every *.so in dir; returns how many there were. */
static size_t check_plugins_in(const char *dir_path)
{
    DIR *dir = opendir(dir_path);
    struct dirent *e;
    size_t n = 0;
    if (!dir) return 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        char path[4096], stray[4096];
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
        plugin_stray_exports(path, stray, sizeof stray);
        if (*stray) print_error("%s exports %s\n", path, stray);
        assert_string_equal(stray, "");
        n++;
    }
    closedir(dir);
    return n;
}

static void test_shipped_plugins_and_examples_export_only_abi_entry_points(void **state)
{
    size_t n;
    (void)state;
    n = check_plugins_in(DDB_BINARY_DIR "/plugins");
    n += check_plugins_in(DDB_BINARY_DIR "/examples");
    assert_true(n >= 1);
}

static void test_host_exports_none_of_its_own_functions(void **state)
{
    char own[4096];
    (void)state;
    host_own_exports(DDB_HOST_BIN, own, sizeof own);
    if (*own) print_error("%s exports %s\n", DDB_HOST_BIN, own);
    assert_string_equal(own, "");
}

/* The checks above must not be vacuous: they see the host's module prefixes, and they
 * flag a plugin that exports a helper named like a host function. Read as a host, that
 * plugin would be flagged twice: for the helper and for exporting the ABI's ddb_ prefix. */
static void test_export_checks_flag_a_plugin_exporting_a_helper_of_its_own(void **state)
{
    const char *path = DDB_BINARY_DIR "/tests/abi/extra_export.so";
    char prefixes[MAX_PREFIXES][64], stray[4096], own[4096];
    size_t np = host_prefixes(prefixes);
    bool has_loader = false;
    (void)state;
    for (size_t k = 0; k < np; k++) has_loader |= strcmp(prefixes[k], "loader_") == 0;
    assert_true(has_loader);
    plugin_stray_exports(path, stray, sizeof stray);
    assert_string_equal(stray, "log_record");
    host_own_exports(path, own, sizeof own);
    assert_string_equal(own, "ddb_plugin_info log_record");
    plugin_stray_exports(DDB_BINARY_DIR "/tests/abi/good.so", stray, sizeof stray);
    assert_string_equal(stray, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_plugins_and_examples_export_only_abi_entry_points),
        cmocka_unit_test(test_host_exports_none_of_its_own_functions),
        cmocka_unit_test(test_export_checks_flag_a_plugin_exporting_a_helper_of_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
