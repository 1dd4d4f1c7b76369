/* process.c - one event in, its batch response out: decode, deliver, log one line.
 * Shared by `--invoke` and the runtime loop so that both behave the same; it owns no
 * state of its own and knows nothing of how the event arrived. */
#include "process.h"

#include <stdio.h>

#include "log.h"
#include "response.h"

char *process_event(router *r, event_decoder *d, char *buf, size_t len, router_result *res,
                    char *err, size_t cap)
{
    event_batch batch;
    if (!event_decode(d, buf, len, &batch)) {
        snprintf(err, cap, "%s", event_error(d));
        return NULL;
    }
    if (!router_deliver(r, &batch, res, err, cap)) return NULL;
    char extra[64] = "";
    if (res->undelivered)
        snprintf(extra, sizeof extra, ", %zu not attempted after a failure", res->undelivered);
    log_info("%zu records: %zu delivered, %zu failed, %zu skipped%s", res->records,
             res->delivered, res->failed, res->skipped, extra);
    char *response = response_json(res->failures, res->nfailures,
                                   batch.tumbling_window ? &batch.window_state : NULL, NULL);
    if (!response) snprintf(err, cap, "out of memory writing the batch response");
    return response;
}
