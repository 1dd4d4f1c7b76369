/* pgconfig.c - reads the postgres sink's "config" (the JSON text on_init receives, with
 * json-c) into a pgconfig, checking every key: a misspelt key, a type PostgreSQL would not
 * hold exactly or a name it would truncate is refused here, before any connection. */
#include "pgconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* The fixed columns of each layout: neither a key attribute nor a projected column may take
 * one of these names. */
static const char *const pgconfig_mirror_columns[] = {"item", "seq", NULL};
static const char *const pgconfig_log_columns[] = {"event", "seq", "ttl_delete", "old",
                                                   "new",   "at",  NULL};

static const char *const pgconfig_keys_known[] = {"conninfo", "table",          "mode", "key",
                                                  "columns",  "tombstone_days", NULL};

const char *pgconfig_kind_takes(pgconfig_kind kind)
{
    switch (kind) {
    case PGCONFIG_TEXT: return "S";
    case PGCONFIG_NUMERIC: return "N";
    case PGCONFIG_BIGINT: return "N (an integer)";
    case PGCONFIG_BOOLEAN: return "BOOL";
    case PGCONFIG_BYTEA: return "B";
    case PGCONFIG_JSONB: return "any type";
    case PGCONFIG_TEXT_ARRAY: return "SS";
    case PGCONFIG_NUMERIC_ARRAY: return "NS";
    case PGCONFIG_BYTEA_ARRAY: return "BS";
    }
    return "?";
}

/* A column type as written in the config, to its kind and the spelling format_type() gives
 * it (which is how an existing table is compared). False when it is none of the types this
 * sink writes. */
static bool pgconfig_type(const char *written, pgconfig_kind *kind, char *canon, size_t cap)
{
    static const struct {
        const char *name, *canon;
        pgconfig_kind kind;
    } types[] = {
        {"text", "text", PGCONFIG_TEXT},
        {"numeric", "numeric", PGCONFIG_NUMERIC},
        {"decimal", "numeric", PGCONFIG_NUMERIC},
        {"bigint", "bigint", PGCONFIG_BIGINT},
        {"int8", "bigint", PGCONFIG_BIGINT},
        {"boolean", "boolean", PGCONFIG_BOOLEAN},
        {"bool", "boolean", PGCONFIG_BOOLEAN},
        {"bytea", "bytea", PGCONFIG_BYTEA},
        {"jsonb", "jsonb", PGCONFIG_JSONB},
        {"text[]", "text[]", PGCONFIG_TEXT_ARRAY},
        {"numeric[]", "numeric[]", PGCONFIG_NUMERIC_ARRAY},
        {"decimal[]", "numeric[]", PGCONFIG_NUMERIC_ARRAY},
        {"bytea[]", "bytea[]", PGCONFIG_BYTEA_ARRAY},
    };
    char t[64];
    size_t n = 0;
    int p, s = 0, end = 0;
    for (const char *c = written; *c; c++) {
        if (isspace((unsigned char)*c)) continue;
        if (n + 1 >= sizeof t) return false;
        t[n++] = (char)tolower((unsigned char)*c);
    }
    t[n] = '\0';
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(t, types[i].name) != 0) continue;
        *kind = types[i].kind;
        snprintf(canon, cap, "%s", types[i].canon);
        return true;
    }
    /* numeric(P) and numeric(P,S): what PostgreSQL rounds to, the user's choice */
    if ((sscanf(t, "numeric(%d,%d)%n", &p, &s, &end) == 2 && t[end] == '\0') ||
        (sscanf(t, "decimal(%d,%d)%n", &p, &s, &end) == 2 && t[end] == '\0') ||
        (end = 0, sscanf(t, "numeric(%d)%n", &p, &end) == 1 && t[end] == '\0') ||
        (end = 0, sscanf(t, "decimal(%d)%n", &p, &end) == 1 && t[end] == '\0')) {
        if (p < 1 || p > 1000 || s < 0 || s > p) return false;
        *kind = PGCONFIG_NUMERIC;
        snprintf(canon, cap, "numeric(%d,%d)", p, s);
        return true;
    }
    return false;
}

