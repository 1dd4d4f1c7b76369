/* filter.h - Lambda event filtering (FilterCriteria patterns) applied to a stream record on
 * this machine: a route's "stream.filters" compiled once, then asked of each record as Lambda
 * delivers it (json-c). Knows nothing of where the record comes from or what skips it. */
#ifndef DDBHOST_FILTER_H
#define DDBHOST_FILTER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct filter filter;

/* Checks patterns (a JSON array of 1 or more pattern objects) against Lambda's filter rule
 * syntax and keeps a reference to it. NULL with one line in err (cap bytes) naming the
 * pattern's index and the key path of the mistake, e.g. `pattern 1: dynamodb.NewImage.qty.N[0]:
 * unknown operator "gt" (expected ...)`. Owned by the caller: filter_free(). */
filter *filter_compile(struct json_object *patterns, char *err, size_t cap);

/* Whether record (one element of "Records", borrowed) matches any of the patterns. */
bool filter_match(const filter *f, struct json_object *record);

void filter_free(filter *f);

#endif
