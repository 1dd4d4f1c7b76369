/* billing.c - an ordinary C library, as a team may already have one: no ddbhost header and no
 * descriptor. manifest.json binds its functions to the Orders table's stream, and
 * docs/BINDINGS.md walks through it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BILLING_API __attribute__((visibility("default")))

/* Charges a customer; 0 on success, as C functions often say it. */
BILLING_API int billing_record(const char *customer, int64_t cents)
{
    if (cents < 0) return 1; /* refunds go through billing_refund */
    printf("billing: charge %s %lld.%02lld\n", customer, (long long)(cents / 100),
           (long long)(cents % 100));
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Refunds a removed order, given as JSON text; true on success. */
BILLING_API bool billing_refund(const char *order_id, const char *order_json)
{
    printf("billing: refund %s %s\n", order_id, order_json);
    return fflush(stdout) == 0;
}
