/* aws.c - the AWS client of `ddbhost poll`: credentials, SigV4 and HTTPS through libcurl,
 * the JSON 1.0 protocol and its retries. libcurl is loaded with dlopen when a client opens,
 * so that the host Lambda starts never maps it nor the TLS libraries behind it.
 * Owns the requests and their answers; knows nothing of streams or events. */
#include "aws.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "sys.h"
#include "text.h"

#define AWS_MAX_ATTEMPTS 10
#define AWS_BACKOFF_BASE_MS 50
#define AWS_BACKOFF_CAP_MS 10000
#define AWS_REFRESH_BEFORE_S 300 /* container credentials are fetched again this long before
                                    they expire */
#define AWS_CONTAINER_HOST "http://169.254.170.2"

/* ---- parsers --------------------------------------------------------------------------- */

void aws_credentials_free(aws_credentials *c)
{
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof *c);
}

static char *aws_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* s[0..*n) without the white space around it. */
static const char *aws_trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) s++, (*n)--;
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\r')) (*n)--;
    return s;
}

bool aws_profile_parse(const char *text, size_t len, const char *profile, aws_credentials *out,
                       char *err, size_t cap)
{
    static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
                                       "aws_session_token"};
    char *found[3] = {NULL, NULL, NULL};
    bool in = false, seen = false, ok = true;
    const char *end = text + len;
    for (const char *p = text; p < end && ok;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        const char *line = aws_trim(p, &n);
        p = nl ? nl + 1 : end;
        if (n == 0 || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            size_t m = n > 1 && line[n - 1] == ']' ? n - 2 : n - 1;
            const char *name = aws_trim(line + 1, &m);
            in = m == strlen(profile) && memcmp(name, profile, m) == 0;
            seen = seen || in;
            continue;
        }
        const char *eq = memchr(line, '=', n);
        if (!in || !eq) continue;
        size_t kn = (size_t)(eq - line), vn = n - kn - 1;
        const char *key = aws_trim(line, &kn), *value = aws_trim(eq + 1, &vn);
        for (size_t i = 0; i < 3; i++) {
            if (kn != strlen(keys[i]) || strncasecmp(key, keys[i], kn) != 0) continue;
            free(found[i]);
            found[i] = aws_strndup(value, vn);
            if (!found[i]) ok = false;
        }
    }
    if (!ok) snprintf(err, cap, "out of memory");
    else if (!seen) snprintf(err, cap, "no profile [%s]", profile);
    else if (!found[0] || !found[1] || !*found[0] || !*found[1])
        snprintf(err, cap, "profile [%s] has no %s", profile, !found[0] || !*found[0] ? keys[0] : keys[1]);
    if (!ok || !seen || !found[0] || !found[1] || !*found[0] || !*found[1]) {
        for (size_t i = 0; i < 3; i++) free(found[i]);
        return false;
    }
    *out = (aws_credentials){found[0], found[1], found[2], 0};
    return true;
}

/* The string member name of o, or NULL. Borrowed from o. */
static const char *aws_member(json_object *o, const char *name)
{
    json_object *v;
    return json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

bool aws_container_parse(const char *text, size_t len, aws_credentials *out, char *err,
                         size_t cap)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)(len > INT32_MAX ? INT32_MAX : len)) : NULL;
    bool ok = false;
    if (tok) json_tokener_free(tok);
    const char *id = o ? aws_member(o, "AccessKeyId") : NULL;
    const char *secret = o ? aws_member(o, "SecretAccessKey") : NULL;
    const char *token = o ? aws_member(o, "Token") : NULL;
    const char *expiration = o ? aws_member(o, "Expiration") : NULL;
    struct tm tm = {0};
    const char *rest = expiration ? strptime(expiration, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(err, cap, "the answer is not a JSON object");
    } else if (!id || !secret || !*id || !*secret) {
        snprintf(err, cap, "the answer has no %s", !id || !*id ? "AccessKeyId" : "SecretAccessKey");
    } else if (expiration && !rest) {
        char q[TEXT_QUOTE_CAP];
        snprintf(err, cap, "Expiration %s is not an ISO 8601 time",
                 text_quote(q, sizeof q, expiration));
    } else {
        *out = (aws_credentials){strdup(id), strdup(secret), token ? strdup(token) : NULL,
                                 expiration ? (int64_t)timegm(&tm) : 0};
        ok = out->access_key_id && out->secret_access_key && (!token || out->session_token);
        if (!ok) {
            aws_credentials_free(out);
            snprintf(err, cap, "out of memory");
        }
    }
    json_object_put(o);
    return ok;
}

