/* loader.h - whether the host may use a file it would dlopen (plugins and bound libraries
 * alike), and opening a plugin: the file's permissions, then its descriptor (size, magic,
 * ABI major and minor) and callbacks read from the file itself, all before dlopen runs any
 * of its code; then its name. Knows nothing of events or manifests. */
#ifndef DDBHOST_LOADER_H
#define DDBHOST_LOADER_H

#include <ddb/plugin.h>

typedef ddb_status (*loader_record_fn)(const ddb_record *rec, void *state);

typedef struct loader_plugin {
    char *path;
    void *dl;
    const ddb_plugin_descriptor *info;
    loader_record_fn on_record[4]; /* indexed by ddb_event_name; NULL unless the plugin's own
                                      object defines it (not a library it links) */
    ddb_status (*on_init)(const ddb_init *init, void **state);
    void (*on_fini)(void *state);
    ddb_status (*on_batch_begin)(const ddb_batch *batch, void *state);
    ddb_status (*on_batch_end)(const ddb_batch *batch, void *state);
} loader_plugin;

/* The trust check of every file the host dlopens: a file that group or others could write,
 * or that sits in a directory where they could put another in its place (unless sticky and
 * the file is ours or root's), is refused, except on a read-only file system. A symbolic
 * link is judged by the file it points to and that file's directory (and by the link's own
 * directory, from which it could be pointed elsewhere). A bare name (no '/') is the system's
 * library path and passes. False with why: the reason after the file's name, e.g.
 * `is writable by group or others (mode 0664): ... (hint: chmod go-w x.so)`. */
bool loader_trust(const char *path, char *why, size_t cap);

/* What the file of a plugin says of it before any of its code runs. */
typedef struct loader_inspection {
    bool has[4];         /* by ddb_event_name: the plugin itself defines that callback */
    bool has_batch_end;  /* and on_batch_end, where a sink commits */
    unsigned abi_major, abi_minor;
} loader_inspection;

/* Validates the plugin at path without loading it: trust, then the descriptor's size, magic
 * and version and the record callbacks, from the file's dynamic symbol table. For a plugin
 * that must never be loaded into the host (isolation loads it in a worker). The same
 * refusals, word for word, as loader_open. */
bool loader_inspect(const char *path, loader_inspection *out, char *err, size_t cap);

/* Opens and validates the plugin at path. On refusal returns false with one line in err
 * (no "ddbhost: error:" prefix) naming the file, what is wrong, and a hint, e.g.
 * plugin "x.so" was built for plugin ABI 2.0, this host supports 1.0 (hint: ...) */
bool loader_open(const char *path, loader_plugin *out, char *err, size_t cap);
void loader_close(loader_plugin *p);

#endif
