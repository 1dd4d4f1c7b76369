/* test_header.c - plugin.h must compile alone, with every warning an error, as C99 -pedantic
 * and as C++11 -pedantic, and a plugin built as C++ must keep C linkage so that the host
 * finds its callbacks. Builds plugin_h_alone.c with the compilers a plugin author uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "loader.h"
#include "run.h"
#include "symbols.h"

#define SOURCE DDB_SOURCE_DIR "/tests/abi/plugin_h_alone.c"
#define INCLUDE "-I" DDB_SOURCE_DIR "/plugin-api/include"
#define OUT_C DDB_BINARY_DIR "/tests/abi/header_alone_c99.so"
#define OUT_CXX DDB_BINARY_DIR "/tests/abi/header_alone_cxx11.so"

/* Compiles SOURCE into a plugin with the given compiler and standard; true when the
 * compiler accepted it without a single diagnostic. */
static bool build_plugin(const char *compiler, const char *language, const char *standard,
                         const char *out)
{
    const char *argv[] = {compiler, "-x", language, standard, "-pedantic", "-Wall", "-Wextra",
                          "-Werror", "-fPIC", "-shared", "-fvisibility=hidden", INCLUDE,
                          "-o", out, SOURCE, NULL};
    run_output r;
    bool clean;
    assert_true(run_program(argv, NULL, &r));
    clean = r.status == 0 && r.err_len == 0;
    if (!clean) print_error("%s %s %s exited %d:\n%s", compiler, standard, SOURCE, r.status, r.err);
    run_output_free(&r);
    return clean;
}

/* Compiles SOURCE with -fshort-enums; true when the compiler refused it, naming a size the
 * ABI pins (C11: the static assertion's message; C99: the array it cannot size). */
static bool refused_with_short_enums(const char *standard, const char *says)
{
    const char *argv[] = {DDB_CC, "-x", "c", standard, "-fshort-enums", "-fsyntax-only", INCLUDE,
                          SOURCE, NULL};
    run_output r;
    assert_true(run_program(argv, NULL, &r));
    bool refused = r.status != 0 && strstr(r.err, says) != NULL;
    if (!refused)
        print_error("%s -fshort-enums %s: exit %d, expected a refusal saying \"%s\":\n%s", DDB_CC,
                    standard, r.status, says, r.err);
    run_output_free(&r);
    return refused;
}

/* The built plugin passes the loader and its on_insert is found. */
static void expect_loadable(const char *path)
{
    char err[512] = "";
    loader_plugin p;
    if (!loader_open(path, &p, err, sizeof err)) fail_msg("%s", err);
    assert_string_equal(p.info->name, "header-alone");
    assert_non_null(p.on_record[DDB_INSERT]);
    loader_close(&p);
}

static void test_plugin_h_compiles_alone_as_c99_pedantic_without_a_warning(void **state)
{
    (void)state;
    assert_true(build_plugin(DDB_CC, "c", "-std=c99", OUT_C));
    expect_loadable(OUT_C);
}

static void test_plugin_h_compiles_alone_as_cxx11_pedantic_without_a_warning(void **state)
{
    (void)state;
    if (!*DDB_CXX) skip();
    assert_true(build_plugin(DDB_CXX, "c++", "-std=c++11", OUT_CXX));
}

/* -fshort-enums would make ddb_event_name and the other enums of the records one byte: a
 * plugin built so would read the wrong bytes of every record, so plugin.h refuses it. */
static void test_plugin_h_refuses_a_compiler_that_shortens_its_enums(void **state)
{
    (void)state;
    assert_true(refused_with_short_enums("-std=c11", "must be 4 bytes"));
    assert_true(refused_with_short_enums("-std=c99", "ddb_size_check_"));
}

/* Without extern "C" the host would find "_Z9on_insertPK10ddb_recordPv" and no on_insert. */
static void test_plugin_built_as_cxx_exports_its_symbols_unmangled(void **state)
{
    symbols s;
    (void)state;
    if (!*DDB_CXX) skip();
    assert_true(build_plugin(DDB_CXX, "c++", "-std=c++11", OUT_CXX));
    assert_true(symbols_defined(OUT_CXX, &s));
    assert_true(symbols_has(&s, "on_insert"));
    assert_true(symbols_has(&s, "ddb_plugin_info"));
    for (size_t i = 0; i < s.count; i++)
        if (strncmp(s.name[i], "_Z", 2) == 0) fail_msg("mangled export %s", s.name[i]);
    symbols_free(&s);
    expect_loadable(OUT_CXX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_h_compiles_alone_as_c99_pedantic_without_a_warning),
        cmocka_unit_test(test_plugin_h_compiles_alone_as_cxx11_pedantic_without_a_warning),
        cmocka_unit_test(test_plugin_h_refuses_a_compiler_that_shortens_its_enums),
        cmocka_unit_test(test_plugin_built_as_cxx_exports_its_symbols_unmangled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
