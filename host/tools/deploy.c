/* deploy.c - `ddbhost template` and `ddbhost policy`: the SAM template and the IAM policy of a
 * manifest, built as json-c objects and printed as pretty JSON. Owns the logical IDs of the
 * template and the policy's statements; knows nothing of events or plugins beyond the
 * manifest's routes. */
#include "deploy.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include <ddb/plugin.h>

#include "log.h"
#include "manifest.h"
#include "text.h"

#define DEPLOY_FUNCTION "DdbhostFunction" /* logical IDs of the template's own resources */
#define DEPLOY_ROLE "DdbhostRole"
#define DEPLOY_LOGS "DdbhostLogGroup"
#define DEPLOY_ID_CAP 200 /* CloudFormation allows 255; leaves room for suffixes */
#define DEPLOY_ARN "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s%s%s"

/* ---- small builders ------------------------------------------------------------------- */

static json_object *deploy_strings(const char *const *s, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++) json_object_array_add(a, json_object_new_string(s[i]));
    return a;
}

static json_object *deploy_pair(const char *key, json_object *value)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, key, value);
    return o;
}

/* An ARN in pseudo-parameter form: inside Fn::Sub for the template, as text for the policy. */
static json_object *deploy_arn(bool sub, const char *service, const char *a, const char *b,
                               const char *c)
{
    char arn[1024];
    snprintf(arn, sizeof arn, DEPLOY_ARN, service, a, b, c);
    json_object *s = json_object_new_string(arn);
    return sub ? deploy_pair("Fn::Sub", s) : s;
}

/* A text of the manifest's that may hold pseudo parameters (${AWS::AccountId}): inside
 * Fn::Sub for the template when it does, as it is otherwise. */
static json_object *deploy_text(bool sub, const char *text)
{
    json_object *s = json_object_new_string(text);
    return sub && strstr(text, "${") ? deploy_pair("Fn::Sub", s) : s;
}

/* The name of the function's log group, which the template declares and the policy names. */
static void deploy_log_group(const manifest *m, char *out, size_t cap)
{
    snprintf(out, cap, "/aws/lambda/%s", m->function.name ? m->function.name : "${AWS::StackName}");
}

/* ---- the policy ----------------------------------------------------------------------- */

static json_object *deploy_statement(const char *sid, const char *const *actions, size_t n,
                                     json_object *resource)
{
    json_object *s = json_object_new_object();
    json_object_object_add(s, "Sid", json_object_new_string(sid));
    json_object_object_add(s, "Effect", json_object_new_string("Allow"));
    json_object_object_add(s, "Action", deploy_strings(actions, n));
    json_object_object_add(s, "Resource", resource);
    return s;
}

/* The Sids of the statements deploy_policy writes, which the manifest's own cannot reuse. */
static const char *const deploy_sids[] = {
    "ReadTableStreams",           "ListStreamsTakesNoResourceArn", "WriteFunctionLogs",
    "SendDiscardedBatchesToQueues", "PublishDiscardedBatchesToTopics",
    "PutDiscardedBatchesInBuckets", "ListDiscardedBatchBuckets",
};

/* Adds text to the array a unless it holds it already (two routes may share a destination). */
static void deploy_add_unique(json_object *a, bool sub, const char *text)
{
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *e = json_object_array_get_idx(a, i), *inner;
        if (json_object_object_get_ex(e, "Fn::Sub", &inner)) e = inner;
        if (strcmp(json_object_get_string(e), text) == 0) return;
    }
    json_object_array_add(a, deploy_text(sub, text));
}

/* The statements that let Lambda record discarded batches at each route's "on_failure":
 * exactly the action its service needs, on that ARN only (s3:PutObject on the bucket's
 * objects and s3:ListBucket on the bucket, as Lambda's S3 destinations require). */
