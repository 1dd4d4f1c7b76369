/* test_loader.c - the loader's refusals that need no plugin at all: files that are missing,
 * not shared objects, cut short or built for another architecture, and bare names that must
 * not be looked up on the library path.
 * The refusals of real but faulty plugins are in tests/abi. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

/* Runs each test in a fresh empty directory, so that bare names resolve there. */
typedef struct scratch {
    char dir[PATH_MAX];
    char cwd[PATH_MAX];
} scratch;

static int scratch_enter(void **state)
{
    scratch *s = calloc(1, sizeof *s);
    const char *tmp = getenv("TMPDIR");
    if (!s || !getcwd(s->cwd, sizeof s->cwd)) return -1;
    snprintf(s->dir, sizeof s->dir, "%s/ddbtest-loader-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir) || chdir(s->dir) != 0) return -1;
    *state = s;
    return 0;
}

static int scratch_leave(void **state)
{
    scratch *s = *state;
    int rc;
    unlink("notes.so");
    rc = chdir(s->cwd);
    rc |= rmdir(s->dir);
    free(s);
    return rc;
}

static void expect_refusal(const char *path, const char *expected)
{
    char err[512] = "";
    loader_plugin p;
    memset(&p, 0x5a, sizeof p);
    assert_false(loader_open(path, &p, err, sizeof err));
    assert_string_equal(err, expected);
    assert_null(p.dl);
    assert_null(p.path);
    assert_null(p.info);
}

static void test_missing_plugin_file_is_refused_with_the_system_reason(void **state)
{
    (void)state;
    expect_refusal("plugins/orders.so", "cannot load plugin \"plugins/orders.so\": cannot open "
                                        "shared object file: No such file or directory");
}

/* libc.so.6 is on every library path: opening it would mean the bare name was searched. */
static void test_bare_name_is_looked_up_in_the_current_directory_only(void **state)
{
    (void)state;
    expect_refusal("libc.so.6", "cannot load plugin \"libc.so.6\": cannot open shared object "
                                "file: No such file or directory");
}

static void test_file_that_is_not_a_shared_object_is_refused(void **state)
{
    FILE *f = fopen("notes.so", "w");
    (void)state;
    assert_non_null(f);
    fputs("This file only has a plugin's name; the loader must not take it for one.\n", f);
    assert_int_equal(fclose(f), 0);
    expect_refusal("notes.so", "cannot load plugin \"notes.so\": invalid ELF header");
}

/* Lambda runs x86_64 and arm64; a plugin built for the other one is a common mistake, and
 * the dynamic loader's own words for it ("No such file or directory") mislead. */
#if defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define OTHER_MACHINE 62 /* EM_X86_64 */
#define OTHER_NAME "x86_64"
#define HOST_NAME "arm64"
#else
#define HOST_MACHINE EM_X86_64
#define OTHER_MACHINE 183 /* EM_AARCH64 */
#define OTHER_NAME "arm64"
#define HOST_NAME "x86_64"
#endif

static void test_plugin_built_for_another_architecture_is_refused_naming_both(void **state)
{
    unsigned char elf[64] = {0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1};
    FILE *f = fopen("notes.so", "wb");
    (void)state;
    elf[16] = 3; /* ET_DYN */
    elf[18] = OTHER_MACHINE;
    assert_non_null(f);
    assert_int_equal(fwrite(elf, 1, sizeof elf, f), sizeof elf);
    assert_int_equal(fclose(f), 0);
    expect_refusal("notes.so", "cannot load plugin \"notes.so\": it was built for " OTHER_NAME
                               ", this host runs on " HOST_NAME " (hint: rebuild the plugin for "
                               HOST_NAME ")");
}

/* The ELF header of a 64-bit shared object for this host, whose section headers are said to
 * be at shoff, written as notes.so cut to its first len bytes. */
static void write_elf_header(uint64_t shoff, size_t len)
{
    Elf64_Ehdr h;
    FILE *f = fopen("notes.so", "wb");
    memset(&h, 0, sizeof h);
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = ELFDATA2LSB; /* x86_64 and arm64 alike */
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = ET_DYN;
    h.e_machine = HOST_MACHINE;
    h.e_version = EV_CURRENT;
    h.e_ehsize = sizeof h;
    h.e_shoff = shoff;
    h.e_shentsize = sizeof(Elf64_Shdr);
    h.e_shnum = 20;
    assert_non_null(f);
    assert_int_equal(fwrite(&h, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

#define HINT_CUT "(hint: rebuild the plugin, or copy it again if the copy was cut short)"

static void test_elf_file_cut_short_inside_its_header_is_refused_as_too_short(void **state)
{
    (void)state;
    write_elf_header(4096, 40);
    expect_refusal("notes.so", "cannot load plugin \"notes.so\": file too short " HINT_CUT);
}

/* An offset the file does not reach is read as nothing, never past the file's end. */
static void test_elf_file_whose_section_headers_lie_past_its_end_is_refused(void **state)
{
    (void)state;
    write_elf_header(UINT64_MAX - 64, sizeof(Elf64_Ehdr));
    expect_refusal("notes.so", "cannot load plugin \"notes.so\": its section headers lie outside "
                               "the file " HINT_CUT);
    write_elf_header(sizeof(Elf64_Ehdr), sizeof(Elf64_Ehdr));
    expect_refusal("notes.so", "cannot load plugin \"notes.so\": its section headers lie outside "
                               "the file " HINT_CUT);
}

static void test_closing_a_refused_or_empty_plugin_is_harmless(void **state)
{
    loader_plugin p;
    char err[64];
    (void)state;
    assert_false(loader_open("absent.so", &p, err, sizeof err));
    loader_close(&p);
    loader_close(&p);
    loader_close(NULL);
}

/* A refusal that does not fit the caller's buffer is cut, never overflowed. */
static void test_refusal_is_truncated_to_the_buffer_given(void **state)
{
    loader_plugin p;
    char err[16];
    memset(err, 'x', sizeof err);
    (void)state;
    assert_false(loader_open("absent.so", &p, err, 8));
    assert_string_equal(err, "cannot ");
    assert_int_equal(err[8], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_plugin_file_is_refused_with_the_system_reason,
                                        scratch_enter, scratch_leave),
        cmocka_unit_test_setup_teardown(test_bare_name_is_looked_up_in_the_current_directory_only,
                                        scratch_enter, scratch_leave),
        cmocka_unit_test_setup_teardown(test_file_that_is_not_a_shared_object_is_refused,
                                        scratch_enter, scratch_leave),
        cmocka_unit_test_setup_teardown(
            test_plugin_built_for_another_architecture_is_refused_naming_both, scratch_enter,
            scratch_leave),
        cmocka_unit_test_setup_teardown(
            test_elf_file_cut_short_inside_its_header_is_refused_as_too_short, scratch_enter,
            scratch_leave),
        cmocka_unit_test_setup_teardown(
            test_elf_file_whose_section_headers_lie_past_its_end_is_refused, scratch_enter,
            scratch_leave),
        cmocka_unit_test_setup_teardown(test_closing_a_refused_or_empty_plugin_is_harmless,
                                        scratch_enter, scratch_leave),
        cmocka_unit_test_setup_teardown(test_refusal_is_truncated_to_the_buffer_given,
                                        scratch_enter, scratch_leave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
