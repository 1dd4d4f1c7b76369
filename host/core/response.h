/* response.h - the Lambda partial batch response: {"batchItemFailures":[...]}, with a
 * tumbling window's state. Knows nothing of plugins or decoding. */
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

/* One member of a JSON object: its name (text, any bytes) and its value (valid JSON text). */
typedef struct response_member {
    ddb_str name;
    ddb_str json;
} response_member;

/* The JSON object of these members, in this order, as one line (names escaped, values without
 * the white space between tokens): a tumbling-window state to hand back. Owned by the caller:
 * free(). NULL when out of memory. */
char *response_object(const response_member *members, size_t n, size_t *len);

#endif