/* A name PostgreSQL keeps as it is, not one of the layout's own columns, not taken yet. */
static bool pgconfig_name(const pgconfig *c, const char *what, const char *name, char *err,
                          size_t cap)
{
    const char *const *fixed =
        c->mode == PGCONFIG_MIRROR ? pgconfig_mirror_columns : pgconfig_log_columns;
    if (!*name || strlen(name) > PGCONFIG_NAME_MAX) {
        snprintf(err, cap,
                 "config \"%s\": the name \"%.80s\" is %s; PostgreSQL names are 1 to %d bytes",
                 what, name, *name ? "too long" : "empty", PGCONFIG_NAME_MAX);
        return false;
    }
    for (size_t i = 0; fixed[i]; i++) {
        if (strcmp(name, fixed[i]) != 0) continue;
        snprintf(err, cap, "config \"%s\": \"%s\" is a column of the %s layout itself", what, name,
                 c->mode == PGCONFIG_MIRROR ? "mirror" : "log");
        return false;
    }
    for (size_t i = 0; i < c->key_count + c->column_count; i++) {
        const char *taken = i < c->key_count ? c->keys[i].name : c->columns[i - c->key_count].name;
        if (strcmp(name, taken) != 0) continue;
        snprintf(err, cap, "config \"%s\": \"%s\" is already a %s column", what, name,
                 i < c->key_count ? "key" : "projected");
        return false;
    }
    return true;
}

static bool pgconfig_string(json_object *config, const char *key, const char **out, char *err,
                            size_t cap)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(config, key, &v)) return true;
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(err, cap, "config \"%s\" must be a string", key);
        return false;
    }
    *out = json_object_get_string(v);
    return true;
}

/* "key": {"pk": "S", "sk": "N"}: one or two attributes, partition key first. */
static bool pgconfig_keys(pgconfig *c, json_object *config, char *err, size_t cap)
{
    json_object *keys;
    if (!json_object_object_get_ex(config, "key", &keys)) {
        snprintf(err, cap,
                 "config \"key\" is required: the table's key attributes and their "
                 "types, partition key first, e.g. {\"pk\": \"S\", \"sk\": \"N\"}");
        return false;
    }
    if (!json_object_is_type(keys, json_type_object) || json_object_object_length(keys) < 1 ||
        json_object_object_length(keys) > 2) {
        snprintf(err, cap,
                 "config \"key\" must be an object of one or two key attributes, "
                 "e.g. {\"pk\": \"S\", \"sk\": \"N\"}");
        return false;
    }
    json_object_object_foreach(keys, name, type)
    {
        static const char *const dynamo[] = {"S", "N", "B"};
        static const char *const pg[] = {"text", "numeric", "bytea"};
        static const pgconfig_kind kinds[] = {PGCONFIG_TEXT, PGCONFIG_NUMERIC, PGCONFIG_BYTEA};
        const char *t =
            json_object_is_type(type, json_type_string) ? json_object_get_string(type) : "";
        size_t k = 0;
        while (k < 3 && strcmp(t, dynamo[k]) != 0) k++;
        if (k == 3) {
            snprintf(err, cap,
                     "config \"key\": \"%.80s\" must be \"S\", \"N\" or \"B\" (a key "
                     "attribute's DynamoDB type)",
                     name);
            return false;
        }
        if (!pgconfig_name(c, "key", name, err, cap)) return false;
        pgconfig_column *key = &c->keys[c->key_count++];
        *key = (pgconfig_column){strdup(name), strdup(pg[k]), kinds[k]};
        if (!key->name || !key->type) goto nomem;
    }
    return true;
nomem:
    snprintf(err, cap, "out of memory");
    return false;
}

/* "columns": {"total": "numeric", "tags": "text[]"}: the typed projection. */
static bool pgconfig_columns(pgconfig *c, json_object *config, char *err, size_t cap)
{
    json_object *cols;
    if (!json_object_object_get_ex(config, "columns", &cols)) return true;
    if (!json_object_is_type(cols, json_type_object)) {
        snprintf(err, cap,
                 "config \"columns\" must be an object: {\"attribute\": \"postgres type\", ...}");
        return false;
    }
    if (json_object_object_length(cols) > PGCONFIG_COLUMNS_MAX) {
        snprintf(err, cap, "config \"columns\" names %d columns; at most %d",
                 json_object_object_length(cols), PGCONFIG_COLUMNS_MAX);
        return false;
    }
    c->columns = calloc((size_t)json_object_object_length(cols) + 1, sizeof *c->columns);
    if (!c->columns) goto nomem;
    json_object_object_foreach(cols, name, type)
    {
        char canon[64];
        pgconfig_kind kind;
        if (!json_object_is_type(type, json_type_string) ||
            !pgconfig_type(json_object_get_string(type), &kind, canon, sizeof canon)) {
            snprintf(err, cap,
                     "config \"columns\": \"%.80s\" has type %.80s; the types this sink "
                     "writes: text, numeric, numeric(P,S), bigint, boolean, bytea, jsonb, "
                     "text[], numeric[], bytea[]",
                     name, json_object_to_json_string(type));
            return false;
        }
        if (!pgconfig_name(c, "columns", name, err, cap)) return false;
        pgconfig_column *col = &c->columns[c->column_count++];
        *col = (pgconfig_column){strdup(name), strdup(canon), kind};
        if (!col->name || !col->type) goto nomem;
    }
    return true;
nomem:
    snprintf(err, cap, "out of memory");
    return false;
}

