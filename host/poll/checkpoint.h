/* checkpoint.h - where `ddbhost poll` has got to in a table's stream: per shard, the last
 * sequence number processed and whether the shard is finished, in one file per table under
 * --state, written atomically so that a crash leaves the old file or the new one. */
#ifndef DDBHOST_CHECKPOINT_H
#define DDBHOST_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A lane of a shard (parallelization_factor splits a shard into lanes by partition key): how
 * far it got past the shard's sequence number, and its open tumbling window. */
typedef struct checkpoint_lane {
    char *seq;             /* the last SequenceNumber the lane processed; NULL when none */
    bool window;           /* a tumbling window is open in the lane */
    int64_t window_start, window_end; /* its bounds, seconds since the epoch */
    char *state;           /* its state: a JSON object's text */
} checkpoint_lane;

typedef struct checkpoint_shard {
    char *id;       /* owned, as every string here */
    char *seq;      /* the last SequenceNumber processed: every record up to it is done */
    bool finished;  /* closed and read to its end: its children may be read */
    checkpoint_lane *lanes; /* nlanes of them (the factor they were made with); none when
                               the shard has one lane and no open window */
    size_t nlanes;
} checkpoint_shard;

typedef struct checkpoint {
    char *stream_arn; /* the stream the shards belong to; NULL when nothing is recorded */
    checkpoint_shard *shards;
    size_t n, cap;
} checkpoint;

void checkpoint_free(checkpoint *cp);
/* A checkpoint file's text: {"streamArn":"...","shards":{"ID":{"sequenceNumber":"...",
 * "finished":false,"lanes":[{"sequenceNumber":"...","window":{"start":S,"end":E,"state":{...}}},
 * ...]},...}} ("lanes" and its members only when there is something to say). False with one
 * line in err. */
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
/* Replaces the shard's lanes with n empty ones (none for n 0). False when memory runs out. */
bool checkpoint_lanes(checkpoint_shard *s, size_t n);
/* Sets the lane's open window [start, end) (state: a JSON object's text, copied) or, with
 * state NULL, closes it. False when memory runs out. */
bool checkpoint_window(checkpoint_lane *l, int64_t start, int64_t end, const char *state);

/* Sets the stream ARN; a different stream (the table's stream was replaced) forgets every
 * shard. False when memory runs out. */
bool checkpoint_stream(checkpoint *cp, const char *arn);

#endif
