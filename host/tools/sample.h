/* sample.h - `ddbhost event`: a realistic DynamoDB Streams event built from the user's own
 * items, given as plain JSON, for local testing. `ddbhost new` writes its sample events
 * with the same code. Knows nothing of plugins or of decoding events. */
#ifndef DDBHOST_SAMPLE_H
#define DDBHOST_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>

#include <ddb/plugin.h>

typedef struct sample_spec {
    ddb_event_name event_name;
    const char *table;
    /* Plain JSON objects (NUL-terminated text), NULL when not given. */
    const char *keys;
    const char *new_item;
    const char *old_item;
    ddb_view_type view;       /* DDB_VIEW_UNKNOWN means NEW_AND_OLD_IMAGES */
    long count;               /* records, 1 to 10000 */
    const char *region;       /* NULL means us-east-1 */
    /* A tumbling-window event: window 0 means none; else its length in seconds (1 to 900), the
     * state a JSON object (NULL means {}), the shard id (NULL means a made-up one). */
    long window;
    const char *state;
    const char *shard;
    bool final_invoke;
    bool terminated_early;
} sample_spec;

/* The event as JSON text, ending in a newline; owned by the caller: free(). NULL when the
 * spec cannot be used, with one line in err that names the option at fault, e.g.
 * "--new: price: ...". */
char *sample_event(const sample_spec *spec, size_t *len, char *err, size_t cap);

/* `ddbhost event insert|modify|remove --table T ...`; argv[0] is "event". Returns the exit
 * status: 0, 1 (a file could not be read or stdout written) or 2 (usage error). */
int sample_main(int argc, char **argv);

#endif
