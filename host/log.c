/* log.c - the process-wide logger: level filter and line format on stderr.
 * Owns the only global state in the host (the level). Never allocates. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

static ddb_log_level log_threshold = DDB_LOG_INFO;

void log_set_level(ddb_log_level level) { log_threshold = level; }

ddb_log_level log_level(void) { return log_threshold; }

bool log_parse_level(const char *text, ddb_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i]) == 0) {
            *out = (ddb_log_level)i;
            return true;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *out = DDB_LOG_WARN;
        return true;
    }
    return false;
}

void log_msg(ddb_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
    if (level > log_threshold) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ddbhost: %s%s\n", tags[level], line);
}
