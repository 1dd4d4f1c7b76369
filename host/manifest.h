/* manifest.h - the manifest: which handlers serve which table, with what config.
 * Parsed with json-c and validated whole before anything is loaded; plugin paths are
 * resolved against the manifest's directory. Knows nothing of events or dlopen. */
#ifndef DDBHOST_MANIFEST_H
#define DDBHOST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define MANIFEST_ALL_EVENTS 0xEu /* 1 << DDB_INSERT | 1 << DDB_MODIFY | 1 << DDB_REMOVE */

typedef struct manifest_handler {
    char *plugin;               /* path as resolved (relative to the manifest's directory) */
    struct json_object *config; /* "config" as given, NULL when absent; owned */
    unsigned events;            /* bit 1 << ddb_event_name per accepted event */
    bool isolated;              /* runs in a worker process: "isolation": "process", its own
                                   or the manifest's */
} manifest_handler;

typedef enum manifest_starting_position {
    MANIFEST_TRIM_HORIZON = 0, /* the oldest record still in the stream (24 hours) */
    MANIFEST_LATEST = 1        /* only records written after the mapping is created */
} manifest_starting_position;

/* A table's Lambda event source mapping, from the route's "stream" object; each field is
 * named after its property in AWS::Lambda::EventSourceMapping. Only `ddbhost template` reads
 * it: the host itself processes whatever batch Lambda sends. */
typedef struct manifest_stream {
    int64_t batch_size;         /* BatchSize, 1..10000, default 100 */
    int64_t max_batching_window_s; /* MaximumBatchingWindowInSeconds, 0..300, default 0 */
    bool bisect_on_error;       /* BisectBatchOnFunctionError, default true */
    int64_t max_retries;        /* MaximumRetryAttempts, -1..10000, default -1: retry until the
                                   record expires from the stream, as Lambda does */
    manifest_starting_position starting_position; /* StartingPosition, default TRIM_HORIZON */
    int64_t parallelization_factor; /* ParallelizationFactor, 1..10, default 1 */
} manifest_stream;

typedef struct manifest_route {
    char *table;                /* a table name, or "*" for every table without a route */
    manifest_handler *handlers; /* called in order */
    size_t count;
    manifest_stream stream;     /* the defaults unless the route gave "stream" (which a "*"
                                   route cannot: it is no event source) */
} manifest_route;

typedef enum manifest_on_failure { MANIFEST_STOP = 0, MANIFEST_CONTINUE = 1 } manifest_on_failure;

typedef enum manifest_architecture { MANIFEST_X86_64 = 0, MANIFEST_ARM64 = 1 } manifest_architecture;

/* The Lambda function `ddbhost template` declares, from the top-level "function" object;
 * fields are named after AWS::Serverless::Function properties. */
typedef struct manifest_function {
    char *name;                 /* FunctionName; NULL when absent (the template uses the stack's
                                   name); owned */
    int64_t memory_mb;          /* MemorySize, 128..10240, default 256 */
    int64_t timeout_s;          /* Timeout, 1..900, default 60 */
    manifest_architecture architecture; /* Architectures, default x86_64 */
} manifest_function;

typedef struct manifest {
    char *path;                 /* where it came from, for messages */
    manifest_route *routes;     /* in manifest order */
    size_t count;
    manifest_on_failure on_failure;
    int64_t deadline_margin_ms; /* stop delivering records when less time than this is left
                                   before the invocation's deadline; 0..900000, default 1000 */
    bool metrics;               /* one Embedded Metric Format line per invocation; default false */
    bool isolated;              /* "isolation": "process" for every handler without its own */
    int64_t record_timeout_ms;  /* an isolated handler's time budget per record (and per batch
                                   hook); 1..900000, default 30000 */
    manifest_function function;
} manifest;

/* Reads and validates the manifest at path. On failure returns false with one line in err
 * (no "ddbhost: error:" prefix) naming the file and the key, and *out untouched. */
bool manifest_load(const char *path, manifest *out, char *err, size_t cap);
/* The same from text; path names it in messages and anchors relative plugin paths. */
bool manifest_parse(const char *text, size_t len, const char *path, manifest *out, char *err,
                    size_t cap);
/* A manifest routing every table to one plugin, as `--invoke PLUGIN.so` does, with every
 * other setting at its default. */
bool manifest_single(const char *plugin, manifest *out, char *err, size_t cap);
void manifest_free(manifest *m);

#endif
