/* bindcost.c - what a binding costs per record against the plugin a team would write instead:
 * the binding bill(NewImage.customer:string, NewImage.cents:int64, NewImage.price:double)
 * through libffi, and direct.so taking the same three attributes with the same checks and
 * calling bill() itself. Both run on the same decoded records in one process, through the
 * router (what ddbhost does per record) and as bare callbacks (the binding's own cost), in
 * interleaved rounds of about 10 ms each. Each time printed is the fastest round, the one
 * least disturbed by other work on the machine; each ratio is the median of the rounds'
 * ratios, binding and plugin measured back to back. Prints one line for bench/run.py; it
 * reports, it never fails on time. Usage: bindcost [RECORDS [ROUNDS]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bind.h"
#include "event.h"
#include "loader.h"
#include "manifest.h"
#include "router.h"

enum { SUBJECTS = 4 };
static const char *const names[SUBJECTS] = {"deliver_plugin", "deliver_binding", "call_plugin",
                                            "call_binding"};

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* An event of n INSERTs into Orders, each item of eight attributes, the bound three among
 * them, as a table's items would be. */
static char *make_event(size_t n, size_t *len)
{
    size_t cap = 1024 * n + 64, k = 0; /* a record takes about 600 bytes */
    char *buf = malloc(cap);
    if (!buf) return NULL;
    k += (size_t)snprintf(buf + k, cap - k, "{\"Records\":[");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(
            buf + k, cap - k,
            "%s{\"eventID\":\"e%zu\",\"eventName\":\"INSERT\",\"eventVersion\":\"1.1\","
            "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"us-east-1\",\"dynamodb\":{"
            "\"ApproximateCreationDateTime\":1718064483,\"Keys\":{\"orderId\":{\"S\":\"o-%zu\"}},"
            "\"NewImage\":{\"orderId\":{\"S\":\"o-%zu\"},\"status\":{\"S\":\"NEW\"},"
            "\"customer\":{\"S\":\"customer-%zu\"},\"items\":{\"N\":\"%zu\"},"
            "\"cents\":{\"N\":\"%zu\"},\"currency\":{\"S\":\"EUR\"},\"price\":{\"N\":\"19.99\"},"
            "\"createdAt\":{\"S\":\"2024-06-11T00:00:00Z\"}},\"SequenceNumber\":\"%zu\","
            "\"SizeBytes\":120,\"StreamViewType\":\"NEW_IMAGE\"},\"eventSourceARN\":"
            "\"arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024-06-11T00:00:00.000\"}",
            i ? "," : "", i, i, i, i % 97, i % 7 + 1, 100 + i * 37, 1000 + i);
    k += (size_t)snprintf(buf + k, cap - k, "]}");
    *len = k;
    return buf;
}

static bool load(const char *text, manifest *m, router **r)
{
    char err[1024];
    if (!manifest_parse(text, strlen(text), "bindcost.json", m, err, sizeof err) ||
        !(*r = router_new(m, NULL, err, sizeof err))) {
        fprintf(stderr, "bindcost: error: %s\n", err);
        return false;
    }
    return true;
}

/* One measurement: reps passes of subject s over the batch; ns per record. */
static double measure(int s, router *const rs[2], loader_record_fn fn[2], void *state[2],
                      const event_batch *b, long reps, bool *ok)
{
    router_result res;
    char err[256];
    double t0 = now_ns();
    for (long k = 0; k < reps; k++) {
        if (s < 2) {
            *ok &= router_deliver(rs[s], b, &res, err, sizeof err) && res.failed == 0;
        } else {
            for (size_t i = 0; i < b->count; i++)
                *ok &= fn[s - 2](&b->records[i], state[s - 2]) == DDB_OK;
        }
    }
    return (now_ns() - t0) / ((double)reps * (double)b->count);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    int rounds = argc > 2 ? atoi(argv[2]) : 31;
    char plugin_text[1024], binding_text[2048], err[1024];
    if (n == 0 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "usage: bindcost [RECORDS [ROUNDS]] (RECORDS >= 1, ROUNDS 1 to 99)\n");
        return 2;
    }
    snprintf(plugin_text, sizeof plugin_text,
             "{\"tables\": {\"Orders\": {\"plugin\": \"%s\"}}}", BINDCOST_PLUGIN);
    snprintf(binding_text, sizeof binding_text,
             "{\"tables\": {\"Orders\": {\"library\": \"%s\", \"bind\": {\"on_insert\": {\"call\": "
             "\"bill\", \"args\": [\"NewImage.customer:string\", \"NewImage.cents:int64\", "
             "\"NewImage.price:double\"], \"returns\": \"int\"}}}}}", BINDCOST_LIBRARY);

    size_t len = 0;
    char *text = make_event(n, &len);
    event_decoder *d = event_decoder_new();
    event_batch batch;
    manifest m[2];
    router *r[2] = {NULL, NULL};
    loader_plugin plugin;
    bind_library *binding = NULL;
    if (!text || !d || !event_decode(d, text, len, &batch)) {
        fprintf(stderr, "bindcost: error: the generated event: %s\n", d ? event_error(d) : "out of memory");
        return 1;
    }
    if (!load(plugin_text, &m[0], &r[0]) || !load(binding_text, &m[1], &r[1])) return 1;
    /* The bare callbacks, as the router finds them. */
    if (!loader_open(BINDCOST_PLUGIN, &plugin, err, sizeof err) ||
        !(binding = bind_open("bindcost.json", &router_manifest(r[1])->routes[0].handlers[0], err,
                              sizeof err))) {
        fprintf(stderr, "bindcost: error: %s\n", err);
        return 1;
    }
    loader_record_fn fn[2] = {plugin.on_record[DDB_INSERT], bind_on_record};
    void *state[2] = {NULL, binding};

    /* Reps for about 10 ms per measurement, from the slowest subject. */
    bool ok = true;
    double slowest = 0;
    for (int s = 0; s < SUBJECTS; s++) {
        double ns = measure(s, r, fn, state, &batch, 1, &ok);
        if (ns > slowest) slowest = ns;
    }
    long reps = (long)(10e6 / (slowest * (double)n)) + 1;
    double per[SUBJECTS][99], ratio[2][99];
    for (int k = 0; k < rounds; k++) {
        for (int s = 0; s < SUBJECTS; s++) per[s][k] = measure(s, r, fn, state, &batch, reps, &ok);
        ratio[0][k] = per[1][k] / per[0][k];
        ratio[1][k] = per[3][k] / per[2][k];
    }
    if (!ok) {
        fprintf(stderr, "bindcost: error: a record failed: the subjects did not do the same work\n");
        return 1;
    }
    printf("bindcost: records=%zu rounds=%d reps=%ld", n, rounds, reps);
    for (int s = 0; s < SUBJECTS; s++) {
        qsort(per[s], (size_t)rounds, sizeof per[s][0], cmp_double);
        printf(" %s_ns=%.2f", names[s], per[s][0]);
    }
    for (int i = 0; i < 2; i++) qsort(ratio[i], (size_t)rounds, sizeof ratio[i][0], cmp_double);
    printf(" deliver_ratio=%.3f call_ratio=%.3f\n", ratio[0][rounds / 2], ratio[1][rounds / 2]);

    bind_close(binding);
    loader_close(&plugin);
    for (int i = 0; i < 2; i++) router_free(r[i]); /* each with the manifest it took */
    event_decoder_free(d);
    free(text);
    return 0;
}
