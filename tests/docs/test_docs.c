/* test_docs.c - every command the docs show with its output is run, and must print what the
 * doc shows, so that README.md and docs/NAME.md cannot drift from the binary. A fenced block
 * with "$ " lines is run unless an HTML comment just above it says why not
 * (<!-- not run: REASON -->). Other comments just above a block: <!-- file: PATH --> saves
 * it as PATH; <!-- stdout of: COMMAND --> and <!-- stderr of: COMMAND --> say that it is what
 * COMMAND prints there, for a doc that shows the two apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

/* The Markdown files whose blocks are run, relative to the source tree: these two, and every
 * docs/NAME.md, found when the test runs so that a new doc is checked too. */
static const char *const docs_fixed[] = {"README.md", "bench/README.md"};

/* A fenced block of a doc: its lines between the fences, and what the comment above it says. */
typedef struct docs_block {
    size_t line;            /* 1-based line of the opening fence */
    run_lines body;
    char *not_run;          /* the reason of <!-- not run: ... -->, or NULL */
    char *file;             /* the path of <!-- file: ... -->, or NULL */
    char *stdout_of;        /* the command of <!-- stdout of: ... -->, or NULL */
    char *stderr_of;        /* the command of <!-- stderr of: ... -->, or NULL */
} docs_block;

typedef struct docs_file {
    char *name;             /* relative to the source tree, e.g. "docs/CLI.md" */
    docs_block *block;
    size_t count;
    char *error;            /* a malformed marker or fence, or NULL */
} docs_file;

static char *docs_strndup_trim(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return strndup(s, n);
}

/* The value of <!-- KEY: VALUE --> when line is exactly such a comment, else NULL. */
static char *docs_marker(const char *line, const char *key)
{
    size_t k = strlen(key), n;
    if (strncmp(line, "<!-- ", 5) != 0 || strncmp(line + 5, key, k) != 0 || line[5 + k] != ':')
        return NULL;
    line += 5 + k + 1;
    n = strlen(line);
    if (n < 3 || strcmp(line + n - 3, "-->") != 0) return NULL;
    return docs_strndup_trim(line, n - 3);
}

/* Trailing blanks are not compared: a doc cannot show them (editors strip them), and make
 * prints one after an empty $(LDFLAGS). */
static void docs_rstrip_lines(run_lines *l)
{
    for (size_t i = 0; i < l->count; i++) {
        size_t n = strlen(l->line[i]);
        while (n && (l->line[i][n - 1] == ' ' || l->line[i][n - 1] == '\t')) l->line[i][--n] = '\0';
    }
}

static bool docs_is_fence(const char *line)
{
    return strncmp(line, "```", 3) == 0;
}

static void docs_file_free(docs_file *f)
{
    for (size_t i = 0; i < f->count; i++) {
        run_lines_free(&f->block[i].body);
        free(f->block[i].not_run);
        free(f->block[i].file);
        free(f->block[i].stdout_of);
        free(f->block[i].stderr_of);
    }
    free(f->block);
    free(f->name);
    free(f->error);
}

static void docs_fail_parse(docs_file *f, size_t line, const char *what)
{
    if (f->error) return;
    f->error = malloc(strlen(f->name) + strlen(what) + 32);
    sprintf(f->error, "%s:%zu: %s", f->name, line, what);
}

/* Cuts a Markdown file into its fenced blocks, each with the marker comment (if any) on the
 * last non-blank line above its opening fence. */
