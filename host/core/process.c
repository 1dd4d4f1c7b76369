/* process.c - one event in, its batch response out: decode, deliver, log one line.
 * Shared by `--invoke` and the runtime loop so that both behave the same; it owns no
 * state of its own and knows nothing of how the event arrived. */
#include "process.h"

#include <stdio.h>
#include <time.h>

#include "log.h"
#include "response.h"

static double process_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

char *process_event(router *r, event_decoder *d, char *buf, size_t len, router_result *res,
                    process_times *times, char *err, size_t cap)
{
    event_batch batch;
    double t0 = times ? process_now_ms() : 0;
    if (!event_decode(d, buf, len, &batch)) {
        snprintf(err, cap, "%s", event_error(d));
        return NULL;
    }
    double t1 = times ? process_now_ms() : 0;
    if (!router_deliver(r, &batch, res, err, cap)) return NULL;
    char extra[128] = "";
    size_t n = 0;
    if (res->undelivered)
        n += (size_t)snprintf(extra, sizeof extra, ", %zu not attempted %s", res->undelivered,
                              res->deadline_cut ? "for lack of time" : "after a failure");
    if (times) {
        times->decode_ms = t1 - t0;
        times->deliver_ms = process_now_ms() - t1;
        snprintf(extra + n, sizeof extra - n, ", decode %.3f ms, handlers %.3f ms",
                 times->decode_ms, times->deliver_ms);
    }
    log_info("%zu record%s: %zu delivered, %zu failed, %zu skipped%s", res->records,
             res->records == 1 ? "" : "s", res->delivered, res->failed, res->skipped, extra);
    char *response = response_json(res->failures, res->nfailures,
                                   batch.tumbling_window ? &batch.window_state : NULL, NULL);
    if (!response) snprintf(err, cap, "out of memory writing the batch response");
    return response;
}
