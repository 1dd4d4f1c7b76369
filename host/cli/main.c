/* main.c - the ddbhost command line: one table of commands, the options they share, exit
 * statuses and the order of output (the batch response is the last line of stdout, on a
 * line of its own, after every plugin's on_fini). The work is done by a session (core/)
 * and the tools (tools/); this file must not grow logic of its own. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "log.h"
#include "output.h"
#include "poller.h"
#include "runtime.h"
#include "sample.h"
#include "scaffold.h"
#include "session.h"
#include "summary.h"
#include "sys.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2

/* How --invoke reports on the event: the one info line (logs), a few lines for a person
 * (when stderr is a terminal), one line of JSON (--json), or nothing (--quiet). */
typedef enum main_summary { SUMMARY_LOG, SUMMARY_HUMAN, SUMMARY_JSON, SUMMARY_NONE } main_summary;

/* The options before the command, shared by every command that takes them. */
typedef struct main_options {
    const char *manifest;
    bool invoke;
    long repeat;
    main_summary summary;
} main_options;

typedef struct main_command {
    const char *name;     /* the word that selects it, or "--invoke" */
    int nargs;            /* words after it (-1: the command reads its own options) */
    int (*run)(const main_options *o, int argc, char **argv);
    const char *synopsis; /* after "ddbhost " in --help and in its usage error */
    const char *what;     /* for --help; '\n' continues it on the next line */
} main_command;

static int main_invoke(const main_options *o, int argc, char **argv);
static int main_check(const main_options *o, int argc, char **argv);
static int main_template(const main_options *o, int argc, char **argv);
static int main_policy(const main_options *o, int argc, char **argv);
static int main_new(const main_options *o, int argc, char **argv);
static int main_event(const main_options *o, int argc, char **argv);
static int main_serve(const main_options *o, int argc, char **argv);
static int main_poll(const main_options *o, int argc, char **argv);

/* Every command, in the order --help lists them; a new front door is one more row. The
 * manifest form of --invoke is a row of its own for --help; dispatch finds the first. */
static const main_command main_commands[] = {
    {"--invoke", 2, main_invoke, "--invoke PLUGIN.so EVENT.json", "deliver an event to one plugin"},
    {"--invoke", 1, main_invoke, "--manifest MANIFEST.json --invoke EVENT.json",
     "deliver an event as the manifest routes it"},
    {"check", 1, main_check, "check MANIFEST.json", "validate a manifest and load its plugins"},
    {"template", 1, main_template, "template MANIFEST.json",
     "print an AWS SAM template for the manifest"},
    {"policy", 1, main_policy, "policy MANIFEST.json", "print the least-privilege IAM policy"},
    {"new", -1, main_new, "new NAME [DIR]", "write a plugin project that builds and runs"},
    {"event", -1, main_event,
     "event insert|modify|remove --table TABLE [--keys JSON] [--new JSON]\n"
     "               [--old JSON] [--view TYPE] [--count N] [--region REGION]",
     "write a sample event for local testing"},
    {"serve", 0, main_serve, "serve",
     "serve the Lambda Runtime API (the default\nwhen run with no arguments inside Lambda)"},
    {"poll", -1, main_poll,
     "poll --manifest MANIFEST.json [--endpoint URL]\n"
     "               [--region REGION] [--state DIR] [--watch]\n"
     "               [--json | --quiet]",
     "read the tables' streams and deliver them as\nLambda's event source mapping does"},
};
#define MAIN_NCOMMANDS (sizeof main_commands / sizeof main_commands[0])
#define MAIN_WHAT_COLUMN 51

static const char main_usage_tail[] =
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

/* "  ddbhost SYNOPSIS      WHAT": WHAT in its column, or on the next line when the synopsis
 * reaches it; each line of WHAT after the first in the same column below. */
static void main_help_row(FILE *out, const main_command *c)
{
    fprintf(out, "  ddbhost %s", c->synopsis);
    const char *last = strrchr(c->synopsis, '\n');
    int width = last ? (int)strlen(last + 1) : (int)strlen(c->synopsis) + 10;
    for (const char *w = c->what; w;) {
        const char *end = strchr(w, '\n');
        int len = end ? (int)(end - w) : (int)strlen(w);
        if (width >= MAIN_WHAT_COLUMN - 1) {
            fputc('\n', out);
            width = 0;
        }
        fprintf(out, "%*s%.*s", MAIN_WHAT_COLUMN - width, "", len, w);
        width = MAIN_WHAT_COLUMN;
        w = end ? end + 1 : NULL;
    }
    fputc('\n', out);
}

static void main_help(FILE *out)
{
    fputs("Usage:\n", out);
    for (size_t i = 0; i < MAIN_NCOMMANDS; i++) main_help_row(out, &main_commands[i]);
    fputs(main_usage_tail, out);
}