static void deploy_destinations(const manifest *m, bool sub, json_object *statements)
{
    static const char *const send[] = {"sqs:SendMessage"}, *const publish[] = {"sns:Publish"},
                             *const put[] = {"s3:PutObject"}, *const list[] = {"s3:ListBucket"};
    json_object *queues = json_object_new_array(), *topics = json_object_new_array(),
                *objects = json_object_new_array(), *buckets = json_object_new_array();
    for (size_t i = 0; i < m->count; i++) {
        const manifest_stream *s = &m->routes[i].stream;
        if (!s->on_failure) continue;
        if (s->on_failure_kind == MANIFEST_DEST_SQS) deploy_add_unique(queues, sub, s->on_failure);
        if (s->on_failure_kind == MANIFEST_DEST_SNS) deploy_add_unique(topics, sub, s->on_failure);
        if (s->on_failure_kind == MANIFEST_DEST_S3) {
            char objects_arn[1100];
            snprintf(objects_arn, sizeof objects_arn, "%s/*", s->on_failure);
            deploy_add_unique(objects, sub, objects_arn);
            deploy_add_unique(buckets, sub, s->on_failure);
        }
    }
    json_object *lists[] = {queues, topics, objects, buckets};
    const char *const *actions[] = {send, publish, put, list};
    for (size_t k = 0; k < 4; k++) {
        if (json_object_array_length(lists[k]) == 0) {
            json_object_put(lists[k]);
            continue;
        }
        json_object_array_add(statements, deploy_statement(deploy_sids[3 + k], actions[k], 1,
                                                           lists[k]));
    }
}

/* The manifest's own statements ("function.policy"), validated when it was read; in the
 * template their resources with pseudo parameters go inside Fn::Sub. */
static void deploy_user_statements(const manifest *m, bool sub, json_object *statements)
{
    for (size_t i = 0; m->function.policy && i < json_object_array_length(m->function.policy); i++) {
        json_object *st = NULL;
        json_object_deep_copy(json_object_array_get_idx(m->function.policy, i), &st, NULL);
        if (!st) continue;
        static const char *const keys[] = {"Resource", "NotResource"};
        for (size_t k = 0; sub && k < 2; k++) {
            json_object *r;
            if (!json_object_object_get_ex(st, keys[k], &r)) continue;
            if (json_object_is_type(r, json_type_string)) {
                json_object_object_add(st, keys[k], deploy_text(true, json_object_get_string(r)));
                continue;
            }
            for (size_t j = 0; j < json_object_array_length(r); j++)
                json_object_array_put_idx(r, j, deploy_text(true, json_object_get_string(
                                                                      json_object_array_get_idx(r, j))));
        }
        json_object_array_add(statements, st);
    }
}

/* The execution role's policy. Reading a stream is granted on each named table's streams
 * only; ListStreams takes no resource ARN in IAM (the Service Authorization Reference lists
 * no resource type for it), so it gets "*" in a statement of its own, whose Sid says why: IAM
 * accepts no comment element. Logs go to the function's own log group, which the template
 * declares, so the role need not create it. Then the on-failure destinations and the
 * manifest's own statements. */
static json_object *deploy_policy(const manifest *m, bool sub)
{
    static const char *const read[] = {"dynamodb:DescribeStream", "dynamodb:GetRecords",
                                       "dynamodb:GetShardIterator"};
    static const char *const list[] = {"dynamodb:ListStreams"};
    static const char *const logs[] = {"logs:CreateLogStream", "logs:PutLogEvents"};
    json_object *streams = json_object_new_array();
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->routes[i].table, "*") != 0)
            json_object_array_add(streams, deploy_arn(sub, "dynamodb", "table/",
                                                      m->routes[i].table, "/stream/*"));
    char group[128];
    deploy_log_group(m, group, sizeof group);
    json_object *statements = json_object_new_array();
    json_object_array_add(statements, deploy_statement(deploy_sids[0], read, 3, streams));
    json_object_array_add(statements, deploy_statement(deploy_sids[1], list, 1,
                                                       json_object_new_string("*")));
    json_object_array_add(statements,
                          deploy_statement(deploy_sids[2], logs, 2,
                                           deploy_arn(sub, "logs", "log-group:", group, ":*")));
    deploy_destinations(m, sub, statements);
    deploy_user_statements(m, sub, statements);
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "Version", json_object_new_string("2012-10-17"));
    json_object_object_add(doc, "Statement", statements);
    return doc;
}

