/* test_deploy.c - `ddbhost template` and `ddbhost policy` as a user sees them: the printed JSON,
 * parsed back with json-c and checked for what CloudFormation and IAM will act on, and the
 * warning and error lines on stderr. Works in a temporary directory with a dummy plugin file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/manifest_fixture.h"
#include "deploy.h"


static int make_dir(void **state)
{
    (void)state;
    if (fixture_make_dir("ddb-deploy") != 0) return -1;
    fixture_write("a.so", "not really a plugin");
    return 0;
}

/* What a command printed: its exit status, stdout parsed (NULL when empty) and stderr. */
typedef struct run {
    int status;
    json_object *doc;
    char out[65536];
    char err[4096];
} run;

static void read_all(FILE *f, char *buf, size_t cap)
{
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

/* Writes the manifest (' for ") to dir/m.json and runs cmd on it, catching stderr. */
static run last_run; /* its doc is released by the next run and at the end */

static run *run_on(int (*cmd)(const char *, FILE *), const char *manifest_text)
{
    run *r = &last_run;
    FILE *m = fopen(mpath, "w");
    assert_non_null(m);
    for (const char *p = manifest_text; *p; p++) fputc(*p == '\'' ? '"' : *p, m);
    fclose(m);

    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    r->status = cmd(mpath, out);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    read_all(out, r->out, sizeof r->out);
    read_all(err, r->err, sizeof r->err);
    fclose(out);
    fclose(err);

    json_object_put(r->doc);
    r->doc = NULL;
    if (r->out[0]) {
        enum json_tokener_error jerr;
        r->doc = json_tokener_parse_verbose(r->out, &jerr);
        if (!r->doc) fail_msg("output is not JSON (%s):\n%s", json_tokener_error_desc(jerr), r->out);
    }
    return r;
}

/* The member at a path of keys (NULL-terminated); fails the test when one is missing. */
static json_object *get(json_object *o, ...)
{
    va_list ap;
    va_start(ap, o);
    for (const char *key = va_arg(ap, const char *); key; key = va_arg(ap, const char *)) {
        json_object *next;
        if (!json_object_object_get_ex(o, key, &next)) {
            va_end(ap);
            fail_msg("no member \"%s\" in %s", key, json_object_to_json_string(o));
        }
        o = next;
    }
    va_end(ap);
    return o;
}

static bool has(json_object *o, const char *key) { return json_object_object_get_ex(o, key, NULL); }

static const char *str(json_object *o) { return json_object_get_string(o); }

static json_object *idx(json_object *array, size_t i)
{
    assert_true(json_object_is_type(array, json_type_array));
    assert_true(i < json_object_array_length(array));
    return json_object_array_get_idx(array, i);
}

#define ARN_HEAD "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
#define LOGS_HEAD "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"

static json_object *events_of(json_object *doc)
{
    return get(doc, "Resources", "DdbhostFunction", "Properties", "Events", NULL);
}

/* ---- the template --------------------------------------------------------------------- */

static void test_the_template_has_one_dynamodb_event_per_named_table_with_its_settings(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main,
                    "{'tables': {'Orders': {'plugin': 'a.so'}, 'Users': {'handlers': [{'plugin': "
                    "'a.so'}], 'stream': {'batch_size': 500, 'max_batching_window_s': 5, "
                    "'bisect_on_error': false, 'max_retries': 3, 'starting_position': 'LATEST', "
                    "'parallelization_factor': 4}}}}");
    assert_int_equal(r->status, 0);
    char want[1024];
    snprintf(want, sizeof want,
             "ddbhost: warning: manifest \"%s\": tables.Users.stream: max_retries is 3 and no "
             "\"on_failure\" is set: Lambda drops a batch that still fails with no trace (hint: "
             "set \"on_failure\" to the ARN of an SQS queue, SNS topic or S3 bucket)\n", mpath);
    assert_string_equal(r->err, want);
    assert_string_equal(str(get(r->doc, "Transform", NULL)), "AWS::Serverless-2016-10-31");

    json_object *params = get(r->doc, "Parameters", NULL);
    assert_int_equal(json_object_object_length(params), 2);
    assert_string_equal(str(get(params, "OrdersStreamArn", "Type", NULL)), "String");
    assert_string_equal(str(get(params, "UsersStreamArn", "Type", NULL)), "String");

    json_object *events = events_of(r->doc);
    assert_int_equal(json_object_object_length(events), 2);
    json_object *orders = get(events, "Orders", NULL);
    assert_string_equal(str(get(orders, "Type", NULL)), "DynamoDB");
    json_object *p = get(orders, "Properties", NULL);
    assert_string_equal(str(get(p, "Stream", "Ref", NULL)), "OrdersStreamArn");
    assert_string_equal(str(get(p, "StartingPosition", NULL)), "TRIM_HORIZON");
    assert_int_equal(json_object_get_int(get(p, "BatchSize", NULL)), 100);
    assert_int_equal(json_object_get_int(get(p, "MaximumBatchingWindowInSeconds", NULL)), 0);
    assert_true(json_object_get_boolean(get(p, "BisectBatchOnFunctionError", NULL)));
    assert_int_equal(json_object_get_int(get(p, "MaximumRetryAttempts", NULL)), -1);
    assert_int_equal(json_object_get_int(get(p, "ParallelizationFactor", NULL)), 1);
    json_object *types = get(p, "FunctionResponseTypes", NULL);
    assert_int_equal(json_object_array_length(types), 1);
    assert_string_equal(str(idx(types, 0)), "ReportBatchItemFailures");
    assert_false(has(p, "FilterCriteria"));

    p = get(events, "Users", "Properties", NULL);
    assert_string_equal(str(get(p, "Stream", "Ref", NULL)), "UsersStreamArn");
    assert_string_equal(str(get(p, "StartingPosition", NULL)), "LATEST");
    assert_int_equal(json_object_get_int(get(p, "BatchSize", NULL)), 500);
    assert_int_equal(json_object_get_int(get(p, "MaximumBatchingWindowInSeconds", NULL)), 5);
    assert_false(json_object_get_boolean(get(p, "BisectBatchOnFunctionError", NULL)));
    assert_int_equal(json_object_get_int(get(p, "MaximumRetryAttempts", NULL)), 3);
    assert_int_equal(json_object_get_int(get(p, "ParallelizationFactor", NULL)), 4);
}

