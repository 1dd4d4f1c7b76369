/* aws.h - the AWS client of `ddbhost poll`: credentials (environment, a profile, the container
 * endpoint), SigV4 and HTTPS through libcurl (loaded when poll starts, so that the Lambda
 * host never maps it), the JSON 1.0 protocol, retries of throttling and 5xx with backoff.
 * Knows nothing of streams, events or plugins. */
#ifndef DDBHOST_AWS_H
#define DDBHOST_AWS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

typedef struct aws_credentials {
    char *access_key_id;      /* owned, as every string here */
    char *secret_access_key;
    char *session_token;      /* NULL when there is none */
    int64_t expires_s;        /* Unix time when they expire; 0: never */
} aws_credentials;

void aws_credentials_free(aws_credentials *c);

/* The credentials of [profile] in the text of a shared credentials file (INI: aws_access_key_id,
 * aws_secret_access_key, aws_session_token). False with one line in err when the profile is
 * missing or lacks a key. */
bool aws_profile_parse(const char *text, size_t len, const char *profile, aws_credentials *out,
                       char *err, size_t cap);
/* The credentials in the container endpoint's answer (AccessKeyId, SecretAccessKey, Token,
 * Expiration as ISO 8601 UTC). False with one line in err. */
bool aws_container_parse(const char *text, size_t len, aws_credentials *out, char *err,
                         size_t cap);

/* An error answer of the JSON 1.0 protocol: __type after its '#' (or the x-amzn-ErrorType
 * header's value, in type already) and message (or Message). Either is left as it was when
 * the body does not say. */
void aws_error_parse(const char *body, size_t len, char *type, size_t tcap, char *msg,
                     size_t mcap);
/* Whether an answer of this status and error type is tried again: throttling and 5xx. */
bool aws_retryable(long status, const char *type);

typedef enum aws_service { AWS_DYNAMODB, AWS_STREAMS } aws_service;

typedef struct aws_error {
    long status;       /* the HTTP status; 0 when no answer came */
    char type[128];    /* e.g. ExpiredIteratorException; "" when none */
    char line[1024];   /* "DynamoDBStreams GetRecords: TYPE: MESSAGE", for the log */
} aws_error;

typedef struct aws_client aws_client;

/* A client for region at endpoint (NULL: AWS's own endpoints for region), with credentials
 * found as the AWS CLI finds them. While *stop is set, retries end early. NULL with one line
 * in err. */
aws_client *aws_open(const char *endpoint, const char *region, volatile sig_atomic_t *stop,
                     char *err, size_t cap);
/* The region of the client. Borrowed. */
const char *aws_region(const aws_client *c);
/* Calls action of svc with request (borrowed) and returns the answer, owned by the caller
 * (json_object_put), or NULL with e filled. Throttling, 5xx and transport errors are tried
 * again with capped exponential backoff and full jitter. */
struct json_object *aws_call(aws_client *c, aws_service svc, const char *action,
                             struct json_object *request, aws_error *e);
void aws_close(aws_client *c);

#endif
