/* runtime.c - ddbhost as an AWS Lambda custom runtime: the Runtime API (2018-06-01) loop over
 * http.c (no libcurl to load at each cold start). Owns the invocation's headers and the rules
 * of the protocol: what is retried, what never is (a POST that went out), when to exit.
 * Every event goes through a session as under `--invoke`; knows nothing of plugins. */
#include "runtime.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

#define RUNTIME_RETRY_BUDGET_MS 10000

typedef struct runtime {
    http_client *http;
    char api[256];               /* host:port */
    char request_id[128];
    char function_arn[512];
    char trace_id[512];
    int64_t deadline_ms;
    char *trace_env;             /* "_X_AMZN_TRACE_ID=...", owned, handed to putenv */
    size_t trace_cap;
    bool trace_set;              /* trace_env is in the environment */
    bool gone;                   /* the API went away or told the runtime to exit */
} runtime;

/* ---- HTTP ------------------------------------------------------------------------------ */

static bool runtime_header_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* The invocation's headers from `next`. */
static void runtime_header(void *ctx, const char *name, size_t name_len, const char *value,
                           size_t value_len)
{
    runtime *rt = ctx;
    char *out = NULL;
    size_t cap = 0;
    char deadline[32];
    if (runtime_header_is(name, name_len, "Lambda-Runtime-Aws-Request-Id")) {
        out = rt->request_id;
        cap = sizeof rt->request_id;
    } else if (runtime_header_is(name, name_len, "Lambda-Runtime-Invoked-Function-Arn")) {
        out = rt->function_arn;
        cap = sizeof rt->function_arn;
    } else if (runtime_header_is(name, name_len, "Lambda-Runtime-Trace-Id")) {
        out = rt->trace_id;
        cap = sizeof rt->trace_id;
    } else if (runtime_header_is(name, name_len, "Lambda-Runtime-Deadline-Ms")) {
        snprintf(deadline, sizeof deadline, "%.*s", (int)value_len, value);
        rt->deadline_ms = strtoll(deadline, NULL, 10);
    }
    if (out) snprintf(out, cap, "%.*s", (int)value_len, value);
}

static void runtime_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* One request to the Runtime API (GET when body is NULL). A request that could not be sent
 * is tried again, with backoff, for up to RUNTIME_RETRY_BUDGET_MS; so is a GET whose answer
 * was lost (the server restarted while the runtime waited in `next`), but a POST that went
 * out is never sent twice. Returns the HTTP status, or 0 when the API is gone (logged). */
static long runtime_request(runtime *rt, const char *path, const char *error_type,
                            const char *body, size_t len, http_response *res)
{
    char url[512], type_header[160], err[512];
    const char *headers[3] = {NULL, NULL, NULL};
    snprintf(url, sizeof url, "/2018-06-01/runtime/%s", path);
    if (body) {
        headers[0] = "Content-Type: application/json";
        if (error_type) {
            snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s",
                     error_type);
            headers[1] = type_header;
        }
    }
    long wait_ms = 10, waited = 0;
    for (;;) {
        http_outcome o = http_request(rt->http, body ? "POST" : "GET", url, headers, body, len,
                                      res, body ? NULL : runtime_header, rt, err, sizeof err);
        if (o == HTTP_ANSWERED) return res->status;
        if ((o == HTTP_LOST && body) || waited >= RUNTIME_RETRY_BUDGET_MS) {
            log_error("Runtime API at %s unreachable: %s%s", rt->api, err,
                      o == HTTP_LOST ? " (the request was sent, so it is not sent again)" : "");
            return 0;
        }
        runtime_sleep_ms(wait_ms);
        waited += wait_ms;
        wait_ms = wait_ms * 2 > 1000 ? 1000 : wait_ms * 2;
    }
}