void aws_error_parse(const char *body, size_t len, char *type, size_t tcap, char *msg,
                     size_t mcap)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, body, (int)(len > INT32_MAX ? INT32_MAX : len)) : NULL;
    if (tok) json_tokener_free(tok);
    if (o && json_object_is_type(o, json_type_object)) {
        const char *t = aws_member(o, "__type"), *m = aws_member(o, "message");
        if (!m) m = aws_member(o, "Message");
        if (t && strrchr(t, '#')) t = strrchr(t, '#') + 1;
        if (t && *t) text_one_line(type, tcap, t);
        if (m) text_one_line(msg, mcap, m);
    }
    json_object_put(o);
    /* The header may carry ":http://internal.amazon.com/..." after the name. */
    type[strcspn(type, ":")] = '\0';
}

bool aws_retryable(long status, const char *type)
{
    static const char *const throttled[] = {
        "ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException",
        "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable"};
    if (status == 0 || status >= 500) return true;
    for (size_t i = 0; i < sizeof throttled / sizeof *throttled; i++)
        if (strcmp(type, throttled[i]) == 0) return true;
    return false;
}

/* ---- libcurl, loaded ------------------------------------------------------------------- */

typedef struct aws_curl {
    void *lib;
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_reset)(CURL *);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} aws_curl;

/* libcurl's functions; false with one line in err when it is not installed or too old for
 * CURLOPT_AWS_SIGV4 (7.75). */
static bool aws_curl_load(aws_curl *k, char *err, size_t cap)
{
    k->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!k->lib) {
        snprintf(err, cap, "poll needs libcurl: %s; hint: install libcurl4 (Debian) or "
                           "libcurl (Amazon Linux)", dlerror());
        return false;
    }
    struct { void **fn; const char *name; } syms[] = {
        {(void **)&k->global_init, "curl_global_init"},
        {(void **)&k->easy_init, "curl_easy_init"},
        {(void **)&k->easy_setopt, "curl_easy_setopt"},
        {(void **)&k->easy_perform, "curl_easy_perform"},
        {(void **)&k->easy_getinfo, "curl_easy_getinfo"},
        {(void **)&k->easy_reset, "curl_easy_reset"},
        {(void **)&k->easy_cleanup, "curl_easy_cleanup"},
        {(void **)&k->easy_strerror, "curl_easy_strerror"},
        {(void **)&k->slist_append, "curl_slist_append"},
        {(void **)&k->slist_free_all, "curl_slist_free_all"},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        *syms[i].fn = dlsym(k->lib, syms[i].name);
        if (!*syms[i].fn) {
            snprintf(err, cap, "libcurl.so.4 has no %s", syms[i].name);
            return false;
        }
    }
    curl_version_info_data *(*version)(CURLversion) = (curl_version_info_data * (*)(CURLversion))
        dlsym(k->lib, "curl_version_info");
    curl_version_info_data *v = version ? version(CURLVERSION_NOW) : NULL;
    if (!v || v->version_num < 0x074b00) {
        snprintf(err, cap, "libcurl %s is too old: SigV4 signing needs 7.75 or later",
                 v ? v->version : "(unknown)");
        return false;
    }
    if (k->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, cap, "libcurl did not initialise");
        return false;
    }
    return true;
}

/* ---- the client ------------------------------------------------------------------------ */