static void docs_parse(const char *name, docs_file *f)
{
    char path[4096];
    size_t len;
    run_lines lines;
    char *text;
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    snprintf(path, sizeof path, "%s/%s", DDB_SOURCE_DIR, name);
    text = run_read_file(path, &len);
    assert_non_null(text);
    run_split_lines(text, len, &lines);
    docs_rstrip_lines(&lines);
    free(text);
    for (size_t i = 0; i < lines.count; i++) {
        const char *l = lines.line[i];
        char *not_run = docs_marker(l, "not run"), *file = docs_marker(l, "file");
        char *stdout_of = docs_marker(l, "stdout of"), *stderr_of = docs_marker(l, "stderr of");
        size_t open = i, end;
        docs_block *b;
        if (not_run || file || stdout_of || stderr_of) { /* for the next block; blank lines between */
            size_t next = i + 1;
            while (next < lines.count && lines.line[next][0] == '\0') next++;
            if (next == lines.count || !docs_is_fence(lines.line[next]))
                docs_fail_parse(f, i + 1, "a marker comment that is not just above a ``` block");
            else if (not_run && !*not_run)
                docs_fail_parse(f, i + 1, "<!-- not run: --> without a reason");
            if (f->error) {
                free(not_run), free(file), free(stdout_of), free(stderr_of);
                continue;
            }
            open = next;
        } else if (!docs_is_fence(l)) {
            continue;
        }
        for (end = open + 1; end < lines.count && !docs_is_fence(lines.line[end]); end++) {}
        if (end == lines.count) {
            docs_fail_parse(f, open + 1, "a ``` block that is never closed");
            free(not_run), free(file), free(stdout_of), free(stderr_of);
            break;
        }
        f->block = realloc(f->block, (f->count + 1) * sizeof *f->block);
        b = &f->block[f->count++];
        b->line = open + 1;
        b->not_run = not_run;
        b->file = file;
        b->stdout_of = stdout_of;
        b->stderr_of = stderr_of;
        b->body.count = end - open - 1;
        b->body.line = calloc(b->body.count + 1, sizeof *b->body.line);
        for (size_t k = 0; k < b->body.count; k++) b->body.line[k] = strdup(lines.line[open + 1 + k]);
        i = end;
    }
    run_lines_free(&lines);
}

static bool docs_is_command(const char *line)
{
    return strncmp(line, "$ ", 2) == 0;
}

static bool docs_has_command(const docs_block *b)
{
    for (size_t i = 0; i < b->body.count; i++)
        if (docs_is_command(b->body.line[i])) return true;
    return false;
}

/* Does text match pattern, where each "..." in pattern stands for any text? */
static bool docs_line_matches(const char *pattern, const char *text)
{
    const char *gap = strstr(pattern, "...");
    size_t n;
    if (!gap) return strcmp(pattern, text) == 0;
    n = (size_t)(gap - pattern);
    if (strncmp(pattern, text, n) != 0) return false;
    pattern = gap + 3;
    text += n;
    for (;;) { /* "..." then the next piece, found as early as it can be, then the rest */
        const char *next = strstr(pattern, "...");
        size_t piece = next ? (size_t)(next - pattern) : strlen(pattern);
        if (!next) {
            size_t t = strlen(text);
            return t >= piece && strcmp(text + t - piece, pattern) == 0;
        }
        char *want = strndup(pattern, piece);
        const char *at = strstr(text, want);
        free(want);
        if (!at) return false;
        text = at + piece;
        pattern = next + 3;
    }
}

/* The lines a doc shows after a command against what it printed: stdout and stderr each in
 * their order, interleaved in any way (a terminal shows them as they come); a line that is
 * only "..." stands for any number of lines. memo[(i * (no + 1) + j) * (ne + 1) + k] caches
 * "shown[i..] matches out[j..] and err[k..]": 0 unknown, 1 no, 2 yes. */
typedef struct docs_match {
    char *const *shown;
    size_t ns;
    const run_lines *out, *err;
    unsigned char *memo;
} docs_match;

static bool docs_match_from(docs_match *m, size_t i, size_t j, size_t k)
{
    size_t no = m->out->count, ne = m->err->count;
    unsigned char *memo = &m->memo[(i * (no + 1) + j) * (ne + 1) + k];
    bool ok;
    if (*memo) return *memo == 2;
    if (i == m->ns) {
        ok = j == no && k == ne;
    } else if (strcmp(m->shown[i], "...") == 0) {
        ok = docs_match_from(m, i + 1, j, k) || (j < no && docs_match_from(m, i, j + 1, k)) ||
             (k < ne && docs_match_from(m, i, j, k + 1));
    } else {
        ok = (j < no && docs_line_matches(m->shown[i], m->out->line[j]) && docs_match_from(m, i + 1, j + 1, k)) ||
             (k < ne && docs_line_matches(m->shown[i], m->err->line[k]) && docs_match_from(m, i + 1, j, k + 1));
    }
    *memo = ok ? 2 : 1;
    return ok;
}

