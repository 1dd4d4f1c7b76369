/* test_alloc.c - the out-of-memory paths, tested as SQLite tests its own: a run of the event
 * decoder or of manifest_load first counts its allocations, then runs again once for every k
 * with the k-th allocation failing (alone, then with every later one failing too). Each run
 * must end in the result of a run without failures or in a clean "out of memory" error, never
 * a crash; and LeakSanitizer, asked after every run, must find nothing left behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "manifest.h"
#include "oom.h"
#include "run.h"

#define BIG_EVENT \
    DDB_SOURCE_DIR "/tests/conformance/corpus/events/powertools-java-dynamo_event_big.json"
#define GENERATED_RECORDS "100"

/* Present in sanitized builds (LeakSanitizer comes with AddressSanitizer): nonzero when memory
 * is unreachable. Weak, so that the suite also runs, without the leak check, in a plain build. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* ---- the sweep -------------------------------------------------------------------------- */

/* One run of the code under test with allocation k failing (0: none), persistent as for
 * oom_arm. It arms the switch around the code under test only and checks the outcome itself;
 * returns how many allocations that code made. */
typedef unsigned long (*alloc_run)(void *ctx, unsigned long k, bool persistent);

static char alloc_what[256]; /* the run under way, for failure messages */

/* The sanitizers' symbolizer, when there is one: "function file:line" of a code address. */
extern void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out, size_t cap)
    __attribute__((weak));

/* Names the run under way and the code whose allocation failed, then fails the test. */
static void alloc_say_where(void)
{
    char where[512] = "";
    const void *at = oom_fired_at();
    if (at && __sanitizer_symbolize_pc)
        /* The return address is one past the call: step back into it. */
        __sanitizer_symbolize_pc((void *)((const char *)at - 1), "%f %L", where, sizeof where);
    else if (at)
        snprintf(where, sizeof where, "%p", at);
    print_error("%s%s%s%s: ", alloc_what, at ? " (called from " : "", where, at ? ")" : "");
}

#define ALLOC_FAIL(...)          \
    do {                         \
        alloc_say_where();       \
        fail_msg(__VA_ARGS__);   \
    } while (0)

static void alloc_leak_check(void)
{
    if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check())
        ALLOC_FAIL("memory leaked (LeakSanitizer's report is above)");
}

/* Runs run for every k from 1 to the number of allocations of a run without failures, both
 * with only the k-th failing and with every allocation from the k-th on failing. */
static unsigned long alloc_sweep(const char *name, alloc_run run, void *ctx)
{
    snprintf(alloc_what, sizeof alloc_what, "%s, no allocation failing", name);
    unsigned long n = run(ctx, 0, false);
    alloc_leak_check();
    if (n == 0) ALLOC_FAIL("no allocation to fail: the sweep would prove nothing");
    for (int persistent = 0; persistent <= 1; persistent++) {
        for (unsigned long k = 1; k <= n; k++) {
            snprintf(alloc_what, sizeof alloc_what, "%s, allocation %lu of %lu failing%s", name,
                     k, n, persistent ? " and every one after it" : "");
            run(ctx, k, persistent);
            if (!oom_fired()) ALLOC_FAIL("the run made fewer than %lu allocations", k);
            alloc_leak_check();
        }
    }
    print_message("%s: %lu allocation%s, each failed in turn (alone, then with all later ones)%s\n",
                  name, n, n == 1 ? "" : "s",
                  __lsan_do_recoverable_leak_check
                      ? ""
                      : "; leaks not checked (no LeakSanitizer: configure with -DDDB_SANITIZE=ON)");
    return n;
}

/* ---- events ----------------------------------------------------------------------------- */

typedef struct event_case {
    const char *name;
    char *text;                    /* the event; never decoded in place */
    size_t len;
    char *buf;                     /* len + 1 bytes that each decode works in */
    size_t records;                /* what a decode without failures gives */
    uint64_t fingerprint;
    const struct event_case *prime; /* decoded first (without failures) by the same decoder:
                                       the reuse path; NULL for a fresh decoder */
} event_case;

static event_case big_event = {.name = "powertools-java-dynamo_event_big.json"};
static event_case generated = {.name = "eventgen " GENERATED_RECORDS};

/* FNV-1a over everything a plugin can see of a batch. */
static uint64_t fp_bytes(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3u;
    return h;
}

