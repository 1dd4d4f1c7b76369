/* runtime.c - ddbhost as an AWS Lambda custom runtime: the Runtime API (2018-06-01) loop
 * over libcurl. Owns the one reused curl handle, the event buffer reused between
 * invocations and the current invocation's headers; every event goes through a session
 * exactly as under `--invoke`. Knows nothing of decoding or plugins.
 * libcurl is loaded here, when serving starts, not linked: its thirty-odd dependencies
 * would otherwise add ~4 ms to every `ddbhost --invoke`. */
#include "runtime.h"

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "log.h"
#include "session.h"

#define RUNTIME_RETRY_BUDGET_MS 10000
#define RUNTIME_CONNECT_TIMEOUT_MS 1000L
#define RUNTIME_FIRST_EVENT_CAP (256u * 1024u)

/* The few libcurl entry points the loop uses. */
typedef struct runtime_curl {
    void *dl;
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *curl);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
} runtime_curl;

static bool runtime_load_curl(runtime_curl *lib)
{
    static const char *const names[] = {
        "curl_global_init",  "curl_global_cleanup", "curl_easy_init",    "curl_easy_cleanup",
        "curl_easy_setopt",  "curl_easy_perform",   "curl_easy_getinfo", "curl_easy_strerror",
        "curl_slist_append", "curl_slist_free_all",
    };
    void (**slots[])(void) = {
        (void (**)(void))&lib->global_init,  (void (**)(void))&lib->global_cleanup,
        (void (**)(void))&lib->easy_init,    (void (**)(void))&lib->easy_cleanup,
        (void (**)(void))&lib->easy_setopt,  (void (**)(void))&lib->easy_perform,
        (void (**)(void))&lib->easy_getinfo, (void (**)(void))&lib->easy_strerror,
        (void (**)(void))&lib->slist_append, (void (**)(void))&lib->slist_free_all,
    };
    lib->dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib->dl) {
        log_error("cannot load libcurl, which serving the Runtime API needs: %s "
                  "(hint: install libcurl4, or package it with the function)",
                  dlerror());
        return false;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(lib->dl, names[i]);
        if (!sym) {
            log_error("libcurl lacks %s", names[i]);
            dlclose(lib->dl);
            return false;
        }
        memcpy(slots[i], &sym, sizeof sym);
    }
    return true;
}

typedef struct runtime_buffer {
    char *data;
    size_t len, cap;
} runtime_buffer;

typedef struct runtime {
    runtime_curl lib;
    CURL *curl;
    char api[256];               /* host:port */
    runtime_buffer event;        /* the event body, with a spare byte for the decoder */
    runtime_buffer reply;        /* bodies of answers to our POSTs, for error messages */
    char request_id[128];
    char function_arn[512];
    char trace_id[512];
    int64_t deadline_ms;
    char curl_error[CURL_ERROR_SIZE];
    char *trace_env;             /* "_X_AMZN_TRACE_ID=...", owned, handed to putenv */
    size_t trace_cap;
    bool trace_set;              /* trace_env is in the environment */
} runtime;

/* ---- HTTP ------------------------------------------------------------------------------ */

static size_t runtime_write(char *ptr, size_t size, size_t n, void *userdata)
{
    runtime_buffer *b = userdata;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : RUNTIME_FIRST_EVENT_CAP;
        while (cap < b->len + add + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return 0; /* curl reports a write error */
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    return add;
}

/* Copies the value of header `name` from a raw header line into out, trimmed. */
static void runtime_header_value(const char *line, size_t len, const char *name, char *out,
                                 size_t cap)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0) return;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t runtime_header(char *line, size_t size, size_t n, void *userdata)
{
    runtime *rt = userdata;
    size_t len = size * n;
    char deadline[32] = "";
    runtime_header_value(line, len, "Lambda-Runtime-Aws-Request-Id", rt->request_id,
                         sizeof rt->request_id);
    runtime_header_value(line, len, "Lambda-Runtime-Invoked-Function-Arn", rt->function_arn,
                         sizeof rt->function_arn);
    runtime_header_value(line, len, "Lambda-Runtime-Trace-Id", rt->trace_id, sizeof rt->trace_id);
    runtime_header_value(line, len, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline);
    if (deadline[0]) rt->deadline_ms = strtoll(deadline, NULL, 10);
    return len;
}

