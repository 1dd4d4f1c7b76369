/* log.h - the process-wide logger, the one piece of global state in the host.
 * Writes one line per message on stderr: "ddbhost: error: ...", "ddbhost: warning: ...",
 * "ddbhost: ..." (info and debug), or JSON lines under Lambda's JSON log format.
 * Of events it knows only how a record is named in a line; nothing of plugins. */
#ifndef DDBHOST_LOG_H
#define DDBHOST_LOG_H

#include <ddb/plugin.h>

void log_set_level(ddb_log_level level);
ddb_log_level log_level(void);
/* Parses "error" | "warn" | "info" | "debug" (any case); false when unknown. */
bool log_parse_level(const char *text, ddb_log_level *out);

/* Lambda's own switches: AWS_LAMBDA_LOG_FORMAT=JSON makes every line a JSON object with
 * timestamp, level, requestId and message; AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN,
 * ERROR, FATAL) sets the threshold. Unknown values are ignored with a warning. */
void log_from_lambda_env(void);
/* The request id that JSON lines carry; NULL outside an invocation. Borrowed: the caller
 * keeps it alive until it sets another. */
void log_set_request_id(const char *request_id);
/* fn(ctx) runs before each line is written, for a front door that draws on the same terminal
 * (poll's progress view erases itself there and is drawn again after); NULL for none. */
void log_set_before_line(void (*fn)(void *ctx), void *ctx);

/* One line, whatever the message holds: its control characters are escaped (text_one_line). */
void log_msg(ddb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The warning of a record that failed, as every module words it: "record N (table T,
 * SequenceNumber S)" and then fmt, e.g. " failed in plugin \"%s\": %s". */
void log_record_failure(const ddb_record *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A usage error: "ddbhost: error: <message>" and "Try 'ddbhost --help'."; returns 2, the
 * exit status for usage errors. */
int log_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(DDB_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(DDB_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(DDB_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(DDB_LOG_DEBUG, __VA_ARGS__)

#endif
