/* sys.h - what the host asks of the operating system beyond plain calls: a whole file read
 * into memory, and the clock that times things. One of each for every module. */
#ifndef DDBHOST_SYS_H
#define DDBHOST_SYS_H

#include <stddef.h>

/* Reads the whole file at path ("-": standard input) into a buffer with one spare writable
 * byte after the data, NUL (the event decoder works in place and needs buf[len]). Owned by
 * the caller: free(). NULL with errno set when it cannot be read. */
char *sys_read_file(const char *path, size_t *len);

/* Milliseconds on the monotonic clock, for durations (never for dates). */
double sys_monotonic_ms(void);

#endif
