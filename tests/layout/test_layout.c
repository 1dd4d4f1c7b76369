/* test_layout.c - the one-way dependencies of docs/ARCHITECTURE.md, checked on the build and
 * the sources: libddbcore defines no symbol of a tool or a front door (each file owns the
 * prefix of its name, so a tool's symbols are known from host/tools/ and the front doors'),
 * and no core source includes one of their headers. A new file is covered without editing
 * this test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define MAX_NAMES 64

typedef struct names {
    char name[MAX_NAMES][64]; /* a file's name without ".c" / ".h" */
    size_t count;
} names;

/* The names of the files in host/PART that end in suffix (".c" or ".h"). */
static void names_in(const char *part, const char *suffix, names *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/host/%s", DDB_SOURCE_DIR, part);
    DIR *dir = opendir(path);
    struct dirent *e;
    assert_non_null(dir);
    while ((e = readdir(dir)) && out->count < MAX_NAMES) {
        size_t len = strlen(e->d_name);
        if (len < 3 || len > 60 || strcmp(e->d_name + len - 2, suffix) != 0) continue;
        snprintf(out->name[out->count++], 64, "%.*s", (int)(len - 2), e->d_name);
    }
    closedir(dir);
}

/* The modules outside the core: the tools and the front doors. */
static void outside_the_core(const char *suffix, names *out)
{
    out->count = 0;
    names_in("tools", suffix, out);
    names_in("cli", suffix, out);
    names_in("lambda", suffix, out);
    assert_true(out->count >= 5); /* deploy, sample, scaffold, main, runtime at least */
}

static void test_the_core_library_defines_no_symbol_of_a_tool_or_front_door(void **state)
{
    (void)state;
    names outside;
    outside_the_core(".c", &outside);
    const char *argv[] = {DDB_NM, "-g", "--defined-only", DDB_CORE_LIB, NULL};
    run_output r;
    run_lines lines;
    assert_true(run_program(argv, NULL, &r));
    assert_int_equal(r.status, 0);
    run_split_lines(r.out, r.out_len, &lines);
    size_t symbols = 0;
    for (size_t i = 0; i < lines.count; i++) {
        const char *word = strrchr(lines.line[i], ' ');
        if (!word) continue; /* "file.c.o:" headers and blank lines */
        symbols++;
        for (size_t k = 0; k < outside.count; k++) {
            size_t n = strlen(outside.name[k]);
            if (strncmp(word + 1, outside.name[k], n) == 0 && word[1 + n] == '_')
                fail_msg("libddbcore defines %s, a symbol of host's %s.c", word + 1,
                         outside.name[k]);
        }
    }
    assert_true(symbols > 50); /* nm read the library: the core has many entry points */
    run_lines_free(&lines);
    run_output_free(&r);
}

static void test_no_core_source_includes_a_header_of_a_tool_or_front_door(void **state)
{
    (void)state;
    names outside, core;
    outside_the_core(".h", &outside);
    core.count = 0;
    names_in("core", ".c", &core);
    names_in("core", ".h", &core);
    for (size_t i = 0; i < core.count; i++) {
        char path[512], *text = NULL;
        size_t len;
        for (const char *ext = ".c"; ext; ext = strcmp(ext, ".c") == 0 ? ".h" : NULL) {
            snprintf(path, sizeof path, "%s/host/core/%s%s", DDB_SOURCE_DIR, core.name[i], ext);
            if (!(text = run_read_file(path, &len))) continue;
            for (size_t k = 0; k < outside.count; k++) {
                char include[128];
                snprintf(include, sizeof include, "#include \"%s.h\"", outside.name[k]);
                if (strstr(text, include))
                    fail_msg("host/core/%s%s includes %s.h, which is not the core's",
                             core.name[i], ext, outside.name[k]);
            }
            free(text);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_core_library_defines_no_symbol_of_a_tool_or_front_door),
        cmocka_unit_test(test_no_core_source_includes_a_header_of_a_tool_or_front_door),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