/* Every command's name, "--invoke, check, ..., serve", for the usage errors that must
 * list them all. */
static const char *main_command_names(void)
{
    static char names[256];
    size_t n = 0;
    names[0] = '\0';
    for (size_t i = 0; i < MAIN_NCOMMANDS; i++) {
        if (i > 0 && strcmp(main_commands[i].name, main_commands[i - 1].name) == 0) continue;
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "",
                              main_commands[i].name);
    }
    return names;
}

/* The usage error of command c: its synopsis, and where to read more. */
static int main_usage(const main_command *c)
{
    return log_usage_error("usage: ddbhost %.*s", (int)strcspn(c->synopsis, "\n"), c->synopsis);
}

static int main_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --repeat's one line: the median, min, max and first of the runs' times (sorted here). */
static void main_repeat_report(double *ms, long repeat, const router_result *res, size_t len,
                               size_t first_reserved, size_t last_reserved)
{
    double first = ms[0];
    qsort(ms, (size_t)repeat, sizeof *ms, main_cmp_double);
    double median = repeat % 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
    fprintf(stderr,
            "ddbhost: repeat: %ld runs of %zu records (%zu bytes): median %.4f ms (%.0f MB/s), "
            "min %.4f ms, max %.4f ms, first %.4f ms; decoder holds %zu KB after the first run, "
            "%zu KB after the last\n",
            repeat, res->records, len, median, median > 0 ? (double)len / median / 1e3 : 0.0,
            ms[0], ms[repeat - 1], first, first_reserved / 1024, last_reserved / 1024);
}

/* The event through the session repeat times in one process, as the runtime loop does, with
 * the decoder's memory reused. The event is restored before each run (decoding works in
 * place) outside the timed part. Returns the last run's response. */
static char *main_process(session *s, char *buf, size_t len, long repeat, router_result *res,
                          char *err, size_t cap)
{
    char *orig = repeat > 1 ? malloc(len + 1) : NULL;
    double *ms = malloc((size_t)repeat * sizeof *ms);
    char *response = NULL;
    size_t first_reserved = 0;
    ddb_log_level level = log_level();
    if ((repeat > 1 && !orig) || !ms) {
        snprintf(err, cap, "out of memory");
        goto done;
    }
    if (orig) memcpy(orig, buf, len);
    for (long i = 0; i < repeat; i++) {
        free(response);
        if (i > 0) memcpy(buf, orig, len);
        double t0 = sys_monotonic_ms();
        response = session_process(s, buf, len, NULL, res, NULL, err, cap);
        ms[i] = sys_monotonic_ms() - t0;
        if (!response) goto done;
        if (i == 0) {
            first_reserved = session_reserved(s);
            if (level > DDB_LOG_WARN) log_set_level(DDB_LOG_WARN); /* one info line, not N */
        }
    }
    if (repeat > 1) main_repeat_report(ms, repeat, res, len, first_reserved, session_reserved(s));
done:
    log_set_level(level);
    free(orig);
    free(ms);
    return response;
}

/* --invoke: the event through a session; the summary on stderr; the response last on
 * stdout, after on_fini, on a line of its own whatever the plugins printed. */
static int main_invoke(const main_options *o, int argc, char **argv)
{
    const char *event_path = argv[argc - 1];
    char err[1024] = "out of memory";
    size_t len = 0;
    char *buf = sys_read_file(event_path, &len);
    if (!buf) {
        log_error("cannot read event \"%s\": %s", event_path, strerror(errno));
        return EXIT_INPUT;
    }
    output *out = output_begin();
    session *s = session_open(o->manifest, o->manifest ? NULL : argv[0], NULL, err, sizeof err);
    if (!s) {
        output_end(out);
        log_error("%s", err);
        free(buf);
        return EXIT_INPUT;
    }
    ddb_log_level level = log_level();
    /* The summary says what the info line (and, for scripts, the warnings) would. */
    ddb_log_level quieter = o->summary == SUMMARY_JSON ? DDB_LOG_ERROR : DDB_LOG_WARN;
    if (o->summary != SUMMARY_LOG && level > quieter) log_set_level(quieter);
    router_result res;
    double t0 = sys_monotonic_ms();
    char *response = main_process(s, buf, len, o->repeat, &res, err, sizeof err);
    double ms = sys_monotonic_ms() - t0;
    log_set_level(level);
    if (response && o->summary == SUMMARY_HUMAN) summary_human(stderr, event_path, &res, ms);
    if (response && o->summary == SUMMARY_JSON) summary_json(stderr, event_path, &res, ms);
    session_close(s); /* on_fini runs before the response is printed */
    output_end(out);
    free(buf);
    if (!response) {
        log_error("event \"%s\": %s", event_path, err);
        return EXIT_INPUT;
    }
    printf("%s\n", response);
    free(response);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_INPUT;
}

