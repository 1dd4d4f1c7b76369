/* api.h - the host service table (ddb_host_api) that plugins receive in on_init, and the
 * handle behind each loaded handler. Plugins reach the host only through this table.
 * Knows nothing of events or routing. */
#ifndef DDBHOST_API_H
#define DDBHOST_API_H

#include <ddb/plugin.h>

struct json_object;

/* The Lambda invocation being served, shared by every handler of a router. */
typedef struct api_invocation {
    const char *request_id;   /* NULL outside an invocation */
    const char *function_arn;
    int64_t deadline_ms;      /* ms since the epoch; 0 when there is none */
} api_invocation;

/* One handler instance as plugins see it: what its log lines are attributed to, and the
 * invocation its records belong to. */
struct ddb_handle {
    const char *name;                 /* the plugin's descriptor name */
    const char *route;                /* the manifest table it serves, "*" for any */
    const api_invocation *invocation; /* NULL when there is none */
};

/* Wall-clock milliseconds since the epoch, the clock of Lambda's deadlines. */
int64_t api_now_ms(void);

/* The process-wide table; entries only ever appended. */
const ddb_host_api *api_table(void);

/* The config a plugin sees: a manifest "config" object (NULL when absent). */
static inline const ddb_config *api_config(const struct json_object *config)
{
    return (const ddb_config *)config;
}

#endif