struct aws_client {
    aws_curl curl;
    CURL *h;
    char region[64];
    char endpoint[2][512];        /* per aws_service */
    aws_credentials creds;
    char creds_source[64];        /* "environment", "profile default", "container endpoint" */
    volatile sig_atomic_t *stop;
    char *body;                   /* the last answer, grown as needed */
    size_t len, cap;
    char error_type[128];         /* x-amzn-ErrorType of the last answer */
    uint64_t rng;
};

static size_t aws_on_body(char *p, size_t size, size_t n, void *ctx)
{
    aws_client *c = ctx;
    size_t add = size * n;
    if (c->len + add + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 16384;
        while (cap < c->len + add + 1) cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b) return 0;
        c->body = b;
        c->cap = cap;
    }
    memcpy(c->body + c->len, p, add);
    c->len += add;
    c->body[c->len] = '\0';
    return add;
}

static size_t aws_on_header(char *p, size_t size, size_t n, void *ctx)
{
    aws_client *c = ctx;
    size_t len = size * n;
    static const char name[] = "x-amzn-ErrorType:";
    if (len > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
        size_t vn = len - (sizeof name - 1);
        const char *v = aws_trim(p + sizeof name - 1, &vn);
        while (vn && (v[vn - 1] == '\n' || v[vn - 1] == '\r')) vn--;
        snprintf(c->error_type, sizeof c->error_type, "%.*s", (int)vn, v);
    }
    return len;
}

/* One HTTP exchange: POST body to url (GET when body is NULL) with headers, signed when sign
 * is set. The answer's body is in c->body. Returns the status, or 0 with curl's reason in
 * err. */
static long aws_http(aws_client *c, const char *url, struct curl_slist *headers, const char *body,
                     size_t len, bool sign, char *err, size_t cap)
{
    aws_curl *k = &c->curl;
    char provider[128];
    long status = 0;
    c->len = 0;
    c->error_type[0] = '\0';
    if (c->body) c->body[0] = '\0';
    k->easy_reset(c->h);
    k->easy_setopt(c->h, CURLOPT_URL, url);
    k->easy_setopt(c->h, CURLOPT_HTTPHEADER, headers);
    k->easy_setopt(c->h, CURLOPT_WRITEFUNCTION, aws_on_body);
    k->easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    k->easy_setopt(c->h, CURLOPT_HEADERFUNCTION, aws_on_header);
    k->easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    k->easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    k->easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    k->easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 70000L);
    if (body) {
        k->easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
        k->easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (sign) {
        snprintf(provider, sizeof provider, "aws:amz:%s:dynamodb", c->region);
        k->easy_setopt(c->h, CURLOPT_AWS_SIGV4, provider);
        k->easy_setopt(c->h, CURLOPT_USERNAME, c->creds.access_key_id);
        k->easy_setopt(c->h, CURLOPT_PASSWORD, c->creds.secret_access_key);
    }
    CURLcode rc = k->easy_perform(c->h);
    if (rc != CURLE_OK) {
        snprintf(err, cap, "%s", k->easy_strerror(rc));
        return 0;
    }
    k->easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    if (!c->body) aws_on_body("", 1, 0, c);
    if (!c->body) {
        snprintf(err, cap, "out of memory");
        return 0;
    }
    return status;
}

