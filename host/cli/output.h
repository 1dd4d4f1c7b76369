/* output.h - keeps the batch response on a line of its own under `--invoke`: while plugins
 * run, standard output goes through a pipe that a thread copies to the real one, noting the
 * last byte, so that a plugin's unfinished last line (no newline) is ended before the
 * response is printed. Plugin output is passed on as it comes, in order. */
#ifndef DDBHOST_OUTPUT_H
#define DDBHOST_OUTPUT_H

#include <stdbool.h>

typedef struct output output;

/* Starts passing standard output through. NULL when a pipe or thread cannot be had (errno
 * says why); standard output is then left as it was. */
output *output_begin(void);

/* Restores standard output, passes on whatever is still in the pipe, and ends an unfinished
 * line. After it, what is printed on stdout starts a line of its own. NULL is ignored. */
void output_end(output *o);

#endif
