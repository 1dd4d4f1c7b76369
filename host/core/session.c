/* session.c - one manifest's handlers and one decoder, fed event after event: decode,
 * deliver, log one line, answer. The single path of every front door, so that `--invoke`,
 * Lambda and `poll` behave the same; it never reads or writes anything but what it is
 * handed, and knows nothing of how the event arrived. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "response.h"
#include "sys.h"

struct session {
    router *router;
    event_decoder *decoder;
    int64_t margin_ms; /* the manifest's deadline margin */
    session_failure failure; /* why the last session_process failed */
};

session *session_open(const char *manifest_path, const char *plugin, session_failure *why,
                      char *err, size_t cap)
{
    session_failure failure = SESSION_NOMEM;
    manifest m;
    router_failure rf;
    session *s = calloc(1, sizeof *s);
    if (!s || !(s->decoder = event_decoder_new())) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    if (!(manifest_path ? manifest_load(manifest_path, &m, err, cap)
                        : manifest_single(plugin, &m, err, cap))) {
        failure = SESSION_INVALID_MANIFEST;
        goto fail;
    }
    s->margin_ms = m.deadline_margin_ms;
    if (!(s->router = router_new(&m, &rf, err, cap))) { /* takes m, on failure too */
        failure = rf == ROUTER_INIT_FAILED ? SESSION_INIT_FAILED
                  : rf == ROUTER_REFUSED   ? SESSION_REFUSED
                                           : SESSION_NOMEM;
        goto fail;
    }
    return s;
fail:
    session_close(s);
    if (why) *why = failure;
    return NULL;
}

/* The one info line per event: what became of its records, and where the time went. */
static void session_log(const router_result *res, const session_times *times)
{
    char extra[128] = "";
    size_t n = 0;
    if (res->undelivered)
        n += (size_t)snprintf(extra, sizeof extra, ", %zu not attempted %s", res->undelivered,
                              res->deadline_cut ? "for lack of time" : "after a failure");
    if (times)
        snprintf(extra + n, sizeof extra - n, ", decode %.3f ms, handlers %.3f ms",
                 times->decode_ms, times->deliver_ms);
    log_info("%zu record%s: %zu delivered, %zu failed, %zu skipped%s", res->records,
             res->records == 1 ? "" : "s", res->delivered, res->failed, res->skipped, extra);
}

/* Lambda keeps at most this much state per shard, and ends a window early beyond it. */
#define SESSION_WINDOW_STATE_MAX (1024u * 1024u)

static bool session_same(ddb_str a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && memcmp(a.ptr, b, n) == 0;
}

/* The state a tumbling-window invocation sends back: the event's as it came, unless handlers
 * set theirs; then the event's members in their order, each handler's replaced by what it
 * set, and the members of handlers that had none after them. *owned is what to free. False
 * when out of memory. */
static bool session_window_state(const event_window *w, const router_result *res, ddb_str *out,
                                 char **owned)
{
    *owned = NULL;
    *out = w->state;
    if (!res->nwindow_states) return true;
    size_t n = w->state_object ? w->nmembers : 0, count = 0, len;
    response_member *m = malloc((n + res->nwindow_states) * sizeof *m);
    if (!m) return false;
    for (size_t i = 0; i < n; i++) {
        m[count] = (response_member){w->members[i].name, w->members[i].json};
        for (size_t k = 0; k < res->nwindow_states; k++)
            if (session_same(w->members[i].name, res->window_states[k].key))
                m[count].json = res->window_states[k].json;
        count++;
    }
    for (size_t k = 0; k < res->nwindow_states; k++) {
        size_t i = 0;
        while (i < n && !session_same(w->members[i].name, res->window_states[k].key)) i++;
        if (i == n) {
            const char *key = res->window_states[k].key;
            m[count++] = (response_member){{key, strlen(key)}, res->window_states[k].json};
        }
    }
    *owned = response_object(m, count, &len);
    free(m);
    if (!*owned) return false;
    *out = (ddb_str){*owned, len};
    if (len > SESSION_WINDOW_STATE_MAX)
        log_warn("the tumbling-window state is %zu bytes, more than the 1 MB Lambda keeps: "
                 "Lambda ends the window early", len);
    return true;
}

char *session_process(session *s, char *buf, size_t len, const api_invocation *inv,
                      router_result *res, session_times *times, char *err, size_t cap)
{
    event_batch batch;
    double t0 = times ? sys_monotonic_ms() : 0;
    s->failure = SESSION_NOMEM;
    if (router_isolates(s->router) && !router_keep_event(s->router, buf, len)) {
        snprintf(err, cap, "out of memory keeping the event for the isolated handlers");
        return NULL;
    }
    if (!event_decode(s->decoder, buf, len, &batch)) {
        s->failure = SESSION_INVALID_EVENT;
        snprintf(err, cap, "%s", event_error(s->decoder));
        return NULL;
    }
    double t1 = times ? sys_monotonic_ms() : 0;
    router_set_invocation(s->router, inv, s->margin_ms);
    bool delivered = router_deliver(s->router, &batch, res, err, cap);
    router_set_invocation(s->router, NULL, s->margin_ms);
    if (!delivered) {
        s->failure = res->handler_failed ? SESSION_HANDLER_FAILED : SESSION_NOMEM;
        return NULL;
    }
    if (times) {
        times->decode_ms = t1 - t0;
        times->deliver_ms = sys_monotonic_ms() - t1;
    }
    session_log(res, times);
    ddb_str state;
    char *owned, *response = NULL;
    if (session_window_state(&batch.window, res, &state, &owned))
        response = response_json(res->failures, res->nfailures,
                                 batch.tumbling_window ? &state : NULL, NULL);
    free(owned);
    if (!response) snprintf(err, cap, "out of memory writing the batch response");
    return response;
}

const manifest *session_manifest(const session *s) { return router_manifest(s->router); }

session_failure session_last_failure(const session *s) { return s->failure; }

size_t session_warn(const session *s)
{
    return manifest_warn(router_manifest(s->router)) + router_warn(s->router);
}

void session_describe(const session *s, FILE *out) { router_describe(s->router, out); }

size_t session_reserved(const session *s) { return event_decoder_reserved(s->decoder); }

void session_close(session *s)
{
    if (!s) return;
    router_free(s->router);
    event_decoder_free(s->decoder);
    free(s);
}
