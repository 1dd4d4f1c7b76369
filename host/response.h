/* response.h - the Lambda partial batch response: {"batchItemFailures":[...]}.
 * Knows nothing of plugins or decoding. */
#ifndef DDBHOST_RESPONSE_H
#define DDBHOST_RESPONSE_H

#include <ddb/plugin.h>
#include <stdio.h>

/* Writes the response for the given SequenceNumbers as one line of JSON, with a newline. */
void response_write(FILE *out, const ddb_str *failures, size_t n);

#endif
