/* stream.c - a table's DynamoDB stream through the AWS API: its ARN, shards, iterators and
 * pages, and each record rewritten into the record Lambda delivers (what Lambda adds or
 * changes: eventVersion, eventSourceARN, ApproximateCreationDateTime in whole seconds).
 * Owns the requests and the parsing of their answers; nothing of batches or checkpoints. */
#include "stream.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define STREAM_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The string member name of o, or NULL. Borrowed from o. */
static const char *stream_string(json_object *o, const char *name)
{
    json_object *v;
    return o && json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static json_object *stream_member(json_object *o, const char *name, json_type type)
{
    json_object *v;
    return o && json_object_object_get_ex(o, name, &v) && json_object_is_type(v, type) ? v : NULL;
}

static char *stream_dup(const char *s) { return s ? strdup(s) : NULL; }

void stream_shards_free(stream_shard *shards, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(shards[i].id);
        free(shards[i].parent);
        free(shards[i].start);
    }
    free(shards);
}

/* The AttributeName of the HASH member of a KeySchema, or NULL. Borrowed from schema. */
static const char *stream_hash_key(json_object *schema)
{
    size_t n = schema ? json_object_array_length(schema) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *k = json_object_array_get_idx(schema, i);
        const char *type = stream_string(k, "KeyType");
        if (type && strcmp(type, "HASH") == 0) return stream_string(k, "AttributeName");
    }
    return NULL;
}

bool stream_table_parse(json_object *answer, const char *table, char **arn, char **hash_key,
                        char *err, size_t cap)
{
    char q[TEXT_QUOTE_CAP];
    json_object *t = stream_member(answer, "Table", json_type_object);
    json_object *spec = stream_member(t, "StreamSpecification", json_type_object);
    json_object *enabled = stream_member(spec, "StreamEnabled", json_type_boolean);
    const char *latest = stream_string(t, "LatestStreamArn");
    if (!t) {
        snprintf(err, cap, "DynamoDB DescribeTable %s: the answer has no Table",
                 text_quote(q, sizeof q, table));
        return false;
    }
    if (!latest || !*latest || (enabled && !json_object_get_boolean(enabled))) {
        snprintf(err, cap, "table %s has no stream enabled; hint: aws dynamodb update-table "
                           "--table-name %s --stream-specification "
                           "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
                 text_quote(q, sizeof q, table), table);
        return false;
    }
    const char *key = stream_hash_key(stream_member(t, "KeySchema", json_type_array));
    *arn = strdup(latest);
    *hash_key = key ? strdup(key) : NULL;
    if (*arn && (*hash_key || !key)) return true;
    free(*arn);
    free(*hash_key);
    *arn = *hash_key = NULL;
    snprintf(err, cap, "out of memory");
    return false;
}

bool stream_shards_parse(json_object *answer, stream_shard **shards, size_t *n, size_t *cap,
                         char **last, char *err, size_t cap_err)
{
    json_object *d = stream_member(answer, "StreamDescription", json_type_object);
    json_object *list = stream_member(d, "Shards", json_type_array);
    *last = NULL;
    if (!list) {
        snprintf(err, cap_err, "DynamoDBStreams DescribeStream: the answer has no StreamDescription.Shards");
        return false;
    }
    size_t count = json_object_array_length(list);
    for (size_t i = 0; i < count; i++) {
        json_object *s = json_object_array_get_idx(list, i);
        json_object *range = stream_member(s, "SequenceNumberRange", json_type_object);
        const char *id = stream_string(s, "ShardId");
        if (!id || !*id) {
            snprintf(err, cap_err, "DynamoDBStreams DescribeStream: shard %zu has no ShardId", i);
            return false;
        }
        if (*n == *cap) {
            size_t grown = *cap ? *cap * 2 : 16;
            stream_shard *p = realloc(*shards, grown * sizeof *p);
            if (!p) {
                snprintf(err, cap_err, "out of memory");
                return false;
            }
            *shards = p;
            *cap = grown;
        }
        const char *parent = stream_string(s, "ParentShardId");
        stream_shard *sh = &(*shards)[(*n)++];
        *sh = (stream_shard){strdup(id), stream_dup(parent && *parent ? parent : NULL),
                             stream_dup(stream_string(range, "StartingSequenceNumber")),
                             stream_string(range, "EndingSequenceNumber") != NULL};
        if (!sh->id) {
            snprintf(err, cap_err, "out of memory");
            return false;
        }
    }
    const char *more = stream_string(d, "LastEvaluatedShardId");
    if (more && *more && !(*last = strdup(more))) {
        snprintf(err, cap_err, "out of memory");
        return false;
    }
    return true;
}

