/* symbols.c - lists the dynamic symbols a file defines by running nm and keeping the last
 * word of each line (nm prints "ADDRESS TYPE NAME"). */
#include "symbols.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

bool symbols_defined(const char *file, symbols *out)
{
    const char *argv[] = {DDB_NM, "-D", "--defined-only", file, NULL};
    run_output r;
    run_lines lines;
    memset(out, 0, sizeof *out);
    if (!run_program(argv, NULL, &r)) return false;
    if (r.status != 0) {
        fprintf(stderr, "%s failed on %s: %s", DDB_NM, file, r.err);
        run_output_free(&r);
        return false;
    }
    run_split_lines(r.out, r.out_len, &lines);
    out->name = calloc(lines.count ? lines.count : 1, sizeof *out->name);
    for (size_t i = 0; out->name && i < lines.count; i++) {
        const char *word = strrchr(lines.line[i], ' ');
        word = word ? word + 1 : lines.line[i];
        if (!*word) continue;
        out->name[out->count++] = strndup(word, strcspn(word, "@"));
    }
    run_lines_free(&lines);
    run_output_free(&r);
    return out->name != NULL;
}

bool symbols_has(const symbols *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->name[i], name) == 0) return true;
    return false;
}

void symbols_free(symbols *s)
{
    for (size_t i = 0; i < s->count; i++) free(s->name[i]);
    free(s->name);
    memset(s, 0, sizeof *s);
}
