/* run.h - runs a program the way a user would and captures what they would see: its exit
 * status, stdout and stderr. Shared by the end-to-end suites (tests/cli, tests/conformance),
 * which drive the real ddbhost binary; it knows nothing of ddbhost itself. */
#ifndef DDBTEST_RUN_H
#define DDBTEST_RUN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct run_output {
    int status;      /* exit status 0..255; 128 + signal number when killed by a signal */
    char *out;       /* stdout, NUL-terminated; owned: free with run_output_free() */
    size_t out_len;
    char *err;       /* stderr, same */
    size_t err_len;
} run_output;

/* Runs argv[0] (a path) with argv (NULL-terminated) and waits for it. stdin comes from the
 * file stdin_path, or /dev/null when NULL. Returns false (and says why on stderr) only when
 * the program could not be started or its output not read.
 * When argv[0]'s file name is "ddbhost" and the environment has DDB_HOST_WRAPPER (words split
 * at spaces, the first looked up in PATH), the wrapper runs it instead: `make memcheck` sets
 * DDB_HOST_WRAPPER="valgrind --error-exitcode=99 ...". */
bool run_program(const char *const argv[], const char *stdin_path, run_output *r);
void run_output_free(run_output *r);

/* Text cut into lines at '\n'. A final line without '\n' is still a line, and
 * ends_with_newline says whether the text ended with one. */
typedef struct run_lines {
    char **line;     /* NUL-terminated, without the '\n'; owned */
    size_t count;
    bool ends_with_newline;
} run_lines;

void run_split_lines(const char *text, size_t len, run_lines *out);
void run_lines_free(run_lines *l);

/* Makes a fresh directory $TMPDIR/PREFIX-XXXXXX (/tmp without TMPDIR) and puts its path
 * in out; false when it cannot. */
bool run_make_tmpdir(char *out, size_t cap, const char *prefix);
/* Removes path and everything below it (symbolic links are not followed); 0 on success. */
int run_remove_tree(const char *path);

/* Reads a whole file; NUL-terminated, owned by the caller (free()). NULL when unreadable. */
char *run_read_file(const char *path, size_t *len);
/* Writes text to path; false when it cannot. */
bool run_write_file(const char *path, const char *text);

#endif