/* Credentials from the container endpoint (ECS, EKS Pod Identity, `sam local`). */
static bool aws_container_fetch(aws_client *c, char *err, size_t cap)
{
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const char *token_file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    char url[1024], header[4096], why[256];
    char *file_token = NULL;
    struct curl_slist *headers = NULL;
    snprintf(url, sizeof url, "%s%s", full && *full ? "" : AWS_CONTAINER_HOST,
             full && *full ? full : rel);
    if (token_file && *token_file) {
        size_t n;
        file_token = sys_read_file(token_file, &n);
        if (!file_token) {
            snprintf(err, cap, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"%s\": %s",
                     token_file, strerror(errno));
            return false;
        }
        while (n && (file_token[n - 1] == '\n' || file_token[n - 1] == '\r')) file_token[--n] = '\0';
        token = file_token;
    }
    if (token && *token) {
        snprintf(header, sizeof header, "Authorization: %s", token);
        headers = c->curl.slist_append(NULL, header);
    }
    long status = aws_http(c, url, headers, NULL, 0, false, why, sizeof why);
    c->curl.slist_free_all(headers);
    free(file_token);
    aws_credentials fresh;
    if (status != 200) {
        if (status) snprintf(why, sizeof why, "HTTP %ld", status);
        snprintf(err, cap, "container credentials endpoint %s: %s", url, why);
        return false;
    }
    if (!aws_container_parse(c->body, c->len, &fresh, why, sizeof why)) {
        snprintf(err, cap, "container credentials endpoint %s: %s", url, why);
        return false;
    }
    aws_credentials_free(&c->creds);
    c->creds = fresh;
    snprintf(c->creds_source, sizeof c->creds_source, "container endpoint");
    return true;
}

/* Credentials as the AWS CLI finds them: the environment, then the profile (AWS_PROFILE, else
 * "default") of the shared credentials file, then the container endpoint. */
static bool aws_find_credentials(aws_client *c, char *err, size_t cap)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (id && *id && secret && *secret) {
        c->creds = (aws_credentials){strdup(id), strdup(secret),
                                     token && *token ? strdup(token) : NULL, 0};
        snprintf(c->creds_source, sizeof c->creds_source, "environment");
        if (!c->creds.access_key_id || !c->creds.secret_access_key) {
            snprintf(err, cap, "out of memory");
            return false;
        }
        return true;
    }
    const char *profile = getenv("AWS_PROFILE"), *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    const char *home = getenv("HOME");
    char path[1024], why[512];
    bool named = profile && *profile;
    if (!named) profile = "default";
    snprintf(path, sizeof path, "%s%s", file && *file ? file : home ? home : "",
             file && *file ? "" : "/.aws/credentials");
    size_t len;
    char *text = sys_read_file(path, &len);
    if (text) {
        bool ok = aws_profile_parse(text, len, profile, &c->creds, why, sizeof why);
        free(text);
        if (ok) {
            snprintf(c->creds_source, sizeof c->creds_source, "profile %s", profile);
            return true;
        }
        if (named) {
            snprintf(err, cap, "credentials file \"%s\": %s", path, why);
            return false;
        }
    }
    if (getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") || getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
        return aws_container_fetch(c, err, cap);
    snprintf(err, cap, "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not "
                       "set, \"%s\" has no [%s] profile and no container endpoint is set; hint: "
                       "`aws configure`, or export the two variables (any values for a local "
                       "endpoint)", path, profile);
    return false;
}

aws_client *aws_open(const char *endpoint, const char *region, volatile sig_atomic_t *stop,
                     char *err, size_t cap)
{
    aws_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->stop = stop;
    c->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
    if (!region || !*region) region = getenv("AWS_REGION");
    if (!region || !*region) region = getenv("AWS_DEFAULT_REGION");
    if (!region || !*region) {
        snprintf(err, cap, "no region: give --region or set AWS_REGION");
        goto fail;
    }
    snprintf(c->region, sizeof c->region, "%s", region);
    for (int s = 0; s < 2; s++) {
        if (endpoint) {
            size_t n = strlen(endpoint);
            snprintf(c->endpoint[s], sizeof c->endpoint[s], "%.*s/", (int)(n && endpoint[n - 1] == '/' ? n - 1 : n), endpoint);
        } else {
            snprintf(c->endpoint[s], sizeof c->endpoint[s], "https://%sdynamodb.%s.amazonaws.com/",
                     s == AWS_STREAMS ? "streams." : "", c->region);
        }
    }
    if (!aws_curl_load(&c->curl, err, cap)) goto fail;
    c->h = c->curl.easy_init();
    if (!c->h) {
        snprintf(err, cap, "libcurl could not make a handle");
        goto fail;
    }
    if (!aws_find_credentials(c, err, cap)) goto fail;
    log_debug("poll: region %s, credentials from the %s, endpoint %s", c->region,
              c->creds_source, c->endpoint[AWS_DYNAMODB]);
    return c;
fail:
    aws_close(c);
    return NULL;
}

