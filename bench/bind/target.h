/* target.h - the function the binding benchmark binds, and the direct plugin calls. */
#ifndef DDBBENCH_TARGET_H
#define DDBBENCH_TARGET_H

#include <stdint.h>

int bill(const char *customer, int64_t cents, double price);
uint64_t bill_sum(void);

#endif