static uint64_t fp_str(uint64_t h, ddb_str s)
{
    h = fp_bytes(h, &s.len, sizeof s.len);
    return s.ptr ? fp_bytes(h, s.ptr, s.len) : fp_bytes(h, "-", 1);
}

static uint64_t fp_value(uint64_t h, const ddb_value *v)
{
    if (!v) return fp_bytes(h, "-", 1);
    h = fp_bytes(h, &v->type, 1);
    if (v->type == DDB_BOOL) return fp_bytes(h, &v->boolean, 1);
    h = fp_bytes(h, &v->len, sizeof v->len);
    switch (v->type) {
    case DDB_S:
    case DDB_N:
    case DDB_B: return fp_bytes(h, v->ptr, v->len);
    case DDB_M:
        for (uint32_t i = 0; i < v->len; i++) {
            const ddb_member *m = (const ddb_member *)v->ptr + i;
            h = fp_bytes(h, m->name, m->name_len);
            h = fp_value(h, &m->value);
        }
        return h;
    case DDB_L:
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
        for (uint32_t i = 0; i < v->len; i++) h = fp_value(h, (const ddb_value *)v->ptr + i);
        return h;
    default: return h;
    }
}

static uint64_t fp_batch(const event_batch *b)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < b->count; i++) {
        const ddb_record *r = &b->records[i];
        h = fp_bytes(h, &r->index, sizeof r->index);
        h = fp_bytes(h, &r->event_name, sizeof r->event_name);
        h = fp_bytes(h, &r->view_type, sizeof r->view_type);
        h = fp_bytes(h, &r->ttl_delete, sizeof r->ttl_delete);
        h = fp_bytes(h, &r->creation_time_ms, sizeof r->creation_time_ms);
        h = fp_bytes(h, &r->size_bytes, sizeof r->size_bytes);
        h = fp_str(h, r->event_id);
        h = fp_str(h, r->table);
        h = fp_str(h, r->sequence_number);
        h = fp_str(h, r->region);
        h = fp_str(h, r->event_source_arn);
        h = fp_str(h, r->event_version);
        h = fp_value(h, r->keys);
        h = fp_value(h, r->new_image);
        h = fp_value(h, r->old_image);
    }
    return h;
}

static bool event_case_decode(const event_case *c, event_decoder *d, event_batch *b)
{
    memcpy(c->buf, c->text, c->len);
    c->buf[c->len] = '\0';
    return event_decode(d, c->buf, c->len, b);
}

/* The decode must give the reference batch. */
static void event_case_check(const event_case *c, const event_batch *b)
{
    if (b->count != c->records || fp_batch(b) != c->fingerprint)
        ALLOC_FAIL("decoded %zu records, not the %zu of a decode without failures (or not the same "
                   "values)", b->count, c->records);
}

static unsigned long event_run(void *ctx, unsigned long k, bool persistent)
{
    const event_case *c = ctx;
    event_batch b;
    event_decoder *d = NULL;
    if (c->prime) {
        d = event_decoder_new();
        assert_non_null(d);
        assert_true(event_case_decode(c->prime, d, &b));
    }
    oom_arm(k, persistent);
    if (!d) d = event_decoder_new();
    bool ok = d && event_case_decode(c, d, &b);
    unsigned long n = oom_disarm();
    if (!d) {
        /* event_decoder_new said so cleanly: nothing to free. */
        if (!k) ALLOC_FAIL("event_decoder_new returned NULL with no allocation failing");
        return n;
    }
    if (ok) {
        event_case_check(c, &b);
    } else {
        if (!k) ALLOC_FAIL("event_decode failed with no allocation failing: %s", event_error(d));
        if (!strstr(event_error(d), "out of memory") || strchr(event_error(d), '\n'))
            ALLOC_FAIL("event_error is not one line saying \"out of memory\": \"%s\"",
                       event_error(d));
        /* A decoder that ran out of memory decodes the next event. */
        if (!event_case_decode(c, d, &b))
            ALLOC_FAIL("the decoder failed again once memory was back: %s", event_error(d));
        event_case_check(c, &b);
    }
    event_decoder_free(d);
    return n;
}