static int main_check(const main_options *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    char err[1024];
    session *s = session_open(argv[0], NULL, NULL, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return EXIT_INPUT;
    }
    const manifest *m = session_manifest(s);
    session_warn(s);
    size_t routes = m->count, handlers = 0;
    for (size_t i = 0; i < m->count; i++) handlers += m->routes[i].count;
    session_describe(s, stdout);
    session_close(s);
    printf("ok: %zu route%s, %zu handler%s\n", routes, routes == 1 ? "" : "s", handlers,
           handlers == 1 ? "" : "s");
    return EXIT_SUCCESS;
}

static int main_template(const main_options *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    return deploy_template_main(argv[0], stdout);
}

static int main_policy(const main_options *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    return deploy_policy_main(argv[0], stdout);
}

static int main_new(const main_options *o, int argc, char **argv)
{
    (void)o;
    return scaffold_main(argc, argv);
}

static int main_event(const main_options *o, int argc, char **argv)
{
    (void)o;
    return sample_main(argc, argv);
}

static int main_serve(const main_options *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    (void)argv;
    return runtime_main();
}

static int main_poll(const main_options *o, int argc, char **argv)
{
    (void)o;
    return poller_main(argc, argv);
}

/* Parses the options before the command into o; returns -1 to go on, or the exit status. */
static int main_options_parse(int argc, char **argv, main_options *o)
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
    bool quiet = false, json = false;
    ddb_log_level level;
    char *end;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
        switch (c) {
        case 'h': main_help(stdout); return EXIT_SUCCESS;
        case 'V': printf("ddbhost %s (plugin ABI %d.%d)\n", DDBHOST_VERSION, DDB_ABI_MAJOR,
                         DDB_ABI_MINOR);
                  return EXIT_SUCCESS;
        case 'i': o->invoke = true; break;
        case 'm': o->manifest = optarg; break;
        case OPT_LOG_LEVEL:
            if (!log_parse_level(optarg, &level))
                return log_usage_error("unknown log level \"%s\" (expected error, warn, info or debug)",
                                       optarg);
            log_set_level(level);
            break;
        case OPT_QUIET: quiet = true; break;
        case OPT_JSON: json = true; break;
        case OPT_REPEAT:
            errno = 0;
            o->repeat = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->repeat < 1 || o->repeat > 1000000)
                return log_usage_error("--repeat takes a number of runs from 1 to 1000000, not \"%s\"",
                                       optarg);
            break;
        case ':': return log_usage_error("option %s needs an argument", argv[optind - 1]);
        default: return log_usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (quiet && json) return log_usage_error("%s", "--quiet and --json do not go together");
    if (quiet) log_set_level(DDB_LOG_ERROR);
    o->summary = quiet ? SUMMARY_NONE : json ? SUMMARY_JSON
                 : isatty(STDERR_FILENO) ? SUMMARY_HUMAN : SUMMARY_LOG;
    return -1;
}

/* The row of the table that args select, or NULL after a usage error. */
static const main_command *main_find(const main_options *o, int nargs, char **args)
{
    const char *name = o->invoke ? "--invoke" : nargs > 0 ? args[0] : NULL;
    if (!name) {
        log_usage_error("nothing to do: give a command (%s)", main_command_names());
        return NULL;
    }
    for (size_t i = 0; i < MAIN_NCOMMANDS; i++) {
        const main_command *c = &main_commands[i];
        if (strcmp(c->name, name) != 0) continue;
        if (o->invoke) return o->manifest ? c + 1 : c; /* the rows are in that order */
        return c;
    }
    log_usage_error("unknown command \"%s\" (the commands: %s)", name, main_command_names());
    return NULL;
}

int main(int argc, char **argv)
{
    /* Inside Lambda the bootstrap runs the host with no arguments. */
    if (argc == 1 && getenv("AWS_LAMBDA_RUNTIME_API")) return runtime_main();
    /* `new` and `event` read options of their own: the rest of the line is theirs. */
    for (size_t i = 0; argc >= 2 && i < MAIN_NCOMMANDS; i++)
        if (main_commands[i].nargs < 0 && strcmp(argv[1], main_commands[i].name) == 0)
            return main_commands[i].run(NULL, argc - 1, argv + 1);
    main_options o = {.repeat = 1};
    int status = main_options_parse(argc, argv, &o);
    if (status >= 0) return status;
    char **args = argv + optind;
    int nargs = argc - optind;
    const main_command *c = main_find(&o, nargs, args);
    if (!c) return EXIT_USAGE;
    if (!o.invoke) {
        args++;
        nargs--;
    }
    /* Only --invoke takes the options about an event, and only it the manifest option. */
    if (nargs != c->nargs || (o.manifest && !o.invoke)) return main_usage(c);
    return c->run(&o, nargs, args);
}