static bool runtime_transient(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT;
}

static void runtime_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* One request to the Runtime API; retries transient connection failures with backoff for
 * up to RUNTIME_RETRY_BUDGET_MS. GET when body is NULL. Returns the HTTP status, or 0 when
 * the API stayed unreachable (logged). */
static long runtime_request(runtime *rt, const char *path, const char *error_type,
                            const char *body, size_t len, runtime_buffer *sink)
{
    char url[512], type_header[160];
    snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/%s", rt->api, path);
    struct curl_slist *headers = NULL;
    if (body) {
        headers = rt->lib.slist_append(headers, "Content-Type: application/json");
        headers = rt->lib.slist_append(headers, "Expect:");
        if (error_type) {
            snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s",
                     error_type);
            headers = rt->lib.slist_append(headers, type_header);
        }
    }
    CURL *c = rt->curl;
    rt->lib.easy_setopt(c, CURLOPT_URL, url);
    rt->lib.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    rt->lib.easy_setopt(c, CURLOPT_WRITEDATA, sink);
    if (body) {
        rt->lib.easy_setopt(c, CURLOPT_POST, 1L);
        rt->lib.easy_setopt(c, CURLOPT_POSTFIELDS, body);
        rt->lib.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        rt->lib.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    long status = 0, wait_ms = 10, waited = 0;
    for (;;) {
        sink->len = 0;
        CURLcode rc = rt->lib.easy_perform(c);
        if (rc == CURLE_OK) {
            rt->lib.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            break;
        }
        if (!runtime_transient(rc) || waited >= RUNTIME_RETRY_BUDGET_MS) {
            log_error("Runtime API at %s unreachable: %s", rt->api,
                      rt->curl_error[0] ? rt->curl_error : rt->lib.easy_strerror(rc));
            break;
        }
        runtime_sleep_ms(wait_ms);
        waited += wait_ms;
        wait_ms = wait_ms * 2 > 1000 ? 1000 : wait_ms * 2;
    }
    rt->lib.slist_free_all(headers);
    return status;
}

/* POSTs {"errorMessage": message, "errorType": type} to path. */
static long runtime_post_error(runtime *rt, const char *path, const char *type, const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "errorMessage", json_object_new_string(message));
    json_object_object_add(o, "errorType", json_object_new_string(type));
    size_t len;
    const char *body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    long status = runtime_request(rt, path, type, body, len, &rt->reply);
    json_object_put(o);
    return status;
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
    log_error("%s", message);
    runtime_post_error(rt, "init/error", type, message);
}

/* ---- metrics ------------------------------------------------------------------------- */

static void runtime_metric(json_object *defs, json_object *root, const char *name,
                           const char *unit, json_object *value)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "Name", json_object_new_string(name));
    json_object_object_add(d, "Unit", json_object_new_string(unit));
    json_object_array_add(defs, d);
    json_object_object_add(root, name, value);
}

