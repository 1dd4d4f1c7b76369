/* checkpoint.c - `ddbhost poll`'s per-table checkpoint files: read with json-c, written whole
 * to a temporary file that is synced and renamed over the old one (and the directory synced),
 * so that a kill -9 at any moment leaves one complete file. Knows nothing of streams' APIs. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys.h"
#include "text.h"

void checkpoint_free(checkpoint *cp)
{
    for (size_t i = 0; i < cp->n; i++) {
        free(cp->shards[i].id);
        free(cp->shards[i].seq);
    }
    free(cp->shards);
    free(cp->stream_arn);
    memset(cp, 0, sizeof *cp);
}

const checkpoint_shard *checkpoint_find(const checkpoint *cp, const char *id)
{
    for (size_t i = 0; i < cp->n; i++)
        if (strcmp(cp->shards[i].id, id) == 0) return &cp->shards[i];
    return NULL;
}

checkpoint_shard *checkpoint_shard_of(checkpoint *cp, const char *id)
{
    const checkpoint_shard *found = checkpoint_find(cp, id);
    if (found) return &cp->shards[found - cp->shards];
    if (cp->n == cp->cap) {
        size_t grown = cp->cap ? cp->cap * 2 : 8;
        checkpoint_shard *p = realloc(cp->shards, grown * sizeof *p);
        if (!p) return NULL;
        cp->shards = p;
        cp->cap = grown;
    }
    checkpoint_shard *s = &cp->shards[cp->n];
    *s = (checkpoint_shard){strdup(id), NULL, false};
    if (!s->id) return NULL;
    cp->n++;
    return s;
}

bool checkpoint_stream(checkpoint *cp, const char *arn)
{
    if (cp->stream_arn && strcmp(cp->stream_arn, arn) == 0) return true;
    char *copy = strdup(arn);
    if (!copy) return false;
    char *arn_keep = cp->stream_arn;
    cp->stream_arn = NULL;
    free(arn_keep);
    for (size_t i = 0; i < cp->n; i++) {
        free(cp->shards[i].id);
        free(cp->shards[i].seq);
    }
    cp->n = 0;
    cp->stream_arn = copy;
    return true;
}

bool checkpoint_parse(const char *text, size_t len, checkpoint *out, char *err, size_t cap)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)(len > INT32_MAX ? INT32_MAX : len)) : NULL;
    json_object *arn = NULL, *shards = NULL;
    checkpoint cp = {0};
    bool ok = false;
    if (tok) json_tokener_free(tok);
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "streamArn", &arn) ||
        !json_object_is_type(arn, json_type_string) ||
        !json_object_object_get_ex(o, "shards", &shards) ||
        !json_object_is_type(shards, json_type_object)) {
        snprintf(err, cap, "not a checkpoint: expected {\"streamArn\": \"...\", \"shards\": {...}}");
        goto done;
    }
    if (!checkpoint_stream(&cp, json_object_get_string(arn))) goto nomem;
    json_object_object_foreach(shards, id, v) {
        json_object *seq = NULL, *finished = NULL;
        char q[TEXT_QUOTE_CAP];
        if (!json_object_is_type(v, json_type_object) ||
            (json_object_object_get_ex(v, "sequenceNumber", &seq) &&
             !json_object_is_type(seq, json_type_string)) ||
            (json_object_object_get_ex(v, "finished", &finished) &&
             !json_object_is_type(finished, json_type_boolean))) {
            snprintf(err, cap, "shard %s: expected {\"sequenceNumber\": \"...\", \"finished\": "
                               "false}", text_quote(q, sizeof q, id));
            goto done;
        }
        checkpoint_shard *s = checkpoint_shard_of(&cp, id);
        if (!s) goto nomem;
        if (seq && !(s->seq = strdup(json_object_get_string(seq)))) goto nomem;
        s->finished = finished && json_object_get_boolean(finished);
    }
    *out = cp;
    memset(&cp, 0, sizeof cp);
    ok = true;
    goto done;
nomem:
    snprintf(err, cap, "out of memory");
done:
    checkpoint_free(&cp);
    json_object_put(o);
    return ok;
}

static void checkpoint_path(char *out, size_t cap, const char *dir, const char *table,
                            const char *suffix)
{
    snprintf(out, cap, "%s/%s.checkpoint.json%s", dir, table, suffix);
}

bool checkpoint_load(const char *dir, const char *table, checkpoint *out, char *err, size_t cap)
{
    char path[4096], why[512];
    size_t len;
    checkpoint_path(path, sizeof path, dir, table, "");
    memset(out, 0, sizeof *out);
    char *text = sys_read_file(path, &len);
    if (!text) {
        if (errno == ENOENT) return true;
        snprintf(err, cap, "cannot read checkpoint \"%s\": %s", path, strerror(errno));
        return false;
    }
    bool ok = checkpoint_parse(text, len, out, why, sizeof why);
    free(text);
    if (!ok) snprintf(err, cap, "checkpoint \"%s\": %s", path, why);
    return ok;
}

bool checkpoint_save(const char *dir, const char *table, const checkpoint *cp, char *err,
                     size_t cap)
{
    char path[4096], tmp[4200];
    json_object *o = json_object_new_object(), *shards = json_object_new_object();
    json_object_object_add(o, "streamArn", json_object_new_string(cp->stream_arn ? cp->stream_arn : ""));
    for (size_t i = 0; i < cp->n; i++) {
        json_object *s = json_object_new_object();
        if (cp->shards[i].seq)
            json_object_object_add(s, "sequenceNumber", json_object_new_string(cp->shards[i].seq));
        json_object_object_add(s, "finished", json_object_new_boolean(cp->shards[i].finished));
        json_object_object_add(shards, cp->shards[i].id, s);
    }
    json_object_object_add(o, "shards", shards);
    size_t len;
    const char *text = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    checkpoint_path(path, sizeof path, dir, table, "");
    checkpoint_path(tmp, sizeof tmp, dir, table, ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && sys_write_all(fd, text, len) && sys_write_all(fd, "\n", 1) &&
              fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    json_object_put(o);
    if (!ok) {
        if (fd >= 0) unlink(tmp);
        snprintf(err, cap, "cannot write checkpoint \"%s\": %s", path, strerror(saved));
        return false;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives a power cut */
        close(dfd);
    }
    return true;
}
