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

bool checkpoint_lanes(checkpoint_shard *s, size_t n)
{
    checkpoint_lane *lanes = n ? calloc(n, sizeof *lanes) : NULL;
    if (n && !lanes) return false;
    for (size_t i = 0; i < s->nlanes; i++) {
        free(s->lanes[i].seq);
        free(s->lanes[i].state);
    }
    free(s->lanes);
    s->lanes = lanes;
    s->nlanes = n;
    return true;
}

bool checkpoint_window(checkpoint_lane *l, int64_t start, int64_t end, const char *state)
{
    char *copy = state ? strdup(state) : NULL;
    if (state && !copy) return false;
    free(l->state);
    l->state = copy;
    l->window = state != NULL;
    l->window_start = state ? start : 0;
    l->window_end = state ? end : 0;
    return true;
}

static void checkpoint_shard_free(checkpoint_shard *s)
{
    checkpoint_lanes(s, 0);
    free(s->id);
    free(s->seq);
}

void checkpoint_free(checkpoint *cp)
{
    for (size_t i = 0; i < cp->n; i++) checkpoint_shard_free(&cp->shards[i]);
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
    *s = (checkpoint_shard){strdup(id), NULL, false, NULL, 0};
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
    for (size_t i = 0; i < cp->n; i++) checkpoint_shard_free(&cp->shards[i]);
    cp->n = 0;
    cp->stream_arn = copy;
    return true;
}

#define CHECKPOINT_MAX_LANES 10 /* parallelization_factor's limit */
#define CHECKPOINT_JSON_DEPTH 256 /* a window's state nests as its handlers like */

/* text parsed with room for a deep window state; NULL when it is not JSON. */
static json_object *checkpoint_json(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(CHECKPOINT_JSON_DEPTH);
    json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)(len > INT32_MAX ? INT32_MAX : len)) : NULL;
    if (tok && json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    if (tok) json_tokener_free(tok);
    return o;
}

/* The "lanes" array v of shard s; false with one line in err. */
static bool checkpoint_parse_lanes(json_object *v, checkpoint_shard *s, char *err, size_t cap)
{
    static const char shape[] = "expected up to 10 of {\"sequenceNumber\": \"...\", \"window\": "
                                "{\"start\": SECONDS, \"end\": SECONDS, \"state\": {...}}}";
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (!json_object_is_type(v, json_type_array) || n > CHECKPOINT_MAX_LANES) {
        snprintf(err, cap, "lanes: %s", shape);
        return false;
    }
    if (!checkpoint_lanes(s, n)) goto nomem;
    for (size_t i = 0; i < n; i++) {
        json_object *lane = json_object_array_get_idx(v, i), *seq = NULL, *win = NULL;
        json_object *start = NULL, *end = NULL, *state = NULL;
        if (!json_object_is_type(lane, json_type_object) ||
            (json_object_object_get_ex(lane, "sequenceNumber", &seq) &&
             !json_object_is_type(seq, json_type_string)) ||
            (json_object_object_get_ex(lane, "window", &win) &&
             (!json_object_is_type(win, json_type_object) ||
              !json_object_object_get_ex(win, "start", &start) ||
              !json_object_is_type(start, json_type_int) ||
              !json_object_object_get_ex(win, "end", &end) ||
              !json_object_is_type(end, json_type_int) ||
              json_object_get_int64(end) <= json_object_get_int64(start) ||
              !json_object_object_get_ex(win, "state", &state) ||
              !json_object_is_type(state, json_type_object)))) {
            snprintf(err, cap, "lanes[%zu]: %s", i, shape);
            return false;
        }
        if (seq && !(s->lanes[i].seq = strdup(json_object_get_string(seq)))) goto nomem;
        if (win &&
            !checkpoint_window(&s->lanes[i], json_object_get_int64(start), json_object_get_int64(end),
                               json_object_to_json_string_ext(
                                   state, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)))
            goto nomem;
    }
    return true;
nomem:
    snprintf(err, cap, "out of memory");
    return false;
}

bool checkpoint_parse(const char *text, size_t len, checkpoint *out, char *err, size_t cap)
{
    json_object *o = checkpoint_json(text, len);
    json_object *arn = NULL, *shards = NULL;
    checkpoint cp = {0};
    bool ok = false;
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
        json_object *seq = NULL, *finished = NULL, *lanes = NULL;
        char q[TEXT_QUOTE_CAP], why[256];
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
        if (json_object_object_get_ex(v, "lanes", &lanes) &&
            !checkpoint_parse_lanes(lanes, s, why, sizeof why)) {
            snprintf(err, cap, "shard %s: %s", text_quote(q, sizeof q, id), why);
            goto done;
        }
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

/* The shard's lanes as the file holds them; NULL when a window's state is not JSON. */
static json_object *checkpoint_lanes_json(const checkpoint_shard *s)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < s->nlanes; i++) {
        const checkpoint_lane *l = &s->lanes[i];
        json_object *lane = json_object_new_object();
        if (l->seq) json_object_object_add(lane, "sequenceNumber", json_object_new_string(l->seq));
        if (l->window) {
            json_object *win = json_object_new_object(), *state = checkpoint_json(l->state, strlen(l->state));
            json_object_object_add(win, "start", json_object_new_int64(l->window_start));
            json_object_object_add(win, "end", json_object_new_int64(l->window_end));
            json_object_object_add(win, "state", state);
            json_object_object_add(lane, "window", win);
            if (!state) {
                json_object_put(lane);
                json_object_put(a);
                return NULL;
            }
        }
        json_object_array_add(a, lane);
    }
    return a;
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
        json_object *lanes = cp->shards[i].nlanes ? checkpoint_lanes_json(&cp->shards[i]) : NULL;
        if (lanes) json_object_object_add(s, "lanes", lanes);
        json_object_object_add(shards, cp->shards[i].id, s);
        if (cp->shards[i].nlanes && !lanes) {
            json_object_put(o);
            json_object_put(shards);
            snprintf(err, cap, "cannot write the checkpoint of table \"%s\": shard %s has a window "
                               "state that is not JSON", table, cp->shards[i].id);
            return false;
        }
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
