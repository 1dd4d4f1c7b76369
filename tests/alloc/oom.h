/* oom.h - the allocation-failure switch of the alloc suite. The suite's executable is linked
 * with --wrap for malloc, calloc, realloc, strdup and strndup, so every such call made by the
 * host sources and json-c compiled into it passes through oom.c, which counts the calls and
 * makes the k-th one fail. Calls made by the C library itself are neither counted nor failed. */
#ifndef DDBTEST_OOM_H
#define DDBTEST_OOM_H

#include <stdbool.h>

/* Starts counting from zero. Call number k (from 1) fails, and with persistent every call
 * after it fails too; k = 0 only counts. */
void oom_arm(unsigned long k, bool persistent);
/* Stops counting and failing; returns how many calls were counted since oom_arm. */
unsigned long oom_disarm(void);
/* While held, calls are neither counted nor failed: for code that cannot survive a failure
 * and is not under test. */
void oom_hold(bool hold);
/* Whether a call has failed since the last oom_arm. */
bool oom_fired(void);
/* The return address of the first call that failed since the last oom_arm (NULL if none):
 * where the code under test asked for the memory it did not get. */
const void *oom_fired_at(void);

#endif
