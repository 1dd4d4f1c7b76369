/* test_stream.c - what `ddbhost poll` makes of the Streams API's answers (host/poll/stream.c)
 * and keeps between runs (checkpoint.c): a GetRecords record becomes, byte for byte, the
 * record Lambda delivers; a table without a stream is one line with the hint; a checkpoint
 * written is read back the same, and a broken one is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "stream.h"

#define ARN "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000"

static void test_a_record_is_delivered_in_lambdas_shape_byte_for_byte(void **state)
{
    /* As GetRecords gives it (moto's eventVersion, milliseconds, members in another order). */
    static const char page[] =
        "{\"Records\":[{\"awsRegion\":\"us-east-1\",\"eventID\":\"e1\",\"eventName\":\"MODIFY\","
        "\"eventVersion\":\"1.0\",\"eventSource\":\"aws:dynamodb\",\"dynamodb\":{"
        "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\",\"SequenceNumber\":\"1100000000017454423010\","
        "\"SizeBytes\":27,\"OldImage\":{\"pk\":{\"S\":\"a/b\"},\"n\":{\"N\":\"1\"}},"
        "\"NewImage\":{\"pk\":{\"S\":\"a/b\"},\"n\":{\"N\":\"2\"}},\"Keys\":{\"pk\":{\"S\":\"a/b\"}},"
        "\"ApproximateCreationDateTime\":1796417166.952}}],\"NextShardIterator\":\"it-2\"}";
    static const char want[] =
        "{\"eventID\":\"e1\",\"eventName\":\"MODIFY\",\"eventVersion\":\"1.1\","
        "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"us-east-1\",\"dynamodb\":{"
        "\"ApproximateCreationDateTime\":1796417166,\"Keys\":{\"pk\":{\"S\":\"a/b\"}},"
        "\"NewImage\":{\"pk\":{\"S\":\"a/b\"},\"n\":{\"N\":\"2\"}},"
        "\"OldImage\":{\"pk\":{\"S\":\"a/b\"},\"n\":{\"N\":\"1\"}},"
        "\"SequenceNumber\":\"1100000000017454423010\",\"SizeBytes\":27,"
        "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"eventSourceARN\":\"" ARN "\"}";
    json_object *o = json_tokener_parse(page);
    stream_record *recs = NULL;
    size_t n = 0, cap = 0;
    char *next = NULL, err[256] = "";
    (void)state;
    assert_true(stream_records_parse(o, ARN, "eu-west-1", "pk", &recs, &n, &cap, &next, err,
                                     sizeof err));
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].json, want);
    assert_int_equal(recs[0].len, strlen(want));
    assert_string_equal(recs[0].seq, "1100000000017454423010");
    assert_int_equal(recs[0].created_s, 1796417166);
    assert_string_equal(next, "it-2");
    stream_record_free(&recs[0]);
    free(recs);
    free(next);
    json_object_put(o);
}

static void test_a_closed_shard_read_to_its_end_has_no_next_iterator(void **state)
{
    json_object *o = json_tokener_parse("{\"Records\":[]}");
    stream_record *recs = NULL;
    size_t n = 0, cap = 0;
    char *next = (char *)"x", err[256] = "";
    (void)state;
    assert_true(stream_records_parse(o, ARN, "r", NULL, &recs, &n, &cap, &next, err, sizeof err));
    assert_int_equal(n, 0);
    assert_null(next);
    json_object_put(o);
}

static void test_a_table_without_a_stream_is_one_line_with_the_hint(void **state)
{
    json_object *o = json_tokener_parse("{\"Table\":{\"TableName\":\"Orders\"}}");
    char *arn = NULL, *hash_key = NULL, err[512] = "";
    (void)state;
    assert_false(stream_table_parse(o, "Orders", &arn, &hash_key, err, sizeof err));
    assert_string_equal(err, "table \"Orders\" has no stream enabled; hint: aws dynamodb "
                             "update-table --table-name Orders --stream-specification "
                             "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES");
    json_object_put(o);
}