static const char *pattern_of(json_object *events, const char *id)
{
    json_object *p = get(events, id, "Properties", NULL);
    if (!has(p, "FilterCriteria")) return NULL;
    json_object *filters = get(p, "FilterCriteria", "Filters", NULL);
    assert_int_equal(json_object_array_length(filters), 1);
    json_object *filter = idx(filters, 0);
    assert_int_equal(json_object_object_length(filter), 1);
    return str(get(filter, "Pattern", NULL));
}

static void test_a_filter_holds_the_event_names_a_routes_handlers_take_between_them(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main,
                    "{'tables': {"
                    "'Orders': [{'plugin': 'a.so', 'events': ['MODIFY']},"
                    " {'plugin': 'a.so', 'events': ['INSERT']}],"
                    "'Removals': {'handlers': {'plugin': 'a.so', 'events': ['REMOVE']}},"
                    "'Split': [{'plugin': 'a.so', 'events': ['INSERT']},"
                    " {'plugin': 'a.so', 'events': ['REMOVE', 'MODIFY']}],"
                    "'Mixed': [{'plugin': 'a.so', 'events': ['INSERT']}, {'plugin': 'a.so'}]}}");
    assert_int_equal(r->status, 0);
    json_object *events = events_of(r->doc);
    /* the pattern is JSON text, as Lambda wants it, with names in a fixed order */
    assert_string_equal(pattern_of(events, "Orders"), "{\"eventName\":[\"INSERT\",\"MODIFY\"]}");
    assert_string_equal(pattern_of(events, "Removals"), "{\"eventName\":[\"REMOVE\"]}");
    assert_null(pattern_of(events, "Split"));
    assert_null(pattern_of(events, "Mixed"));
    json_object *pattern = json_tokener_parse(pattern_of(events, "Orders"));
    assert_non_null(pattern);
    assert_int_equal(json_object_array_length(get(pattern, "eventName", NULL)), 2);
    json_object_put(pattern);
}