/* One CloudWatch Embedded Metric Format line for the invocation. */
static void runtime_emit_metrics(const router *r, const router_result *res,
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
                           json_object_new_string(function ? function : "ddbhost"));
    runtime_metric(defs, root, "Records", "Count", json_object_new_int64((int64_t)res->records));
    runtime_metric(defs, root, "Failed", "Count", json_object_new_int64((int64_t)res->failed));
    runtime_metric(defs, root, "Skipped", "Count", json_object_new_int64((int64_t)res->skipped));
    runtime_metric(defs, root, "NotAttempted", "Count",
                   json_object_new_int64((int64_t)res->undelivered));
    runtime_metric(defs, root, "DecodeTime", "Milliseconds",
                   json_object_new_double(times->decode_ms));
    runtime_metric(defs, root, "HandlerTime", "Milliseconds",
                   json_object_new_double(times->deliver_ms));
    for (size_t i = 0; i < router_route_count(r); i++) {
        char name[300];
        snprintf(name, sizeof name, "Records.%s", router_route_name(r, i));
        runtime_metric(defs, root, name, "Count",
                       json_object_new_int64((int64_t)res->route_records[i]));
    }
    fprintf(stderr, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
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

/* Serves one invocation; false when the Runtime API is gone. */
static bool runtime_invocation(runtime *rt, session *s)
{
    char path[256], err[1024] = "out of memory";
    rt->request_id[0] = rt->function_arn[0] = rt->trace_id[0] = '\0';
    rt->deadline_ms = 0;
    long status = runtime_request(rt, "invocation/next", NULL, NULL, 0, &rt->event);
    if (status == 0) return false;
    if (status != 200 || !rt->request_id[0]) {
        log_error("Runtime API answered %ld to invocation/next%s", status,
                  rt->request_id[0] ? "" : " without a request id");
        return false;
    }
    runtime_trace_env(rt);
    log_set_request_id(rt->request_id);
    api_invocation inv = {rt->request_id, rt->function_arn, rt->deadline_ms};

    if (!rt->event.data && runtime_write("", 1, 0, &rt->event) != 0) return false;
    router_result res;
    session_times times = {0, 0};
    char *response =
        session_process(s, rt->event.data, rt->event.len, &inv, &res, &times, err, sizeof err);
    if (response) {
        snprintf(path, sizeof path, "invocation/%s/response", rt->request_id);
        status = runtime_request(rt, path, NULL, response, strlen(response), &rt->reply);
        if (session_manifest(s)->metrics) runtime_emit_metrics(session_router(s), &res, &times);
        free(response);
    } else {
        char message[1100];
        snprintf(message, sizeof message, "event: %s", err);
        log_error("%s", message);
        snprintf(path, sizeof path, "invocation/%s/error", rt->request_id);
        status = runtime_post_error(rt, path, "Runtime.InvalidEvent", message);
    }
    if (status != 202 && status != 0)
        log_warn("Runtime API answered %ld to %s: %.*s", status, path,
                 (int)(rt->reply.len < 300 ? rt->reply.len : 300),
                 rt->reply.data ? rt->reply.data : "");
    log_set_request_id(NULL);
    return status != 0;
}

/* libcurl loaded and its one handle set up for the Runtime API at api; false after one
 * error line. */
static bool runtime_open(runtime *rt, const char *api)
{
    if (!runtime_load_curl(&rt->lib)) return false;
    if (rt->lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(rt->curl = rt->lib.easy_init())) {
        log_error("cannot initialise libcurl");
        rt->lib.global_cleanup();
        dlclose(rt->lib.dl);
        return false;
    }
    snprintf(rt->api, sizeof rt->api, "%s", api);
    rt->lib.easy_setopt(rt->curl, CURLOPT_ERRORBUFFER, rt->curl_error);
    rt->lib.easy_setopt(rt->curl, CURLOPT_CONNECTTIMEOUT_MS, RUNTIME_CONNECT_TIMEOUT_MS);
    rt->lib.easy_setopt(rt->curl, CURLOPT_TIMEOUT, 0L); /* next blocks until an event comes */
    rt->lib.easy_setopt(rt->curl, CURLOPT_NOSIGNAL, 1L);
    rt->lib.easy_setopt(rt->curl, CURLOPT_TCP_NODELAY, 1L);
    rt->lib.easy_setopt(rt->curl, CURLOPT_PROXY, ""); /* the Runtime API is local: no proxy */
    rt->lib.easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, runtime_write);
    rt->lib.easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, runtime_header);
    rt->lib.easy_setopt(rt->curl, CURLOPT_HEADERDATA, rt);
    return true;
}

static void runtime_close(runtime *rt)
{
    rt->lib.easy_cleanup(rt->curl);
    rt->lib.global_cleanup();
    dlclose(rt->lib.dl);
    free(rt->event.data);
    free(rt->reply.data);
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
    if (!api || !*api) {
        log_error("AWS_LAMBDA_RUNTIME_API is not set: not running inside Lambda "
                  "(hint: use --invoke PLUGIN.so EVENT.json to run locally)");
        return 2;
    }
    runtime rt = {0};
    if (!runtime_open(&rt, api)) return 1;
    char manifest_path[1024], err[1024];
    session_failure why;
    runtime_manifest_path(manifest_path, sizeof manifest_path);
    session *s = session_open(manifest_path, NULL, &why, err, sizeof err);
    if (s) {
        log_debug("serving %s with manifest \"%s\"", rt.api, manifest_path);
        while (runtime_invocation(&rt, s)) {}
        session_close(s);
    } else {
        runtime_init_error(&rt, init_errors[why], err);
    }
    runtime_close(&rt);
    return 1; /* after an init error, or once the Runtime API is gone */
}