void stream_record_free(stream_record *r)
{
    free(r->json);
    free(r->seq);
}

/* Moves member name of from to to, when from has it. */
static void stream_move(json_object *to, json_object *from, const char *name)
{
    json_object *v;
    if (json_object_object_get_ex(from, name, &v))
        json_object_object_add(to, name, json_object_get(v));
}

static bool stream_is_one_of(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0) return true;
    return false;
}

/* rec (a record of GetRecords) in Lambda's shape, into r; false with one line in err. */
static bool stream_lambda_record(json_object *rec, const char *stream_arn, const char *region,
                                 const char *hash_key, size_t index, stream_record *r, char *err,
                                 size_t cap)
{
    static const char *const top[] = {"eventID", "eventName", "eventVersion", "eventSource",
                                      "awsRegion", "dynamodb", "eventSourceARN"};
    static const char *const inner[] = {"ApproximateCreationDateTime", "Keys", "NewImage",
                                        "OldImage", "SequenceNumber", "SizeBytes",
                                        "StreamViewType"};
    json_object *d = stream_member(rec, "dynamodb", json_type_object);
    const char *seq = stream_string(d, "SequenceNumber");
    json_object *keys = stream_member(d, "Keys", json_type_object);
    json_object *when;
    memset(r, 0, sizeof *r);
    if (!json_object_is_type(rec, json_type_object) || !d || !seq || !keys ||
        !stream_string(rec, "eventName")) {
        snprintf(err, cap, "DynamoDBStreams GetRecords: record %zu is not a stream record "
                           "(it needs eventName and dynamodb with Keys and SequenceNumber)", index);
        return false;
    }
    json_object *out = json_object_new_object(), *dyn = json_object_new_object();
    if (!out || !dyn) {
        json_object_put(out);
        json_object_put(dyn);
        snprintf(err, cap, "out of memory");
        return false;
    }
    if (json_object_object_get_ex(d, "ApproximateCreationDateTime", &when) &&
        (json_object_is_type(when, json_type_double) || json_object_is_type(when, json_type_int))) {
        double s = json_object_get_double(when); /* positive: the cast is floor */
        r->created_s = s > 0 && s < 1e15 ? (int64_t)s : 0;
        json_object_object_add(dyn, "ApproximateCreationDateTime", json_object_new_int64(r->created_s));
    }
    for (size_t i = 1; i < sizeof inner / sizeof *inner; i++) stream_move(dyn, d, inner[i]);
    json_object_object_foreach(d, name, value) {
        if (!stream_is_one_of(name, inner, sizeof inner / sizeof *inner))
            json_object_object_add(dyn, name, json_object_get(value));
    }
    stream_move(out, rec, "eventID");
    stream_move(out, rec, "eventName");
    json_object_object_add(out, "eventVersion", json_object_new_string("1.1"));
    json_object_object_add(out, "eventSource", json_object_new_string("aws:dynamodb"));
    const char *record_region = stream_string(rec, "awsRegion");
    json_object_object_add(out, "awsRegion",
                           json_object_new_string(record_region ? record_region : region));
    json_object_object_add(out, "dynamodb", dyn);
    json_object_object_foreach(rec, rname, rvalue) {
        if (!stream_is_one_of(rname, top, sizeof top / sizeof *top))
            json_object_object_add(out, rname, json_object_get(rvalue));
    }
    json_object_object_add(out, "eventSourceARN", json_object_new_string(stream_arn));
    size_t len;
    const char *text = json_object_to_json_string_length(out, STREAM_JSON_FLAGS, &len);
    r->json = text ? strndup(text, len) : NULL;
    r->len = len;
    r->seq = strdup(seq);
    json_object *pk = hash_key ? stream_member(keys, hash_key, json_type_object) : NULL;
    text = json_object_to_json_string_length(pk ? pk : keys, STREAM_JSON_FLAGS, &len);
    r->partition = text ? text_hash(text, len) : 0;
    json_object_put(out);
    if (!r->json || !r->seq || !text) {
        stream_record_free(r);
        snprintf(err, cap, "out of memory");
        return false;
    }
    return true;
}

