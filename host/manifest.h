/* manifest.h - the manifest: which handlers serve which table, with what config.
 * Parsed with json-c and validated whole before anything is loaded; plugin paths are
 * resolved against the manifest's directory. Knows nothing of events or dlopen. */
#ifndef DDBHOST_MANIFEST_H
#define DDBHOST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

#define MANIFEST_ALL_EVENTS 0xEu /* 1 << DDB_INSERT | 1 << DDB_MODIFY | 1 << DDB_REMOVE */

typedef struct manifest_handler {
    char *plugin;               /* path as resolved (relative to the manifest's directory) */
    struct json_object *config; /* "config" as given, NULL when absent; owned */
    unsigned events;            /* bit 1 << ddb_event_name per accepted event */
} manifest_handler;

typedef struct manifest_route {
    char *table;                /* a table name, or "*" for every table without a route */
    manifest_handler *handlers; /* called in order */
    size_t count;
} manifest_route;

typedef enum manifest_on_failure { MANIFEST_STOP = 0, MANIFEST_CONTINUE = 1 } manifest_on_failure;

typedef struct manifest {
    char *path;                 /* where it came from, for messages */
    manifest_route *routes;     /* in manifest order */
    size_t count;
    manifest_on_failure on_failure;
} manifest;

/* Reads and validates the manifest at path. On failure returns false with one line in err
 * (no "ddbhost: error:" prefix) naming the file and the key, and *out untouched. */
bool manifest_load(const char *path, manifest *out, char *err, size_t cap);
/* The same from text; path names it in messages and anchors relative plugin paths. */
bool manifest_parse(const char *text, size_t len, const char *path, manifest *out, char *err,
                    size_t cap);
/* A manifest routing every table to one plugin, as `--invoke PLUGIN.so` does. */
bool manifest_single(const char *plugin, manifest *out, char *err, size_t cap);
void manifest_free(manifest *m);

#endif