static void event_case_load(event_case *c, char *text, size_t len)
{
    assert_non_null(text);
    c->text = text;
    c->len = len;
    c->buf = malloc(len + 1);
    assert_non_null(c->buf);
    event_decoder *d = event_decoder_new();
    event_batch b;
    assert_non_null(d);
    if (!event_case_decode(c, d, &b)) fail_msg("%s: %s", c->name, event_error(d));
    c->records = b.count;
    c->fingerprint = fp_batch(&b);
    event_decoder_free(d);
}

static void event_case_unload(event_case *c)
{
    free(c->text);
    free(c->buf);
    c->text = c->buf = NULL;
}

/* ---- manifests -------------------------------------------------------------------------- */

/* Several tables, a "*" route, handler arrays, events filters, nested config objects, stream
 * and function settings, relative and absolute plugin paths, and a key with an escape (which
 * takes the duplicate-key scan through json-c's tokener). */
static const char manifest_text[] =
    "{\n"
    "  \"on_failure\": \"continue\",\n"
    "  \"deadline_margin_ms\": 2500,\n"
    "  \"metrics\": true,\n"
    "  \"function\": {\"name\": \"orders-stream\", \"memory_mb\": 512, \"timeout_s\": 120,\n"
    "               \"architecture\": \"arm64\"},\n"
    "  \"tables\": {\n"
    "    \"Orders\": {\n"
    "      \"handlers\": [\n"
    "        {\"plugin\": \"plugins/orders.so\", \"events\": [\"INSERT\", \"MODIFY\"],\n"
    "         \"config\": {\"sink\": \"sqlite\", \"path\": \"/tmp/orders.db\", \"batch\": 50,\n"
    "                    \"retry\": {\"max\": 3, \"backoff_ms\": [10, 100, 1000]}}},\n"
    "        {\"plugin\": \"./plugins/audit.so\",\n"
    "         \"config\": {\"level\": \"info\", \"redact\": [\"card\", \"cvv\"],\n"
    "                    \"note\": \"caf\\u00e9 \\\"quoted\\\"\", \"ratio\": 0.25}}\n"
    "      ],\n"
    "      \"stream\": {\"batch_size\": 500, \"max_batching_window_s\": 5,\n"
    "                 \"bisect_on_error\": false, \"max_retries\": 10,\n"
    "                 \"starting_position\": \"LATEST\", \"parallelization_factor\": 4}\n"
    "    },\n"
    "    \"Customers\": [\n"
    "      {\"plugin\": \"plugins/audit.so\", \"events\": [\"REMOVE\"],\n"
    "       \"config\": {\"level\": \"warn\"}},\n"
    "      {\"plugin\": \"plugins/archive.so\", \"events\": [\"INSERT\", \"MODIFY\", \"REMOVE\"],\n"
    "       \"config\": {\"bucket\": \"archive\", \"prefix\": \"customers/\", \"compress\": true,\n"
    "                  \"tag\\u0073\": {\"team\": \"billing\", \"cost\\tcentre\": null}}}\n"
    "    ],\n"
    "    \"Inventory.v2\": {\"handlers\": {\"plugin\": \"%s/plugins/archive.so\"},\n"
    "                     \"stream\": {\"batch_size\": 10000}},\n"
    "    \"*\": {\"plugin\": \"plugins/orders.so\", \"events\": [\"INSERT\"]}\n"
    "  }\n"
    "}\n";

/* json-c's tokener is not safe against a failed allocation (0.16 hands a key whose copy failed
 * to its hash function as NULL, and crashes), so the sweep lets json_tokener_parse_ex allocate
 * freely: its calls are neither counted nor failed. Everything else is failed in turn:
 * manifest.c's own allocations and json-c's outside the tokener (the duplicate-key table, the
 * copies of its keys). tokener_fail_root makes the next parse fail its first allocation, that
 * of the root object, which json-c survives. */
json_object *__real_json_tokener_parse_ex(json_tokener *tok, const char *str, int len);
json_object *__wrap_json_tokener_parse_ex(json_tokener *tok, const char *str, int len);
static bool tokener_fail_root;

json_object *__wrap_json_tokener_parse_ex(json_tokener *tok, const char *str, int len)
{
    if (tokener_fail_root) {
        tokener_fail_root = false;
        oom_arm(1, false);
        json_object *root = __real_json_tokener_parse_ex(tok, str, len);
        oom_disarm();
        return root;
    }
    oom_hold(true);
    json_object *root = __real_json_tokener_parse_ex(tok, str, len);
    oom_hold(false);
    return root;
}

