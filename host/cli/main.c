/* main.c - the ddbhost command line: --invoke, --manifest, check, --help, --version.
 * Owns argument parsing, reading the event, exit statuses and the order of output (the
 * batch response is the last line of stdout, after every plugin's on_fini). All the work
 * is done by the modules it calls; it must not grow logic of its own. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "manifest.h"
#include "process.h"
#include "router.h"
#include "runtime.h"
#include "deploy.h"
#include "sample.h"
#include "scaffold.h"
#include "summary.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2

static const char usage[] =
    "Usage:\n"
    "  ddbhost --invoke PLUGIN.so EVENT.json            deliver an event to one plugin\n"
    "  ddbhost --manifest MANIFEST.json --invoke EVENT.json\n"
    "                                                   deliver an event as the manifest routes it\n"
    "  ddbhost check MANIFEST.json                      validate a manifest and load its plugins\n"
    "  ddbhost template MANIFEST.json                   print an AWS SAM template for the manifest\n"
    "  ddbhost policy MANIFEST.json                     print the least-privilege IAM policy\n"
    "  ddbhost new NAME [DIR]                           write a plugin project that builds and runs\n"
    "  ddbhost event insert|modify|remove --table TABLE [--keys JSON] [--new JSON]\n"
    "               [--old JSON] [--view TYPE] [--count N] [--region REGION]\n"
    "                                                   write a sample event for local testing\n"
    "  ddbhost serve                                    serve the Lambda Runtime API (the default\n"
    "                                                   when run with no arguments inside Lambda)\n"
    "  ddbhost --help | --version\n"
    "\n"
    "EVENT.json may be '-' to read the event from standard input.\n"
    "\n"
    "Options:\n"
    "  --log-level LEVEL   error, warn, info (default) or debug; logs go to stderr\n"
    "  --quiet             with --invoke: no summary, only errors on stderr\n"
    "  --json              with --invoke: the summary as one line of JSON on stderr\n"
    "  --repeat N          with --invoke: process the event N times in one process, as the\n"
    "                      Lambda runtime loop does, and report the time per run on stderr\n"
    "\n"
    "Plugins may print to stdout; the last line of stdout is always the Lambda batch\n"
    "response, {\"batchItemFailures\":[...]}, naming the SequenceNumber of each failed record.\n"
    "Exit status: 0 the event was processed (even if records failed), 1 bad event,\n"
    "manifest or plugin, 2 usage error.\n";


/* Reads a whole file (or stdin for "-") with one spare byte, as event_decode needs. */
static char *main_read(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 64 * 1024, n = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            errno = ENOMEM;
            break;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) free(buf);
        buf = grown;
        cap *= 2;
    }
    int failed = !buf || ferror(f);
    int saved = errno;
    if (f != stdin) fclose(f);
    if (failed) {
        free(buf);
        errno = saved ? saved : EIO;
        return NULL;
    }
    *len = n;
    return buf;
}

static bool main_load(const char *manifest_path, const char *plugin, manifest *m, router **r)
{
    char err[1024];
    bool ok = manifest_path ? manifest_load(manifest_path, m, err, sizeof err)
                            : manifest_single(plugin, m, err, sizeof err);
    if (!ok) {
        log_error("%s", err);
        return false;
    }
    *r = router_new(m, NULL, err, sizeof err);
    if (!*r) {
        log_error("%s", err);
        manifest_free(m);
        return false;
    }
    return true;
}

static double main_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int main_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --repeat: the same event decoded and delivered again and again in one process, as the
 * runtime loop will, with the decoder's memory reused. The event is restored before each
 * run (decoding works in place) outside the timed part. Returns the last run's response. */