static bool pgconfig_table(pgconfig *c, json_object *config, const char *route, char *err,
                           size_t cap)
{
    const char *table;
    size_t len;
    if (!pgconfig_string(config, "table", &table, err, cap)) return false;
    if (!table && !strcmp(route, "*")) {
        snprintf(err, cap,
                 "config \"table\" is required on the \"*\" route, which serves any "
                 "DynamoDB table");
        return false;
    }
    if (!table) table = route;
    len = strlen(table);
    if (len == 0 || len > PGCONFIG_NAME_MAX ||
        (c->mode == PGCONFIG_MIRROR && len + strlen("_tombstones") > PGCONFIG_NAME_MAX)) {
        snprintf(err, cap,
                 "table name \"%.80s\" is %s: PostgreSQL names are 1 to %d bytes%s; "
                 "hint: set config \"table\"",
                 table, len ? "too long" : "empty", PGCONFIG_NAME_MAX,
                 c->mode == PGCONFIG_MIRROR ? ", and the mirror's side table adds \"_tombstones\""
                                            : "");
        return false;
    }
    c->table = strdup(table);
    if (c->mode == PGCONFIG_MIRROR && (c->tombstones = malloc(len + sizeof "_tombstones")) != NULL)
        snprintf(c->tombstones, len + sizeof "_tombstones", "%s_tombstones", table);
    if (!c->table || (c->mode == PGCONFIG_MIRROR && !c->tombstones)) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    return true;
}

static bool pgconfig_parse(pgconfig *c, json_object *config, const char *route, char *err,
                           size_t cap)
{
    const char *conninfo, *mode;
    json_object *ttl;
    if (!json_object_is_type(config, json_type_object)) {
        snprintf(err, cap, "config is required: an object with at least \"key\"");
        return false;
    }
    json_object_object_foreach(config, key, value)
    {
        size_t i = 0;
        (void)value;
        while (pgconfig_keys_known[i] && strcmp(key, pgconfig_keys_known[i]) != 0) i++;
        if (pgconfig_keys_known[i]) continue;
        snprintf(err, cap,
                 "config: unknown key \"%.80s\" (the keys: conninfo, table, mode, key, "
                 "columns, tombstone_days)",
                 key);
        return false;
    }
    if (!pgconfig_string(config, "conninfo", &conninfo, err, cap) ||
        !pgconfig_string(config, "mode", &mode, err, cap))
        return false;
    if (mode && strcmp(mode, "mirror") != 0 && strcmp(mode, "log") != 0) {
        snprintf(err, cap, "config \"mode\" must be \"mirror\" or \"log\", not \"%.80s\"", mode);
        return false;
    }
    c->mode = mode && !strcmp(mode, "log") ? PGCONFIG_LOG : PGCONFIG_MIRROR;
    c->tombstone_days = PGCONFIG_TOMBSTONE_DAYS;
    if (json_object_object_get_ex(config, "tombstone_days", &ttl)) {
        if (!json_object_is_type(ttl, json_type_int) || json_object_get_int64(ttl) < 0 ||
            json_object_get_int64(ttl) > 36500) {
            snprintf(err, cap,
                     "config \"tombstone_days\" must be an integer from 0 to 36500 (0: "
                     "never pruned)");
            return false;
        }
        c->tombstone_days = json_object_get_int64(ttl);
    }
    if (conninfo && !(c->conninfo = strdup(conninfo))) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    return pgconfig_table(c, config, route, err, cap) && pgconfig_keys(c, config, err, cap) &&
           pgconfig_columns(c, config, err, cap);
}

bool pgconfig_read(const ddb_init *init, pgconfig *c, char *err, size_t cap)
{
    json_object *config = json_tokener_parse(init->config_json ? init->config_json : "null");
    bool ok;
    memset(c, 0, sizeof *c);
    ok = pgconfig_parse(c, config, init->route ? init->route : "*", err, cap);
    json_object_put(config);
    if (!ok) pgconfig_free(c);
    return ok;
}

void pgconfig_free(pgconfig *c)
{
    for (size_t i = 0; i < c->key_count; i++) free(c->keys[i].name), free(c->keys[i].type);
    for (size_t i = 0; i < c->column_count; i++) free(c->columns[i].name), free(c->columns[i].type);
    free(c->columns);
    free(c->conninfo);
    free(c->table);
    free(c->tombstones);
    memset(c, 0, sizeof *c);
}