static void test_a_star_route_is_left_out_of_the_template_with_a_warning(void **state)
{
    (void)state;
    char want[512];
    run *r = run_on(deploy_template_main,
                    "{'tables': {'*': {'plugin': 'a.so'}, 'Orders': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
    snprintf(want, sizeof want,
             "ddbhost: warning: manifest \"%s\": tables.*: a \"*\" route cannot become an event "
             "source and is left out of the template (hint: list the tables it should serve "
             "explicitly)\n", mpath);
    assert_string_equal(r->err, want);
    assert_int_equal(json_object_object_length(events_of(r->doc)), 1);
    assert_int_equal(json_object_object_length(get(r->doc, "Parameters", NULL)), 1);
    assert_true(has(events_of(r->doc), "Orders"));
}

static void test_the_function_is_declared_as_the_manifest_describes_it(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main, "{'tables': {'Orders': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
    json_object *fn = get(r->doc, "Resources", "DdbhostFunction", NULL);
    assert_string_equal(str(get(fn, "Type", NULL)), "AWS::Serverless::Function");
    json_object *p = get(fn, "Properties", NULL);
    assert_string_equal(str(get(p, "Runtime", NULL)), "provided.al2023");
    assert_string_equal(str(get(p, "Handler", NULL)), "m.json"); /* the file name, no directory */
    assert_string_equal(str(get(p, "CodeUri", NULL)), "build/function.zip");
    assert_string_equal(str(idx(get(p, "Architectures", NULL), 0)), "x86_64");
    assert_int_equal(json_object_get_int(get(p, "MemorySize", NULL)), 256);
    assert_int_equal(json_object_get_int(get(p, "Timeout", NULL)), 60);
    assert_string_equal(str(get(p, "FunctionName", "Ref", NULL)), "AWS::StackName");
    json_object *role = get(p, "Role", "Fn::GetAtt", NULL);
    assert_string_equal(str(idx(role, 0)), "DdbhostRole");
    assert_string_equal(str(idx(role, 1)), "Arn");
    assert_false(has(p, "Policies")); /* SAM would ignore them beside Role */

    r = run_on(deploy_template_main,
               "{'function': {'name': 'orders-audit', 'memory_mb': 1024, 'timeout_s': 300, "
               "'architecture': 'arm64'}, 'tables': {'Orders': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
    p = get(r->doc, "Resources", "DdbhostFunction", "Properties", NULL);
    assert_string_equal(str(get(p, "FunctionName", NULL)), "orders-audit");
    assert_string_equal(str(idx(get(p, "Architectures", NULL), 0)), "arm64");
    assert_int_equal(json_object_get_int(get(p, "MemorySize", NULL)), 1024);
    assert_int_equal(json_object_get_int(get(p, "Timeout", NULL)), 300);
}

static void test_logical_ids_keep_letters_and_digits_and_never_collide(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main,
                    "{'tables': {'my-table': {'plugin': 'a.so'}, 'my.table': {'plugin': 'a.so'},"
                    " 'my_table': {'plugin': 'a.so'}, '___': {'plugin': 'a.so'},"
                    " 'mytable2': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
    json_object *params = get(r->doc, "Parameters", NULL), *events = events_of(r->doc);
    static const char *const ids[] = {"mytable", "mytable2", "mytable3", "Table", "mytable22"};
    static const char *const tables[] = {"my-table", "my.table", "my_table", "___", "mytable2"};
    assert_int_equal(json_object_object_length(params), 5);
    for (int i = 0; i < 5; i++) {
        char param[64];
        snprintf(param, sizeof param, "%sStreamArn", ids[i]);
        assert_string_equal(str(get(events, ids[i], "Properties", "Stream", "Ref", NULL)), param);
        assert_non_null(strstr(str(get(params, param, "Description", NULL)), tables[i]));
    }
}

/* Whether CloudFormation would accept value for the parameter (its pattern as POSIX ERE). */
static bool accepts(json_object *param, const char *value)
{
    regex_t re;
    assert_int_equal(regcomp(&re, str(get(param, "AllowedPattern", NULL)), REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, value, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void test_a_stream_parameter_accepts_only_a_stream_of_its_own_table(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main,
                    "{'tables': {'my.table': {'plugin': 'a.so'}, 'Orders': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
    json_object *mine = get(r->doc, "Parameters", "mytableStreamArn", NULL);
    assert_true(accepts(mine, "arn:aws:dynamodb:eu-west-1:123456789012:table/my.table/stream/"
                              "2024-05-01T10:00:00.000"));
    assert_true(accepts(mine, "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/my.table/stream/"
                              "2024-05-01T10:00:00.000"));
    assert_false(accepts(mine, "arn:aws:dynamodb:eu-west-1:123456789012:table/myXtable/stream/"
                               "2024-05-01T10:00:00.000"));
    assert_false(accepts(mine, "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/"
                               "2024-05-01T10:00:00.000"));
    assert_false(accepts(mine, "arn:aws:dynamodb:eu-west-1:123456789012:table/my.table"));
    assert_false(accepts(mine, "arn:aws:kinesis:eu-west-1:123456789012:table/my.table/stream/x"));
}

/* The Resource of a statement as a list of strings, unwrapping Fn::Sub when sub. */
static size_t resources(json_object *statement, bool sub, const char *out[], size_t cap)
{
    json_object *res = get(statement, "Resource", NULL);
    size_t n = json_object_is_type(res, json_type_array) ? json_object_array_length(res) : 1;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        json_object *one = json_object_is_type(res, json_type_array) ? idx(res, i) : res;
        out[i] = sub ? str(get(one, "Fn::Sub", NULL)) : str(one);
    }
    return n;
}

static void test_the_role_carries_the_policy_in_fn_sub_form_and_nothing_else(void **state)
{
    (void)state;
    const char *manifest = "{'tables': {'Orders': {'plugin': 'a.so'}, 'Users': {'plugin': 'a.so'}}}";
    run *r = run_on(deploy_policy_main, manifest);
    assert_int_equal(r->status, 0);
    json_object *policy = json_object_get(r->doc);
    r = run_on(deploy_template_main, manifest);
    assert_int_equal(r->status, 0);
    json_object *role = get(r->doc, "Resources", "DdbhostRole", NULL);
    assert_string_equal(str(get(role, "Type", NULL)), "AWS::IAM::Role");
    json_object *p = get(role, "Properties", NULL);
    assert_false(has(p, "ManagedPolicyArns"));
    json_object *trust = idx(get(p, "AssumeRolePolicyDocument", "Statement", NULL), 0);
    assert_string_equal(str(get(trust, "Principal", "Service", NULL)), "lambda.amazonaws.com");
    assert_string_equal(str(get(trust, "Action", NULL)), "sts:AssumeRole");
    json_object *policies = get(p, "Policies", NULL);
    assert_int_equal(json_object_array_length(policies), 1);
    json_object *doc = get(idx(policies, 0), "PolicyDocument", NULL);
    assert_string_equal(str(get(doc, "Version", NULL)), "2012-10-17");

    json_object *in_role = get(doc, "Statement", NULL), *printed = get(policy, "Statement", NULL);
    assert_int_equal(json_object_array_length(in_role), json_object_array_length(printed));
    for (size_t i = 0; i < json_object_array_length(printed); i++) {
        json_object *a = idx(in_role, i), *b = idx(printed, i);
        assert_string_equal(json_object_to_json_string(get(a, "Action", NULL)),
                            json_object_to_json_string(get(b, "Action", NULL)));
        assert_string_equal(str(get(a, "Sid", NULL)), str(get(b, "Sid", NULL)));
        const char *ra[8], *rb[8];
        bool star = strcmp(str(get(b, "Sid", NULL)), "ListStreamsTakesNoResourceArn") == 0;
        size_t n = resources(a, !star, ra, 8);
        assert_int_equal(n, resources(b, false, rb, 8));
        for (size_t k = 0; k < n; k++) assert_string_equal(ra[k], rb[k]);
    }
    json_object_put(policy);
}

static void test_a_manifest_with_only_star_routes_gets_neither_template_nor_policy(void **state)
{
    (void)state;
    char want[512];
    int (*const cmds[])(const char *, FILE *) = {deploy_template_main, deploy_policy_main};
    const char *const what[] = {"the template", "the policy"};
    for (int i = 0; i < 2; i++) {
        run *r = run_on(cmds[i], "{'tables': {'*': {'plugin': 'a.so'}}}");
        assert_int_equal(r->status, 1);
        assert_string_equal(r->out, "");
        snprintf(want, sizeof want,
                 "ddbhost: error: manifest \"%s\": tables: %s needs explicit table names, and "
                 "\"*\" is the only route (hint: name each table the function reads in "
                 "\"tables\")\n", mpath, what[i]);
        assert_string_equal(r->err, want);
    }
}

static void test_an_invalid_manifest_is_reported_in_one_error_line(void **state)
{
    (void)state;
    char want[512];
    int (*const cmds[])(const char *, FILE *) = {deploy_template_main, deploy_policy_main};
    for (int i = 0; i < 2; i++) {
        run *r = run_on(cmds[i], "{'tables': {'Orders': {'handlers': {'plugin': 'a.so'}, "
                                 "'stream': {'batch_size': 0}}}}");
        assert_int_equal(r->status, 1);
        assert_string_equal(r->out, "");
        snprintf(want, sizeof want,
                 "ddbhost: error: manifest \"%s\": tables.Orders.stream.batch_size: expected an "
                 "integer from 1 to 10000, found 0\n", mpath);
        assert_string_equal(r->err, want);
    }
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope.json", dir);
    FILE *out = tmpfile();
    fflush(stderr);
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO);
    int status = deploy_policy_main(missing, out);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(null);
    assert_int_equal(status, 1);
    assert_int_equal(ftell(out), 0);
    fclose(out);
}

static void test_a_deadline_margin_that_fills_the_timeout_is_refused(void **state)
{
    (void)state;
    char want[512];
    run *r = run_on(deploy_template_main, "{'deadline_margin_ms': 30000, 'function': "
                                          "{'timeout_s': 30}, 'tables': {'Orders': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 1);
    assert_string_equal(r->out, "");
    snprintf(want, sizeof want,
             "ddbhost: error: manifest \"%s\": deadline_margin_ms: 30000 ms is not less than "
             "function.timeout_s (30 s), so no record would ever be delivered (hint: raise "
             "function.timeout_s or lower deadline_margin_ms)\n", mpath);
    assert_string_equal(r->err, want);
    r = run_on(deploy_template_main, "{'deadline_margin_ms': 29999, 'function': "
                                     "{'timeout_s': 30}, 'tables': {'Orders': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
}

/* ---- the policy ----------------------------------------------------------------------- */

static json_object *statement(json_object *policy, const char *sid)
{
    json_object *all = get(policy, "Statement", NULL);
    for (size_t i = 0; i < json_object_array_length(all); i++)
        if (strcmp(str(get(idx(all, i), "Sid", NULL)), sid) == 0) return idx(all, i);
    fail_msg("no statement %s", sid);
    return NULL;
}

static void test_the_policy_reads_the_streams_of_the_named_tables_only(void **state)
{
    (void)state;
    char want[1024];
    run *r = run_on(deploy_policy_main,
                    "{'tables': {'Orders': {'plugin': 'a.so'}, '*': {'plugin': 'a.so'}, "
                    "'my.table': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
    snprintf(want, sizeof want,
             "ddbhost: warning: manifest \"%s\": tables.*: a \"*\" route cannot become an event "
             "source and is left out of the policy (hint: list the tables it should serve "
             "explicitly)\n"
             "ddbhost: policy: ARNs use CloudFormation pseudo parameters (${AWS::Partition}, "
             "${AWS::Region}, ${AWS::AccountId}, and ${AWS::StackName} for the function's name, "
             "which function.name in the manifest fixes): use the document inside Fn::Sub, or "
             "replace them with your own values\n"
             "ddbhost: policy: the role may write to the log group /aws/lambda/${AWS::StackName} "
             "but not create it: create it first (aws logs create-log-group --log-group-name "
             "/aws/lambda/${AWS::StackName})\n", mpath);
    assert_string_equal(r->err, want);
    assert_string_equal(str(get(r->doc, "Version", NULL)), "2012-10-17");
    assert_int_equal(json_object_array_length(get(r->doc, "Statement", NULL)), 3);

    json_object *read = statement(r->doc, "ReadTableStreams");
    assert_string_equal(str(get(read, "Effect", NULL)), "Allow");
    assert_string_equal(json_object_to_json_string_ext(get(read, "Action", NULL),
                                                       JSON_C_TO_STRING_PLAIN),
                        "[\"dynamodb:DescribeStream\",\"dynamodb:GetRecords\","
                        "\"dynamodb:GetShardIterator\"]");
    const char *res[8];
    assert_int_equal(resources(read, false, res, 8), 2);
    assert_string_equal(res[0], ARN_HEAD "Orders/stream/*");
    assert_string_equal(res[1], ARN_HEAD "my.table/stream/*");

    /* IAM cannot scope ListStreams: it alone gets "*", in a statement of its own */
    json_object *list = statement(r->doc, "ListStreamsTakesNoResourceArn");
    assert_string_equal(json_object_to_json_string_ext(get(list, "Action", NULL),
                                                       JSON_C_TO_STRING_PLAIN),
                        "[\"dynamodb:ListStreams\"]");
    assert_int_equal(resources(list, false, res, 8), 1);
    assert_string_equal(res[0], "*");

    json_object *logs = statement(r->doc, "WriteFunctionLogs");
    assert_string_equal(json_object_to_json_string_ext(get(logs, "Action", NULL),
                                                       JSON_C_TO_STRING_PLAIN),
                        "[\"logs:CreateLogStream\",\"logs:PutLogEvents\"]");
    assert_int_equal(resources(logs, false, res, 8), 1);
    assert_string_equal(res[0], LOGS_HEAD "${AWS::StackName}:*");

    /* IAM takes only its own elements: anything else in a statement would be refused */
    json_object *all = get(r->doc, "Statement", NULL);
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        json_object_object_foreach(idx(all, i), key, value) {
            (void)value;
            assert_true(strcmp(key, "Sid") == 0 || strcmp(key, "Effect") == 0 ||
                        strcmp(key, "Action") == 0 || strcmp(key, "Resource") == 0);
        }
    }
}

static void test_the_policy_names_the_log_group_of_a_named_function(void **state)
{
    (void)state;
    char want[512];
    run *r = run_on(deploy_policy_main, "{'function': {'name': 'orders-audit'}, 'tables': "
                                        "{'Orders': {'plugin': 'a.so'}}}");
    assert_int_equal(r->status, 0);
    snprintf(want, sizeof want,
             "ddbhost: policy: ARNs use CloudFormation pseudo parameters (${AWS::Partition}, "
             "${AWS::Region}, ${AWS::AccountId}): use the document inside Fn::Sub, or replace "
             "them with your own values\n"
             "ddbhost: policy: the role may write to the log group /aws/lambda/orders-audit but "
             "not create it: create it first (aws logs create-log-group --log-group-name "
             "/aws/lambda/orders-audit)\n");
    assert_string_equal(r->err, want);
    const char *res[2];
    assert_int_equal(resources(statement(r->doc, "WriteFunctionLogs"), false, res, 2), 1);
    assert_string_equal(res[0], LOGS_HEAD "orders-audit:*");
    /* slashes are printed as they are, so the ARNs can be pasted */
    assert_non_null(strstr(r->out, "log-group:/aws/lambda/orders-audit:*"));
}

/* ---- what a batch that keeps failing becomes --------------------------------------------- */

static const char *const destinations_manifest =
    "{'tables': {"
    "'Orders': {'handlers': {'plugin': 'a.so'}, 'stream': {'max_retries': 5, "
    "'max_record_age_s': 3600, 'on_failure': 'arn:aws:sqs:eu-west-1:123456789012:orders-dlq'}},"
    "'Users': {'handlers': {'plugin': 'a.so'}, 'stream': {'max_retries': 2, "
    "'on_failure': 'arn:aws:sqs:eu-west-1:123456789012:orders-dlq'}},"
    "'Audit': {'handlers': {'plugin': 'a.so'}, 'stream': {'max_retries': 2, "
    "'on_failure': 'arn:aws:s3:::audit-failures'}},"
    "'Carts': {'handlers': {'plugin': 'a.so'}, 'stream': {'max_record_age_s': 60, "
    "'on_failure': 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:carts-failed'}},"
    "'Plain': {'plugin': 'a.so'}}}";

static void test_a_route_with_on_failure_gets_its_destination_and_record_age(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main, destinations_manifest);
    assert_int_equal(r->status, 0);
    assert_string_equal(r->err, ""); /* every finite limit has a destination: no warning */
    json_object *events = events_of(r->doc);
    json_object *p = get(events, "Orders", "Properties", NULL);
    assert_string_equal(str(get(p, "DestinationConfig", "OnFailure", "Destination", NULL)),
                        "arn:aws:sqs:eu-west-1:123456789012:orders-dlq");
    assert_int_equal(json_object_get_int(get(p, "MaximumRecordAgeInSeconds", NULL)), 3600);
    assert_int_equal(json_object_get_int(get(p, "MaximumRetryAttempts", NULL)), 5);
    p = get(events, "Carts", "Properties", NULL);
    assert_string_equal(str(get(p, "DestinationConfig", "OnFailure", "Destination", "Fn::Sub", NULL)),
                        "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:carts-failed");
    p = get(events, "Plain", "Properties", NULL);
    assert_false(has(p, "DestinationConfig"));
    assert_int_equal(json_object_get_int(get(p, "MaximumRecordAgeInSeconds", NULL)), -1);
    assert_false(has(p, "TumblingWindowInSeconds"));
}

static void test_the_policy_grants_each_destination_its_one_action_on_its_arn(void **state)
{
    (void)state;
    run *r = run_on(deploy_policy_main, destinations_manifest);
    assert_int_equal(r->status, 0);
    json_object *all = get(r->doc, "Statement", NULL);
    assert_int_equal(json_object_array_length(all), 3 + 4);
    const char *res[4];
    /* two routes share the queue: it is granted once */
    json_object *st = statement(r->doc, "SendDiscardedBatchesToQueues");
    assert_string_equal(json_object_to_json_string_ext(get(st, "Action", NULL), JSON_C_TO_STRING_PLAIN),
                        "[\"sqs:SendMessage\"]");
    assert_int_equal(resources(st, false, res, 4), 1);
    assert_string_equal(res[0], "arn:aws:sqs:eu-west-1:123456789012:orders-dlq");
    st = statement(r->doc, "PublishDiscardedBatchesToTopics");
    assert_string_equal(json_object_to_json_string_ext(get(st, "Action", NULL), JSON_C_TO_STRING_PLAIN),
                        "[\"sns:Publish\"]");
    assert_int_equal(resources(st, false, res, 4), 1);
    assert_string_equal(res[0], "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:carts-failed");
    /* S3 takes the objects and the listing of that bucket, nothing wider */
    st = statement(r->doc, "PutDiscardedBatchesInBuckets");
    assert_string_equal(json_object_to_json_string_ext(get(st, "Action", NULL), JSON_C_TO_STRING_PLAIN),
                        "[\"s3:PutObject\"]");
    assert_int_equal(resources(st, false, res, 4), 1);
    assert_string_equal(res[0], "arn:aws:s3:::audit-failures/*");
    st = statement(r->doc, "ListDiscardedBatchBuckets");
    assert_string_equal(json_object_to_json_string_ext(get(st, "Action", NULL), JSON_C_TO_STRING_PLAIN),
                        "[\"s3:ListBucket\"]");
    assert_int_equal(resources(st, false, res, 4), 1);
    assert_string_equal(res[0], "arn:aws:s3:::audit-failures");
}

static void test_the_template_warns_when_a_finite_limit_drops_records_with_no_trace(void **state)
{
    (void)state;
    char want[1024];
    run *r = run_on(deploy_template_main,
                    "{'tables': {'Orders': {'handlers': {'plugin': 'a.so'}, 'stream': "
                    "{'max_record_age_s': 600}}, 'Users': {'handlers': {'plugin': 'a.so'}, "
                    "'stream': {'max_retries': 0, 'max_record_age_s': 60}}, 'Carts': {'plugin': "
                    "'a.so'}}}");
    assert_int_equal(r->status, 0);
    snprintf(want, sizeof want,
             "ddbhost: warning: manifest \"%s\": tables.Orders.stream: max_record_age_s is 600 and "
             "no \"on_failure\" is set: Lambda drops a batch that still fails with no trace "
             "(hint: set \"on_failure\" to the ARN of an SQS queue, SNS topic or S3 bucket)\n"
             "ddbhost: warning: manifest \"%s\": tables.Users.stream: max_retries is 0 and "
             "max_record_age_s is 60 and no \"on_failure\" is set: Lambda drops a batch that still "
             "fails with no trace (hint: set \"on_failure\" to the ARN of an SQS queue, SNS topic "
             "or S3 bucket)\n", mpath, mpath);
    assert_string_equal(r->err, want);
}

/* ---- filters ------------------------------------------------------------------------------ */

static json_object *patterns_of(json_object *events, const char *id)
{
    json_object *filters = get(events, id, "Properties", "FilterCriteria", "Filters", NULL);
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(filters); i++) {
        json_object *pattern = json_tokener_parse(str(get(idx(filters, i), "Pattern", NULL)));
        assert_non_null(pattern);
        json_object_array_add(out, pattern);
    }
    return out;
}

static void test_a_routes_own_patterns_are_narrowed_to_the_events_its_handlers_take(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main,
                    "{'tables': {"
                    "'Orders': {'handlers': [{'plugin': 'a.so', 'events': ['MODIFY']}], 'stream': "
                    "{'filters': [{'dynamodb': {'NewImage': {'status': {'S': ['shipped']}}}}, "
                    "{'eventName': ['REMOVE'], 'dynamodb': {'Keys': {'id': {'S': [{'prefix': "
                    "'vip-'}]}}}}]}},"
                    "'Users': {'handlers': {'plugin': 'a.so'}, 'stream': {'filters': "
                    "[{'dynamodb': {'NewImage': {'active': {'BOOL': [true]}}}}]}}}}");
    assert_int_equal(r->status, 0);
    json_object *events = events_of(r->doc);
    json_object *orders = patterns_of(events, "Orders");
    assert_int_equal(json_object_array_length(orders), 2);
    /* a pattern that says nothing of eventName gets the handlers' events: Lambda ORs patterns */
    assert_string_equal(json_object_to_json_string_ext(idx(orders, 0), JSON_C_TO_STRING_PLAIN),
                        "{\"dynamodb\":{\"NewImage\":{\"status\":{\"S\":[\"shipped\"]}}},"
                        "\"eventName\":[\"MODIFY\"]}");
    /* one that names eventName keeps what it says */
    assert_string_equal(json_object_to_json_string_ext(idx(orders, 1), JSON_C_TO_STRING_PLAIN),
                        "{\"eventName\":[\"REMOVE\"],\"dynamodb\":{\"Keys\":{\"id\":{\"S\":"
                        "[{\"prefix\":\"vip-\"}]}}}}");
    json_object *users = patterns_of(events, "Users");
    assert_int_equal(json_object_array_length(users), 1);
    assert_string_equal(json_object_to_json_string_ext(idx(users, 0), JSON_C_TO_STRING_PLAIN),
                        "{\"dynamodb\":{\"NewImage\":{\"active\":{\"BOOL\":[true]}}}}");
    json_object_put(orders);
    json_object_put(users);
}

/* ---- the role the plugins use, and the logs ---------------------------------------------- */

static const char *const role_manifest =
    "{'tables': {'Orders': {'plugin': 'a.so'}}, 'function': {'name': 'orders-archive', "
    "'log_retention_days': 14, 'log_level': 'debug', 'policy': [{'Sid': 'WriteArchive', "
    "'Effect': 'Allow', 'Action': ['s3:PutObject'], 'Resource': "
    "['arn:${AWS::Partition}:s3:::archive-${AWS::AccountId}/orders/*', "
    "'arn:aws:s3:::orders-archive/*']}, {'Effect': 'Allow', 'Action': 'kms:GenerateDataKey', "
    "'Resource': 'arn:aws:kms:eu-west-1:123456789012:key/abc', 'Condition': {'StringEquals': "
    "{'kms:ViaService': 's3.eu-west-1.amazonaws.com'}}}], 'managed_policies': "
    "['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', "
    "'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/orders-extra']}}";

static void test_the_manifests_statements_and_managed_policies_join_the_role(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main, role_manifest);
    assert_int_equal(r->status, 0);
    json_object *p = get(r->doc, "Resources", "DdbhostRole", "Properties", NULL);
    json_object *managed = get(p, "ManagedPolicyArns", NULL);
    assert_int_equal(json_object_array_length(managed), 2);
    assert_string_equal(str(idx(managed, 0)), "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
    assert_string_equal(str(get(idx(managed, 1), "Fn::Sub", NULL)),
                        "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/orders-extra");
    json_object *doc = get(idx(get(p, "Policies", NULL), 0), "PolicyDocument", NULL);
    json_object *all = get(doc, "Statement", NULL);
    assert_int_equal(json_object_array_length(all), 3 + 2);
    json_object *mine = statement(doc, "WriteArchive");
    json_object *res = get(mine, "Resource", NULL);
    assert_string_equal(str(get(idx(res, 0), "Fn::Sub", NULL)),
                        "arn:${AWS::Partition}:s3:::archive-${AWS::AccountId}/orders/*");
    assert_string_equal(str(idx(res, 1)), "arn:aws:s3:::orders-archive/*");
    json_object *kms = idx(all, 4);
    assert_false(has(kms, "Sid"));
    assert_string_equal(str(get(kms, "Action", NULL)), "kms:GenerateDataKey");
    assert_string_equal(str(get(kms, "Resource", NULL)), "arn:aws:kms:eu-west-1:123456789012:key/abc");
    assert_string_equal(str(get(kms, "Condition", "StringEquals", "kms:ViaService", NULL)),
                        "s3.eu-west-1.amazonaws.com");

    /* the printed policy has the same statements, as text, and names what to attach */
    r = run_on(deploy_policy_main, role_manifest);
    assert_int_equal(r->status, 0);
    assert_int_equal(json_object_array_length(get(r->doc, "Statement", NULL)), 5);
    assert_string_equal(str(idx(get(statement(r->doc, "WriteArchive"), "Resource", NULL), 0)),
                        "arn:${AWS::Partition}:s3:::archive-${AWS::AccountId}/orders/*");
    assert_non_null(strstr(r->err, "ddbhost: policy: attach the managed policy "
                                   "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess to the role as "
                                   "well (aws iam attach-role-policy --policy-arn "
                                   "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess)\n"));
}

static void test_a_local_file_destination_is_refused_for_lambda(void **state)
{
    (void)state;
    char want[1024];
    int (*const cmds[])(const char *, FILE *) = {deploy_template_main, deploy_policy_main};
    for (int i = 0; i < 2; i++) {
        run *r = run_on(cmds[i], "{'tables': {'Orders': {'handlers': {'plugin': 'a.so'}, 'stream': "
                                 "{'max_retries': 3, 'on_failure': 'file:///tmp/discarded.jsonl'}}}}");
        assert_int_equal(r->status, 1);
        assert_null(r->doc);
        snprintf(want, sizeof want, "ddbhost: error: manifest \"%s\": tables.Orders.stream.on_failure: "
                 "\"file:///tmp/discarded.jsonl\" is a local file, which only `ddbhost poll` writes "
                 "to: Lambda records discarded batches in an SQS queue, SNS topic or S3 bucket "
                 "(hint: give their ARN in the manifest you deploy)\n", mpath);
        assert_string_equal(r->err, want);
    }
}

static void test_a_statement_id_used_twice_is_refused(void **state)
{
    (void)state;
    char want[512];
    const char *const manifests[] = {
        "{'tables': {'Orders': {'plugin': 'a.so'}}, 'function': {'policy': [{'Sid': "
        "'ReadTableStreams', 'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': '*'}]}}",
        "{'tables': {'Orders': {'plugin': 'a.so'}}, 'function': {'policy': [{'Sid': 'A', 'Effect': "
        "'Allow', 'Action': 's3:GetObject', 'Resource': '*'}, {'Sid': 'A', 'Effect': 'Deny', "
        "'Action': 's3:PutObject', 'Resource': '*'}]}}"};
    const char *const why[] = {"function.policy[0].Sid: \"ReadTableStreams\" is a statement "
                               "ddbhost writes",
                               "function.policy[1].Sid: \"A\" is used by an earlier statement"};
    for (int i = 0; i < 2; i++) {
        run *r = run_on(deploy_template_main, manifests[i]);
        assert_int_equal(r->status, 1);
        assert_null(r->doc);
        snprintf(want, sizeof want, "ddbhost: error: manifest \"%s\": %s, and IAM requires "
                 "statement ids to be unique in a policy (hint: rename it or leave it out)\n",
                 mpath, why[i]);
        assert_string_equal(r->err, want);
    }
}

static void test_the_function_logs_json_to_a_log_group_the_template_declares(void **state)
{
    (void)state;
    run *r = run_on(deploy_template_main, role_manifest);
    assert_int_equal(r->status, 0);
    json_object *group = get(r->doc, "Resources", "DdbhostLogGroup", NULL);
    assert_string_equal(str(get(group, "Type", NULL)), "AWS::Logs::LogGroup");
    assert_string_equal(str(get(group, "Properties", "LogGroupName", NULL)), "/aws/lambda/orders-archive");
    assert_int_equal(json_object_get_int(get(group, "Properties", "RetentionInDays", NULL)), 14);
    json_object *logging = get(r->doc, "Resources", "DdbhostFunction", "Properties", "LoggingConfig", NULL);
    assert_string_equal(str(get(logging, "LogFormat", NULL)), "JSON");
    assert_string_equal(str(get(logging, "ApplicationLogLevel", NULL)), "DEBUG");
    assert_string_equal(str(get(logging, "SystemLogLevel", NULL)), "INFO");
    assert_string_equal(str(get(logging, "LogGroup", "Ref", NULL)), "DdbhostLogGroup");

    /* unnamed, the function is named after the stack, and so is its log group; 30 days */
    r = run_on(deploy_template_main, "{'tables': {'Orders': {'plugin': 'a.so'}}}");
    group = get(r->doc, "Resources", "DdbhostLogGroup", "Properties", NULL);
    assert_string_equal(str(get(group, "LogGroupName", "Fn::Sub", NULL)), "/aws/lambda/${AWS::StackName}");
    assert_int_equal(json_object_get_int(get(group, "RetentionInDays", NULL)), 30);
    assert_string_equal(str(get(r->doc, "Resources", "DdbhostFunction", "Properties", "LoggingConfig",
                                "ApplicationLogLevel", NULL)), "INFO");
}

static int free_last_run(void **state)
{
    json_object_put(last_run.doc);
    last_run.doc = NULL;
    return remove_dir(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_template_has_one_dynamodb_event_per_named_table_with_its_settings),
        cmocka_unit_test(test_a_filter_holds_the_event_names_a_routes_handlers_take_between_them),
        cmocka_unit_test(test_a_star_route_is_left_out_of_the_template_with_a_warning),
        cmocka_unit_test(test_the_function_is_declared_as_the_manifest_describes_it),
        cmocka_unit_test(test_logical_ids_keep_letters_and_digits_and_never_collide),
        cmocka_unit_test(test_a_stream_parameter_accepts_only_a_stream_of_its_own_table),
        cmocka_unit_test(test_the_role_carries_the_policy_in_fn_sub_form_and_nothing_else),
        cmocka_unit_test(test_a_manifest_with_only_star_routes_gets_neither_template_nor_policy),
        cmocka_unit_test(test_an_invalid_manifest_is_reported_in_one_error_line),
        cmocka_unit_test(test_a_deadline_margin_that_fills_the_timeout_is_refused),
        cmocka_unit_test(test_the_policy_reads_the_streams_of_the_named_tables_only),
        cmocka_unit_test(test_the_policy_names_the_log_group_of_a_named_function),
        cmocka_unit_test(test_a_route_with_on_failure_gets_its_destination_and_record_age),
        cmocka_unit_test(test_the_policy_grants_each_destination_its_one_action_on_its_arn),
        cmocka_unit_test(test_the_template_warns_when_a_finite_limit_drops_records_with_no_trace),
        cmocka_unit_test(test_a_routes_own_patterns_are_narrowed_to_the_events_its_handlers_take),
        cmocka_unit_test(test_the_manifests_statements_and_managed_policies_join_the_role),
        cmocka_unit_test(test_a_statement_id_used_twice_is_refused),
        cmocka_unit_test(test_a_local_file_destination_is_refused_for_lambda),
        cmocka_unit_test(test_the_function_logs_json_to_a_log_group_the_template_declares),
    };
    return cmocka_run_group_tests(tests, make_dir, free_last_run);
}
