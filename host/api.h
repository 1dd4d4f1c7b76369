/* api.h - the host service table (ddb_host_api) that plugins receive in on_init, and the
 * handle behind each loaded handler. Plugins reach the host only through this table.
 * Knows nothing of events or routing. */
#ifndef DDBHOST_API_H
#define DDBHOST_API_H

#include <ddb/plugin.h>

struct json_object;

/* One handler instance as plugins see it: what its log lines are attributed to. */
struct ddb_handle {
    const char *name;  /* the plugin's descriptor name */
    const char *route; /* the manifest table it serves, "*" for any */
};

/* The process-wide table; entries only ever appended. */
const ddb_host_api *api_table(void);

/* The config a plugin sees: a manifest "config" object (NULL when absent). */
static inline const ddb_config *api_config(const struct json_object *config)
{
    return (const ddb_config *)config;
}

#endif
