/* log.c - the process-wide logger: level filter and line format (text or JSON) on stderr.
 * Owns the only global state in the host: the level, the format and the request id the
 * lines are attributed to. Never allocates; a line is written with one call. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "text.h"

static struct {
    ddb_log_level threshold;
    bool json;
    const char *request_id;
    void (*before_line)(void *ctx);
    void *before_ctx;
} log_state = {DDB_LOG_INFO, false, NULL, NULL, NULL};

void log_set_level(ddb_log_level level) { log_state.threshold = level; }

ddb_log_level log_level(void) { return log_state.threshold; }

void log_set_request_id(const char *request_id) { log_state.request_id = request_id; }

void log_set_before_line(void (*fn)(void *ctx), void *ctx)
{
    log_state.before_line = fn;
    log_state.before_ctx = ctx;
}

bool log_parse_level(const char *text, ddb_log_level *out)
{
    static const struct { const char *name; ddb_log_level level; } names[] = {
        {"error", DDB_LOG_ERROR}, {"fatal", DDB_LOG_ERROR}, {"warn", DDB_LOG_WARN},
        {"warning", DDB_LOG_WARN}, {"info", DDB_LOG_INFO},  {"debug", DDB_LOG_DEBUG},
        {"trace", DDB_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

void log_from_lambda_env(void)
{
    const char *format = getenv("AWS_LAMBDA_LOG_FORMAT");
    const char *level = getenv("AWS_LAMBDA_LOG_LEVEL");
    ddb_log_level parsed;
    char q[TEXT_QUOTE_CAP];
    if (format && strcasecmp(format, "JSON") == 0) log_state.json = true;
    else if (format && *format && strcasecmp(format, "Text") != 0)
        log_warn("AWS_LAMBDA_LOG_FORMAT %s is neither JSON nor Text: using Text",
                 text_quote(q, sizeof q, format));
    if (level && *level) {
        if (log_parse_level(level, &parsed)) log_state.threshold = parsed;
        else log_warn("AWS_LAMBDA_LOG_LEVEL %s is not a log level: using %s",
                      text_quote(q, sizeof q, level),
                      log_state.threshold == DDB_LOG_INFO ? "INFO" : "the current level");
    }
}

static void log_json_line(ddb_log_level level, const char *message)
{
    static const char *const levels[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char line[6144];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "{\"timestamp\":\"%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03dZ\",\"level\":\"%s\",",
                          (int)(tv.tv_usec / 1000), levels[level]);
    if (log_state.request_id) {
        n += (size_t)snprintf(line + n, sizeof line - n, "\"requestId\":\"");
        n += text_escape(line + n, sizeof line - 64 - n, log_state.request_id,
                         strlen(log_state.request_id));
        n += (size_t)snprintf(line + n, sizeof line - n, "\",");
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "\"message\":\"");
    n += text_escape(line + n, sizeof line - 4 - n, message, strlen(message));
    snprintf(line + n, sizeof line - n, "\"}\n");
    fputs(line, stderr);
}

void log_msg(ddb_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
    if (level > log_state.threshold) return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_state.before_line) log_state.before_line(log_state.before_ctx);
    if (log_state.json) {
        log_json_line(level, line);
    } else {
        char one[sizeof line];
        fprintf(stderr, "ddbhost: %s%s\n", tags[level], text_one_line(one, sizeof one, line));
    }
}

int log_usage_error(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_msg(DDB_LOG_ERROR, "%s", line);
    fputs("Try 'ddbhost --help'.\n", stderr);
    return 2;
}

void log_record_failure(const ddb_record *rec, const char *fmt, ...)
{
    const ddb_str *seq = &rec->sequence_number;
    char rest[2048], q[96];
    va_list ap;
    if (DDB_LOG_WARN > log_state.threshold) return;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    /* A SequenceNumber is digits; anything else the event put there is shown quoted. */
    bool digits = seq->len < sizeof q;
    for (size_t i = 0; i < seq->len && digits; i++) digits = seq->ptr[i] >= '0' && seq->ptr[i] <= '9';
    if (digits) snprintf(q, sizeof q, "%.*s", (int)seq->len, seq->ptr ? seq->ptr : "");
    else text_quote_n(q, sizeof q, seq->ptr, seq->len);
    log_msg(DDB_LOG_WARN, "record %u (table %.*s, SequenceNumber %s)%s", rec->index,
            (int)(rec->table.ptr ? rec->table.len : 8), rec->table.ptr ? rec->table.ptr : "no table",
            q, rest);
}