/* ---- the template --------------------------------------------------------------------- */

/* One logical-ID stem per route that names a table (NULL for "*"): its table name kept to
 * letters and digits, as CloudFormation requires, and numbered from 2 when two tables would
 * collide ("my-table", "my.table"). Owned by caller: deploy_free_ids. */
static char **deploy_ids(const manifest *m)
{
    char **ids = calloc(m->count ? m->count : 1, sizeof *ids);
    for (size_t i = 0; ids && i < m->count; i++) {
        const char *t = m->routes[i].table;
        if (strcmp(t, "*") == 0) continue;
        char stem[DEPLOY_ID_CAP + 1], id[DEPLOY_ID_CAP + 24];
        size_t n = 0;
        for (; *t && n < DEPLOY_ID_CAP; t++)
            if ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9'))
                stem[n++] = *t;
        stem[n] = '\0';
        if (n == 0) snprintf(stem, sizeof stem, "Table");
        snprintf(id, sizeof id, "%s", stem);
        for (unsigned k = 2;; k++) {
            size_t j = 0;
            while (j < i && !(ids[j] && strcmp(ids[j], id) == 0)) j++;
            if (j == i) break;
            snprintf(id, sizeof id, "%s%u", stem, k);
        }
        ids[i] = strdup(id);
    }
    return ids;
}

static void deploy_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++) free(ids[i]);
    free(ids);
}

/* A stream ARN parameter, checked by CloudFormation to belong to the route's table, since
 * the policy grants reading that table's streams and no other. */
static json_object *deploy_parameter(const char *table)
{
    char text[1024], pattern[700];
    size_t n = 0;
    for (const char *t = table; *t; t++) { /* '.' is the only regex character a name holds */
        if (*t == '.') pattern[n++] = '\\';
        pattern[n++] = *t;
    }
    pattern[n] = '\0';
    json_object *p = json_object_new_object();
    json_object_object_add(p, "Type", json_object_new_string("String"));
    snprintf(text, sizeof text, "Stream ARN of DynamoDB table %s (aws dynamodb describe-table "
             "--table-name %s --query Table.LatestStreamArn)", table, table);
    json_object_object_add(p, "Description", json_object_new_string(text));
    snprintf(text, sizeof text, "^arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/%s/stream/.+$",
             pattern);
    json_object_object_add(p, "AllowedPattern", json_object_new_string(text));
    snprintf(text, sizeof text, "must be a stream ARN of table %s", table);
    json_object_object_add(p, "ConstraintDescription", json_object_new_string(text));
    return p;
}

/* FilterCriteria for a route: its own "filters" patterns, each narrowed to the event names
 * its handlers take between them unless the pattern names eventName itself; or, without
 * patterns, one pattern of those event names. NULL when nothing is filtered. Lambda ORs the
 * patterns, so narrowing each one narrows the whole. */
