/* summary.h - what `ddbhost --invoke` tells a person (or a script) about one event: records
 * per table and event name, failures with their sequence numbers, time taken. Formats a
 * router_result; knows nothing of how the records were delivered. */
#ifndef DDBHOST_SUMMARY_H
#define DDBHOST_SUMMARY_H

#include <stdio.h>

#include "router.h"

/* A few lines for a terminal, e.g.
 *   ddbhost: orders.json: 3 records in 0.41 ms: 3 delivered, 0 failed, 0 skipped
 *     Orders: 1 INSERT, 1 MODIFY, 1 REMOVE
 *     failed: record 1 (Orders, SequenceNumber 7000...52) in plugin "audit": handler failed */
void summary_human(FILE *out, const char *event_path, const router_result *res, double ms);
/* The same as one line of JSON, for scripts. */
void summary_json(FILE *out, const char *event_path, const router_result *res, double ms);

#endif
