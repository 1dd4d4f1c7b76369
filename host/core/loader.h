/* loader.h - opens a plugin with dlopen and validates it before calling any of its code:
 * descriptor present, size, magic, ABI major and minor, name, at least one callback.
 * Knows nothing of events or manifests. */
#ifndef DDBHOST_LOADER_H
#define DDBHOST_LOADER_H

#include <ddb/plugin.h>

typedef ddb_status (*loader_record_fn)(const ddb_record *rec, void *state);

typedef struct loader_plugin {
    char *path;
    void *dl;
    const ddb_plugin_descriptor *info;
    loader_record_fn on_record[4]; /* indexed by ddb_event_name; NULL when not exported */
    ddb_status (*on_init)(const ddb_init *init, void **state);
    void (*on_fini)(void *state);
    ddb_status (*on_batch_begin)(const ddb_batch *batch, void *state);
    ddb_status (*on_batch_end)(const ddb_batch *batch, void *state);
} loader_plugin;

/* Opens and validates the plugin at path. On refusal returns false with one line in err
 * (no "ddbhost: error:" prefix) naming the file, what is wrong, and a hint, e.g.
 * plugin "x.so" was built for plugin ABI 2.0, this host supports 1.0 (hint: ...) */
bool loader_open(const char *path, loader_plugin *out, char *err, size_t cap);
void loader_close(loader_plugin *p);

#endif
