/* response.h - the Lambda partial batch response: {"batchItemFailures":[...]}.
 * Knows nothing of plugins or decoding. */
#ifndef DDBHOST_RESPONSE_H
#define DDBHOST_RESPONSE_H

#include <ddb/plugin.h>

/* The response naming the given SequenceNumbers, as one line of JSON without a newline.
 * With window_state (raw JSON text, may span lines) it is a tumbling-window response,
 * {"state":...,"batchItemFailures":[...]}: Lambda counts a window invocation without
 * "state" as failed. Pass {NULL, 0} for a plain event. Owned by the caller: free().
 * NULL when out of memory. */
char *response_json(const ddb_str *failures, size_t n, const ddb_str *window_state,
                    size_t *len);

#endif
