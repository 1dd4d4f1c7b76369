/* symbols.h - the dynamic symbols a shared object or executable defines, as `nm -D
 * --defined-only` lists them: what another object could bind to. Shared by the header and
 * export tests; knows nothing of which symbols are allowed. */
#ifndef DDBTEST_SYMBOLS_H
#define DDBTEST_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct symbols {
    char **name;  /* without the "@VERSION" suffix; owned */
    size_t count;
} symbols;

/* Runs nm (the path in DDB_NM) on file. False, with nm's complaint on stderr, when nm
 * cannot read the file. */
bool symbols_defined(const char *file, symbols *out);
bool symbols_has(const symbols *s, const char *name);
void symbols_free(symbols *s);

#endif
