/* api.h - the host service table (ddb_host_api) that plugins receive in on_init, and the
 * handle behind each loaded handler (with its tumbling window). Plugins reach the host only
 * through this table. Knows nothing of events or routing. */
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

/* A handler's tumbling window during one invocation: what its batch hooks see, and the
 * state it set through set_window_state. */
typedef struct api_window {
    ddb_window view;  /* batch->window; view.state is text below */
    char *text;       /* the handler's state: the event's, or the last it set; owned, NUL-ended */
    size_t len, cap;
    bool set;         /* it set one in this invocation */
    char error[400];  /* what was wrong with a state it set, "set a tumbling-window state
                         that ...", or "": the invocation fails */
} api_window;

/* Makes w's state text (len bytes) a copy of json; false when out of memory. json may lie in
 * w's own text. */
bool api_window_text(api_window *w, const char *json, size_t len);

/* One handler instance as plugins see it: what its log lines are attributed to, the
 * invocation its records belong to, and its tumbling window. */
struct ddb_handle {
    const char *name;                 /* the plugin's descriptor name */
    const char *route;                /* the manifest table it serves, "*" for any */
    const api_invocation *invocation; /* NULL when there is none */
    api_window *window;               /* during a tumbling-window invocation, else NULL */
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
