/* metrics.c - the CloudWatch Embedded Metric Format line of a batch, one writer for every
 * front door (json-c builds it). Owns the metric names, units and the dimension; nothing of
 * how the batch arrived or where the line goes. */
#include "metrics.h"

#include <json-c/json.h>
#include <stdlib.h>

#include "api.h"

static void metrics_add(json_object *defs, json_object *root, const char *name, const char *unit,
                        json_object *value)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "Name", json_object_new_string(name));
    json_object_object_add(d, "Unit", json_object_new_string(unit));
    json_object_array_add(defs, d);
    json_object_object_add(root, name, value);
}

void metrics_write(FILE *out, const manifest *m, const router_result *res,
                   const session_times *times)
{
    const char *function = getenv("AWS_LAMBDA_FUNCTION_NAME");
    json_object *root = json_object_new_object(), *aws = json_object_new_object();
    json_object *directive = json_object_new_object(), *defs = json_object_new_array();
    json_object *dims = json_object_new_array(), *dimset = json_object_new_array();
    json_object_array_add(dimset, json_object_new_string("FunctionName"));
    json_object_array_add(dims, dimset);
    json_object_object_add(directive, "Namespace", json_object_new_string("ddbhost"));
    json_object_object_add(directive, "Dimensions", dims);
    json_object_object_add(directive, "Metrics", defs);
    json_object *directives = json_object_new_array();
    json_object_array_add(directives, directive);
    json_object_object_add(aws, "Timestamp", json_object_new_int64(api_now_ms()));
    json_object_object_add(aws, "CloudWatchMetrics", directives);
    json_object_object_add(root, "_aws", aws);
    json_object_object_add(root, "FunctionName",
                           json_object_new_string(function && *function ? function : "ddbhost"));
    metrics_add(defs, root, "Records", "Count", json_object_new_int64((int64_t)res->records));
    metrics_add(defs, root, "Failed", "Count", json_object_new_int64((int64_t)res->failed));
    metrics_add(defs, root, "Skipped", "Count", json_object_new_int64((int64_t)res->skipped));
    metrics_add(defs, root, "NotAttempted", "Count",
                json_object_new_int64((int64_t)res->undelivered));
    metrics_add(defs, root, "DecodeTime", "Milliseconds", json_object_new_double(times->decode_ms));
    metrics_add(defs, root, "HandlerTime", "Milliseconds",
                json_object_new_double(times->deliver_ms));
    for (size_t i = 0; i < m->count; i++) {
        char name[300];
        snprintf(name, sizeof name, "Records.%s", m->routes[i].table);
        metrics_add(defs, root, name, "Count",
                    json_object_new_int64((int64_t)res->route_records[i]));
    }
    fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    fflush(out);
    json_object_put(root);
}
