/* output.h - keeps the batch response on a line of its own under `--invoke`: a plugin's
 * unfinished last line (no newline) is ended before the response is printed. To know it, a
 * regular file is read back; a pipe or a terminal gets the plugins' output through a pipe
 * that a thread copies on as it comes, in order, noting the last byte. */
#ifndef DDBHOST_OUTPUT_H
#define DDBHOST_OUTPUT_H

#include <stdbool.h>

typedef struct output output;

/* Starts watching standard output. NULL when there is nothing to watch (it is /dev/null) or
 * a pipe or thread cannot be had; standard output is then left as it was. */
output *output_begin(void);

/* Restores standard output, passes on whatever is still in the pipe, and ends an unfinished
 * line. After it, what is printed on stdout starts a line of its own. NULL is ignored. */
void output_end(output *o);

#endif
