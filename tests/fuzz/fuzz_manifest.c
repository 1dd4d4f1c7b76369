/* fuzz_manifest.c - libFuzzer target for the manifest parser (host/core/manifest.c).
 * Parses each input as a manifest living in a temporary directory that holds two dummy
 * plugin files (p.so and lib/q.so), so that valid manifests get all the way through.
 * Checks what callers rely on: a valid result, or one error line naming the manifest with
 * the output untouched; abort() otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ddb/plugin.h>

#include "manifest.h"

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_manifest: %s:%d: broken promise: %s\n", __FILE__, __LINE__, \
                    #cond);                                                                   \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static char dir[64], path[128], file_p[128], dir_lib[128], file_q[128];

static void fuzz_cleanup(void)
{
    remove(file_q);
    rmdir(dir_lib);
    remove(file_p);
    rmdir(dir);
}

static void fuzz_touch(const char *p)
{
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/tmp/ddb-fuzz-manifest-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    snprintf(file_p, sizeof file_p, "%s/p.so", dir);
    snprintf(dir_lib, sizeof dir_lib, "%s/lib", dir);
    snprintf(file_q, sizeof file_q, "%s/lib/q.so", dir);
    fuzz_touch(file_p);
    CHECK(mkdir(dir_lib, 0700) == 0);
    fuzz_touch(file_q);
    atexit(fuzz_cleanup);
    return 0;
}

static bool fuzz_table_name(const char *t)
{
    size_t len = strlen(t);
    if (strcmp(t, "*") == 0) return true;
    return len >= 3 && len <= 255 &&
           strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static void fuzz_check_manifest(const manifest *m)
{
    CHECK(m->path != NULL && strcmp(m->path, path) == 0);
    CHECK(m->on_failure == MANIFEST_STOP || m->on_failure == MANIFEST_CONTINUE);
    CHECK(m->count > 0 && m->routes != NULL);
    for (size_t i = 0; i < m->count; i++) {
        const manifest_route *r = &m->routes[i];
        CHECK(r->table != NULL && fuzz_table_name(r->table));
        for (size_t k = 0; k < i; k++) CHECK(strcmp(m->routes[k].table, r->table) != 0);
        CHECK(r->count > 0 && r->handlers != NULL);
        for (size_t j = 0; j < r->count; j++) {
            const manifest_handler *h = &r->handlers[j];
            struct stat st;
            CHECK((h->plugin != NULL) != (h->library != NULL));
            if (h->library) {
                CHECK(h->at != NULL);
                int bound = 0;
                for (int e = 1; e <= 3; e++) {
                    const manifest_binding *b = &h->bind[e];
                    if (!b->call) continue;
                    bound++;
                    CHECK(h->events & (1u << e));
                    CHECK(b->nargs <= MANIFEST_MAX_BIND_ARGS);
                    for (size_t a = 0; a < b->nargs; a++) {
                        CHECK(b->args[a].text && b->args[a].path_len <= strlen(b->args[a].text));
                        for (size_t k = 0; k < b->args[a].nsteps; k++) {
                            const char *name = b->args[a].steps[k].name;
                            CHECK(!name || strlen(name) == b->args[a].steps[k].name_len);
                        }
                    }
                }
                CHECK(bound > 0);
                (void)st;
            } else {
            CHECK(h->plugin[0] == '/'); /* the manifest's directory is absolute */
            CHECK(stat(h->plugin, &st) == 0 && S_ISREG(st.st_mode));
            }
            CHECK(h->events != 0 && (h->events & ~MANIFEST_ALL_EVENTS) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024], small[24], prefix[160];
    manifest m, before;
    memset(&m, 0x5A, sizeof m);
    before = m;
    if (manifest_parse((const char *)data, size, path, &m, err, sizeof err)) {
        fuzz_check_manifest(&m);
        manifest_free(&m);
        return 0;
    }
    CHECK(memcmp(&m, &before, sizeof m) == 0);
    snprintf(prefix, sizeof prefix, "manifest \"%s\": ", path);
    CHECK(strncmp(err, prefix, strlen(prefix)) == 0 && err[strlen(prefix)] != '\0');
    for (const char *c = err; *c; c++) CHECK((unsigned char)*c >= 0x20); /* one line */
    /* A short buffer gets the start of the same message, cut and terminated. */
    CHECK(!manifest_parse((const char *)data, size, path, &m, small, sizeof small));
    CHECK(strlen(small) == sizeof small - 1 && strncmp(small, err, sizeof small - 1) == 0);
    return 0;
}