static const char *const manifest_plugins[] = {"orders.so", "audit.so", "archive.so"};
static char manifest_dir[512], manifest_path[600];
static manifest manifest_reference;

static bool manifest_str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool manifest_same(const manifest *a, const manifest *b)
{
    if (a->count != b->count || a->on_failure != b->on_failure ||
        a->deadline_margin_ms != b->deadline_margin_ms || a->metrics != b->metrics ||
        !manifest_str_same(a->path, b->path) ||
        !manifest_str_same(a->function.name, b->function.name) ||
        a->function.memory_mb != b->function.memory_mb ||
        a->function.timeout_s != b->function.timeout_s ||
        a->function.architecture != b->function.architecture)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        const manifest_route *r = &a->routes[i], *s = &b->routes[i];
        if (r->count != s->count || !manifest_str_same(r->table, s->table) ||
            memcmp(&r->stream, &s->stream, sizeof r->stream) != 0)
            return false;
        for (size_t j = 0; j < r->count; j++) {
            const manifest_handler *h = &r->handlers[j], *g = &s->handlers[j];
            if (!manifest_str_same(h->plugin, g->plugin) || h->events != g->events ||
                !json_object_equal(h->config, g->config))
                return false;
        }
    }
    return true;
}

static unsigned long manifest_run(void *ctx, unsigned long k, bool persistent)
{
    (void)ctx;
    manifest m;
    char err[1024] = "";
    oom_arm(k, persistent);
    bool ok = manifest_load(manifest_path, &m, err, sizeof err);
    unsigned long n = oom_disarm();
    if (ok) {
        bool same = manifest_same(&m, &manifest_reference);
        manifest_free(&m);
        if (!same) ALLOC_FAIL("manifest_load succeeded with a manifest unlike the file's");
    } else if (!k) {
        ALLOC_FAIL("manifest_load failed with no allocation failing: %s", err);
    } else if (!(strstr(err, "out of memory") || strstr(err, strerror(ENOMEM))) ||
               strchr(err, '\n')) {
        ALLOC_FAIL("the error is not one line saying \"out of memory\" (or \"%s\"): \"%s\"",
                   strerror(ENOMEM), err);
    }
    return n;
}

/* manifest_single, as `ddbhost --invoke PLUGIN.so` builds it. */
static unsigned long manifest_single_run(void *ctx, unsigned long k, bool persistent)
{
    const char *plugin = ctx;
    manifest m;
    char err[1024] = "";
    oom_arm(k, persistent);
    bool ok = manifest_single(plugin, &m, err, sizeof err);
    unsigned long n = oom_disarm();
    if (ok) {
        bool same = m.count == 1 && m.routes[0].count == 1 && !strcmp(m.routes[0].table, "*") &&
                    !strcmp(m.routes[0].handlers[0].plugin, plugin) && !strcmp(m.path, plugin);
        manifest_free(&m);
        if (!same) ALLOC_FAIL("manifest_single succeeded with a manifest other than its plugin's");
    } else if (!k || !strstr(err, "out of memory") || strchr(err, '\n')) {
        ALLOC_FAIL("the error is not one line saying \"out of memory\": \"%s\"", err);
    }
    return n;
}

static void manifest_fixture_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/plugins%s%s", manifest_dir, name ? "/" : "", name ? name : "");
}

static void manifest_fixture_remove(void)
{
    char path[700];
    for (size_t i = 0; i < sizeof manifest_plugins / sizeof *manifest_plugins; i++) {
        manifest_fixture_path(path, sizeof path, manifest_plugins[i]);
        unlink(path);
    }
    manifest_fixture_path(path, sizeof path, NULL);
    rmdir(path);
    unlink(manifest_path);
    rmdir(manifest_dir);
}

