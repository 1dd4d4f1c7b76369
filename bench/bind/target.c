/* target.c - the library the binding benchmark calls: one plain exported function of three
 * arguments (no ddbhost header), doing as little as a function can, so that what is measured
 * is the cost of reaching it. The direct plugin calls the same function. */
#include <stdint.h>

#include "target.h"

static uint64_t target_sum; /* keeps the calls from being optimised away */

__attribute__((visibility("default"))) int bill(const char *customer, int64_t cents, double price)
{
    target_sum += (uint64_t)cents + (uint64_t)(unsigned char)customer[0] + (uint64_t)(price > 0);
    return 0;
}

__attribute__((visibility("default"))) uint64_t bill_sum(void) { return target_sum; }