static void test_records_of_one_partition_key_share_a_partition_whatever_their_sort_key(void **state)
{
    json_object *t = json_tokener_parse(
        "{\"Table\":{\"LatestStreamArn\":\"" ARN "\",\"KeySchema\":["
        "{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"},"
        "{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]}}");
    json_object *o = json_tokener_parse(
        "{\"Records\":["
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"SequenceNumber\":\"1\",\"Keys\":"
        "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}}},"
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"SequenceNumber\":\"2\",\"Keys\":"
        "{\"sk\":{\"N\":\"2\"},\"pk\":{\"S\":\"a\"}}}},"
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"SequenceNumber\":\"3\",\"Keys\":"
        "{\"pk\":{\"S\":\"b\"},\"sk\":{\"N\":\"1\"}}}}]}");
    stream_record *recs = NULL;
    size_t n = 0, cap = 0;
    char *arn = NULL, *hash_key = NULL, *next = NULL, err[256] = "";
    (void)state;
    assert_true(stream_table_parse(t, "Orders", &arn, &hash_key, err, sizeof err));
    assert_string_equal(arn, ARN);
    assert_string_equal(hash_key, "pk");
    assert_true(stream_records_parse(o, ARN, "r", hash_key, &recs, &n, &cap, &next, err,
                                     sizeof err));
    assert_int_equal(n, 3);
    assert_true(recs[0].partition == recs[1].partition);
    assert_true(recs[0].partition != recs[2].partition);
    for (size_t i = 0; i < n; i++) stream_record_free(&recs[i]);
    free(recs);
    free(arn);
    free(hash_key);
    json_object_put(o);
    json_object_put(t);
}

static void test_shards_keep_their_parent_and_the_page_says_where_to_go_on(void **state)
{
    json_object *o = json_tokener_parse(
        "{\"StreamDescription\":{\"Shards\":[{\"ShardId\":\"p\",\"SequenceNumberRange\":"
        "{\"StartingSequenceNumber\":\"1\",\"EndingSequenceNumber\":\"5\"}},"
        "{\"ShardId\":\"c\",\"ParentShardId\":\"p\"}],\"LastEvaluatedShardId\":\"c\"}}");
    stream_shard *shards = NULL;
    size_t n = 0, cap = 0;
    char *last = NULL, err[256] = "";
    (void)state;
    assert_true(stream_shards_parse(o, &shards, &n, &cap, &last, err, sizeof err));
    assert_int_equal(n, 2);
    assert_true(shards[0].closed);
    assert_null(shards[0].parent);
    assert_false(shards[1].closed);
    assert_string_equal(shards[1].parent, "p");
    assert_string_equal(last, "c");
    stream_shards_free(shards, n);
    free(last);
    json_object_put(o);
}

static void test_a_checkpoint_written_reads_back_and_a_new_stream_forgets_the_shards(void **state)
{
    char dir[] = "/tmp/ddbhost-checkpoint-XXXXXX", err[512] = "";
    checkpoint cp = {0}, back;
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_true(checkpoint_load(dir, "Orders", &back, err, sizeof err));
    assert_null(back.stream_arn);
    assert_true(checkpoint_stream(&cp, ARN));
    checkpoint_shard *s = checkpoint_shard_of(&cp, "shard-1");
    s->seq = strdup("42");
    checkpoint_shard_of(&cp, "shard-0")->finished = true;
    assert_true(checkpoint_save(dir, "Orders", &cp, err, sizeof err));
    assert_true(checkpoint_load(dir, "Orders", &back, err, sizeof err));
    assert_string_equal(back.stream_arn, ARN);
    assert_string_equal(checkpoint_find(&back, "shard-1")->seq, "42");
    assert_true(checkpoint_find(&back, "shard-0")->finished);
    assert_null(checkpoint_find(&back, "shard-0")->seq);
    assert_true(checkpoint_stream(&back, "arn:other"));
    assert_int_equal(back.n, 0);
    checkpoint_free(&back);
    checkpoint_free(&cp);
    char path[256];
    snprintf(path, sizeof path, "%s/Orders.checkpoint.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"streamArn\":\"x\",\"shards\":{\"s\":{\"sequenceNumber\":7}}}", f);
    fclose(f);
    assert_false(checkpoint_load(dir, "Orders", &back, err, sizeof err));
    assert_non_null(strstr(err, "shard \"s\": expected {\"sequenceNumber\": \"...\""));
    unlink(path);
    rmdir(dir);
}