static bool docs_output_matches(char *const *shown, size_t ns, const run_lines *out, const run_lines *err)
{
    docs_match m = {shown, ns, out, err, NULL};
    bool ok;
    m.memo = calloc((ns + 1) * (out->count + 1) * (err->count + 1), 1);
    assert_non_null(m.memo);
    ok = docs_match_from(&m, 0, 0, 0);
    free(m.memo);
    return ok;
}

/* Where a doc's commands run: a fresh directory that stands for the top of the source tree,
 * with a copy of examples/ (commands may write there), plugin-api/ linked, and build/ a
 * link to this build (so that build/bin/ddbhost, build/plugins/echo.so and the manifests'
 * "../build/..." paths are this build's); and the directory the last command left the shell
 * in, since "$ cd DIR && ..." holds for the lines after it in its block. */
typedef struct docs_workdir {
    char root[4096];        /* removed at the end */
    char work[4200];        /* where the first command runs */
    char cwd[4200];
} docs_workdir;

static void docs_workdir_make(docs_workdir *w)
{
    char link[4300];
    run_output r;
    assert_true(run_make_tmpdir(w->root, sizeof w->root, "ddbhost-docs"));
    snprintf(w->work, sizeof w->work, "%s/work", w->root);
    assert_int_equal(mkdir(w->work, 0755), 0);
    snprintf(link, sizeof link, "%s/build", w->work);
    assert_int_equal(symlink(DDB_BINARY_DIR, link), 0);
    snprintf(link, sizeof link, "%s/plugin-api", w->work);
    assert_int_equal(symlink(DDB_SOURCE_DIR "/plugin-api", link), 0);
    assert_true(run_program((const char *const[]){"/bin/cp", "-R", DDB_SOURCE_DIR "/examples", w->work, NULL},
                            NULL, &r));
    assert_int_equal(r.status, 0);
    run_output_free(&r);
    strcpy(w->cwd, w->work);
}