const char *aws_region(const aws_client *c) { return c->region; }

void aws_close(aws_client *c)
{
    if (!c) return;
    if (c->h) c->curl.easy_cleanup(c->h);
    /* libcurl stays loaded: OpenSSL's exit handlers may still point into it. */
    aws_credentials_free(&c->creds);
    free(c->body);
    free(c);
}

/* Sleeps the backoff of attempt n (0-based): a random time up to min(cap, base * 2^n), so
 * that pollers that failed together do not retry together. Cut short by a signal. */
static void aws_backoff(aws_client *c, int n)
{
    long ceiling = AWS_BACKOFF_BASE_MS << (n < 16 ? n : 16);
    if (ceiling > AWS_BACKOFF_CAP_MS) ceiling = AWS_BACKOFF_CAP_MS;
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    long ms = (long)(c->rng % (uint64_t)ceiling) + 1;
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

json_object *aws_call(aws_client *c, aws_service svc, const char *action, json_object *request,
                      aws_error *e)
{
    static const char *const targets[] = {"DynamoDB_20120810", "DynamoDBStreams_20120810"};
    static const char *const names[] = {"DynamoDB", "DynamoDBStreams"};
    char target[128], token[4096], why[256], message[800];
    size_t len;
    const char *body = json_object_to_json_string_length(request, JSON_C_TO_STRING_PLAIN, &len);
    memset(e, 0, sizeof *e);
    for (int attempt = 0;; attempt++) {
        char cerr[256];
        if (c->creds.expires_s && time(NULL) > c->creds.expires_s - AWS_REFRESH_BEFORE_S &&
            !aws_container_fetch(c, cerr, sizeof cerr))
            log_warn("poll: refreshing credentials: %s", cerr);
        struct curl_slist *h = NULL;
        snprintf(target, sizeof target, "X-Amz-Target: %s.%s", targets[svc], action);
        h = c->curl.slist_append(h, "Content-Type: application/x-amz-json-1.0");
        h = c->curl.slist_append(h, target);
        if (c->creds.session_token) {
            snprintf(token, sizeof token, "X-Amz-Security-Token: %s", c->creds.session_token);
            h = c->curl.slist_append(h, token);
        }
        e->status = aws_http(c, c->endpoint[svc], h, body, len, true, why, sizeof why);
        c->curl.slist_free_all(h);
        if (e->status == 200) {
            json_tokener *tok = json_tokener_new();
            json_object *o = tok ? json_tokener_parse_ex(tok, c->body, (int)(c->len > INT32_MAX ? INT32_MAX : c->len)) : NULL;
            if (tok) json_tokener_free(tok);
            if (o && json_object_is_type(o, json_type_object)) return o;
            json_object_put(o);
            snprintf(e->line, sizeof e->line, "%s %s: the answer is not a JSON object",
                     names[svc], action);
            return NULL;
        }
        message[0] = '\0';
        if (e->status) {
            snprintf(e->type, sizeof e->type, "%s", c->error_type);
            aws_error_parse(c->body, c->len, e->type, sizeof e->type, message, sizeof message);
            if (!message[0]) snprintf(message, sizeof message, "HTTP %ld", e->status);
        } else {
            snprintf(message, sizeof message, "%s: %s", c->endpoint[svc], why);
        }
        snprintf(e->line, sizeof e->line, "%s %s: %s%s%s", names[svc], action, e->type,
                 e->type[0] ? ": " : "", message);
        if (!aws_retryable(e->status, e->type) || attempt + 1 >= AWS_MAX_ATTEMPTS ||
            (c->stop && *c->stop))
            return NULL;
        log_info("poll: %s (attempt %d of %d, trying again)", e->line, attempt + 1,
                 AWS_MAX_ATTEMPTS);
        aws_backoff(c, attempt);
    }
}