/* POSTs {"errorMessage": message, "errorType": type} to path; the answer in res. */
static long runtime_post_error(runtime *rt, const char *path, const char *type, const char *message,
                               http_response *res)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "errorMessage", json_object_new_string(message));
    json_object_object_add(o, "errorType", json_object_new_string(type));
    size_t len;
    const char *body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    long status = runtime_request(rt, path, type, body, len, res);
    json_object_put(o);
    return status;
}

/* Whether an answer to a POST lets the loop go on; a 500 means the runtime must exit. */
static bool runtime_answered(long status, const char *path, const http_response *res)
{
    int excerpt = (int)(res->body_len < 300 ? res->body_len : 300);
    if (status == 0) return false;
    if (status == 202) return true;
    if (status >= 500) {
        log_error("Runtime API answered %ld to %s: %.*s (it asks the runtime to exit)", status,
                  path, excerpt, res->body);
        return false;
    }
    log_warn("Runtime API answered %ld to %s: %.*s", status, path, excerpt, res->body);
    return true;
}

/* ---- set-up -------------------------------------------------------------------------- */

/* $DDBHOST_MANIFEST, else $LAMBDA_TASK_ROOT/$_HANDLER when it names a .json file, else
 * $LAMBDA_TASK_ROOT/manifest.json. */
static void runtime_manifest_path(char *out, size_t cap)
{
    const char *explicit = getenv("DDBHOST_MANIFEST");
    const char *root = getenv("LAMBDA_TASK_ROOT");
    const char *handler = getenv("_HANDLER");
    size_t hlen = handler ? strlen(handler) : 0;
    if (explicit && *explicit) snprintf(out, cap, "%s", explicit);
    else if (hlen > 5 && strcmp(handler + hlen - 5, ".json") == 0)
        snprintf(out, cap, "%s/%s", root && *root ? root : ".", handler);
    else snprintf(out, cap, "%s/manifest.json", root && *root ? root : ".");
}

static void runtime_init_error(runtime *rt, const char *type, const char *message)
{
    http_response res;
    log_error("%s", message);
    runtime_answered(runtime_post_error(rt, "init/error", type, message, &res), "init/error", &res);
}

/* ---- the loop ------------------------------------------------------------------------ */

/* Exports the invocation's trace id as _X_AMZN_TRACE_ID, as Lambda's runtimes do. setenv
 * would keep every old value for the life of the process (glibc never frees them), a leak
 * per invocation; one buffer of our own, rewritten in place, does not grow. */
static void runtime_trace_env(runtime *rt)
{
    static const char name[] = "_X_AMZN_TRACE_ID=";
    if (!rt->trace_id[0]) {
        if (rt->trace_set) unsetenv("_X_AMZN_TRACE_ID");
        rt->trace_set = false;
        return;
    }
    size_t need = sizeof name + strlen(rt->trace_id);
    if (need > rt->trace_cap) {
        char *grown = malloc(need);
        if (!grown) return;
        snprintf(grown, need, "%s%s", name, rt->trace_id);
        if (putenv(grown) != 0) {
            free(grown);
            return;
        }
        free(rt->trace_env); /* no longer in the environment */
        rt->trace_env = grown;
        rt->trace_cap = need;
    } else {
        snprintf(rt->trace_env, rt->trace_cap, "%s%s", name, rt->trace_id);
        if (!rt->trace_set && putenv(rt->trace_env) != 0) return;
    }
    rt->trace_set = true;
}

/* `next`: the invocation's event in res and its headers in rt; false when the loop ends. */
static bool runtime_next(runtime *rt, http_response *res)
{
    rt->request_id[0] = rt->function_arn[0] = rt->trace_id[0] = '\0';
    rt->deadline_ms = 0;
    long status = runtime_request(rt, "invocation/next", NULL, NULL, 0, res);
    if (status == 0) return false;
    int excerpt = (int)(res->body_len < 300 ? res->body_len : 300);
    if (status != 200) {
        log_error("Runtime API answered %ld to invocation/next: %.*s%s", status, excerpt,
                  res->body, status >= 500 ? " (it asks the runtime to exit)" : "");
        return false;
    }
    if (!rt->request_id[0]) {
        log_error("Runtime API answered invocation/next with no Lambda-Runtime-Aws-Request-Id "
                  "header: the answer cannot be sent anywhere");
        return false;
    }
    return true;
}

