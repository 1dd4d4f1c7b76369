/* fuzz_poll.c - libFuzzer target for the parsers of `ddbhost poll` (host/poll): the input's
 * first byte chooses one, the rest is what it reads (a shared credentials file, the container
 * endpoint's answer, an AWS error answer, DescribeTable, DescribeStream and GetRecords answers,
 * a checkpoint file). Each must read or refuse with one line, never read or write out of
 * bounds, and what it reads keeps its promises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws.h"
#include "checkpoint.h"
#include "stream.h"

static void fuzz_check(bool ok, const char *what, const char *detail)
{
    if (ok) return;
    fprintf(stderr, "fuzz_poll: broken promise: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static void fuzz_one_line(const char *s, const char *what)
{
    fuzz_check(s[0] != '\0' && !strchr(s, '\n'), what, s);
}

static void fuzz_credentials(const aws_credentials *c)
{
    fuzz_check(c->access_key_id && *c->access_key_id, "credentials have a key id", NULL);
    fuzz_check(c->secret_access_key && *c->secret_access_key, "credentials have a secret", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char err[512] = "", type[128] = "", msg[512] = "";
    aws_credentials c;
    json_object *o = NULL;
    if (data[0] % 7 >= 3 && data[0] % 7 <= 5) {
        json_tokener *tok = json_tokener_new();
        o = json_tokener_parse_ex(tok, text, (int)len);
        json_tokener_free(tok);
    }
    switch (data[0] % 7) {
    case 0:
        if (aws_profile_parse(text, len, "default", &c, err, sizeof err)) {
            fuzz_credentials(&c);
            aws_credentials_free(&c);
        } else {
            fuzz_one_line(err, "a refused profile says why in one line");
        }
        break;
    case 1:
        if (aws_container_parse(text, len, &c, err, sizeof err)) {
            fuzz_credentials(&c);
            aws_credentials_free(&c);
        } else {
            fuzz_one_line(err, "a refused container answer says why in one line");
        }
        break;
    case 3: {
        char *arn = NULL, *hash_key = NULL;
        if (stream_table_parse(o, "T", &arn, &hash_key, err, sizeof err))
            fuzz_check(arn && *arn, "a stream ARN is not empty", NULL);
        else
            fuzz_one_line(err, "a table without a stream says why in one line");
        free(arn);
        free(hash_key);
        break;
    }
    case 4: {
        stream_shard *shards = NULL;
        size_t n = 0, cap = 0;
        char *last = NULL;
        if (stream_shards_parse(o, &shards, &n, &cap, &last, err, sizeof err))
            for (size_t i = 0; i < n; i++) fuzz_check(shards[i].id[0] != '\0', "a shard has an id", NULL);
        else
            fuzz_one_line(err, "a refused DescribeStream answer says why in one line");
        stream_shards_free(shards, n);
        free(last);
        break;
    }
    case 5: {
        stream_record *recs = NULL;
        size_t n = 0, cap = 0;
        char *next = NULL;
        if (!stream_records_parse(o, "arn:aws:dynamodb:r:1:table/T/stream/x", "r", "pk", &recs,
                                  &n, &cap, &next, err, sizeof err))
            fuzz_one_line(err, "a refused GetRecords answer says why in one line");
        for (size_t i = 0; i < n; i++) {
            json_object *back = json_tokener_parse(recs[i].json);
            fuzz_check(back && strlen(recs[i].json) == recs[i].len && !strchr(recs[i].json, '\n'),
                       "a Lambda record is one line of JSON", recs[i].json);
            json_object_put(back);
            stream_record_free(&recs[i]);
        }
        free(recs);
        free(next);
        break;
    }
    case 6: {
        checkpoint cp;
        if (checkpoint_parse(text, len, &cp, err, sizeof err)) {
            fuzz_check(cp.stream_arn != NULL, "a checkpoint names its stream", NULL);
            checkpoint_free(&cp);
        } else {
            fuzz_one_line(err, "a refused checkpoint says why in one line");
        }
        break;
    }
    default:
        aws_error_parse(text, len, type, sizeof type, msg, sizeof msg);
        fuzz_check(!strchr(type, '\n') && !strchr(type, ':') && !strchr(msg, '\n'),
                   "an error's type and message are one line each", msg);
        break;
    }
    json_object_put(o);
    return 0;
}