static json_object *deploy_filter(const manifest_route *r)
{
    unsigned mask = 0;
    for (size_t i = 0; i < r->count; i++) mask |= r->handlers[i].events;
    bool narrow = (mask & MANIFEST_ALL_EVENTS) != MANIFEST_ALL_EVENTS;
    json_object *patterns = json_object_new_array();
    size_t n = r->stream.filters ? json_object_array_length(r->stream.filters) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *p = NULL;
        json_object_deep_copy(json_object_array_get_idx(r->stream.filters, i), &p, NULL);
        if (p) json_object_array_add(patterns, p);
    }
    if (n == 0 && narrow) json_object_array_add(patterns, json_object_new_object());
    json_object *filters = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(patterns); i++) {
        json_object *p = json_object_array_get_idx(patterns, i);
        if (narrow && !json_object_object_get_ex(p, "eventName", NULL)) {
            json_object *names = json_object_new_array();
            for (int k = DDB_INSERT; k <= DDB_REMOVE; k++)
                if (mask & 1u << k)
                    json_object_array_add(names, json_object_new_string(
                                                     ddb_event_name_str((ddb_event_name)k)));
            json_object_object_add(p, "eventName", names);
        }
        json_object_array_add(filters,
                              deploy_pair("Pattern", json_object_new_string(json_object_to_json_string_ext(
                                                         p, JSON_C_TO_STRING_PLAIN))));
    }
    json_object_put(patterns);
    if (json_object_array_length(filters) == 0) {
        json_object_put(filters);
        return NULL;
    }
    return deploy_pair("Filters", filters);
}

static json_object *deploy_event(const manifest_route *r, const char *param)
{
    static const char *const response_types[] = {"ReportBatchItemFailures"};
    const manifest_stream *s = &r->stream;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "Stream", deploy_pair("Ref", json_object_new_string(param)));
    json_object_object_add(p, "StartingPosition",
                           json_object_new_string(s->starting_position == MANIFEST_LATEST
                                                      ? "LATEST" : "TRIM_HORIZON"));
    json_object_object_add(p, "BatchSize", json_object_new_int64(s->batch_size));
    json_object_object_add(p, "MaximumBatchingWindowInSeconds",
                           json_object_new_int64(s->max_batching_window_s));
    json_object_object_add(p, "BisectBatchOnFunctionError",
                           json_object_new_boolean(s->bisect_on_error));
    json_object_object_add(p, "MaximumRetryAttempts", json_object_new_int64(s->max_retries));
    json_object_object_add(p, "MaximumRecordAgeInSeconds",
                           json_object_new_int64(s->max_record_age_s));
    if (s->tumbling_window_s > 0)
        json_object_object_add(p, "TumblingWindowInSeconds",
                               json_object_new_int64(s->tumbling_window_s));
    if (s->on_failure)
        json_object_object_add(p, "DestinationConfig",
                               deploy_pair("OnFailure", deploy_pair("Destination",
                                                                    deploy_text(true, s->on_failure))));
    json_object_object_add(p, "ParallelizationFactor",
                           json_object_new_int64(s->parallelization_factor));
    json_object_object_add(p, "FunctionResponseTypes", deploy_strings(response_types, 1));
    json_object *filter = deploy_filter(r);
    if (filter) json_object_object_add(p, "FilterCriteria", filter);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "Type", json_object_new_string("DynamoDB"));
    json_object_object_add(e, "Properties", p);
    return e;
}

/* The role is declared rather than left to SAM: SAM would attach the managed policies
 * AWSLambdaBasicExecutionRole and AWSLambdaDynamoDBExecutionRole, whose resources are "*". */
static json_object *deploy_role(const manifest *m)
{
    json_object *trust = json_object_new_object();
    json_object_object_add(trust, "Effect", json_object_new_string("Allow"));
    json_object_object_add(trust, "Principal",
                           deploy_pair("Service", json_object_new_string("lambda.amazonaws.com")));
    json_object_object_add(trust, "Action", json_object_new_string("sts:AssumeRole"));
    json_object *trusts = json_object_new_array();
    json_object_array_add(trusts, trust);
    json_object *assume = json_object_new_object();
    json_object_object_add(assume, "Version", json_object_new_string("2012-10-17"));
    json_object_object_add(assume, "Statement", trusts);

    json_object *policy = json_object_new_object();
    json_object_object_add(policy, "PolicyName", json_object_new_string("ddbhost"));
    json_object_object_add(policy, "PolicyDocument", deploy_policy(m, true));
    json_object *policies = json_object_new_array();
    json_object_array_add(policies, policy);

    json_object *p = json_object_new_object();
    json_object_object_add(p, "AssumeRolePolicyDocument", assume);
    json_object_object_add(p, "Policies", policies);
    json_object *managed = m->function.managed_policies;
    if (managed && json_object_array_length(managed) > 0) {
        json_object *arns = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(managed); i++)
            json_object_array_add(arns, deploy_text(true, json_object_get_string(
                                                              json_object_array_get_idx(managed, i))));
        json_object_object_add(p, "ManagedPolicyArns", arns);
    }
    json_object *role = json_object_new_object();
    json_object_object_add(role, "Type", json_object_new_string("AWS::IAM::Role"));
    json_object_object_add(role, "Properties", p);
    return role;
}