/* Serves one invocation; false when the Runtime API is gone or asks the runtime to exit. */
static bool runtime_invocation(runtime *rt, session *s)
{
    char path[256], err[1024] = "out of memory";
    http_response res;
    if (!runtime_next(rt, &res)) return false;
    runtime_trace_env(rt);
    log_set_request_id(rt->request_id);
    api_invocation inv = {rt->request_id, rt->function_arn, rt->deadline_ms};
    router_result result;
    session_times times = {0, 0};
    long status;
    char *response = session_process(s, res.body, res.body_len, &inv, &result, &times, err, sizeof err);
    if (response) {
        snprintf(path, sizeof path, "invocation/%s/response", rt->request_id);
        status = runtime_request(rt, path, NULL, response, strlen(response), &res);
        if (session_manifest(s)->metrics) metrics_write(stderr, session_manifest(s), &result, &times);
        free(response);
    } else {
        /* Lambda retries the batch; the type says whose fault it is */
        session_failure why = session_last_failure(s);
        const char *type = why == SESSION_INVALID_EVENT    ? "Runtime.InvalidEvent"
                           : why == SESSION_HANDLER_FAILED ? "Runtime.HandlerFailed"
                                                           : "Runtime.OutOfMemory";
        char message[1100];
        snprintf(message, sizeof message, "%s: %s", why == SESSION_INVALID_EVENT ? "event" : "invocation", err);
        log_error("%s", message);
        snprintf(path, sizeof path, "invocation/%s/error", rt->request_id);
        status = runtime_post_error(rt, path, type, message, &res);
    }
    bool go_on = runtime_answered(status, path, &res);
    log_set_request_id(NULL);
    return go_on;
}

static void runtime_close(runtime *rt)
{
    http_client_free(rt->http);
    if (rt->trace_set) unsetenv("_X_AMZN_TRACE_ID");
    free(rt->trace_env);
}

int runtime_main(void)
{
    static const char *const init_errors[] = {
        [SESSION_INVALID_MANIFEST] = "Runtime.InvalidManifest",
        [SESSION_REFUSED] = "Runtime.PluginRefused",
        [SESSION_INIT_FAILED] = "Runtime.PluginInitFailed",
        [SESSION_NOMEM] = "Runtime.OutOfMemory",
    };
    log_from_lambda_env();
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    char manifest_path[1024], err[1024];
    if (!api || !*api) {
        log_error("AWS_LAMBDA_RUNTIME_API is not set: not running inside Lambda "
                  "(hint: use --invoke PLUGIN.so EVENT.json to run locally)");
        return RUNTIME_EXIT_USAGE;
    }
    runtime rt = {0};
    snprintf(rt.api, sizeof rt.api, "%s", api);
    if (!(rt.http = http_client_new(api, "ddbhost/" DDBHOST_VERSION, err, sizeof err))) {
        log_error("AWS_LAMBDA_RUNTIME_API: %s", err);
        return RUNTIME_EXIT_API_GONE;
    }
    session_failure why;
    runtime_manifest_path(manifest_path, sizeof manifest_path);
    session *s = session_open(manifest_path, NULL, &why, err, sizeof err);
    if (!s) {
        runtime_init_error(&rt, init_errors[why], err);
        runtime_close(&rt);
        return RUNTIME_EXIT_INIT;
    }
    log_debug("serving %s with manifest \"%s\"", rt.api, manifest_path);
    while (runtime_invocation(&rt, s)) {}
    session_close(s);
    runtime_close(&rt);
    return RUNTIME_EXIT_API_GONE;
}
