/* manifest.h - the manifest: which handlers serve which table, with what config.
 * Parsed with json-c and validated whole before anything is loaded; plugin paths are
 * resolved against the manifest's directory. Knows nothing of events or dlopen. */
#ifndef DDBHOST_MANIFEST_H
#define DDBHOST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ddb/plugin.h>

struct json_object;

#define MANIFEST_ALL_EVENTS 0xEu /* 1 << DDB_INSERT | 1 << DDB_MODIFY | 1 << DDB_REMOVE */

/* ---- bindings: a library function called on each record (docs/BINDINGS.md) ----------- */

#define MANIFEST_MAX_BIND_ARGS 16 /* per binding, as written (bytes counts once) */

/* Where an argument's value comes from: an attribute path into one of the record's three
 * maps, a fact of the record, or the record itself. */
typedef enum manifest_arg_source {
    MANIFEST_SRC_KEYS,
    MANIFEST_SRC_NEW_IMAGE,
    MANIFEST_SRC_OLD_IMAGE,
    MANIFEST_SRC_TABLE,
    MANIFEST_SRC_EVENT_NAME,
    MANIFEST_SRC_SEQUENCE_NUMBER,
    MANIFEST_SRC_EVENT_ID,
    MANIFEST_SRC_RECORD
} manifest_arg_source;

/* The C type the function receives. */
typedef enum manifest_arg_type {
    MANIFEST_ARG_STRING, /* const char *, NUL-terminated */
    MANIFEST_ARG_BYTES,  /* const void *, size_t: two C arguments */
    MANIFEST_ARG_INT32,
    MANIFEST_ARG_INT64,
    MANIFEST_ARG_UINT64,
    MANIFEST_ARG_DOUBLE,
    MANIFEST_ARG_BOOL,
    MANIFEST_ARG_JSON,   /* const char *: the value as plain JSON text */
    MANIFEST_ARG_RECORD  /* const ddb_record * */
} manifest_arg_type;

/* One step of an attribute path: the member name[0..name_len) of a map, or, when name is
 * NULL, element `index` of a list. */
typedef struct manifest_step {
    char *name;
    size_t name_len;
    uint32_t index;
} manifest_step;

typedef struct manifest_arg {
    char *text;               /* as written, for messages */
    size_t path_len;          /* text's part before ":TYPE", e.g. "NewImage.items[2].sku" */
    manifest_arg_source source;
    manifest_step *steps;     /* into the map of source; none for the whole map or a fact */
    size_t nsteps;
    manifest_arg_type type;
    bool optional;            /* a trailing '?': a missing or NULL attribute gives NULL or 0 */
} manifest_arg;

typedef enum manifest_returns {
    MANIFEST_RETURNS_INT = 0,  /* 0 is success */
    MANIFEST_RETURNS_BOOL = 1, /* true is success */
    MANIFEST_RETURNS_VOID = 2  /* always success */
} manifest_returns;

typedef struct manifest_binding {
    char *call;               /* the exported function's name; NULL: this event is not bound */
    manifest_arg *args;
    size_t nargs;
    manifest_returns returns;
} manifest_binding;

/* "string", "int64", ... as the manifest spells them. */
const char *manifest_arg_type_name(manifest_arg_type t);

/* ---- handlers ------------------------------------------------------------------------- */

typedef struct manifest_handler {
    char *plugin;               /* path as resolved (relative to the manifest's directory);
                                   NULL for a bound library */
    struct json_object *config; /* "config" as given, NULL when absent; owned */
    unsigned events;            /* bit 1 << ddb_event_name per accepted event */
    bool isolated;              /* runs in a worker process: "isolation": "process", its own
                                   or the manifest's */
    char *library;              /* a bound library instead of a plugin: its path resolved as a
                                   plugin's is, or a bare file name for dlopen to search for;
                                   NULL for a plugin */
    manifest_binding bind[4];   /* a bound library's functions, indexed by ddb_event_name */
    char *at;                   /* the handler's key path (tables.Orders[1]), for messages */
} manifest_handler;

typedef enum manifest_starting_position {
    MANIFEST_TRIM_HORIZON = 0, /* the oldest record still in the stream (24 hours) */
    MANIFEST_LATEST = 1        /* only records written after the mapping is created */
} manifest_starting_position;

/* Where Lambda sends the record of a batch it discards. */
typedef enum manifest_destination {
    MANIFEST_DEST_SQS = 0,
    MANIFEST_DEST_SNS = 1,
    MANIFEST_DEST_S3 = 2,
    MANIFEST_DEST_FILE = 3   /* file://PATH: a local file, for `ddbhost poll` only */
} manifest_destination;

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
    int64_t max_record_age_s;   /* MaximumRecordAgeInSeconds, -1 or 60..604800, default -1:
                                   a record is dropped only when it expires from the stream */
    int64_t tumbling_window_s;  /* TumblingWindowInSeconds, 0..900, default 0: no window */
    char *on_failure;           /* DestinationConfig.OnFailure.Destination: the ARN of an SQS
                                   queue, SNS topic or S3 bucket, or (poll only) file://PATH;
                                   NULL when absent; owned */
    manifest_destination on_failure_kind; /* its service, when on_failure is set */
    struct json_object *filters; /* "filters": an array of FilterCriteria patterns (objects),
                                   NULL when absent; owned */
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
    int64_t log_retention_days; /* the log group's RetentionInDays, one of CloudWatch's values
                                   (1, 3, 5, 7, 14, 30, ...), default 30 */
    ddb_log_level log_level;    /* LoggingConfig.ApplicationLogLevel, default info */
    struct json_object *policy; /* "policy": IAM statements added to the role's policy,
                                   validated; NULL when absent; owned */
    struct json_object *managed_policies; /* "managed_policies": managed policy ARNs attached
                                   to the role; NULL when absent; owned */
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

/* Logs one warning (with a hint) per setting that lets Lambda drop records with no trace: a
 * finite max_retries or max_record_age_s on a route without "on_failure". Returns how many. */
size_t manifest_warn(const manifest *m);

/* A message about the manifest at path found after it was parsed (a bound library that does
 * not load, say), in the manifest's own form: `manifest "PATH": AT: MESSAGE`. */
void manifest_error(char *err, size_t cap, const char *path, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