/* The function's log group, declared so that its retention is set and the role needs no
 * logs:CreateLogGroup; the function names it in LoggingConfig, which also orders the two. */
static json_object *deploy_logs(const manifest *m)
{
    char group[128];
    deploy_log_group(m, group, sizeof group);
    json_object *p = json_object_new_object();
    json_object_object_add(p, "LogGroupName", deploy_text(true, group));
    json_object_object_add(p, "RetentionInDays",
                           json_object_new_int64(m->function.log_retention_days));
    json_object *g = json_object_new_object();
    json_object_object_add(g, "Type", json_object_new_string("AWS::Logs::LogGroup"));
    json_object_object_add(g, "Properties", p);
    return g;
}

/* LoggingConfig: JSON lines, which the host writes under AWS_LAMBDA_LOG_FORMAT=JSON, filtered
 * by Lambda at the manifest's level, which the host also reads (AWS_LAMBDA_LOG_LEVEL). */
static json_object *deploy_logging(const manifest *m)
{
    static const char *const levels[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    json_object *c = json_object_new_object();
    json_object_object_add(c, "LogFormat", json_object_new_string("JSON"));
    json_object_object_add(c, "ApplicationLogLevel",
                           json_object_new_string(levels[m->function.log_level]));
    json_object_object_add(c, "SystemLogLevel", json_object_new_string("INFO"));
    json_object_object_add(c, "LogGroup", deploy_pair("Ref", json_object_new_string(DEPLOY_LOGS)));
    return c;
}

static json_object *deploy_function(const manifest *m, char **ids, json_object *params)
{
    static const char *const role_arn[] = {DEPLOY_ROLE, "Arn"};
    const manifest_function *f = &m->function;
    const char *slash = strrchr(m->path, '/');
    const char *arch = f->architecture == MANIFEST_ARM64 ? "arm64" : "x86_64";
    json_object *events = json_object_new_object();
    for (size_t i = 0; i < m->count; i++) {
        if (!ids[i]) continue;
        char param[DEPLOY_ID_CAP + 40];
        snprintf(param, sizeof param, "%sStreamArn", ids[i]);
        json_object_object_add(params, param, deploy_parameter(m->routes[i].table));
        json_object_object_add(events, ids[i], deploy_event(&m->routes[i], param));
    }
    json_object *p = json_object_new_object();
    json_object_object_add(p, "FunctionName",
                           f->name ? json_object_new_string(f->name)
                                   : deploy_pair("Ref", json_object_new_string("AWS::StackName")));
    json_object_object_add(p, "Runtime", json_object_new_string("provided.al2023"));
    /* the runtime finds the manifest as $LAMBDA_TASK_ROOT/$_HANDLER */
    json_object_object_add(p, "Handler", json_object_new_string(slash ? slash + 1 : m->path));
    json_object_object_add(p, "CodeUri", json_object_new_string("build/function.zip"));
    json_object_object_add(p, "Architectures", deploy_strings(&arch, 1));
    json_object_object_add(p, "MemorySize", json_object_new_int64(f->memory_mb));
    json_object_object_add(p, "Timeout", json_object_new_int64(f->timeout_s));
    json_object_object_add(p, "Role", deploy_pair("Fn::GetAtt", deploy_strings(role_arn, 2)));
    json_object_object_add(p, "LoggingConfig", deploy_logging(m));
    json_object_object_add(p, "Events", events);
    json_object *fn = json_object_new_object();
    json_object_object_add(fn, "Type", json_object_new_string("AWS::Serverless::Function"));
    json_object_object_add(fn, "Properties", p);
    return fn;
}

static json_object *deploy_template(const manifest *m, char **ids)
{
    char text[512];
    const char *slash = strrchr(m->path, '/');
    json_object *t = json_object_new_object();
    json_object_object_add(t, "AWSTemplateFormatVersion", json_object_new_string("2010-09-09"));
    json_object_object_add(t, "Transform", json_object_new_string("AWS::Serverless-2016-10-31"));
    snprintf(text, sizeof text, "ddbhost: the DynamoDB Streams handlers of %.400s",
             slash ? slash + 1 : m->path);
    json_object_object_add(t, "Description", json_object_new_string(text));
    json_object *params = json_object_new_object();
    json_object_object_add(t, "Parameters", params);
    json_object *resources = json_object_new_object();
    json_object_object_add(resources, DEPLOY_FUNCTION, deploy_function(m, ids, params));
    json_object_object_add(resources, DEPLOY_ROLE, deploy_role(m));
    json_object_object_add(resources, DEPLOY_LOGS, deploy_logs(m));
    json_object_object_add(t, "Resources", resources);
    json_object *name = json_object_new_object();
    json_object_object_add(name, "Description",
                           json_object_new_string("Name of the function (and of its log group "
                                                  "/aws/lambda/NAME)"));
    json_object_object_add(name, "Value", deploy_pair("Ref", json_object_new_string(DEPLOY_FUNCTION)));
    json_object_object_add(t, "Outputs", deploy_pair("FunctionName", name));
    return t;
}

/* ---- commands ------------------------------------------------------------------------- */

/* Loads the manifest and names its "*" routes in warnings; false after the error line when
 * it cannot be loaded or names no table, which `what` (the template, the policy) needs. */
static bool deploy_load(const char *path, const char *what, manifest *m)
{
    char err[1024], q[TEXT_QUOTE_CAP], q2[TEXT_QUOTE_CAP];
    if (!manifest_load(path, m, err, sizeof err)) {
        log_error("%s", err);
        return false;
    }
    size_t named = 0;
    for (size_t i = 0; i < m->count; i++) named += strcmp(m->routes[i].table, "*") != 0;
    text_quote(q, sizeof q, m->path);
    if (named == 0) {
        log_error("manifest %s: tables: %s needs explicit table names, and \"*\" is the only route "
                  "(hint: name each table the function reads in \"tables\")", q, what);
        manifest_free(m);
        return false;
    }
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->routes[i].table, "*") == 0)
            log_warn("manifest %s: tables.*: a \"*\" route cannot become an event source and is "
                     "left out of %s (hint: list the tables it should serve explicitly)", q, what);
    for (size_t i = 0; i < m->count; i++) {
        const manifest_stream *st = &m->routes[i].stream;
        if (!st->on_failure || st->on_failure_kind != MANIFEST_DEST_FILE) continue;
        char at[300];
        text_path_key(strcpy(at, "tables"), 6, sizeof at, m->routes[i].table, strlen(m->routes[i].table));
        log_error("manifest %s: %s.stream.on_failure: %s is a local file, which only `ddbhost "
                  "poll` writes to: Lambda records discarded batches in an SQS queue, SNS topic or "
                  "S3 bucket (hint: give their ARN in the manifest you deploy)", q, at,
                  text_quote(q2, sizeof q2, st->on_failure));
        manifest_free(m);
        return false;
    }
    size_t n = m->function.policy ? json_object_array_length(m->function.policy) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *sid;
        if (!json_object_object_get_ex(json_object_array_get_idx(m->function.policy, i), "Sid", &sid))
            continue;
        const char *id = json_object_get_string(sid);
        size_t k = 0, j = 0;
        while (k < sizeof deploy_sids / sizeof deploy_sids[0] && strcmp(deploy_sids[k], id) != 0) k++;
        for (; j < i; j++) {
            json_object *other;
            if (json_object_object_get_ex(json_object_array_get_idx(m->function.policy, j), "Sid",
                                          &other) &&
                strcmp(json_object_get_string(other), id) == 0)
                break;
        }
        if (k < sizeof deploy_sids / sizeof deploy_sids[0] || j < i) {
            log_error("manifest %s: function.policy[%zu].Sid: \"%s\" is %s, and IAM requires "
                      "statement ids to be unique in a policy (hint: rename it or leave it out)",
                      q, i, id, j < i ? "used by an earlier statement" : "a statement ddbhost writes");
            manifest_free(m);
            return false;
        }
    }
    manifest_warn(m);
    return true;
}