static char *main_repeat(router *r, event_decoder *d, char *buf, size_t len, long repeat,
                         router_result *res, char *err, size_t cap)
{
    char *orig = malloc(len + 1);
    double *ms = malloc((size_t)repeat * sizeof *ms);
    char *response = NULL;
    size_t first_reserved = 0;
    ddb_log_level level = log_level();
    if (!orig || !ms) {
        snprintf(err, cap, "out of memory");
        goto done;
    }
    memcpy(orig, buf, len);
    for (long i = 0; i < repeat; i++) {
        free(response);
        memcpy(buf, orig, len);
        double t0 = main_now_ms();
        response = process_event(r, d, buf, len, res, NULL, err, cap);
        ms[i] = main_now_ms() - t0;
        if (!response) goto done;
        if (i == 0) {
            first_reserved = event_decoder_reserved(d);
            if (level > DDB_LOG_WARN) log_set_level(DDB_LOG_WARN); /* one info line, not N */
        }
    }
    double first = ms[0];
    qsort(ms, (size_t)repeat, sizeof *ms, main_cmp_double);
    double median = repeat % 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
    fprintf(stderr,
            "ddbhost: repeat: %ld runs of %zu records (%zu bytes): median %.4f ms (%.0f MB/s), "
            "min %.4f ms, max %.4f ms, first %.4f ms; decoder holds %zu KB after the first run, "
            "%zu KB after the last\n",
            repeat, res->records, len, median, median > 0 ? (double)len / median / 1e3 : 0.0,
            ms[0], ms[repeat - 1], first, first_reserved / 1024, event_decoder_reserved(d) / 1024);
done:
    log_set_level(level);
    free(orig);
    free(ms);
    return response;
}

/* How --invoke reports on the event: the one info line (logs), a few lines for a person
 * (when stderr is a terminal), one line of JSON (--json), or nothing (--quiet). */
typedef enum main_summary { SUMMARY_LOG, SUMMARY_HUMAN, SUMMARY_JSON, SUMMARY_NONE } main_summary;

static int main_invoke(const char *manifest_path, const char *plugin, const char *event_path,
                       long repeat, main_summary summary)
{
    size_t len = 0;
    char *buf = main_read(event_path, &len);
    if (!buf) {
        log_error("cannot read event \"%s\": %s", event_path, strerror(errno));
        return EXIT_INPUT;
    }
    manifest m;
    router *r = NULL;
    if (!main_load(manifest_path, plugin, &m, &r)) {
        free(buf);
        return EXIT_INPUT;
    }
    event_decoder *d = event_decoder_new();
    router_result res;
    char err[1024] = "out of memory";
    ddb_log_level level = log_level();
    /* The summary says what the info line (and, for scripts, the warnings) would. */
    ddb_log_level quieter = summary == SUMMARY_JSON ? DDB_LOG_ERROR : DDB_LOG_WARN;
    if (summary != SUMMARY_LOG && level > quieter) log_set_level(quieter);
    double t0 = main_now_ms();
    char *response = !d            ? NULL
                     : repeat > 1 ? main_repeat(r, d, buf, len, repeat, &res, err, sizeof err)
                                  : process_event(r, d, buf, len, &res, NULL, err, sizeof err);
    double ms = main_now_ms() - t0;
    log_set_level(level);
    if (response && summary == SUMMARY_HUMAN) summary_human(stderr, event_path, &res, ms);
    if (response && summary == SUMMARY_JSON) summary_json(stderr, event_path, &res, ms);
    router_free(r); /* on_fini runs before the response is printed */
    manifest_free(&m);
    event_decoder_free(d);
    free(buf);
    if (!response) {
        log_error("event \"%s\": %s", event_path, err);
        return EXIT_INPUT;
    }
    printf("%s\n", response);
    free(response);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_INPUT;
}

