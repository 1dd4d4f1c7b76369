/* curl_runtime.c - the least a Lambda custom runtime built on libcurl does: GET the next
 * invocation from $AWS_LAMBDA_RUNTIME_API, POST an empty batch response, until the API
 * answers anything but 200. A benchmark peer (bench/coldstart.py): its cold start is the
 * floor of any runtime that loads libcurl to speak to the Runtime API, as ddbhost once did. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char request_id[128];

static size_t header(char *line, size_t size, size_t n, void *ctx)
{
    static const char name[] = "Lambda-Runtime-Aws-Request-Id:";
    size_t len = size * n;
    (void)ctx;
    if (len > sizeof name && strncasecmp(line, name, sizeof name - 1) == 0) {
        const char *v = line + sizeof name - 1;
        while (*v == ' ') v++;
        snprintf(request_id, sizeof request_id, "%.*s", (int)strcspn(v, "\r\n"), v);
    }
    return len;
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    char url[512];
    long status = 0;
    if (!api) return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    if (!c) return 1;
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    for (;;) {
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/next", api);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        if (curl_easy_perform(c) != CURLE_OK) break;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) break;
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/response", api,
                 request_id);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"batchItemFailures\":[]}");
        if (curl_easy_perform(c) != CURLE_OK) break;
    }
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return 0;
}
