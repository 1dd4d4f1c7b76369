/* log.h - the process-wide logger, the one piece of global state in the host.
 * Writes one line per message on stderr: "ddbhost: error: ...", "ddbhost: warning: ...",
 * "ddbhost: ..." (info and debug). It knows nothing of events or plugins. */
#ifndef DDBHOST_LOG_H
#define DDBHOST_LOG_H

#include <ddb/plugin.h>

void log_set_level(ddb_log_level level);
ddb_log_level log_level(void);
/* Parses "error" | "warn" | "info" | "debug" (any case); false when unknown. */
bool log_parse_level(const char *text, ddb_log_level *out);

void log_msg(ddb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(DDB_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(DDB_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(DDB_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(DDB_LOG_DEBUG, __VA_ARGS__)

#endif
