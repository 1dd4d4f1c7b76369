/* stream.h - a table's DynamoDB stream as `ddbhost poll` reads it: the stream's ARN, its shard
 * tree, iterators and pages of records (DescribeTable, DescribeStream, GetShardIterator,
 * GetRecords), and each record turned into the record Lambda delivers. Knows the AWS API's
 * answers; nothing of sessions, batches or checkpoints. */
#ifndef DDBHOST_STREAM_H
#define DDBHOST_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"

struct json_object;

typedef struct stream_shard {
    char *id;                 /* owned, as every string here */
    char *parent;             /* ParentShardId; NULL for a shard without one */
    char *start;              /* SequenceNumberRange.StartingSequenceNumber; NULL if absent */
    bool closed;              /* an EndingSequenceNumber: no record will be added */
} stream_shard;

void stream_shards_free(stream_shard *shards, size_t n);

/* The table's LatestStreamArn and the name of its partition (HASH) key from a DescribeTable
 * answer; false with one line in err when the table has no stream enabled (with the
 * update-table hint). *arn and *hash_key (NULL when KeySchema does not say) owned by the
 * caller. */
bool stream_table_parse(struct json_object *answer, const char *table, char **arn,
                        char **hash_key, char *err, size_t cap);
/* Appends the shards of a DescribeStream answer to *shards (*n of them, *cap allocated) and
 * sets *last to LastEvaluatedShardId (owned) or NULL when the list is complete. False with one
 * line in err. */
bool stream_shards_parse(struct json_object *answer, stream_shard **shards, size_t *n,
                         size_t *cap, char **last, char *err, size_t cap_err);

/* A record of GetRecords in the shape Lambda delivers it: eventID, eventName, eventVersion
 * "1.1", eventSource "aws:dynamodb", awsRegion, dynamodb (ApproximateCreationDateTime in whole
 * seconds, then Keys, NewImage, OldImage, SequenceNumber, SizeBytes, StreamViewType, then any
 * other member), eventSourceARN (the stream's ARN). */
typedef struct stream_record {
    char *json;               /* one line, owned */
    size_t len;
    char *seq;                /* dynamodb.SequenceNumber, owned */
    int64_t created_s;        /* ApproximateCreationDateTime, seconds */
    uint64_t partition;       /* a hash of the partition key's value (of all of Keys when the
                                 partition key's name is not known): equal for the records of
                                 one partition key */
} stream_record;

void stream_record_free(stream_record *r);
/* The records of a GetRecords answer, appended to *out (*n of them, *cap allocated), and its
 * NextShardIterator in *next (owned; NULL when the shard is closed and read to its end).
 * hash_key names the table's partition key (NULL: unknown). False with one line in err naming
 * the record's index. */
bool stream_records_parse(struct json_object *answer, const char *stream_arn, const char *region,
                          const char *hash_key, stream_record **out, size_t *n, size_t *cap,
                          char **next, char *err, size_t cap_err);

/* ---- calls ----------------------------------------------------------------------------- */

/* The stream ARN and partition key name of table (DescribeTable), as stream_table_parse. */
bool stream_find(aws_client *c, const char *table, char **arn, char **hash_key, char *err,
                 size_t cap);
/* Every shard of the stream (DescribeStream, page after page). */
bool stream_list_shards(aws_client *c, const char *arn, stream_shard **shards, size_t *n,
                        char *err, size_t cap);

typedef enum stream_position {
    STREAM_TRIM_HORIZON,
    STREAM_LATEST,
    STREAM_AFTER              /* AFTER_SEQUENCE_NUMBER */
} stream_position;

/* A shard iterator (GetShardIterator); seq for STREAM_AFTER. NULL with e filled. */
char *stream_iterator(aws_client *c, const char *arn, const char *shard, stream_position at,
                      const char *seq, aws_error *e);
/* The next page (GetRecords, up to limit records); the answer, or NULL with e filled. */
struct json_object *stream_get(aws_client *c, const char *iterator, int limit, aws_error *e);

#endif
