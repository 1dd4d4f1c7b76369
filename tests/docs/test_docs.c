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
#include <json-c/json.h>
#include <stdint.h>
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

/* ---- every manifest the docs show deploys within Lambda's limits ------------------------- */

/* A property of a DynamoDB event source mapping as Lambda documents it (the
 * CreateEventSourceMapping API and AWS::Lambda::EventSourceMapping): its JSON type and, for
 * integers, the range; -1 may stand alone below the range (MaximumRecordAgeInSeconds). */
typedef struct docs_property {
    const char *name;
    json_type type;
    int64_t min, max;
    bool minus_one;
} docs_property;

static const docs_property docs_properties[] = {
    {"Stream", json_type_object, 0, 0, false},
    {"StartingPosition", json_type_string, 0, 0, false},
    {"BatchSize", json_type_int, 1, 10000, false},
    {"MaximumBatchingWindowInSeconds", json_type_int, 0, 300, false},
    {"BisectBatchOnFunctionError", json_type_boolean, 0, 0, false},
    {"MaximumRetryAttempts", json_type_int, -1, 10000, false},
    {"MaximumRecordAgeInSeconds", json_type_int, 60, 604800, true},
    {"ParallelizationFactor", json_type_int, 1, 10, false},
    {"TumblingWindowInSeconds", json_type_int, 0, 900, false},
    {"FunctionResponseTypes", json_type_array, 0, 0, false},
    {"FilterCriteria", json_type_object, 0, 0, false},
    {"DestinationConfig", json_type_object, 0, 0, false},
};

/* One complaint about a property, counted. */
static int docs_limit_fail(const char *manifest, const char *event, const char *property,
                           const char *what)
{
    print_error("%s: event %s: %s: %s\n", manifest, event, property, what);
    return 1;
}

/* What Lambda checks beyond the type: the values of the string and structured properties. */
static int docs_check_value(const char *m, const char *ev, const char *name, json_object *v,
                            json_object *params)
{
    json_object *x;
    if (strcmp(name, "Stream") == 0)
        return json_object_object_get_ex(v, "Ref", &x) &&
                       json_object_object_get_ex(params, json_object_get_string(x), NULL)
                   ? 0 : docs_limit_fail(m, ev, name, "not a Ref to a parameter of the template");
    if (strcmp(name, "StartingPosition") == 0) {
        const char *s = json_object_get_string(v);
        return strcmp(s, "TRIM_HORIZON") == 0 || strcmp(s, "LATEST") == 0
                   ? 0 : docs_limit_fail(m, ev, name, "neither TRIM_HORIZON nor LATEST");
    }
    if (strcmp(name, "FunctionResponseTypes") == 0)
        return json_object_array_length(v) == 1 &&
                       strcmp(json_object_get_string(json_object_array_get_idx(v, 0)),
                              "ReportBatchItemFailures") == 0
                   ? 0 : docs_limit_fail(m, ev, name, "not [\"ReportBatchItemFailures\"]");
    if (strcmp(name, "FilterCriteria") == 0) {
        size_t n = json_object_object_get_ex(v, "Filters", &x) &&
                           json_object_is_type(x, json_type_array)
                       ? json_object_array_length(x) : 0;
        if (n < 1 || n > 10) return docs_limit_fail(m, ev, name, "not 1 to 10 Filters");
        for (size_t i = 0; i < n; i++) {
            json_object *p, *pattern;
            if (!json_object_object_get_ex(json_object_array_get_idx(x, i), "Pattern", &p) ||
                !json_object_is_type(p, json_type_string) || json_object_get_string_len(p) > 4096)
                return docs_limit_fail(m, ev, name, "a Pattern that is not text of at most 4096 characters");
            pattern = json_tokener_parse(json_object_get_string(p));
            bool object = pattern && json_object_is_type(pattern, json_type_object);
            json_object_put(pattern);
            if (!object) return docs_limit_fail(m, ev, name, "a Pattern that is not a JSON object");
        }
        return 0;
    }
    if (strcmp(name, "DestinationConfig") == 0) {
        json_object *on, *dest;
        if (!json_object_object_get_ex(v, "OnFailure", &on) ||
            !json_object_object_get_ex(on, "Destination", &dest))
            return docs_limit_fail(m, ev, name, "no OnFailure.Destination");
        if (json_object_object_get_ex(dest, "Fn::Sub", &x)) dest = x;
        const char *arn = json_object_get_string(dest);
        size_t len = strlen(arn);
        return len >= 12 && len <= 1024 &&
                       (strncmp(arn, "arn:", 4) == 0) &&
                       (strstr(arn, ":sqs:") || strstr(arn, ":sns:") || strstr(arn, ":s3:::"))
                   ? 0 : docs_limit_fail(m, ev, name, "not the ARN of an SQS queue, SNS topic or S3 bucket");
    }
    return 0;
}