/* Single-quoted for sh. */
static void docs_sh_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("'\\''", f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

/* Runs command under sh in w->cwd and leaves w->cwd where the command left it. */
static void docs_run(docs_workdir *w, const char *command, run_output *r)
{
    char state[4300], *script = NULL, *cwd;
    size_t len = 0;
    FILE *f = open_memstream(&script, &len);
    snprintf(state, sizeof state, "%s/cwd", w->root);
    fputs("cd ", f);
    docs_sh_quote(f, w->cwd);
    fprintf(f, " || exit 99\n%s\nstatus=$?\npwd > ", command);
    docs_sh_quote(f, state);
    fputs("\nexit $status\n", f);
    fclose(f);
    assert_true(run_program((const char *const[]){"/bin/sh", "-c", script, NULL}, NULL, r));
    free(script);
    cwd = run_read_file(state, &len);
    if (cwd && len > 1 && cwd[len - 1] == '\n') {
        cwd[len - 1] = '\0';
        snprintf(w->cwd, sizeof w->cwd, "%s", cwd);
    }
    free(cwd);
}

/* Does a command line go on to the next one (a trailing backslash)? */
static bool docs_continues(const char *line)
{
    size_t n = strlen(line);
    return n && line[n - 1] == '\\';
}

static void docs_print_lines(const char *title, char *const *line, size_t n)
{
    print_error("  %s:\n", title);
    for (size_t i = 0; i < n; i++) print_error("    |%s\n", line[i]);
}

/* Runs every command of block b (a command is a "$ " line and the lines its trailing "\"
 * continues onto; what follows it up to the next command is its output as shown). Returns
 * how many commands printed something else than shown, saying for each what and where. */
static int docs_run_block(docs_workdir *w, const char *doc, const docs_block *b)
{
    int wrong = 0;
    size_t i = 0;
    if (!docs_is_command(b->body.line[0])) {
        print_error("%s:%zu: a block with commands must start with one (\"$ ...\")\n", doc, b->line);
        return 1;
    }
    while (i < b->body.count) {
        size_t first = i, shown;
        char *command = NULL;
        size_t clen = 0;
        FILE *f = open_memstream(&command, &clen);
        run_output r;
        run_lines out, err;
        fputs(b->body.line[i] + 2, f);
        while (i + 1 < b->body.count && docs_continues(b->body.line[i]))
            fprintf(f, "\n%s", b->body.line[++i]);
        fclose(f);
        shown = ++i;
        while (i < b->body.count && !docs_is_command(b->body.line[i])) i++;
        docs_run(w, command, &r);
        run_split_lines(r.out, r.out_len, &out);
        run_split_lines(r.err, r.err_len, &err);
        docs_rstrip_lines(&out);
        docs_rstrip_lines(&err);
        if (!docs_output_matches(b->body.line + shown, i - shown, &out, &err)) {
            print_error("%s:%zu: the command does not print what the doc shows\n  $ %s\n", doc,
                        b->line + 1 + first, command);
            docs_print_lines("the doc shows", b->body.line + shown, i - shown);
            docs_print_lines("stdout", out.line, out.count);
            docs_print_lines("stderr", err.line, err.count);
            print_error("  exit status %d\n", r.status);
            wrong++;
        }
        run_lines_free(&out);
        run_lines_free(&err);
        run_output_free(&r);
        free(command);
    }
    return wrong;
}

/* Runs the command of <!-- stdout of: --> or <!-- stderr of: --> and compares block b with
 * that stream alone. 1 when it differs (and says how), else 0. */
static int docs_run_stream_block(docs_workdir *w, const char *doc, const docs_block *b)
{
    const char *command = b->stdout_of ? b->stdout_of : b->stderr_of;
    const char *stream = b->stdout_of ? "stdout" : "stderr";
    run_output r;
    run_lines got, none = {0};
    int wrong = 0;
    strcpy(w->cwd, w->work);
    docs_run(w, command, &r);
    if (b->stdout_of) run_split_lines(r.out, r.out_len, &got);
    else run_split_lines(r.err, r.err_len, &got);
    docs_rstrip_lines(&got);
    if (!docs_output_matches(b->body.line, b->body.count, &got, &none)) {
        print_error("%s:%zu: the block is not what %s prints on %s\n  $ %s\n", doc, b->line, command, stream, command);
        docs_print_lines("the doc shows", b->body.line, b->body.count);
        docs_print_lines(stream, got.line, got.count);
        if (b->stdout_of) docs_print_lines("stderr (not compared)", (char *[]){r.err}, 1);
        print_error("  exit status %d\n", r.status);
        wrong = 1;
    }
    run_lines_free(&got);
    run_output_free(&r);
    return wrong;
}

static void docs_save_block(const docs_workdir *w, const docs_block *b)
{
    char path[8400], *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (size_t i = 0; i < b->body.count; i++) fprintf(f, "%s\n", b->body.line[i]);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s", w->work, b->file);
    assert_true(run_write_file(path, text));
    free(text);
}

/* A command's environment is a user's plain shell: nothing that changes what make, cc or
 * strerror print, no Lambda, and the usual umask (with 0, a plugin that cc writes would be
 * writable by others, and the host would rightly refuse it). */
static void docs_plain_environment(void)
{
    static const char *const unset[] = {
        "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "CC", "CFLAGS", "CPPFLAGS",
        "LDFLAGS", "LDLIBS", "AWS_LAMBDA_RUNTIME_API", "DDBHOST_MANIFEST", "_HANDLER",
        "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "DDB_HOST_WRAPPER"};
    for (size_t i = 0; i < sizeof unset / sizeof *unset; i++) unsetenv(unset[i]);
    setenv("LC_ALL", "C", 1);
    umask(022);
}

/* state: the doc's name. Each of its blocks, in order and in one working directory, is saved
 * (file:), skipped (not run:) or run. */
static void test_every_command_in_the_doc_prints_what_the_doc_shows(void **state)
{
    const char *name = *state;
    docs_file f;
    docs_workdir w;
    int wrong = 0, ran = 0;
    docs_parse(name, &f);
    if (f.error) print_error("%s\n", f.error);
    assert_null(f.error);
    docs_workdir_make(&w);
    for (size_t i = 0; i < f.count; i++) {
        const docs_block *b = &f.block[i];
        if (b->not_run) continue;
        if (b->file) docs_save_block(&w, b);
        else if (b->stdout_of || b->stderr_of) wrong += docs_run_stream_block(&w, name, b), ran++;
        else if (docs_has_command(b)) {
            strcpy(w.cwd, w.work);
            wrong += docs_run_block(&w, name, b);
            ran++;
        }
    }
    run_remove_tree(w.root);
    if (wrong) print_error("%s: %d command%s of %d block%s print%s something else than the doc shows\n",
                           name, wrong, wrong == 1 ? "" : "s", ran, ran == 1 ? "" : "s", wrong == 1 ? "s" : "");
    docs_file_free(&f);
    assert_int_equal(wrong, 0);
}

/* The matcher itself: without it a doc could be wrong and the test still pass. */
static void test_an_elision_stands_for_any_text_and_nothing_else_does(void **state)
{
    (void)state;
    assert_true(docs_line_matches("a", "a"));
    assert_false(docs_line_matches("a", "ab"));
    assert_true(docs_line_matches("{\"id\":\"...\",\"n\":1}", "{\"id\":\"x1\",\"n\":1}"));
    assert_false(docs_line_matches("{\"id\":\"...\",\"n\":1}", "{\"id\":\"x1\",\"n\":2}"));
    assert_true(docs_line_matches("a...b...c", "a12b34c"));
    assert_true(docs_line_matches("...}}", "{{}}}"));
    assert_false(docs_line_matches("a...a", "a"));
    assert_true(docs_line_matches("9.99...E+125", "9.99...E+125"));

    char *shown[] = {"out 1", "err 1", "...", "out 3"};
    run_lines out, err;
    run_split_lines("out 1\nout 2\nout 3\n", 18, &out);
    run_split_lines("err 1\n", 6, &err);
    assert_true(docs_output_matches(shown, 4, &out, &err));
    assert_false(docs_output_matches(shown, 2, &out, &err)); /* "out 2" and "out 3" unshown */
    char *swapped[] = {"out 2", "out 1", "..."};
    assert_false(docs_output_matches(swapped, 3, &out, &err)); /* stdout's order is kept */
    assert_false(docs_output_matches(shown, 0, &out, &err));
    run_lines_free(&out);
    run_lines_free(&err);
}

static int docs_by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    char *names[64];
    size_t n = 0;
    DIR *d = opendir(DDB_SOURCE_DIR "/docs");
    struct dirent *e;
    struct CMUnitTest tests[65];
    static char titles[64][160];
    int failed;

    docs_plain_environment();
    for (size_t i = 0; i < sizeof docs_fixed / sizeof *docs_fixed; i++) names[n++] = strdup(docs_fixed[i]);
    if (!d) {
        fprintf(stderr, "test_docs: cannot open %s/docs\n", DDB_SOURCE_DIR);
        return 1;
    }
    while ((e = readdir(d)) != NULL && n < 64) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".md") == 0) {
            names[n] = malloc(len + 6);
            sprintf(names[n++], "docs/%s", e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, docs_by_name);

    tests[0] = (struct CMUnitTest)cmocka_unit_test(test_an_elision_stands_for_any_text_and_nothing_else_does);
    for (size_t i = 0; i < n; i++) {
        snprintf(titles[i], sizeof titles[i], "every command in %s prints what it shows", names[i]);
        tests[i + 1] = (struct CMUnitTest){titles[i], test_every_command_in_the_doc_prints_what_the_doc_shows,
                                           NULL, NULL, names[i]};
    }
    failed = _cmocka_run_group_tests("docs", tests, n + 1, NULL, NULL);
    for (size_t i = 0; i < n; i++) free(names[i]);
    return failed;
}
