/* test_soak.c - ten thousand invocations in a row through one ddbhost process: every one is
 * answered correctly, and the resident memory measured after the first thousand does not
 * grow by the end. The server samples VmRSS while ddbhost waits in `next`, so both samples
 * see the same quiet state. Its own ctest test, so that it runs beside the others. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NAMES DDB_SOURCE_DIR "/tests/cli/fixtures/names.json" /* 3 records, Orders */
#define PROBE DDB_BINARY_DIR "/tests/runtime/probe.so"

#define SOAK_INVOCATIONS 10000
#define SOAK_WARMUP 1000
#define SOAK_MAX_GROWTH_KB 1024
#define SOAK_WAIT_MS 600000 /* only stops a hung run */

static void soak_fail(harness_server *s, harness_proc *h, const char *what)
{
    char *err = harness_slurp(h->err_path), *serr = harness_slurp(s->proc.err_path);
    print_error("%s\n--- ddbhost stderr (exit status %d) ---\n%.4000s\n--- server stderr ---\n%s\n",
                what, h->status, err, serr);
    free(err), free(serr);
    harness_stop(h);
    harness_stop(&s->proc);
    fail();
}

static void test_ten_thousand_invocations_are_answered_and_rss_does_not_grow(void **state)
{
    char manifest[600], env_manifest[700], pid_file[600], pid_text[32], every[16], repeat[16];
    const char *const args[] = {"--exit-when-done", "--event", NAMES, "--repeat", repeat,
                                "--rss-pid-file", pid_file, "--rss-every", every, NULL};
    /* Under AddressSanitizer, freed memory waits in a quarantine (256 MB by default) before
     * reuse, which would look like growth: measure the allocator the program really has. */
    const char *env[] = {env_manifest, NULL, NULL};
    char asan[512];
    const char *old_asan = getenv("ASAN_OPTIONS");
    harness_server s;
    harness_proc host;
    json_object *log, *first, *last;
    size_t i, answers = 0, samples;
    long long grew;
    (void)state;

    snprintf(repeat, sizeof repeat, "%d", SOAK_INVOCATIONS);
    snprintf(every, sizeof every, "%d", SOAK_WARMUP);
    snprintf(pid_file, sizeof pid_file, "%s/ddbhost.pid", harness_dir());
    assert_true(harness_write(manifest, sizeof manifest, "m.json",
                              "{\"tables\":{\"*\":{\"plugin\":\"" PROBE "\"}}}"));
    snprintf(env_manifest, sizeof env_manifest, "DDBHOST_MANIFEST=%s", manifest);
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
             old_asan ? old_asan : "", old_asan && *old_asan ? ":" : "");
    env[1] = asan;

    assert_true(harness_server_start(&s, args));
    assert_true(harness_host_start(&host, s.port, NULL, env));
    snprintf(pid_text, sizeof pid_text, "%d\n", (int)host.pid);
    {
        char written[600];
        assert_true(harness_write(written, sizeof written, "ddbhost.pid", pid_text));
    }
    if (harness_wait_either(&s.proc, &host, SOAK_WAIT_MS) != &s.proc)
        soak_fail(&s, &host, host.pid ? "timed out" : "ddbhost exited before the soak ended");
    harness_stop(&host);
    {
        char *err = harness_slurp(host.err_path);
        bool report = harness_sanitizer_report(err);
        free(err);
        if (report) soak_fail(&s, &host, "a sanitizer reported an error in ddbhost");
    }

    log = harness_log(&s);
    for (i = 0; i < json_object_array_length(log); i++) {
        json_object *e = json_object_array_get_idx(log, i);
        const char *kind = harness_str(e, "kind");
        if (!strcmp(kind, "refused") || !strcmp(kind, "error") ||
            (!strcmp(kind, "response") &&
             strcmp(harness_str(e, "body"), "{\"batchItemFailures\":[]}") != 0)) {
            print_error("unexpected: %s\n", json_object_to_json_string(e));
            json_object_put(log);
            soak_fail(&s, &host, "an invocation was not answered with {\"batchItemFailures\":[]}");
        }
        if (!strcmp(kind, "response")) answers++;
    }
    first = harness_entry(log, "rss", 0, &samples);
    last = harness_entry(log, "rss", samples ? samples - 1 : 0, NULL);
    if (answers != SOAK_INVOCATIONS || samples < 2 || harness_int(first, "answered") != SOAK_WARMUP ||
        harness_int(last, "answered") != SOAK_INVOCATIONS || harness_int(first, "vm_rss_kb") <= 0 ||
        harness_int(last, "vm_rss_kb") <= 0) {
        print_error("answers %zu, rss samples %zu, first %s, last %s\n", answers, samples,
                    json_object_to_json_string(first), json_object_to_json_string(last));
        json_object_put(log);
        soak_fail(&s, &host, "the soak did not run to the end with RSS samples");
    }
    grew = harness_int(last, "vm_rss_kb") - harness_int(first, "vm_rss_kb");
    print_message("ddbhost VmRSS after %d invocations: %lld kB; after %d: %lld kB (%+lld kB)\n",
                  SOAK_WARMUP, harness_int(first, "vm_rss_kb"), SOAK_INVOCATIONS,
                  harness_int(last, "vm_rss_kb"), grew);
    for (i = 0; i < samples; i++) {
        json_object *e = harness_entry(log, "rss", i, NULL);
        print_message("  after %lld: %lld kB\n", harness_int(e, "answered"), harness_int(e, "vm_rss_kb"));
    }
    json_object_put(log);
    if (grew > SOAK_MAX_GROWTH_KB) {
        print_error("VmRSS grew by %lld kB between invocation %d and %d (at most %d kB allowed)\n",
                    grew, SOAK_WARMUP, SOAK_INVOCATIONS, SOAK_MAX_GROWTH_KB);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ten_thousand_invocations_are_answered_and_rss_does_not_grow,
                                        harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