/* Every property of every event of the template in text, by name, type and range. */
static int docs_check_template(const char *manifest, const char *text)
{
    json_object *t = json_tokener_parse(text), *params, *events, *x;
    int wrong = 0;
    if (!t || !json_object_object_get_ex(t, "Parameters", &params) ||
        !json_object_object_get_ex(t, "Resources", &x) ||
        !json_object_object_get_ex(x, "DdbhostFunction", &x) ||
        !json_object_object_get_ex(x, "Properties", &x) ||
        !json_object_object_get_ex(x, "Events", &events)) {
        json_object_put(t);
        return docs_limit_fail(manifest, "-", "-", "the template has no function with events");
    }
    json_object_object_foreach(events, ev, e) {
        json_object *type, *props;
        if (!json_object_object_get_ex(e, "Type", &type) ||
            strcmp(json_object_get_string(type), "DynamoDB") != 0 ||
            !json_object_object_get_ex(e, "Properties", &props)) {
            wrong += docs_limit_fail(manifest, ev, "Type", "not a DynamoDB event with Properties");
            continue;
        }
        json_object_object_foreach(props, name, v) {
            const docs_property *p = NULL;
            for (size_t i = 0; i < sizeof docs_properties / sizeof *docs_properties; i++)
                if (strcmp(docs_properties[i].name, name) == 0) p = &docs_properties[i];
            if (!p) {
                wrong += docs_limit_fail(manifest, ev, name, "not a property of a DynamoDB event");
                continue;
            }
            if (!json_object_is_type(v, p->type)) {
                wrong += docs_limit_fail(manifest, ev, name, "of the wrong JSON type");
                continue;
            }
            if (p->type == json_type_int) {
                int64_t n = json_object_get_int64(v);
                if (!((n >= p->min && n <= p->max) || (p->minus_one && n == -1)))
                    wrong += docs_limit_fail(manifest, ev, name, "out of Lambda's range");
            }
            wrong += docs_check_value(manifest, ev, name, v, params);
        }
        for (size_t i = 0; i < 8; i++) /* what the template always writes */
            if (!json_object_object_get_ex(props, docs_properties[i].name, NULL))
                wrong += docs_limit_fail(manifest, ev, docs_properties[i].name, "missing");
    }
    json_object_put(t);
    return wrong;
}

/* Creates, as empty files, the plugins a manifest names that the docs did not build, so that
 * the template (which loads none) can be made from any manifest they show. */
static void docs_touch_plugins(const char *dir, json_object *v)
{
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            docs_touch_plugins(dir, json_object_array_get_idx(v, i));
        return;
    }
    if (!json_object_is_type(v, json_type_object)) return;
    json_object_object_foreach(v, key, member) {
        if (strcmp(key, "plugin") == 0 && json_object_is_type(member, json_type_string)) {
            char path[8400];
            snprintf(path, sizeof path, "%s/%s", dir, json_object_get_string(member));
            if (access(path, F_OK) == 0) continue;
            for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                mkdir(path, 0755);
                *slash = '/';
            }
            assert_true(run_write_file(path, ""));
        } else {
            docs_touch_plugins(dir, member);
        }
    }
}

/* The template of one manifest file under w->work, checked; how many things are wrong, or
 * -1 when the file is no manifest or gives no template. */
static int docs_check_manifest(docs_workdir *w, const char *shown_as, const char *file)
{
    char path[8400], dir[8400];
    run_output r;
    snprintf(path, sizeof path, "%s/%s", w->work, file);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    json_object *m = json_object_from_file(path);
    if (!m || !json_object_object_get_ex(m, "tables", NULL)) { /* not a manifest */
        json_object_put(m);
        return -1;
    }
    docs_touch_plugins(dir, m);
    json_object_put(m);
    assert_true(run_program((const char *const[]){DDB_BINARY_DIR "/bin/ddbhost", "template", path, NULL},
                            NULL, &r));
    /* a manifest shown for its error, or one that routes only "*", has no template */
    int wrong = r.status == 0 ? docs_check_template(shown_as, r.out) : -1;
    run_output_free(&r);
    return wrong;
}

/* Each manifest a doc shows (a "file:" block with "tables") and each examples/NAME.json that is
 * one: the template made of it has only properties Lambda knows, each of its type, in range. */
static void test_every_manifest_shown_deploys_within_lambdas_limits(void **state)
{
    char *const *names = *state;
    docs_workdir w;
    int wrong = 0, checked = 0;
    docs_workdir_make(&w);
    for (size_t d = 0; names[d]; d++) {
        docs_file f;
        docs_parse(names[d], &f);
        assert_null(f.error);
        for (size_t i = 0; i < f.count; i++) {
            const docs_block *b = &f.block[i];
            size_t len = b->file ? strlen(b->file) : 0;
            if (len < 5 || strcmp(b->file + len - 5, ".json") != 0) continue;
            docs_save_block(&w, b);
            char shown_as[600];
            snprintf(shown_as, sizeof shown_as, "%s:%zu (%s)", names[d], b->line, b->file);
            int n = docs_check_manifest(&w, shown_as, b->file);
            if (n >= 0) wrong += n, checked++;
        }
        docs_file_free(&f);
    }
    DIR *ex = opendir(DDB_SOURCE_DIR "/examples");
    assert_non_null(ex);
    for (struct dirent *e; (e = readdir(ex)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char file[600];
        snprintf(file, sizeof file, "examples/%s", e->d_name);
        int n = docs_check_manifest(&w, file, file);
        if (n >= 0) wrong += n, checked++;
    }
    closedir(ex);
    run_remove_tree(w.root);
    print_message("%d manifests checked\n", checked);
    assert_true(checked >= 3); /* DEPLOY.md's, MANIFEST.md's and examples/manifest.json */
    assert_int_equal(wrong, 0);
}

static int docs_by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    char *names[65];
    size_t n = 0;
    DIR *d = opendir(DDB_SOURCE_DIR "/docs");
    struct dirent *e;
    struct CMUnitTest tests[66];
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
    names[n] = NULL;
    tests[n + 1] = (struct CMUnitTest){"every manifest the docs show deploys within Lambda's limits",
                                       test_every_manifest_shown_deploys_within_lambdas_limits,
                                       NULL, NULL, names};
    failed = _cmocka_run_group_tests("docs", tests, n + 2, NULL, NULL);
    for (size_t i = 0; i < n; i++) free(names[i]);
    return failed;
}
