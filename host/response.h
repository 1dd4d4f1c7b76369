/* response.h - the Lambda partial batch response: {"batchItemFailures":[...]}.
 * Knows nothing of plugins or decoding. */
#ifndef DDBHOST_RESPONSE_H
#define DDBHOST_RESPONSE_H

#include <ddb/plugin.h>

/* The response naming the given SequenceNumbers, as one line of JSON without a newline.
 * Owned by the caller: free(). NULL when out of memory. */
char *response_json(const ddb_str *failures, size_t n, size_t *len);

#endif