static int deploy_print(json_object *doc, const char *what, FILE *out)
{
    const char *text =
        json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text) {
        log_error("cannot print %s: out of memory", what);
        return 1;
    }
    if (fputs(text, out) == EOF || fputc('\n', out) == EOF || fflush(out) == EOF) {
        log_error("cannot write %s: %s", what, strerror(errno));
        return 1;
    }
    return 0;
}

int deploy_template_main(const char *manifest_path, FILE *out)
{
    manifest m;
    char q[TEXT_QUOTE_CAP];
    if (!deploy_load(manifest_path, "the template", &m)) return 1;
    int status = 1;
    if (m.deadline_margin_ms >= m.function.timeout_s * 1000) {
        log_error("manifest %s: deadline_margin_ms: %" PRId64 " ms is not less than "
                  "function.timeout_s (%" PRId64 " s), so no record would ever be delivered "
                  "(hint: raise function.timeout_s or lower deadline_margin_ms)",
                  text_quote(q, sizeof q, m.path), m.deadline_margin_ms, m.function.timeout_s);
    } else {
        char **ids = deploy_ids(&m);
        json_object *doc = ids ? deploy_template(&m, ids) : NULL;
        if (doc) status = deploy_print(doc, "the template", out);
        else log_error("cannot build the template: out of memory");
        json_object_put(doc);
        deploy_free_ids(ids, m.count);
    }
    manifest_free(&m);
    return status;
}

