/* arena.h - bump allocation for one event's decoded values, reset between events.
 * Memory is kept across resets, so a runtime loop decoding event after event stops
 * allocating once it has seen its largest event. */
#ifndef DDBHOST_ARENA_H
#define DDBHOST_ARENA_H

#include <stddef.h>

typedef struct arena arena;

arena *arena_new(void);
void arena_free(arena *a);
/* 16-byte aligned, uninitialised; NULL when out of memory. Valid until arena_reset. */
void *arena_alloc(arena *a, size_t size);
/* Forgets every allocation; keeps the memory (merged into one block) for the next event. */
void arena_reset(arena *a);
/* Bytes reserved from the system, for tests and benchmarks. */
size_t arena_reserved(const arena *a);

#endif
