/* test_manpage.c - docs/ddbhost.1 and docs/CLI.md kept in step with `ddbhost --help`: every
 * command and every option that --help names is documented in both, the man page's header
 * names the version that --version prints, and the man page renders without a warning.
 * (tests/docs runs the commands that CLI.md shows, --help and --version among them.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

#define MANPAGE DDB_SOURCE_DIR "/docs/ddbhost.1"
#define CLI_MD DDB_SOURCE_DIR "/docs/CLI.md"

/* The man page as a reader sees its words: troff's \- is a -. */
static char *manpage_text(void)
{
    size_t len;
    char *text = run_read_file(MANPAGE, &len), *out = text;
    assert_non_null(text);
    for (const char *p = text; *p; p++) {
        if (p[0] == '\\' && p[1] == '-') p++;
        *out++ = *p;
    }
    *out = '\0';
    return text;
}

/* Calls check(word) for each option ("--name") and each command (the word after
 * "ddbhost " at the start of a usage line) in `ddbhost --help`. */
static void manpage_help_words(void (*check)(const char *word, void *ctx), void *ctx)
{
    run_output r;
    run_lines lines;
    assert_true(run_program((const char *const[]){DDB_HOST_BIN, "--help", NULL}, NULL, &r));
    assert_int_equal(r.status, 0);
    for (const char *p = r.out; (p = strstr(p, "--")) != NULL;) {
        char word[64];
        size_t n = 2;
        while (n < sizeof word - 1 && (islower((unsigned char)p[n]) || p[n] == '-')) n++;
        memcpy(word, p, n);
        word[n] = '\0';
        if (n > 2) check(word, ctx);
        p += n;
    }
    run_split_lines(r.out, r.out_len, &lines);
    for (size_t i = 0; i < lines.count; i++) {
        char word[64];
        if (sscanf(lines.line[i], " ddbhost %63[a-z]", word) == 1) check(word, ctx);
    }
    run_lines_free(&lines);
    run_output_free(&r);
}

static void manpage_expect_in(const char *word, void *ctx)
{
    const char **doc = ctx;
    if (!strstr(doc[1], word)) print_error("%s does not mention \"%s\", which ddbhost --help names\n", doc[0], word);
    assert_non_null(strstr(doc[1], word));
}

static void test_the_man_page_documents_every_command_and_option_of_help(void **state)
{
    (void)state;
    char *text = manpage_text();
    const char *doc[2] = {"docs/ddbhost.1", text};
    manpage_help_words(manpage_expect_in, doc);
    free(text);
}

static void test_cli_md_documents_every_command_and_option_of_help(void **state)
{
    (void)state;
    size_t len;
    char *text = run_read_file(CLI_MD, &len);
    const char *doc[2] = {"docs/CLI.md", text};
    assert_non_null(text);
    manpage_help_words(manpage_expect_in, doc);
    free(text);
}

static void test_the_man_page_names_the_version_that_version_prints(void **state)
{
    (void)state;
    run_output r;
    char want[128], *text = manpage_text();
    size_t n;
    assert_true(run_program((const char *const[]){DDB_HOST_BIN, "--version", NULL}, NULL, &r));
    assert_int_equal(r.status, 0);
    n = strcspn(r.out, " ");
    n += strcspn(r.out + n + 1, " (\n") + 1; /* "ddbhost 0.1.0" of "ddbhost 0.1.0 (plugin ABI 1.1)" */
    assert_true(n + 3 < sizeof want);
    snprintf(want, sizeof want, "\"%.*s\"", (int)n, r.out);
    if (!strstr(text, want)) print_error("docs/ddbhost.1's .TH line does not name %s\n", want);
    assert_non_null(strstr(text, want));
    run_output_free(&r);
    free(text);
}

static void test_the_man_page_renders_without_warnings(void **state)
{
    (void)state;
    run_output r;
    if (access("/usr/bin/groff", X_OK) != 0) skip(); /* groff-base is not installed */
    assert_true(run_program((const char *const[]){"/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z", MANPAGE, NULL},
                            NULL, &r));
    if (r.status != 0 || r.err_len) print_error("groff:\n%s", r.err);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    run_output_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_man_page_documents_every_command_and_option_of_help),
        cmocka_unit_test(test_cli_md_documents_every_command_and_option_of_help),
        cmocka_unit_test(test_the_man_page_names_the_version_that_version_prints),
        cmocka_unit_test(test_the_man_page_renders_without_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
