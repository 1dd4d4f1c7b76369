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
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "manifest.h"
#include "process.h"
#include "router.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2

static const char usage[] =
    "Usage:\n"
    "  ddbhost --invoke PLUGIN.so EVENT.json            deliver an event to one plugin\n"
    "  ddbhost --manifest MANIFEST.json --invoke EVENT.json\n"
    "                                                   deliver an event as the manifest routes it\n"
    "  ddbhost check MANIFEST.json                      validate a manifest and load its plugins\n"
    "  ddbhost --help | --version\n"
    "\n"
    "EVENT.json may be '-' to read the event from standard input.\n"
    "\n"
    "Options:\n"
    "  --log-level LEVEL   error, warn, info (default) or debug; logs go to stderr\n"
    "\n"
    "Plugins may print to stdout; the last line of stdout is always the Lambda batch\n"
    "response, {\"batchItemFailures\":[...]}, naming the SequenceNumber of each failed record.\n"
    "Exit status: 0 the event was processed (even if records failed), 1 bad event,\n"
    "manifest or plugin, 2 usage error.\n";

static int main_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ddbhost: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ddbhost --help'.\n");
    return EXIT_USAGE;
}

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
    *r = router_new(m, err, sizeof err);
    if (!*r) {
        log_error("%s", err);
        manifest_free(m);
        return false;
    }
    return true;
}

static int main_invoke(const char *manifest_path, const char *plugin, const char *event_path)
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
    char *response = d ? process_event(r, d, buf, len, &res, err, sizeof err) : NULL;
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
    enum { OPT_LOG_LEVEL = 256 };
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"invoke", no_argument, NULL, 'i'},
        {"manifest", required_argument, NULL, 'm'},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {NULL, 0, NULL, 0},
    };
    const char *manifest_path = NULL;
    bool invoke = false;
    int c;
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
                return main_usage_error("unknown log level \"%s\" (expected error, warn, info or debug)",
                                        optarg);
            log_set_level(level);
            break;
        }
        case ':': return main_usage_error("option %s needs an argument", argv[optind - 1]);
        default: return main_usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    char **args = argv + optind;
    int nargs = argc - optind;
    if (!invoke && nargs >= 1 && strcmp(args[0], "check") == 0) {
        if (nargs != 2 || manifest_path)
            return main_usage_error("%s", "usage: ddbhost check MANIFEST.json");
        return main_check(args[1]);
    }
    if (!invoke) {
        if (nargs == 0) return main_usage_error("%s", "nothing to do: give --invoke or check");
        return main_usage_error("unknown command \"%s\"", args[0]);
    }
    if (manifest_path) {
        if (nargs != 1)
            return main_usage_error("%s", "usage: ddbhost --manifest MANIFEST.json --invoke EVENT.json");
        return main_invoke(manifest_path, NULL, args[0]);
    }
    if (nargs != 2)
        return main_usage_error("%s", "usage: ddbhost --invoke PLUGIN.so EVENT.json");
    return main_invoke(NULL, args[0], args[1]);
}