int deploy_policy_main(const char *manifest_path, FILE *out)
{
    manifest m;
    if (!deploy_load(manifest_path, "the policy", &m)) return 1;
    log_info("policy: ARNs use CloudFormation pseudo parameters (${AWS::Partition}, "
             "${AWS::Region}, ${AWS::AccountId}%s): use the document inside Fn::Sub, or replace "
             "them with your own values", m.function.name ? "" : ", and ${AWS::StackName} for the "
             "function's name, which function.name in the manifest fixes");
    char group[128];
    deploy_log_group(&m, group, sizeof group);
    log_info("policy: the role may write to the log group %s but not create it: create it first "
             "(aws logs create-log-group --log-group-name %s)", group, group);
    size_t n = m.function.managed_policies ? json_object_array_length(m.function.managed_policies) : 0;
    for (size_t i = 0; i < n; i++)
        log_info("policy: attach the managed policy %s to the role as well (aws iam "
                 "attach-role-policy --policy-arn %s)",
                 json_object_get_string(json_object_array_get_idx(m.function.managed_policies, i)),
                 json_object_get_string(json_object_array_get_idx(m.function.managed_policies, i)));
    json_object *doc = deploy_policy(&m, false);
    int status = deploy_print(doc, "the policy", out);
    json_object_put(doc);
    manifest_free(&m);
    return status;
}
