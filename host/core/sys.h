/* sys.h - what the host asks of the operating system beyond plain calls: a whole file read
 * into memory, a whole buffer written, and the clock that times things. One of each for every module. */
#ifndef DDBHOST_SYS_H
#define DDBHOST_SYS_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the whole file at path ("-": standard input) into a buffer with one spare writable
 * byte after the data, NUL (the event decoder works in place and needs buf[len]). Owned by
 * the caller: free(). NULL with errno set when it cannot be read. */
char *sys_read_file(const char *path, size_t *len);

/* Writes all n bytes at p to fd, through short writes and EINTR; false when fd fails
 * (errno says why). */
bool sys_write_all(int fd, const void *p, size_t n);

/* Milliseconds on the monotonic clock, for durations (never for dates). */
double sys_monotonic_ms(void);

#endif
