/* s3archive.c - a plugin that calls AWS: keeps one S3 object per item, the item's latest
 * image as DynamoDB JSON (the host's exact rendering), and deletes it when the item is
 * removed. Requests are signed with SigV4 by libcurl, with the function's own credentials
 * (Lambda puts them in the environment); the role needs s3:PutObject and s3:DeleteObject,
 * which "function.policy" in the manifest grants (docs/DEPLOY.md walks through it). */
#include <ddb/plugin.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DDB_PLUGIN("s3archive", "1.0.0");

typedef struct archive {
    const ddb_host_api *host;
    const ddb_handle *self;
    CURL *curl;              /* one connection, kept between records */
    char base[512];          /* https://BUCKET.s3.REGION.amazonaws.com/PREFIX, or ENDPOINT/BUCKET/PREFIX */
    char sigv4[96];          /* aws:amz:REGION:s3 */
    char userpwd[512];       /* ACCESS_KEY:SECRET */
    char token[2048];        /* "x-amz-security-token: ..." or "" */
    char *body;              /* the JSON of the record being written, reused */
    size_t body_cap;
} archive;

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

ddb_status on_init(const ddb_init *init, void **state)
{
    const char *bucket = init->host->config_string(init->config, "bucket");
    const char *prefix = init->host->config_string(init->config, "prefix");
    const char *endpoint = init->host->config_string(init->config, "endpoint");
    const char *region = init->host->config_string(init->config, "region");
    const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    region = region ? region : env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", NULL));
    const char *why = !bucket   ? "config needs \"bucket\", the bucket's name"
                      : !region ? "no region: set \"region\" in config, or AWS_REGION"
                      : !key || !secret ? "no credentials: AWS_ACCESS_KEY_ID and "
                                          "AWS_SECRET_ACCESS_KEY are not set"
                                        : NULL;
    if (why) {
        snprintf(init->error, init->error_cap, "%s", why);
        return DDB_ERR_INVALID;
    }
    archive *a = calloc(1, sizeof *a);
    if (!a || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(a->curl = curl_easy_init())) {
        free(a);
        return DDB_ERR_NOMEM;
    }
    a->host = init->host;
    a->self = init->self;
    prefix = prefix ? prefix : "";
    /* an endpoint (a local S3, say) is addressed path-style; AWS's own virtual-host style */
    if (endpoint)
        snprintf(a->base, sizeof a->base, "%s/%s/%s", endpoint, bucket, prefix);
    else
        snprintf(a->base, sizeof a->base, "https://%s.s3.%s.amazonaws.com/%s", bucket, region, prefix);
    snprintf(a->sigv4, sizeof a->sigv4, "aws:amz:%s:s3", region);
    snprintf(a->userpwd, sizeof a->userpwd, "%s:%s", key, secret);
    const char *session = getenv("AWS_SESSION_TOKEN");
    if (session) snprintf(a->token, sizeof a->token, "x-amz-security-token: %s", session);
    *state = a;
    return DDB_OK;
}

/* The object's URL: base, the table, then each key's value, percent-encoded, '/' between. */
static bool object_url(const archive *a, const ddb_record *rec, char *url, size_t cap)
{
    size_t n = (size_t)snprintf(url, cap, "%s%.*s", a->base, (int)rec->table.len,
                                rec->table.ptr ? rec->table.ptr : "unknown-table");
    for (size_t i = 0; i < ddb_count(rec->keys) && n < cap; i++) {
        const ddb_value *v = ddb_member_at(rec->keys, i, NULL, NULL);
        const char *text = NULL;
        size_t len = 0;
        if (ddb_get_s(v, &text, &len) != DDB_OK && ddb_get_n(v, &text, &len) != DDB_OK &&
            ddb_get_b(v, (const uint8_t **)&text, &len) != DDB_OK)
            return false;
        url[n++] = '/';
        for (size_t k = 0; k < len && n + 4 < cap; k++) {
            unsigned char c = (unsigned char)text[k];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                strchr("-_.~", c))
                url[n++] = (char)c;
            else
                n += (size_t)snprintf(url + n, cap - n, "%%%02X", c);
        }
    }
    return n + 6 < cap && snprintf(url + n, cap - n, ".json") == 5;
}

/* PUT with body, or DELETE with none; DDB_OK on a 2xx answer. */
static ddb_status request(archive *a, const ddb_record *rec, const char *method, const char *body,
                          size_t len)
{
    char url[2048], error[CURL_ERROR_SIZE] = "";
    if (!object_url(a, rec, url, sizeof url)) {
        a->host->log(a->self, DDB_LOG_ERROR, "record %u: a key is not S, N or B", rec->index);
        return DDB_ERR_INVALID;
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* S3 wants the payload's hash named; UNSIGNED-PAYLOAD is allowed over HTTPS */
    headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (a->token[0]) headers = curl_slist_append(headers, a->token);
    CURL *c = a->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, a->sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, a->userpwd);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK || status / 100 != 2) {
        a->host->log(a->self, DDB_LOG_WARN, "%s %s: %s", method, url,
                     rc != CURLE_OK ? (error[0] ? error : curl_easy_strerror(rc)) : "S3 refused it");
        if (rc == CURLE_OK)
            a->host->log(a->self, DDB_LOG_WARN, "S3 answered HTTP %ld", status);
        return DDB_ERR_FAILED;
    }
    return DDB_OK;
}

static ddb_status put_item(const ddb_record *rec, void *state)
{
    archive *a = state;
    if (!rec->new_image) { /* KEYS_ONLY or OLD_IMAGE streams carry no new image */
        a->host->log(a->self, DDB_LOG_ERROR, "record %u has no NewImage: the stream's view type "
                     "must be NEW_IMAGE or NEW_AND_OLD_IMAGES", rec->index);
        return DDB_ERR_INVALID;
    }
    size_t need = a->host->json(rec->new_image, DDB_JSON_ITEM, a->body, a->body_cap);
    if (need >= a->body_cap) {
        char *grown = realloc(a->body, need + 1);
        if (!grown) return DDB_ERR_NOMEM;
        a->body = grown;
        a->body_cap = need + 1;
        a->host->json(rec->new_image, DDB_JSON_ITEM, a->body, a->body_cap);
    }
    return request(a, rec, "PUT", a->body, need);
}

ddb_status on_insert(const ddb_record *rec, void *state) { return put_item(rec, state); }
ddb_status on_modify(const ddb_record *rec, void *state) { return put_item(rec, state); }
ddb_status on_remove(const ddb_record *rec, void *state) { return request(state, rec, "DELETE", NULL, 0); }

void on_fini(void *state)
{
    archive *a = state;
    curl_easy_cleanup(a->curl);
    curl_global_cleanup();
    free(a->body);
    free(a);
}