static int main_check(const char *manifest_path)
{
    manifest m;
    router *r = NULL;
    if (!main_load(manifest_path, NULL, &m, &r)) return EXIT_INPUT;
    router_describe(r, stdout);
    size_t handlers = 0;
    for (size_t i = 0; i < m.count; i++) handlers += m.routes[i].count;
    router_free(r);
    printf("ok: %zu route%s, %zu handler%s\n", m.count, m.count == 1 ? "" : "s", handlers,
           handlers == 1 ? "" : "s");
    manifest_free(&m);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    enum { OPT_LOG_LEVEL = 256, OPT_REPEAT, OPT_QUIET, OPT_JSON };
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"invoke", no_argument, NULL, 'i'},
        {"manifest", required_argument, NULL, 'm'},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"repeat", required_argument, NULL, OPT_REPEAT},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *manifest_path = NULL;
    bool invoke = false;
    long repeat = 1;
    bool quiet = false, json = false;
    int c;
    /* `new` and `event` take options of their own: hand them the rest of the line. */
    if (argc >= 2 && (strcmp(argv[1], "new") == 0 || strcmp(argv[1], "event") == 0))
        return argv[1][0] == 'n' ? scaffold_main(argc - 1, argv + 1) : sample_main(argc - 1, argv + 1);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage, stdout); return EXIT_SUCCESS;
        case 'V': printf("ddbhost %s (plugin ABI %d.%d)\n", DDBHOST_VERSION, DDB_ABI_MAJOR,
                         DDB_ABI_MINOR);
                  return EXIT_SUCCESS;
        case 'i': invoke = true; break;
        case 'm': manifest_path = optarg; break;
        case OPT_LOG_LEVEL: {
            ddb_log_level level;
            if (!log_parse_level(optarg, &level))
                return log_usage_error("unknown log level \"%s\" (expected error, warn, info or debug)",
                                        optarg);
            log_set_level(level);
            break;
        }
        case OPT_QUIET: quiet = true; break;
        case OPT_JSON: json = true; break;
        case OPT_REPEAT: {
            char *end;
            errno = 0;
            repeat = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || repeat < 1 || repeat > 1000000)
                return log_usage_error("--repeat takes a number of runs from 1 to 1000000, not \"%s\"",
                                        optarg);
            break;
        }
        case ':': return log_usage_error("option %s needs an argument", argv[optind - 1]);
        default: return log_usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    char **args = argv + optind;
    int nargs = argc - optind;
    /* Inside Lambda the bootstrap runs the host with no arguments. */
    if (argc == 1 && getenv("AWS_LAMBDA_RUNTIME_API")) return runtime_main();
    if (!invoke && nargs >= 1 && strcmp(args[0], "serve") == 0) {
        if (nargs != 1 || manifest_path)
            return log_usage_error("%s", "usage: ddbhost serve (the manifest comes from the environment)");
        return runtime_main();
    }
    if (!invoke && nargs >= 1 && strcmp(args[0], "check") == 0) {
        if (nargs != 2 || manifest_path)
            return log_usage_error("%s", "usage: ddbhost check MANIFEST.json");
        return main_check(args[1]);
    }
    if (!invoke && nargs >= 1 &&
        (strcmp(args[0], "template") == 0 || strcmp(args[0], "policy") == 0)) {
        bool template = args[0][0] == 't';
        if (nargs != 2 || manifest_path)
            return log_usage_error("usage: ddbhost %s MANIFEST.json", args[0]);
        return template ? deploy_template_main(args[1], stdout)
                        : deploy_policy_main(args[1], stdout);
    }
    if (!invoke) {
        if (nargs == 0) return log_usage_error("%s", "nothing to do: give --invoke or check");
        return log_usage_error("unknown command \"%s\"", args[0]);
    }
    if (quiet && json) return log_usage_error("%s", "--quiet and --json do not go together");
    if (quiet) log_set_level(DDB_LOG_ERROR);
    main_summary summary = quiet  ? SUMMARY_NONE
                           : json ? SUMMARY_JSON
                           : isatty(STDERR_FILENO) ? SUMMARY_HUMAN
                                                   : SUMMARY_LOG;
    if (manifest_path) {
        if (nargs != 1)
            return log_usage_error("%s", "usage: ddbhost --manifest MANIFEST.json --invoke EVENT.json");
        return main_invoke(manifest_path, NULL, args[0], repeat, summary);
    }
    if (nargs != 2)
        return log_usage_error("%s", "usage: ddbhost --invoke PLUGIN.so EVENT.json");
    return main_invoke(NULL, args[0], args[1], repeat, summary);
}
