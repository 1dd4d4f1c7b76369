/* test_aws.c - what `ddbhost poll` hands to the signer and reads back (host/poll/aws.c): the
 * credentials of a profile and of the container endpoint, AWS's error answers, and which of
 * them are tried again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "aws.h"

static const char credentials_file[] =
    "# a comment\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key=secret/with+signs=\n"
    "\n"
    "[ dev ]\r\n"
    "AWS_ACCESS_KEY_ID = AKIDDEV \r\n"
    "aws_secret_access_key = devsecret\r\n"
    "aws_session_token = tok==\r\n"
    "region = eu-west-1\r\n"
    "[nosecret]\n"
    "aws_access_key_id = AKIDX\n";

static void test_the_default_profile_keeps_its_secret_whole(void **state)
{
    aws_credentials c;
    char err[256] = "";
    (void)state;
    assert_true(aws_profile_parse(credentials_file, strlen(credentials_file), "default", &c, err,
                                  sizeof err));
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_string_equal(c.secret_access_key, "secret/with+signs=");
    assert_null(c.session_token);
    assert_int_equal(c.expires_s, 0);
    aws_credentials_free(&c);
}

static void test_a_named_profile_with_crlf_and_spaces_and_a_session_token(void **state)
{
    aws_credentials c;
    char err[256] = "";
    (void)state;
    assert_true(aws_profile_parse(credentials_file, strlen(credentials_file), "dev", &c, err,
                                  sizeof err));
    assert_string_equal(c.access_key_id, "AKIDDEV");
    assert_string_equal(c.secret_access_key, "devsecret");
    assert_string_equal(c.session_token, "tok==");
    aws_credentials_free(&c);
}

static void test_a_missing_profile_or_key_is_named(void **state)
{
    aws_credentials c;
    char err[256] = "";
    (void)state;
    assert_false(aws_profile_parse(credentials_file, strlen(credentials_file), "prod", &c, err,
                                   sizeof err));
    assert_string_equal(err, "no profile [prod]");
    assert_false(aws_profile_parse(credentials_file, strlen(credentials_file), "nosecret", &c,
                                   err, sizeof err));
    assert_string_equal(err, "profile [nosecret] has no aws_secret_access_key");
}

static void test_container_credentials_expire_at_their_utc_time(void **state)
{
    static const char answer[] = "{\"AccessKeyId\":\"ASIA1\",\"SecretAccessKey\":\"s\","
                                 "\"Token\":\"t\",\"Expiration\":\"2030-01-02T03:04:05Z\"}";
    aws_credentials c;
    char err[256] = "";
    (void)state;
    assert_true(aws_container_parse(answer, strlen(answer), &c, err, sizeof err));
    assert_string_equal(c.access_key_id, "ASIA1");
    assert_string_equal(c.session_token, "t");
    assert_int_equal(c.expires_s, 1893553445);
    aws_credentials_free(&c);
}

static void test_container_answers_that_are_not_credentials_are_refused(void **state)
{
    aws_credentials c;
    char err[256] = "";
    (void)state;
    assert_false(aws_container_parse("[]", 2, &c, err, sizeof err));
    assert_string_equal(err, "the answer is not a JSON object");
    assert_false(aws_container_parse("{\"SecretAccessKey\":\"s\"}", 23, &c, err, sizeof err));
    assert_string_equal(err, "the answer has no AccessKeyId");
    static const char late[] = "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Expiration\":\"soon\"}";
    assert_false(aws_container_parse(late, strlen(late), &c, err, sizeof err));
    assert_string_equal(err, "Expiration \"soon\" is not an ISO 8601 time");
}

static void test_an_error_answer_gives_its_type_and_message(void **state)
{
    static const char body[] = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                               "ExpiredIteratorException\",\"message\":\"Iterator expired\"}";
    char type[128] = "", msg[256] = "";
    (void)state;
    aws_error_parse(body, strlen(body), type, sizeof type, msg, sizeof msg);
    assert_string_equal(type, "ExpiredIteratorException");
    assert_string_equal(msg, "Iterator expired");
    /* The header's type stays when the body says nothing; Message with a capital is read. */
    snprintf(type, sizeof type, "UnrecognizedClientException:http://internal.amazon.com/x");
    aws_error_parse("{\"Message\":\"bad\\nkey\"}", 22, type, sizeof type, msg, sizeof msg);
    assert_string_equal(type, "UnrecognizedClientException");
    assert_string_equal(msg, "bad\\nkey");
}

static void test_throttling_and_5xx_are_tried_again_and_nothing_else(void **state)
{
    (void)state;
    assert_true(aws_retryable(0, ""));
    assert_true(aws_retryable(500, ""));
    assert_true(aws_retryable(503, ""));
    assert_true(aws_retryable(400, "ThrottlingException"));
    assert_true(aws_retryable(400, "ProvisionedThroughputExceededException"));
    assert_true(aws_retryable(400, "LimitExceededException"));
    assert_false(aws_retryable(400, "ExpiredIteratorException"));
    assert_false(aws_retryable(400, "TrimmedDataAccessException"));
    assert_false(aws_retryable(403, "InvalidSignatureException"));
    assert_false(aws_retryable(400, "ResourceNotFoundException"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_default_profile_keeps_its_secret_whole),
        cmocka_unit_test(test_a_named_profile_with_crlf_and_spaces_and_a_session_token),
        cmocka_unit_test(test_a_missing_profile_or_key_is_named),
        cmocka_unit_test(test_container_credentials_expire_at_their_utc_time),
        cmocka_unit_test(test_container_answers_that_are_not_credentials_are_refused),
        cmocka_unit_test(test_an_error_answer_gives_its_type_and_message),
        cmocka_unit_test(test_throttling_and_5xx_are_tried_again_and_nothing_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
