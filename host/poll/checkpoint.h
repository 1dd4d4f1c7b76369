/* checkpoint.h - where `ddbhost poll` has got to in a table's stream: per shard, the last
 * sequence number processed and whether the shard is finished, in one file per table under
 * --state, written atomically so that a crash leaves the old file or the new one. */
#ifndef DDBHOST_CHECKPOINT_H
#define DDBHOST_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct checkpoint_shard {
    char *id;       /* owned, as every string here */
    char *seq;      /* the last SequenceNumber processed; NULL when none yet */
    bool finished;  /* closed and read to its end: its children may be read */
} checkpoint_shard;

typedef struct checkpoint {
    char *stream_arn; /* the stream the shards belong to; NULL when nothing is recorded */
    checkpoint_shard *shards;
    size_t n, cap;
} checkpoint;

void checkpoint_free(checkpoint *cp);
/* A checkpoint file's text: {"streamArn":"...","shards":{"ID":{"sequenceNumber":"...",
 * "finished":false},...}}. False with one line in err. */
bool checkpoint_parse(const char *text, size_t len, checkpoint *out, char *err, size_t cap);
/* The checkpoint of table under dir; an empty one when there is no file yet. */
bool checkpoint_load(const char *dir, const char *table, checkpoint *out, char *err, size_t cap);
/* Writes cp for table under dir: a temporary file, fsync, rename, fsync of dir. */
bool checkpoint_save(const char *dir, const char *table, const checkpoint *cp, char *err,
                     size_t cap);
/* The shard id of cp, added (no sequence number, not finished) when absent; NULL when memory
 * runs out. Borrowed from cp. */
checkpoint_shard *checkpoint_shard_of(checkpoint *cp, const char *id);
/* The shard id of cp, or NULL. */
const checkpoint_shard *checkpoint_find(const checkpoint *cp, const char *id);
/* Sets the stream ARN; a different stream (the table's stream was replaced) forgets every
 * shard. False when memory runs out. */
bool checkpoint_stream(checkpoint *cp, const char *arn);

#endif
