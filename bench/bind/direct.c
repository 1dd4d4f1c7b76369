/* direct.c - the plugin a binding is measured against: on_insert takes the same three
 * attributes with the same checks as the binding "bill(NewImage.customer:string,
 * NewImage.cents:int64, NewImage.price:double)" and calls bill() directly. It is the code a
 * team would write by hand to wrap their library. */
#include <string.h>

#include <ddb/plugin.h>

#include "target.h"

DDB_PLUGIN("direct", "1.0.0");

ddb_status on_insert(const ddb_record *rec, void *state)
{
    const char *customer;
    size_t len;
    int64_t cents;
    double price;
    ddb_status st;
    (void)state;
    if ((st = ddb_get_s(ddb_get(rec->new_image, "customer"), &customer, &len)) != DDB_OK)
        return st;
    if (memchr(customer, '\0', len)) return DDB_ERR_INVALID;
    if ((st = ddb_n_int64(ddb_get(rec->new_image, "cents"), &cents)) != DDB_OK) return st;
    st = ddb_n_double(ddb_get(rec->new_image, "price"), &price);
    if (st != DDB_OK && st != DDB_ERR_INEXACT) return st;
    return bill(customer, cents, price) == 0 ? DDB_OK : DDB_ERR_FAILED;
}