/* The manifest and its plugins (empty files: manifest_load only checks that they exist). */
static void manifest_fixture_create(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[700], text[sizeof manifest_text + 512];
    snprintf(manifest_dir, sizeof manifest_dir, "%s/ddbhost-alloc-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(manifest_dir));
    manifest_fixture_path(path, sizeof path, NULL);
    assert_int_equal(mkdir(path, 0700), 0);
    for (size_t i = 0; i < sizeof manifest_plugins / sizeof *manifest_plugins; i++) {
        manifest_fixture_path(path, sizeof path, manifest_plugins[i]);
        assert_true(run_write_file(path, ""));
    }
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.json", manifest_dir);
    snprintf(text, sizeof text, manifest_text, manifest_dir);
    assert_true(run_write_file(manifest_path, text));
    char err[1024];
    if (!manifest_load(manifest_path, &manifest_reference, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(manifest_reference.count, 4);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_decoding_the_big_corpus_event_survives_every_failed_allocation(void **state)
{
    (void)state;
    big_event.prime = NULL;
    alloc_sweep("fresh decoder, powertools-java-dynamo_event_big.json", event_run, &big_event);
}

static void test_decoding_100_generated_records_survives_every_failed_allocation(void **state)
{
    (void)state;
    generated.prime = NULL;
    alloc_sweep("fresh decoder, eventgen " GENERATED_RECORDS, event_run, &generated);
}

/* The reuse path: a decoder that kept its arena and scratch arrays from the other event, and
 * now grows them (or, for the smaller event, folds its arena blocks into one). */
static void test_a_decoder_used_once_survives_every_failed_allocation(void **state)
{
    (void)state;
    big_event.prime = &generated;
    generated.prime = &big_event;
    alloc_sweep("decoder used once (eventgen " GENERATED_RECORDS "), "
                "powertools-java-dynamo_event_big.json", event_run, &big_event);
    alloc_sweep("decoder used once (powertools-java-dynamo_event_big.json), "
                "eventgen " GENERATED_RECORDS, event_run, &generated);
}

static void test_loading_a_manifest_survives_every_failed_allocation(void **state)
{
    (void)state;
    alloc_sweep("manifest_load", manifest_run, NULL);
}

static void test_a_single_plugin_manifest_survives_every_failed_allocation(void **state)
{
    (void)state;
    char plugin[700];
    manifest_fixture_path(plugin, sizeof plugin, manifest_plugins[0]);
    alloc_sweep("manifest_single", manifest_single_run, plugin);
}

static void test_a_manifest_whose_parse_runs_out_of_memory_says_out_of_memory(void **state)
{
    (void)state;
    manifest m;
    char err[1024] = "";
    tokener_fail_root = true;
    bool ok = manifest_load(manifest_path, &m, err, sizeof err);
    assert_false(tokener_fail_root);
    if (ok) manifest_free(&m);
    assert_false(ok);
    if (!strstr(err, "out of memory")) fail_msg("expected \"out of memory\", got \"%s\"", err);
}

/* ---- fixtures --------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    /* The sweep is pointless if a run's leak goes unreported. */
    const char *asan = getenv("ASAN_OPTIONS");
    if (asan && (strstr(asan, "detect_leaks=0") || strstr(asan, "detect_leaks=false"))) {
        print_error("ASAN_OPTIONS turns leak detection off (%s): unset it or drop detect_leaks\n",
                    asan);
        return -1;
    }
    size_t len = 0;
    char *text = run_read_file(BIG_EVENT, &len);
    if (!text) {
        print_error("cannot read %s\n", BIG_EVENT);
        return -1;
    }
    event_case_load(&big_event, text, len);

    run_output r;
    const char *const gen[] = {DDB_EVENTGEN, GENERATED_RECORDS, NULL};
    if (!run_program(gen, NULL, &r) || r.status != 0) {
        print_error("%s %s failed\n", DDB_EVENTGEN, GENERATED_RECORDS);
        return -1;
    }
    free(r.err);
    event_case_load(&generated, r.out, r.out_len);
    assert_int_equal(generated.records, 100);

    manifest_fixture_create();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    event_case_unload(&big_event);
    event_case_unload(&generated);
    manifest_free(&manifest_reference);
    manifest_fixture_remove();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoding_the_big_corpus_event_survives_every_failed_allocation),
        cmocka_unit_test(test_decoding_100_generated_records_survives_every_failed_allocation),
        cmocka_unit_test(test_a_decoder_used_once_survives_every_failed_allocation),
        cmocka_unit_test(test_loading_a_manifest_survives_every_failed_allocation),
        cmocka_unit_test(test_a_single_plugin_manifest_survives_every_failed_allocation),
        cmocka_unit_test(test_a_manifest_whose_parse_runs_out_of_memory_says_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