bool stream_records_parse(json_object *answer, const char *stream_arn, const char *region,
                          const char *hash_key, stream_record **out, size_t *n, size_t *cap,
                          char **next, char *err, size_t cap_err)
{
    json_object *list = stream_member(answer, "Records", json_type_array);
    const char *it = stream_string(answer, "NextShardIterator");
    *next = NULL;
    if (!list) {
        snprintf(err, cap_err, "DynamoDBStreams GetRecords: the answer has no Records");
        return false;
    }
    size_t count = json_object_array_length(list);
    for (size_t i = 0; i < count; i++) {
        if (*n == *cap) {
            size_t grown = *cap ? *cap * 2 : 256;
            stream_record *p = realloc(*out, grown * sizeof *p);
            if (!p) {
                snprintf(err, cap_err, "out of memory");
                return false;
            }
            *out = p;
            *cap = grown;
        }
        if (!stream_lambda_record(json_object_array_get_idx(list, i), stream_arn, region,
                                  hash_key, i, &(*out)[*n], err, cap_err))
            return false;
        (*n)++;
    }
    if (it && *it && !(*next = strdup(it))) {
        snprintf(err, cap_err, "out of memory");
        return false;
    }
    return true;
}

/* ---- calls ----------------------------------------------------------------------------- */

bool stream_find(aws_client *c, const char *table, char **arn, char **hash_key, char *err,
                 size_t cap)
{
    aws_error e;
    json_object *q = json_object_new_object();
    json_object_object_add(q, "TableName", json_object_new_string(table));
    json_object *a = aws_call(c, AWS_DYNAMODB, "DescribeTable", q, &e);
    json_object_put(q);
    if (!a) {
        snprintf(err, cap, "%s", e.line);
        return false;
    }
    bool ok = stream_table_parse(a, table, arn, hash_key, err, cap);
    json_object_put(a);
    return ok;
}

bool stream_list_shards(aws_client *c, const char *arn, stream_shard **shards, size_t *n,
                        char *err, size_t cap)
{
    size_t allocated = 0;
    char *last = NULL;
    *shards = NULL;
    *n = 0;
    do {
        aws_error e;
        json_object *q = json_object_new_object();
        json_object_object_add(q, "StreamArn", json_object_new_string(arn));
        if (last) json_object_object_add(q, "ExclusiveStartShardId", json_object_new_string(last));
        free(last);
        last = NULL;
        json_object *a = aws_call(c, AWS_STREAMS, "DescribeStream", q, &e);
        json_object_put(q);
        bool ok = a && stream_shards_parse(a, shards, n, &allocated, &last, err, cap);
        if (!a) snprintf(err, cap, "%s", e.line);
        json_object_put(a);
        if (!ok) {
            free(last);
            stream_shards_free(*shards, *n);
            *shards = NULL;
            *n = 0;
            return false;
        }
    } while (last);
    return true;
}

char *stream_iterator(aws_client *c, const char *arn, const char *shard, stream_position at,
                      const char *seq, aws_error *e)
{
    static const char *const types[] = {"TRIM_HORIZON", "LATEST", "AFTER_SEQUENCE_NUMBER"};
    json_object *q = json_object_new_object();
    json_object_object_add(q, "StreamArn", json_object_new_string(arn));
    json_object_object_add(q, "ShardId", json_object_new_string(shard));
    json_object_object_add(q, "ShardIteratorType", json_object_new_string(types[at]));
    if (at == STREAM_AFTER) json_object_object_add(q, "SequenceNumber", json_object_new_string(seq));
    json_object *a = aws_call(c, AWS_STREAMS, "GetShardIterator", q, e);
    json_object_put(q);
    const char *it = stream_string(a, "ShardIterator");
    char *out = it ? strdup(it) : NULL;
    if (a && !it) {
        snprintf(e->type, sizeof e->type, "%s", "");
        snprintf(e->line, sizeof e->line, "DynamoDBStreams GetShardIterator: the answer has no ShardIterator");
    }
    json_object_put(a);
    return out;
}

json_object *stream_get(aws_client *c, const char *iterator, int limit, aws_error *e)
{
    json_object *q = json_object_new_object();
    json_object_object_add(q, "ShardIterator", json_object_new_string(iterator));
    json_object_object_add(q, "Limit", json_object_new_int(limit));
    json_object *a = aws_call(c, AWS_STREAMS, "GetRecords", q, e);
    json_object_put(q);
    return a;
}