static void test_lanes_and_their_open_windows_read_back_as_written(void **state)
{
    char dir[] = "/tmp/ddbhost-checkpoint-XXXXXX", err[512] = "";
    checkpoint cp = {0}, back;
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_true(checkpoint_stream(&cp, ARN));
    checkpoint_shard *s = checkpoint_shard_of(&cp, "shard-1");
    s->seq = strdup("40");
    assert_true(checkpoint_lanes(s, 3));
    s->lanes[0].seq = strdup("1000000000000000000000000000000000000044");
    assert_true(checkpoint_window(&s->lanes[2], 1796461800, 1796461860,
                                  "{\"sum\":{\"n\":[1,2.50,\"x\\\"y\"]}}"));
    assert_true(checkpoint_save(dir, "Orders", &cp, err, sizeof err));
    assert_true(checkpoint_load(dir, "Orders", &back, err, sizeof err));
    const checkpoint_shard *b = checkpoint_find(&back, "shard-1");
    assert_string_equal(b->seq, "40");
    assert_int_equal(b->nlanes, 3);
    assert_string_equal(b->lanes[0].seq, "1000000000000000000000000000000000000044");
    assert_false(b->lanes[0].window);
    assert_null(b->lanes[1].seq);
    assert_false(b->lanes[1].window);
    assert_true(b->lanes[2].window);
    assert_int_equal(b->lanes[2].window_start, 1796461800);
    assert_int_equal(b->lanes[2].window_end, 1796461860);
    assert_string_equal(b->lanes[2].state, "{\"sum\":{\"n\":[1,2.50,\"x\\\"y\"]}}");
    /* a window closed is gone from the file */
    assert_true(checkpoint_window(&s->lanes[2], 0, 0, NULL));
    assert_true(checkpoint_save(dir, "Orders", &cp, err, sizeof err));
    checkpoint_free(&back);
    assert_true(checkpoint_load(dir, "Orders", &back, err, sizeof err));
    assert_false(checkpoint_find(&back, "shard-1")->lanes[2].window);
    checkpoint_free(&back);
    checkpoint_free(&cp);
    char path[256];
    snprintf(path, sizeof path, "%s/Orders.checkpoint.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"streamArn\":\"x\",\"shards\":{\"s\":{\"lanes\":[{\"window\":{\"start\":60,"
          "\"end\":0,\"state\":{}}}]}}}", f);
    fclose(f);
    assert_false(checkpoint_load(dir, "Orders", &back, err, sizeof err));
    assert_non_null(strstr(err, "shard \"s\": lanes[0]: expected up to 10 of"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_record_is_delivered_in_lambdas_shape_byte_for_byte),
        cmocka_unit_test(test_a_closed_shard_read_to_its_end_has_no_next_iterator),
        cmocka_unit_test(test_a_table_without_a_stream_is_one_line_with_the_hint),
        cmocka_unit_test(test_records_of_one_partition_key_share_a_partition_whatever_their_sort_key),
        cmocka_unit_test(test_shards_keep_their_parent_and_the_page_says_where_to_go_on),
        cmocka_unit_test(test_a_checkpoint_written_reads_back_and_a_new_stream_forgets_the_shards),
        cmocka_unit_test(test_lanes_and_their_open_windows_read_back_as_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
